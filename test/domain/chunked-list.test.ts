import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChunkedList } from '../../src/domain/chunked-list.js';

const numbers = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('ChunkedList', () => {
  it('holds the items in order, across chunk boundaries', () => {
    for (const n of [0, 1, 63, 64, 65, 1000]) {
      const list = ChunkedList.from(numbers(n));
      assert.equal(list.length, n);
      assert.deepEqual([...list], numbers(n));
      assert.deepEqual(list.toArray(), numbers(n));
      assert.equal(list.at(n), undefined);
      assert.equal(list.at(-1), undefined);
      if (n > 0) assert.equal(list.at(n - 1), n - 1);
    }
  });

  it('with() gives a new list with one item replaced and leaves the old one as it was', () => {
    const before = ChunkedList.from(numbers(200));
    const after = before.with(130, -1).with(0, -2);
    assert.deepEqual(before.toArray(), numbers(200), 'the earlier list is unchanged');
    const expected = numbers(200);
    expected[130] = -1;
    expected[0] = -2;
    assert.deepEqual(after.toArray(), expected);
    assert.equal(before.with(200, 5), before, 'out of range: the same list');
  });

  it('indexesChangedSince() names the items replaced since an earlier list, every index for a list of another length', () => {
    const before = ChunkedList.from(numbers(200));
    const after = before.with(130, -1).with(3, -2).with(131, 131);
    assert.deepEqual(after.indexesChangedSince(before), [3, 130], 'an item replaced by an equal one is unchanged');
    assert.deepEqual(before.indexesChangedSince(before), []);
    assert.deepEqual(ChunkedList.from(numbers(3)).indexesChangedSince(before), [0, 1, 2]);
  });

  it('filters, maps, finds and serialises like the array it stands for', () => {
    const list = ChunkedList.from(numbers(150));
    assert.deepEqual(list.filter((n) => n % 50 === 0), [0, 50, 100]);
    assert.deepEqual(list.map((n, i) => n - i), new Array(150).fill(0));
    assert.equal(list.find((n) => n > 140), 141);
    assert.equal(list.some((n) => n === 149), true);
    assert.equal(list.some((n) => n === 150), false);
    assert.equal(JSON.stringify({ vms: list }), JSON.stringify({ vms: numbers(150) }));
  });
});
