import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import type { Subscription } from 'rxjs';
import type { EventMetadata, EventStore, ExpectedRevision, NewEvent, Position, RecordedEvent } from '../../src/eventstore/event-store.js';
import { openMariaDbEventLog } from '../../src/eventstore/mariadb-event-log.js';
import type { SqlEventLog } from '../../src/eventstore/sql-event-common.js';
import { SqlEventStore } from '../../src/eventstore/sql-event-store.js';
import { openSqliteEventLog } from '../../src/eventstore/sqlite-event-log.js';
import { newEvent, readAllAfter } from '../support/event-store-fixtures.js';
import { createTestDatabase, type TestDatabase } from '../support/mariadb.js';

/**
 * The SQL store's live subscriptions take this process's own committed appends from
 * memory: no read of the log for them, the same events a read returns, and never one
 * skipped or repeated when other processes append to the same database.
 */

const WAIT_TIMEOUT_MS = 15_000;
/** Far beyond the tests: only an append through the same instance wakes a subscription. */
const NO_POLL_MS = 600_000;
const POLL_MS = 40;

interface Storage {
  /** A store on the storage, with a count of the page reads of its log. */
  open(pollIntervalMs: number): Promise<{ store: EventStore; reads: ReadCounter }>;
  /** Appends one event as another process would (its own connection, lock and commit), after holding the append lock while `meanwhile` runs. */
  appendElsewhereWhileLocked?(event: NewEvent, streamId: string, meanwhile: () => Promise<void>): Promise<void>;
}

interface ReadCounter {
  /** Calls of the log's readAll. */
  calls: number;
}

describe('SQLite event store: own appends from memory', () => {
  let directory = '';
  const storage: Storage = {
    async open(pollIntervalMs) {
      const log = await openSqliteEventLog(join(directory, 'events.sqlite'));
      return { store: new SqlEventStore(log, pollIntervalMs), reads: countReads(log) };
    },
  };
  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'es-own-'));
  });
  after(() => rm(directory, { recursive: true, force: true }));
  defineTests(storage);
});

describe('MariaDB event store: own appends from memory', () => {
  let database: TestDatabase;
  const storage: Storage = {
    async open(pollIntervalMs) {
      const log = await openMariaDbEventLog({ url: database.url });
      return { store: new SqlEventStore(log, pollIntervalMs), reads: countReads(log) };
    },
    async appendElsewhereWhileLocked(event, streamId, meanwhile) {
      const connection = await mysql.createConnection(database.url);
      try {
        await connection.query('START TRANSACTION');
        await connection.query('SELECT id FROM event_append_lock WHERE id = 1 FOR UPDATE');
        const during = meanwhile();
        await delay(200); // the store's group is waiting for the lock
        await connection.query(
          'INSERT INTO events (event_id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, 0, ?, ?, ?, ?)',
          [event.id, streamId, event.type, JSON.stringify(event.data), JSON.stringify(event.metadata), new Date()],
        );
        await connection.query('COMMIT');
        await during;
      } finally {
        await connection.end();
      }
    },
  };
  before(async () => {
    database = await createTestDatabase('t_esown');
  });
  after(() => database?.drop());
  defineTests(storage);
});

