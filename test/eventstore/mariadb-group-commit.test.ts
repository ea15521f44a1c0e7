import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { WrongExpectedVersionError, type EventStore, type NewEvent } from '../../src/eventstore/event-store.js';
import { openMariaDbEventStore } from '../../src/eventstore/sql-event-store.js';
import { createTestDatabase, type TestDatabase } from '../support/mariadb.js';

/**
 * MariaDB internals the contract suite cannot see: the revision check reads after the
 * append lock is held (not a snapshot from before the wait), positions read back for
 * servers whose multi-row inserts may not get evenly spaced values, and queued appends
 * finishing before close.
 */

describe('MariaDB event store: group commit', () => {
  let database: TestDatabase;
  let store: EventStore;

  before(async () => {
    database = await createTestDatabase('t_esgc');
    store = await openMariaDbEventStore({ url: database.url, pollIntervalMs: 40 });
  });
  after(async () => {
    await store?.close();
    await database?.drop();
  });

  it('checks expected revisions against what the previous lock holder committed while the group waited', async () => {
    const connection = await mysql.createConnection(new URL(database.url).href);
    /** Another writer (as another process would) holds the append lock while `appends` queue behind it, then writes `rows`. */
    const whileLockedElsewhere = async <T>(appends: () => Promise<T>, rows: [string, number][]): Promise<PromiseSettledResult<T>> => {
      await connection.query('START TRANSACTION');
      await connection.query('SELECT id FROM event_append_lock WHERE id = 1 FOR UPDATE');
      const outcome = Promise.allSettled([appends()]);
      await delay(300);
      await connection.query('INSERT INTO events (event_id, stream_id, revision, type, data, metadata, recorded_at) VALUES ?', [
        rows.map(([stream, revision]) => [randomUUID(), stream, revision, 'Other', '{}', '{}', new Date()]),
      ]);
      await connection.query('COMMIT');
      return (await outcome)[0]!;
    };
    try {
      // Alone in its group, an 'any' append on a stale revision would collide on (stream, revision).
      const counted = `counted-${randomUUID()}`;
      const any = await whileLockedElsewhere(() => store.append(counted, [newEvent('Counted')], 'any'), [
        [counted, 0],
        [counted, 1],
      ]);
      assert.equal(any.status, 'fulfilled', String((any as PromiseRejectedResult).reason));
      assert.equal((any as PromiseFulfilledResult<{ nextExpectedRevision: number }>).value.nextExpectedRevision, 2);
      assert.deepEqual((await store.readStream(counted)).map((event) => event.type), ['Other', 'Other', 'Counted']);

      // A group: the reservation fails with the revision the other writer committed, the rest succeed.
      const reserved = `reserved-${randomUUID()}`;
      const others = Array.from({ length: 5 }, () => `other-${randomUUID()}`);
      const group = await whileLockedElsewhere(
        () =>
          Promise.allSettled([
            store.append(reserved, [newEvent('Reserved')], 'no_stream'),
            ...others.map((streamId) => store.append(streamId, [newEvent('Other')], 'any')),
          ]),
        [[reserved, 0], ...others.map((streamId): [string, number] => [streamId, 0])],
      );
      assert.equal(group.status, 'fulfilled');
      const [reservation, ...rest] = (group as PromiseFulfilledResult<PromiseSettledResult<{ nextExpectedRevision: number }>[]>).value;
      assert.equal(reservation!.status, 'rejected');
      const error: unknown = (reservation as PromiseRejectedResult).reason;
      assert.ok(error instanceof WrongExpectedVersionError, `expected WrongExpectedVersionError, got ${String(error)}`);
      assert.equal(error.actual, 0);
      for (const outcome of rest) {
        assert.equal(outcome.status, 'fulfilled', String((outcome as PromiseRejectedResult).reason));
        assert.equal((outcome as PromiseFulfilledResult<{ nextExpectedRevision: number }>).value.nextExpectedRevision, 1);
      }
    } finally {
      await connection.end();
    }
  });

  for (const others of [0, 100]) {
    it(`keeps two streams differing only in case apart within one group (of ${others + 4} appends)`, async () => {
      // The revisions of a group are read in one statement (small and large groups differ) and matched back to the appends by stream id.
      const suffix = randomUUID();
      const upper = `Case-${suffix}`;
      const lower = `case-${suffix}`;
      await store.append(lower, [newEvent('Earlier')], 'no_stream');
      const [first, second, third, stale] = await Promise.allSettled([
        store.append(upper, [newEvent('A')], 'no_stream'),
        store.append(lower, [newEvent('B')], 0),
        store.append(upper, [newEvent('C')], 0),
        store.append(lower, [newEvent('D')], 0),
        ...Array.from({ length: others }, (_unused, index) => store.append(`other-${suffix}-${index}`, [newEvent('Other')], 'no_stream')),
      ]);
      const revision = (outcome: PromiseSettledResult<{ nextExpectedRevision: number }> | undefined) =>
        outcome?.status === 'fulfilled' ? outcome.value.nextExpectedRevision : String(outcome?.reason);
      assert.deepEqual([revision(first), revision(second), revision(third)], [0, 1, 1]);
      assert.equal(stale!.status, 'rejected');
      const error: unknown = (stale as PromiseRejectedResult).reason;
      assert.ok(error instanceof WrongExpectedVersionError, `expected WrongExpectedVersionError, got ${String(error)}`);
      assert.equal(error.actual, 1);
      assert.deepEqual((await store.readStream(upper)).map((event) => event.type), ['A', 'C']);
      assert.deepEqual((await store.readStream(lower)).map((event) => event.type), ['Earlier', 'B']);
    });
  }

  it('acknowledges a committed append at once when another process takes the lock before this process\'s next group', async () => {
    const connect = () => mysql.createConnection(new URL(database.url).href);
    const [first, second, observer] = await Promise.all([connect(), connect(), connect()]);
    /** Resolves once `count` connections wait for the append lock (their locking read is still running). */
    const untilLockWaits = async (count: number) => {
      for (let attempt = 0; attempt < 500; attempt++) {
        const [rows] = await observer.query(
          "SELECT COUNT(*) AS waiting FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND INFO LIKE 'SELECT id%FROM event_append_lock%FOR UPDATE%'",
        );
        if (Number((rows as { waiting: unknown }[])[0]?.waiting) >= count) return;
        await delay(10);
      }
      throw new Error(`${count} lock waits never showed`);
    };
    try {
      // Another writer holds the lock; this process's first group waits for it, and a third
      // writer queues behind that group.
      await first.query('START TRANSACTION');
      await first.query('SELECT id FROM event_append_lock WHERE id = 1 FOR UPDATE');
      const committed = store.append(`handover-a-${randomUUID()}`, [newEvent('A')], 'no_stream');
      await untilLockWaits(1);
      await second.query('START TRANSACTION');
      const secondLocked = second.query('SELECT id FROM event_append_lock WHERE id = 1 FOR UPDATE');
      await untilLockWaits(2);
      // The next group starts once the first holds the lock, and queues behind the third writer.
      const next = store.append(`handover-b-${randomUUID()}`, [newEvent('B')], 'no_stream');
      await first.query('COMMIT');
      await secondLocked;
      // The first group has committed; the third writer now holds the lock, with the next group behind it.
      const answer = await Promise.race([committed.then(() => 'acknowledged'), delay(1500).then(() => 'still waiting')]);
      assert.equal(answer, 'acknowledged', 'a committed append waited for another process to release the lock');
      await second.query('COMMIT');
      assert.equal((await next).nextExpectedRevision, 0);
      assert.equal((await committed).nextExpectedRevision, 0);
    } finally {
      await Promise.all([first, second, observer].map((connection) => connection.end()));
    }
  });

  it('reads positions back after the commit when told to (innodb_autoinc_lock_mode 2, Galera)', async () => {
    const readingBack = await openMariaDbEventStore({ url: database.url, readBackPositions: true });
    try {
      const appends = Array.from({ length: 40 }, (_unused, index) => ({
        streamId: `readback-${randomUUID()}`,
        events: Array.from({ length: 1 + (index % 4) }, () => newEvent('ReadBack')),
      }));
      const results = await Promise.all(appends.map(({ streamId, events }) => readingBack.append(streamId, events, 'no_stream')));
      for (const [index, { streamId, events }] of appends.entries()) {
        const read = await readingBack.readStream(streamId);
        assert.equal(read.length, events.length);
        assert.equal(results[index]!.position, read[read.length - 1]!.position);
        assert.equal(results[index]!.nextExpectedRevision, events.length - 1);
      }
    } finally {
      await readingBack.close();
    }
  });

  it('writes an event too large for a hex packet on its own, and fails one beyond max_allowed_packet alone', async () => {
    const connection = await mysql.createConnection(new URL(database.url).href);
    let maxPacket: number;
    try {
      const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.max_allowed_packet AS maxPacket');
      maxPacket = Number(rows[0]!.maxPacket);
    } finally {
      await connection.end();
    }
    // Past half of max_allowed_packet (and the 4 MiB packet budget) as hex, within it as is.
    const largeBytes = Math.min(Math.floor(maxPacket * 0.6), 3 * 1024 * 1024);
    const large = newEvent('Large', { blob: 'é'.repeat(Math.floor(largeBytes / 2)) });
    const huge = newEvent('Huge', { blob: 'x'.repeat(maxPacket + 1) });
    const small = Array.from({ length: 10 }, (_unused, index) => ({ streamId: `small-${randomUUID()}`, event: newEvent('Small', { index }) }));
    const largeStream = `large-${randomUUID()}`;
    const hugeStream = `huge-${randomUUID()}`;
    const outcomes = await Promise.allSettled([
      ...small.slice(0, 5).map(({ streamId, event }) => store.append(streamId, [event], 'no_stream')),
      store.append(largeStream, [newEvent('BeforeLarge'), large, newEvent('AfterLarge')], 'no_stream'),
      store.append(hugeStream, [huge], 'no_stream'),
      ...small.slice(5).map(({ streamId, event }) => store.append(streamId, [event], 'no_stream')),
    ]);
    const [hugeOutcome] = outcomes.splice(6, 1);
    assert.equal(hugeOutcome!.status, 'rejected');
    assert.match(String((hugeOutcome as PromiseRejectedResult).reason), /max_allowed_packet/);
    assert.deepEqual(await store.readStream(hugeStream), []);
    assert.ok(outcomes.every((outcome) => outcome.status === 'fulfilled'), JSON.stringify(outcomes.map((outcome) => outcome.status)));
    const read = await store.readStream(largeStream);
    assert.deepEqual(read.map((event) => event.type), ['BeforeLarge', 'Large', 'AfterLarge']);
    assert.deepEqual(read[1]!.data, large.data);
    assert.equal((outcomes[5] as PromiseFulfilledResult<{ position: string }>).value.position, read[2]!.position);
    for (const [index, { streamId }] of small.entries()) {
      const [event] = await store.readStream(streamId);
      assert.equal((outcomes[index < 5 ? index : index + 1] as PromiseFulfilledResult<{ position: string }>).value.position, event?.position);
    }
  });

  it('lets queued appends finish when the store is closed, and refuses later ones', async () => {
    const closing = await openMariaDbEventStore({ url: database.url });
    const streamId = `closing-${randomUUID()}`;
    const appends = Array.from({ length: 40 }, (_unused, index) =>
      closing.append(`${streamId}-${index % 4}`, [newEvent('BeforeClose', { index })], 'any'),
    );
    await closing.close();
    const outcomes = await Promise.allSettled(appends);
    assert.ok(outcomes.every((outcome) => outcome.status === 'fulfilled'), JSON.stringify(outcomes.map((outcome) => outcome.status)));
    await assert.rejects(closing.append(streamId, [newEvent('AfterClose')], 'any'), /closed/);
    let written = 0;
    for (let stream = 0; stream < 4; stream += 1) written += (await store.readStream(`${streamId}-${stream}`)).length;
    assert.equal(written, 40);
  });
});

function newEvent(type: string, data: Record<string, unknown> = {}): NewEvent {
  return {
    id: randomUUID(),
    type,
    data,
    metadata: {
      actor: 'user:alice',
      source: 'api',
      correlation_id: randomUUID(),
      causation_id: null,
      request_id: null,
      timestamp: '2025-01-02T03:04:05.678Z',
      schema_version: 1,
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
