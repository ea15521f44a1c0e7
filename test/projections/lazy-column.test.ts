import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineLazyColumn, lazyColumnOf } from '../../src/projections/lazy-column.js';
import type { Row } from '../../src/projections/row-codec.js';

describe('lazy columns', () => {
  it('computes the value on the first read only, and says which column it is', () => {
    let computed = 0;
    const row: Row = { id: 'e-1', status: 'running' };
    defineLazyColumn(row, 'execution_details', () => {
      computed += 1;
      return '{"vms":[]}';
    });
    assert.equal(lazyColumnOf(row), 'execution_details');
    assert.equal(computed, 0, 'nothing computed before a read');
    assert.equal(row.execution_details, '{"vms":[]}');
    assert.equal(row.execution_details, '{"vms":[]}');
    assert.equal(computed, 1);
    assert.deepEqual(Object.keys(row), ['id', 'status', 'execution_details'], 'the column is enumerated like any other');
    assert.deepEqual({ ...row }, { id: 'e-1', status: 'running', execution_details: '{"vms":[]}' });
  });

  it('an assignment replaces the computation and the row is a plain row again', () => {
    const row: Row = { id: 'e-2' };
    defineLazyColumn(row, 'execution_details', () => assert.fail('not to be computed'));
    row.execution_details = 'given';
    assert.equal(row.execution_details, 'given');
    assert.equal(lazyColumnOf(row), undefined);
    assert.equal(lazyColumnOf({ id: 'plain' }), undefined);
  });
});
