import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainFollowUps, type ChainChild, type ChainParent } from '../../src/domain/chain-rules.js';
import { chainExecutionIdFor } from '../../src/domain/execution-ids.js';

const parent = (status: ChainParent['status']): ChainParent => ({
  execution_id: 'p1-20260501T020000Z',
  schedule_id: 'p1',
  status,
  completed_at: '2026-05-01T03:00:00.000Z',
});
const children: ChainChild[] = [
  { id: 'onSuccess', enabled: true, chain_trigger_on: 'success', chain_delay_minutes: 0 },
  { id: 'onCompletion', enabled: true, chain_trigger_on: 'completion', chain_delay_minutes: 15 },
  { id: 'disabled', enabled: false, chain_trigger_on: 'completion', chain_delay_minutes: 0 },
];
const ids = (status: ChainParent['status']) => chainFollowUps(parent(status), children).map((f) => f.schedule_id);

describe('chainFollowUps', () => {
  it('success follows completed only; completion follows completed, failed and cancelled', () => {
    assert.deepEqual(ids('completed'), ['onSuccess', 'onCompletion']);
    assert.deepEqual(ids('failed'), ['onCompletion']);
    assert.deepEqual(ids('cancelled'), ['onCompletion']);
  });

  it('a skipped parent triggers nothing', () => {
    assert.deepEqual(ids('skipped'), []);
  });

  it('disabled children do not follow', () => {
    assert.ok(!ids('completed').includes('disabled'));
  });

  it('due at parent completion + chain_delay_minutes, with a deterministic id', () => {
    const [first, second] = chainFollowUps(parent('completed'), children);
    assert.deepEqual(first, {
      schedule_id: 'onSuccess',
      execution_id: chainExecutionIdFor('onSuccess', 'p1-20260501T020000Z'),
      not_before: '2026-05-01T03:00:00.000Z',
      triggered_by: 'chain:p1-20260501T020000Z',
      parent_execution_id: 'p1-20260501T020000Z',
    });
    assert.equal(second?.not_before, '2026-05-01T03:15:00.000Z');
    assert.deepEqual(chainFollowUps(parent('completed'), children), chainFollowUps(parent('completed'), children));
  });

  it('ids differ per parent execution and fit varchar(64)', () => {
    const a = chainExecutionIdFor('x'.repeat(21), 'p1-20260501T020000Z');
    const b = chainExecutionIdFor('x'.repeat(21), 'p1-20260502T020000Z');
    assert.notEqual(a, b);
    assert.ok(a.length <= 64);
  });
});
