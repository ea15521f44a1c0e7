import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PositionSet } from '../../src/domain/position-set.js';

describe('PositionSet', () => {
  it('holds positions across word and chunk boundaries, listed ascending, each once', () => {
    const members = [4000, 0, 31, 32, 63, 2047, 2048, 31, 4999];
    const set = PositionSet.of(5000, members);
    assert.deepEqual(set.toArray(), [0, 31, 32, 63, 2047, 2048, 4000, 4999]);
    assert.deepEqual([...set], set.toArray());
    assert.equal(set.size, 8);
    assert.deepEqual([set.has(31), set.has(30), set.has(4999), set.has(5000), set.has(-1), set.has(1.5)], [true, false, true, false, false, false]);
    assert.deepEqual(PositionSet.of(10, [-1, 10, 3]).toArray(), [3], 'positions out of range are left out');
  });

  it('with() and without() give a new set and leave the old one as it was', () => {
    const before = PositionSet.of(3000, [1, 2047]);
    const after = before.with(2500).without(1).with(2047);
    assert.deepEqual([before.toArray(), before.size], [[1, 2047], 2], 'the earlier set is unchanged');
    assert.deepEqual([after.toArray(), after.size], [[2047, 2500], 2]);
    assert.equal(before.with(1), before, 'a member already: the same set');
    assert.equal(before.without(5), before, 'not a member: the same set');
    assert.equal(before.with(3000), before, 'out of range: the same set');
  });

  it('union lists the members of any of the sets, ascending, each once; JSON shows the members', () => {
    const a = PositionSet.of(100, [5, 64, 99]);
    const b = PositionSet.of(100, [0, 64, 70]);
    assert.deepEqual(PositionSet.union([a, b]), [0, 5, 64, 70, 99]);
    assert.deepEqual(PositionSet.union([]), []);
    assert.equal(JSON.stringify({ running: a }), JSON.stringify({ running: [5, 64, 99] }));
  });
});
