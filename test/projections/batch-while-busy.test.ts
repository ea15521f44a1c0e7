import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom, lastValueFrom, Subject, toArray } from 'rxjs';
import { batchWhileBusy } from '../../src/projections/batch-while-busy.js';
import { restAfterLiveBatch } from '../../src/projections/live-batch-rest.js';

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

  it('after an expensive batch gathers what arrives for the rest it is given, then applies it as one batch', async () => {
    const source = new Subject<number>();
    const applied: number[][] = [];
    const rests: number[] = [];
    const batches = lastValueFrom(source.pipe(batchWhileBusy(100, async (batch) => {
      applied.push(batch);
    }, (elapsedMs) => {
      rests.push(elapsedMs);
      return applied.length === 1 ? 40 : 0; // only the first batch counts as expensive
    }), toArray()));
    source.next(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    for (const n of [2, 3]) {
      source.next(n);
      await new Promise((resolve) => setTimeout(resolve, 5)); // arriving apart, during the rest
    }
    assert.deepEqual(applied, [[1]], 'nothing was applied while resting');
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(applied, [[1], [2, 3]]);
    source.next(4);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(applied, [[1], [2, 3], [4]], 'a cheap batch is followed at once');
    source.complete();
    assert.equal((await batches).length, 3);
    assert.equal(rests.length, 3);
  });

  it('does not rest while a full batch is waiting: a backlog goes out in full batches at once', async () => {
    const source = new Subject<number>();
    const applied: number[][] = [];
    let release!: () => void;
    const batches = lastValueFrom(
      source.pipe(
        batchWhileBusy(
          2,
          async (batch) => {
            applied.push(batch);
            if (batch[0] === 1) await new Promise<void>((resolve) => (release = resolve));
          },
          () => 1000, // every batch counts as expensive
        ),
        toArray(),
      ),
    );
    source.next(1);
    await new Promise((resolve) => setImmediate(resolve));
    for (const n of [2, 3, 4, 5, 6]) source.next(n);
    release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(applied, [[1], [2, 3], [4, 5]], 'the backlog went out without a rest; what is left waits for one');
    source.complete();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.deepEqual(applied, [[1], [2, 3], [4, 5], [6]]);
    assert.equal((await batches).length, 4);
  });

  it('the live runner rests after an expensive batch, at most 250 ms, and after no other', () => {
    const sqlite = (elapsedMs: number, largeValueChars = 0) => restAfterLiveBatch({ elapsedMs, largeValueChars, blocksEventLoop: true });
    const mariadb = (elapsedMs: number, largeValueChars = 0) => restAfterLiveBatch({ elapsedMs, largeValueChars, blocksEventLoop: false });
    assert.equal(sqlite(0.4), 0);
    assert.equal(sqlite(4.9), 0);
    assert.equal(sqlite(12), 12, 'SQLite work holds the event loop: 5 ms or more is expensive');
    assert.equal(sqlite(900), 250);
    assert.equal(mariadb(40), 0, 'a MariaDB batch that waited for the server is followed at once');
    assert.equal(mariadb(40, 64 * 1024 - 1), 0);
    assert.equal(mariadb(12, 64 * 1024), 120, 'one that wrote large documents is expensive on any database: ten times its time');
    assert.equal(sqlite(3, 64 * 1024), 30);
    assert.equal(mariadb(900, 1_000_000), 250);
  });
});
