import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MinHeap } from '../../src/processes/min-heap.js';

function drain<K, V>(heap: MinHeap<K, V>): K[] {
  const out: K[] = [];
  for (let e = heap.pop(); e !== undefined; e = heap.pop()) out.push(e.key);
  return out;
}

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('MinHeap', () => {
  it('is empty at first', () => {
    const heap = new MinHeap<string, null>();
    assert.equal(heap.size, 0);
    assert.equal(heap.peek(), undefined);
    assert.equal(heap.pop(), undefined);
    assert.equal(heap.delete('x'), false);
  });

  it('pops in priority order; equal priorities in push order', () => {
    const heap = new MinHeap<string, number>();
    heap.push('c', 30, 3);
    heap.push('a', 10, 1);
    heap.push('b1', 20, 2);
    heap.push('b2', 20, 2);
    heap.push('d', 5, 0);
    assert.equal(heap.size, 5);
    assert.equal(heap.peek()?.key, 'd');
    assert.equal(heap.peek()?.priority, 5);
    assert.deepEqual(drain(heap), ['d', 'a', 'b1', 'b2', 'c']);
    assert.equal(heap.size, 0);
  });

  it('keeps one entry per key: a push of a known key updates it, up or down', () => {
    const heap = new MinHeap<string, string>();
    heap.push('a', 10, 'first');
    heap.push('b', 20, 'b');
    heap.push('c', 30, 'c');
    heap.push('a', 40, 'later');
    assert.equal(heap.size, 3);
    assert.equal(heap.get('a')?.value, 'later');
    assert.equal(heap.peek()?.key, 'b');
    heap.push('c', 1, 'sooner');
    assert.equal(heap.peek()?.key, 'c');
    assert.deepEqual(drain(heap), ['c', 'b', 'a']);
  });

  it('removes by key from anywhere', () => {
    const heap = new MinHeap<number, null>();
    for (const n of [5, 3, 8, 1, 9, 2, 7]) heap.push(n, n, null);
    assert.equal(heap.delete(1), true);
    assert.equal(heap.delete(8), true);
    assert.equal(heap.delete(8), false);
    assert.equal(heap.has(8), false);
    assert.equal(heap.size, 5);
    assert.deepEqual(drain(heap), [2, 3, 5, 7, 9]);
  });

  it('refuses a NaN priority', () => {
    assert.throws(() => new MinHeap<string, null>().push('x', Number.NaN, null), RangeError);
  });

  it('matches a sorted model through 20,000 random pushes, updates, deletes and pops', () => {
    const next = random(42);
    const heap = new MinHeap<number, number>();
    const model = new Map<number, { priority: number; seq: number }>();
    let seq = 0;
    const modelMin = () => [...model.entries()].sort((a, b) => a[1].priority - b[1].priority || a[1].seq - b[1].seq)[0];
    for (let i = 0; i < 20_000; i++) {
      const roll = next();
      const key = Math.floor(next() * 200);
      if (roll < 0.5) {
        const priority = Math.floor(next() * 1000);
        heap.push(key, priority, priority);
        model.set(key, { priority, seq: seq++ });
      } else if (roll < 0.7) {
        assert.equal(heap.delete(key), model.delete(key));
      } else {
        const expected = modelMin();
        const popped = heap.pop();
        if (expected === undefined) assert.equal(popped, undefined);
        else {
          assert.equal(popped?.key, expected[0]);
          assert.equal(popped?.priority, expected[1].priority);
          model.delete(expected[0]);
        }
      }
      assert.equal(heap.size, model.size);
    }
    const rest = [...model.entries()].sort((a, b) => a[1].priority - b[1].priority || a[1].seq - b[1].seq).map(([k]) => k);
    assert.deepEqual(drain(heap), rest);
  });
});