function defineTests(storage: Storage): void {
  it('delivers every own append once, in order, equal to what readAll returns, without reading the log', async () => {
    const { store, reads } = await storage.open(NO_POLL_MS);
    try {
      const start = await store.headPosition();
      const recorder = new Recorder(store, start);
      await recorder.waitUntilCaughtUp(start);
      const readsBefore = reads.calls;

      const { written } = await appendConcurrently(store, 'single', 8, 40);
      // Refused and rolled back: a stale expected revision, a repeated event id (alone and
      // in a group of several, so that the group is retried one by one on MariaDB).
      const repeated = newEvent('Repeated');
      await store.append(newStreamId('repeat'), [repeated], 'no_stream');
      written.add(repeated.id!);
      const refusals = await Promise.allSettled([
        store.append(newStreamId('repeat'), [newEvent('Again', {}, repeated.id)], 'any'),
        store.append(newStreamId('stale'), [newEvent('Stale')], 7),
        ...Array.from({ length: 3 }, () => {
          const event = newEvent('Beside');
          written.add(event.id!);
          return store.append(newStreamId('beside'), [event], 'no_stream');
        }),
      ]);
      assert.deepEqual(
        refusals.map((outcome) => outcome.status),
        ['rejected', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'],
      );

      const head = await store.headPosition();
      await recorder.waitUntilCaughtUp(head);
      assert.equal(reads.calls - readsBefore, 0, 'the live subscription read the log for its own appends');
      recorder.stop();

      const log = await readAllAfter(store, start);
      assert.deepEqual(new Set(log.map((event) => event.id)), written);
      // The same objects a read (and a rebuild) sees: positions, revisions, data, metadata, recorded_at.
      assert.deepStrictEqual(recorder.events, log);
      assert.equal(recorder.error, undefined);
    } finally {
      await store.close();
    }
  });

  it('two instances appending concurrently: each subscriber sees every event of both once, in position order, equal to readAll', async () => {
    const first = await storage.open(POLL_MS);
    const second = await storage.open(POLL_MS);
    try {
      const start = await first.store.headPosition();
      const recorders = [new Recorder(first.store, start), new Recorder(second.store, start)];
      const appended = await Promise.all([
        appendConcurrently(first.store, 'first', 8, 25),
        appendConcurrently(second.store, 'second', 8, 25),
      ]);
      const head = await first.store.headPosition();
      for (const recorder of recorders) await recorder.waitUntilCaughtUp(head);
      await delay(3 * POLL_MS); // room for a repeated event to show up
      for (const recorder of recorders) recorder.stop();

      const log = await readAllAfter(first.store, start);
      assert.equal(log.length, appended[0].written.size + appended[1].written.size);
      for (const recorder of recorders) {
        assert.equal(recorder.error, undefined);
        assert.deepStrictEqual(recorder.events, log);
      }
    } finally {
      await Promise.all([first.store.close(), second.store.close()]);
    }
  });

  it('reads the log when another instance appended just before an own append: no event skipped', async () => {
    const mine = await storage.open(NO_POLL_MS);
    const other = await storage.open(NO_POLL_MS);
    try {
      const start = await mine.store.headPosition();
      const recorder = new Recorder(mine.store, start);
      await recorder.waitUntilCaughtUp(start);
      for (let round = 0; round < 5; round += 1) {
        // Without a poll, the other instance's event can only arrive with the own one after it.
        await other.store.append(newStreamId('other'), [newEvent('Other', { round })], 'no_stream');
        const own = await mine.store.append(newStreamId('own'), [newEvent('Own', { round })], 'no_stream');
        await recorder.waitUntilCaughtUp(own.position);
      }
      recorder.stop();
      assert.deepStrictEqual(recorder.events, await readAllAfter(mine.store, start));
      assert.deepEqual(
        recorder.events.map((event) => event.type),
        Array.from({ length: 5 }, () => ['Other', 'Own']).flat(),
      );
    } finally {
      await Promise.all([mine.store.close(), other.store.close()]);
    }
  });

  it('counts an event committed by another process while an own append waited for the lock', async (t) => {
    const appendElsewhereWhileLocked = storage.appendElsewhereWhileLocked;
    if (appendElsewhereWhileLocked === undefined) {
      t.skip('SQLite appends never wait across an event-loop turn');
      return;
    }
    const { store } = await storage.open(NO_POLL_MS);
    try {
      const start = await store.headPosition();
      const recorder = new Recorder(store, start);
      await recorder.waitUntilCaughtUp(start);
      const elsewhere = newEvent('Elsewhere');
      const own = newEvent('Own');
      // The store's append takes the lock after the other writer's commit: its run starts after that event.
      await appendElsewhereWhileLocked(elsewhere, newStreamId('elsewhere'), async () => {
        await store.append(newStreamId('own'), [own], 'no_stream');
      });
      await recorder.waitUntilCaughtUp(await store.headPosition());
      recorder.stop();
      assert.deepEqual(recorder.events.map((event) => event.id), [elsewhere.id, own.id]);
      assert.deepStrictEqual(recorder.events, await readAllAfter(store, start));
    } finally {
      await store.close();
    }
  });
}

// --- helpers ---------------------------------------------------------------------------

function countReads(log: SqlEventLog): ReadCounter {
  const counter: ReadCounter = { calls: 0 };
  const readAll = log.readAll.bind(log);
  log.readAll = (afterPosition, maxCount) => {
    counter.calls += 1;
    return readAll(afterPosition, maxCount);
  };
  return counter;
}

/** `writers` appending `appendsPerWriter` times each, every 5th append of 3 events; data as a rebuild would see it differently from the caller's object. */
async function appendConcurrently(
  store: EventStore,
  name: string,
  writers: number,
  appendsPerWriter: number,
): Promise<{ written: Set<string> }> {
  const written = new Set<string>();
  await Promise.all(
    Array.from({ length: writers }, async (_unused, writer) => {
      const streamId = newStreamId(`${name}-w${writer}`);
      let expected: ExpectedRevision = 'no_stream';
      for (let index = 0; index < appendsPerWriter; index += 1) {
        const batch = Array.from({ length: index % 5 === 0 ? 3 : 1 }, (_batchUnused, part) =>
          newEvent('Written', {
            writer,
            index,
            part,
            dropped: undefined, // not stored: a read has no such key
            text: 'quotes \' " \\ and é 😀',
            nested: { list: [1, null, 2.5], when: new Date(0) },
          }),
        );
        batch.forEach((event) => written.add(event.id!));
        expected = (await store.append(streamId, batch, expected)).nextExpectedRevision;
      }
    }),
  );
  return { written };
}

function newStreamId(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}



/** Records a live subscription from `afterPosition`. */
class Recorder {
  readonly events: RecordedEvent[] = [];
  error: unknown = undefined;
  private readonly subscription: Subscription;

  constructor(
    private readonly store: EventStore,
    private readonly afterPosition: Position | null,
  ) {
    this.subscription = store.subscribeToAll({ after: afterPosition }).subscribe({
      next: (event) => this.events.push(event),
      error: (error: unknown) => {
        this.error = error;
      },
    });
  }

  /** Until the subscription has delivered `head` (or, for the start, had time to read and wait). */
  async waitUntilCaughtUp(head: Position | null): Promise<void> {
    if (head === null || head === this.afterPosition) {
      await delay(50);
      return;
    }
    const deadline = Date.now() + WAIT_TIMEOUT_MS;
    for (;;) {
      if (this.error !== undefined) throw new Error('the subscription failed', { cause: this.error });
      const last = this.events[this.events.length - 1];
      if (last !== undefined && this.store.comparePositions(last.position, head) >= 0) return;
      if (Date.now() > deadline) throw new Error(`timed out at ${last?.position ?? 'the start'} before ${head}`);
      await delay(5);
    }
  }

  stop(): void {
    this.subscription.unsubscribe();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
