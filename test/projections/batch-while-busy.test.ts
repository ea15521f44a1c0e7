import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom, lastValueFrom, Subject, toArray } from 'rxjs';
import { batchWhileBusy } from '../../src/projections/batch-while-busy.js';

describe('batchWhileBusy', () => {
  it('applies an event at once when idle, and batches what arrives meanwhile', async () => {
    const source = new Subject<number>();
    const applied: number[][] = [];
    let release!: () => void;
    const apply = async (batch: number[]) => {
      applied.push(batch);
      if (batch[0] === 1) await new Promise<void>((resolve) => (release = resolve));
    };
    const batches = lastValueFrom(source.pipe(batchWhileBusy(3, apply), toArray()));
    source.next(1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(applied, [[1]], 'the first event did not wait for company');
    for (const n of [2, 3, 4, 5]) source.next(n);
    release();
    source.complete();
    assert.deepEqual(await batches, [[1], [2, 3, 4], [5]]);
  });

  it('errors the stream when a batch fails, applying nothing after it', async () => {
    const source = new Subject<number>();
    const applied: number[] = [];
    const failing = firstValueFrom(source.pipe(batchWhileBusy(10, async (batch) => {
      if (batch.includes(2)) throw new Error('disk full');
      applied.push(...batch);
    }), toArray()));
    source.next(1);
    await new Promise((resolve) => setImmediate(resolve));
    source.next(2);
    source.next(3);
    await assert.rejects(failing, /disk full/);
    assert.deepEqual(applied, [1]);
  });
});
