import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Observable, Subscription } from 'rxjs';
import { openEventStoreDb } from '../../src/eventstore/esdb-event-store.js';
import {
  WrongExpectedVersionError,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type Position,
  type RecordedEvent,
} from '../../src/eventstore/event-store.js';
import { openMariaDbEventStore, openSqliteEventStore } from '../../src/eventstore/sql-event-store.js';
import { startEsdbDouble, type EsdbDouble } from '../support/esdb-double/server.js';
import { newEvent, readAllAfter } from '../support/event-store-fixtures.js';
import { createTestDatabase } from '../support/mariadb.js';

/**
 * One contract, every adapter: SQLite, MariaDB (down = failure) and the EventStoreDB
 * adapter on the in-process double (test/support/esdb-double) always run; the
 * EventStoreDB adapter on a real server too when EVENTSTORE_URL is set.
 */

/** Short, so that the poll path (a second store instance) is exercised quickly. */
const POLL_INTERVAL_MS = 40;
const WAIT_TIMEOUT_MS = 15_000;

interface AdapterUnderTest {
  /** The store under test, opened in `before`. */
  open(): Promise<EventStore>;
  /** Another instance on the same storage, as a second service process would open it. */
  openSecondInstance(options?: { pollIntervalMs?: number }): Promise<EventStore>;
  /** True when `open()` gives an empty log (not so for a shared EventStoreDB server). */
  startsEmpty: boolean;
  /** SQL stores reject a recorded event id; EventStoreDB takes it as an idempotent retry. */
  rejectsDuplicateEventIds: boolean;
  cleanup(): Promise<void>;
}

describe('SQLite event store', () => {
  let directory = '';
  defineContract(() => ({
    startsEmpty: true,
    rejectsDuplicateEventIds: true,
    async open() {
      directory = await mkdtemp(join(tmpdir(), 'es-contract-'));
      return openSqliteEventStore({ filename: join(directory, 'events.sqlite'), pollIntervalMs: POLL_INTERVAL_MS });
    },
    openSecondInstance: (options) =>
      openSqliteEventStore({
        filename: join(directory, 'events.sqlite'),
        pollIntervalMs: options?.pollIntervalMs ?? POLL_INTERVAL_MS,
      }),
    cleanup: () => rm(directory, { recursive: true, force: true }),
  }));
});

describe('MariaDB event store', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>> | null = null;
  defineContract(() => ({
    startsEmpty: true,
    rejectsDuplicateEventIds: true,
    async open() {
      database = await createTestDatabase('t_es');
      return openMariaDbEventStore({ url: database.url, pollIntervalMs: POLL_INTERVAL_MS });
    },
    openSecondInstance: (options) => {
      if (database === null) throw new Error('no test database');
      return openMariaDbEventStore({ url: database.url, pollIntervalMs: options?.pollIntervalMs ?? POLL_INTERVAL_MS });
    },
    cleanup: async () => {
      await database?.drop();
    },
  }));
});

describe('EventStoreDB event store on the in-process double', () => {
  let double: EsdbDouble | null = null;
  defineContract(() => ({
    startsEmpty: true,
    rejectsDuplicateEventIds: false,
    async open() {
      // A stats event every few appends: the adapter must keep system events out everywhere.
      double = await startEsdbDouble({ systemEventEvery: 7 });
      return openEventStoreDb({ connectionString: double.url });
    },
    openSecondInstance: () => {
      if (double === null) throw new Error('no double');
      return openEventStoreDb({ connectionString: double.url });
    },
    cleanup: async () => {
      await double?.close();
    },
  }));
});

const eventstoreUrl = process.env.EVENTSTORE_URL;
describe(
  'EventStoreDB event store',
  { skip: eventstoreUrl ? false : 'EVENTSTORE_URL not set: no EventStoreDB server on this machine' },
  () => {
    defineContract(() => ({
      startsEmpty: false,
      rejectsDuplicateEventIds: false,
      open: () => openEventStoreDb({ connectionString: eventstoreUrl ?? '' }),
      openSecondInstance: () => openEventStoreDb({ connectionString: eventstoreUrl ?? '' }),
      cleanup: async () => undefined,
    }));
  },
);

function defineContract(makeAdapter: () => AdapterUnderTest): void {
  const adapter = makeAdapter();
  let store: EventStore;
  /** Unique per run: an EventStoreDB server keeps the streams of earlier runs. */
  const run = randomUUID().slice(0, 8);
  let streamCounter = 0;
  const newStreamId = (label: string) => `contract_${label}-${run}-${++streamCounter}`;

  before(async () => {
    store = await adapter.open();
  });
  after(async () => {
    await store?.close();
    await adapter.cleanup();
  });

  it('starts empty: headPosition null, readAll []', { skip: !adapter.startsEmpty && 'shared server' }, async () => {
    assert.equal(await store.headPosition(), null);
    assert.deepEqual(await store.readAll(), []);
    await store.ping();
  });

  it('round-trips events with data, metadata and ids intact, in order', async () => {
    const streamId = newStreamId('roundtrip');
    const givenId = randomUUID();
    const events: NewEvent[] = [
      newEvent('ScheduleCreated', { name: 'nightly', cron: '0 2 * * *', nested: { list: [1, 'two', null, true] } }, givenId),
      newEvent('ScheduleRenamed', { name: 'nächtlich ✓ "quoted" \\ back' }),
      newEvent('ScheduleDisabled', {}),
    ];
    const before = Date.now();
    const result = await store.append(streamId, events, 'no_stream');
    const read = await store.readStream(streamId);

    assert.equal(result.nextExpectedRevision, 2);
    assert.equal(read.length, 3);
    read.forEach((recorded, index) => {
      const sent = events[index]!;
      assert.equal(recorded.streamId, streamId);
      assert.equal(recorded.revision, index);
      assert.equal(recorded.type, sent.type);
      assert.deepEqual(recorded.data, sent.data);
      assert.deepEqual(recorded.metadata, sent.metadata);
      assert.match(recorded.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
      assert.match(recorded.recordedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      // Clock skew of a remote server is tolerated, not a wrong time zone.
      assert.ok(Math.abs(Date.parse(recorded.recordedAt) - before) < 60_000, recorded.recordedAt);
    });
    assert.equal(read[0]!.id, givenId);
    assert.notEqual(read[1]!.id, read[2]!.id);
    assert.equal(result.position, read[2]!.position);
    assertStrictlyIncreasing(store, read.map((event) => event.position));
  });

  it('numbers revisions from 0 and reports nextExpectedRevision', async () => {
    const streamId = newStreamId('revisions');
    assert.equal((await store.append(streamId, [newEvent('A')], 'no_stream')).nextExpectedRevision, 0);
    assert.equal((await store.append(streamId, [newEvent('B'), newEvent('C')], 0)).nextExpectedRevision, 2);
    assert.equal((await store.append(streamId, [newEvent('D')], 'any')).nextExpectedRevision, 3);
    assert.deepEqual(
      (await store.readStream(streamId)).map((event) => [event.revision, event.type]),
      [[0, 'A'], [1, 'B'], [2, 'C'], [3, 'D']],
    );
  });

  it('checks every expected-revision mode like EventStoreDB', async () => {
    const absent = newStreamId('absent');
    const existing = newStreamId('existing');
    await store.append(existing, [newEvent('A'), newEvent('B')], 'no_stream'); // at revision 1

    // Failures carry the actual revision, or 'no_stream'.
    await assertWrongExpectedVersion(store.append(existing, [newEvent('X')], 'no_stream'), existing, 'no_stream', 1);
    await assertWrongExpectedVersion(store.append(absent, [newEvent('X')], 'stream_exists'), absent, 'stream_exists', 'no_stream');
    await assertWrongExpectedVersion(store.append(existing, [newEvent('X')], 0), existing, 0, 1);
    await assertWrongExpectedVersion(store.append(existing, [newEvent('X')], 2), existing, 2, 1);
    await assertWrongExpectedVersion(store.append(absent, [newEvent('X')], 0), absent, 0, 'no_stream');
    assert.deepEqual(await store.readStream(absent), []);
    assert.equal((await store.readStream(existing)).length, 2);

    // Successes.
    assert.equal((await store.append(existing, [newEvent('C')], 'stream_exists')).nextExpectedRevision, 2);
    assert.equal((await store.append(existing, [newEvent('D')], 2)).nextExpectedRevision, 3);
    assert.equal((await store.append(existing, [newEvent('E')], 'any')).nextExpectedRevision, 4);
    const anyOnAbsent = newStreamId('any-absent');
    assert.equal((await store.append(anyOnAbsent, [newEvent('A')], 'any')).nextExpectedRevision, 0);
  });

  it('appends several events atomically: a failing append writes nothing', async () => {
    const streamId = newStreamId('atomic');
    await store.append(streamId, [newEvent('A')], 'no_stream');
    const headBefore = await store.headPosition();

    await assertWrongExpectedVersion(
      store.append(streamId, [newEvent('B'), newEvent('C'), newEvent('D')], 'no_stream'),
      streamId,
      'no_stream',
      0,
    );

    assert.deepEqual((await store.readStream(streamId)).map((event) => event.type), ['A']);
    assert.equal(await store.headPosition(), headBefore);
    const multi = await store.append(streamId, [newEvent('B'), newEvent('C'), newEvent('D')], 0);
    assert.equal(multi.nextExpectedRevision, 3);
    assert.deepEqual((await store.readStream(streamId)).map((event) => event.type), ['A', 'B', 'C', 'D']);
  });

  it(
    'rejects an append that repeats a recorded event id, writing none of its events',
    { skip: !adapter.rejectsDuplicateEventIds && 'EventStoreDB treats a repeated event id as an idempotent retry' },
    async () => {
      const streamId = newStreamId('duplicate-id');
      const recorded = newEvent('A');
      await store.append(streamId, [recorded], 'no_stream');
      const headBefore = await store.headPosition();

      // The last row fails, after several hundred were inserted: none may survive.
      const batch = [...Array.from({ length: 450 }, () => newEvent('B')), { ...newEvent('C'), id: recorded.id }];
      const failing = store.append(newStreamId('duplicate-id'), batch, 'any');
      await assert.rejects(failing, (error: unknown) => {
        assert.ok(error instanceof Error && !(error instanceof WrongExpectedVersionError), String(error));
        assert.match(error.message, /event id is already recorded/);
        return true;
      });
      assert.equal(await store.headPosition(), headBefore);
    },
  );

  it('appends a batch of 1000 events in one call', async () => {
    const streamId = newStreamId('large');
    const batch = Array.from({ length: 1000 }, (_unused, index) => newEvent('Bulk', { index }));
    const result = await store.append(streamId, batch, 'no_stream');
    assert.equal(result.nextExpectedRevision, 999);
    const read = await store.readStream(streamId);
    assert.deepEqual(read.map((event) => event.id), batch.map((event) => event.id));
    assert.equal(read[999]!.position, result.position);
    assertStrictlyIncreasing(store, read.map((event) => event.position));
  });

  it('reads a stream backwards, from a revision, and up to maxCount', async () => {
    const streamId = newStreamId('reads');
    await store.append(streamId, ['E0', 'E1', 'E2', 'E3', 'E4'].map((type) => newEvent(type)), 'no_stream');
    const revisions = (events: RecordedEvent[]) => events.map((event) => event.revision);

    assert.deepEqual(revisions(await store.readStream(streamId, { direction: 'backwards' })), [4, 3, 2, 1, 0]);
    assert.deepEqual(revisions(await store.readStream(streamId, { direction: 'backwards', fromRevision: 2 })), [2, 1, 0]);
    assert.deepEqual(revisions(await store.readStream(streamId, { direction: 'backwards', maxCount: 2 })), [4, 3]);
    assert.deepEqual(revisions(await store.readStream(streamId, { fromRevision: 2 })), [2, 3, 4]);
    assert.deepEqual(revisions(await store.readStream(streamId, { maxCount: 2 })), [0, 1]);
    assert.deepEqual(revisions(await store.readStream(streamId, { fromRevision: 3, maxCount: 1 })), [3]);
    assert.deepEqual(revisions(await store.readStream(streamId, { fromRevision: 5 })), []);
  });

  it('reads several streams at once, each from its own revision, as readStream reads each', async () => {
    // More streams than one SQL read takes, of different lengths, absent ones and one asked twice.
    const streams = Array.from({ length: 70 }, (_, i) => newStreamId(`many-${i}`));
    await Promise.all(streams.map((streamId, i) => (i % 7 === 6 ? Promise.resolve() : store.append(streamId, Array.from({ length: (i % 4) + 1 }, (_, n) => newEvent(`E${n}`, { i, n })), 'no_stream'))));
    const requests = streams.map((streamId, i) => ({ streamId, fromRevision: i % 3 }));
    requests.push({ streamId: streams[3]!, fromRevision: 0 }, { streamId: newStreamId('never-written'), fromRevision: 0 });

    const answers = await store.readStreams(requests);
    assert.equal(answers.length, requests.length);
    for (const [i, request] of requests.entries()) {
      const one = await store.readStream(request.streamId, { fromRevision: request.fromRevision });
      assert.deepEqual(answers[i], one, `request ${i}: ${request.streamId} from ${request.fromRevision}`);
    }
    const revisions = (events: RecordedEvent[] | undefined) => events?.map((event) => event.revision);
    assert.deepEqual(revisions(answers[3]), [0, 1, 2, 3], 'four events, from 0');
    assert.deepEqual(revisions(answers[2]), [2], 'three events, from 2');
    assert.deepEqual(revisions(answers[4]), [], 'one event, from 1');
    assert.deepEqual(revisions(answers[6]), [], 'never written');
    assert.deepEqual(revisions(answers.at(-2)), [0, 1, 2, 3], 'the same stream asked twice');
    assert.deepEqual(answers.at(-1), []);
    assert.deepEqual(await store.readStreams([]), []);
  });

  it('reads an absent stream as []', async () => {
    assert.deepEqual(await store.readStream(newStreamId('never-written')), []);
    assert.deepEqual(await store.readStream(newStreamId('never-written'), { direction: 'backwards' }), []);
  });

  it('pages through readAll with an exclusive `after`, each event once and in order', async () => {
    const start = await store.headPosition();
    const appended: string[] = [];
    for (let index = 0; index < 25; index += 1) {
      const id = randomUUID();
      appended.push(id);
      await store.append(newStreamId(`page${index % 5}`), [newEvent('Paged', { index }, id)], 'any');
    }

    const seen: RecordedEvent[] = [];
    let cursor: Position | null = start;
    for (;;) {
      const page: RecordedEvent[] = await store.readAll({ after: cursor, maxCount: 7 });
      assert.ok(page.length <= 7);
      if (page.length === 0) break;
      seen.push(...page);
      cursor = page[page.length - 1]!.position;
    }

    const ours = seen.filter((event) => appended.includes(event.id));
    assert.deepEqual(ours.map((event) => event.id), appended);
    assertStrictlyIncreasing(store, seen.map((event) => event.position));
    if (adapter.startsEmpty) assert.equal(seen.length, 25);
    assert.equal(await store.headPosition(), seen[seen.length - 1]!.position);
  });

  it('orders positions strictly with comparePositions, and headPosition is the last append', async () => {
    const first = await store.append(newStreamId('order'), [newEvent('A')], 'any');
    const second = await store.append(newStreamId('order'), [newEvent('B'), newEvent('C')], 'any');
    assert.ok(store.comparePositions(first.position, second.position) < 0);
    assert.ok(store.comparePositions(second.position, first.position) > 0);
    assert.equal(store.comparePositions(first.position, first.position), 0);
    assert.equal(await store.headPosition(), second.position);
  });

  it('delivers every later event exactly once and in order to subscriptions from the start and from the middle, while 8 writers append', async () => {
    // A settled prefix, and a middle position in it.
    for (let index = 0; index < 20; index += 1) {
      await store.append(newStreamId('prefix'), [newEvent('Prefix', { index })], 'no_stream');
    }
    const prefix = await readAllAfter(store, null);
    const middle = prefix[prefix.length - 10]!.position;

    const fromStart = new SubscriptionRecorder(store.subscribeToAll());
    const fromMiddle = new SubscriptionRecorder(store.subscribeToAll({ after: middle }));

    const writers = 8;
    const appendsPerWriter = 100;
    const written = new Set<string>();
    await Promise.all(
      Array.from({ length: writers }, async (_unused, writer) => {
        const streams = [newStreamId(`w${writer}a`), newStreamId(`w${writer}b`), newStreamId(`w${writer}c`)];
        const revisions = new Map<string, number>();
        for (let index = 0; index < appendsPerWriter; index += 1) {
          const streamId = streams[index % streams.length]!;
          // Every 10th append is multi-event; expected revisions exercise the same code as commands.
          const batch = Array.from({ length: index % 10 === 0 ? 3 : 1 }, (_batchUnused, part) =>
            newEvent('Written', { writer, index, part }),
          );
          batch.forEach((event) => written.add(event.id!));
          const expected: ExpectedRevision = revisions.get(streamId) ?? 'no_stream';
          const result = await store.append(streamId, batch, expected);
          revisions.set(streamId, result.nextExpectedRevision);
        }
      }),
    );
    const finalHead = await store.headPosition();
    assert.ok(finalHead !== null);

    const reached = (recorder: SubscriptionRecorder) => () =>
      recorder.events.length > 0 && store.comparePositions(recorder.events[recorder.events.length - 1]!.position, finalHead) >= 0;
    await fromStart.waitUntil(reached(fromStart), 'subscription from the start reaches the head');
    await fromMiddle.waitUntil(reached(fromMiddle), 'subscription from the middle reaches the head');
    fromStart.stop();
    fromMiddle.stop();

    const log = await readAllAfter(store, null);
    const logAfterMiddle = await readAllAfter(store, middle);
    assert.equal(log.filter((event) => written.has(event.id)).length, written.size);

    // From the start: the whole log, exactly, in order (on a shared server, at least our events in order).
    if (adapter.startsEmpty) {
      assert.deepEqual(fromStart.events.map((event) => event.id), log.map((event) => event.id));
    } else {
      assertNoDuplicates(fromStart.events);
      assert.deepEqual(
        fromStart.events.filter((event) => written.has(event.id)).map((event) => event.id),
        log.filter((event) => written.has(event.id)).map((event) => event.id),
      );
    }
    assertStrictlyIncreasing(store, fromStart.events.map((event) => event.position));
    // From the middle: exactly what follows the middle position.
    assert.deepEqual(fromMiddle.events.map((event) => event.id), logAfterMiddle.map((event) => event.id));
    assert.equal(fromStart.error, undefined);
    assert.equal(fromMiddle.error, undefined);
  });

  it('lets exactly one of several concurrent appenders win each revision of one stream', async () => {
    const streamId = newStreamId('contended');
    const contenders = 8;

    // Reservation style: all expect no_stream.
    const firstRound = await Promise.allSettled(
      Array.from({ length: contenders }, (_unused, contender) =>
        store.append(streamId, [newEvent('Reserved', { contender })], 'no_stream'),
      ),
    );
    assertOneWinner(firstRound, streamId, 0);

    // Then ten rounds of two-event appends, all expecting the current revision.
    let current = 0;
    for (let round = 0; round < 10; round += 1) {
      const outcomes = await Promise.allSettled(
        Array.from({ length: contenders }, (_unused, contender) =>
          store.append(streamId, [newEvent('Claimed', { round, contender }), newEvent('Confirmed')], current),
        ),
      );
      assertOneWinner(outcomes, streamId, current + 2);
      current += 2;
    }

    // 'any' never conflicts, even under contention.
    const anyRound = await Promise.allSettled(
      Array.from({ length: contenders }, () => store.append(streamId, [newEvent('Any')], 'any')),
    );
    assert.ok(anyRound.every((outcome) => outcome.status === 'fulfilled'), JSON.stringify(anyRound));
    const revisions = (await store.readStream(streamId)).map((event) => event.revision);
    assert.deepEqual(revisions, Array.from({ length: 1 + 10 * 2 + contenders }, (_unused, index) => index));
  });

  it('checks each of 32 concurrent appends on its own: stale expected revisions fail alone, a subscriber sees every committed event once, in order', async () => {
    const start = await store.headPosition();
    const recorder = new SubscriptionRecorder(store.subscribeToAll({ after: start }));
    const streams = Array.from({ length: 32 }, () => newStreamId('group'));
    const revisions = new Map<string, number>();
    const committed = new Set<string>();
    for (const streamId of streams) {
      const seed = [newEvent('Seed'), newEvent('Seed')];
      seed.forEach((event) => committed.add(event.id!));
      revisions.set(streamId, (await store.append(streamId, seed, 'no_stream')).nextExpectedRevision);
    }
    const refused = new Set<string>();
    const positions: { streamId: string; revision: number; position: Position }[] = [];

    for (let round = 0; round < 5; round += 1) {
      // Four more appenders race the first for streams[0..3], all on the current revision.
      const racing = streams.slice(0, 4);
      const racingRevisions = new Map(racing.map((streamId) => [streamId, revisions.get(streamId)!]));
      const attempts = [...streams.map((streamId, index) => ({ streamId, index })), ...racing.map((streamId) => ({ streamId, index: -1 }))];
      const outcomes = await Promise.allSettled(
        attempts.map(async ({ streamId, index }) => {
          const current = index === -1 ? racingRevisions.get(streamId)! : revisions.get(streamId)!;
          const stale = index >= 4 && (index + round) % 4 === 0;
          const expected: ExpectedRevision = stale ? current - 1 : index % 7 === 5 ? 'stream_exists' : current;
          const batch = Array.from({ length: index % 5 === 0 ? 3 : 1 }, (_unused, part) => newEvent('Grouped', { round, index, part }));
          try {
            const result = await store.append(streamId, batch, expected);
            assert.ok(!stale, `a stale append to ${streamId} succeeded`);
            assert.equal(result.nextExpectedRevision, current + batch.length);
            batch.forEach((event) => committed.add(event.id!));
            positions.push({ streamId, revision: result.nextExpectedRevision, position: result.position });
            return result;
          } catch (error) {
            batch.forEach((event) => refused.add(event.id!));
            throw error;
          }
        }),
      );
      // Every distinct-stream append succeeds unless stale; stale ones report the actual revision.
      outcomes.slice(0, streams.length).forEach((outcome, index) => {
        const streamId = streams[index]!;
        const stale = index >= 4 && (index + round) % 4 === 0;
        if (index < 4) return; // racing: checked below
        if (stale) {
          assert.equal(outcome.status, 'rejected');
          const error: unknown = (outcome as PromiseRejectedResult).reason;
          assert.ok(error instanceof WrongExpectedVersionError, String(error));
          assert.equal(error.streamId, streamId);
          assert.equal(error.actual, revisions.get(streamId));
          assert.equal(error.expected, revisions.get(streamId)! - 1);
        } else {
          assert.equal(outcome.status, 'fulfilled', String((outcome as PromiseRejectedResult).reason));
          revisions.set(streamId, (outcome as PromiseFulfilledResult<{ nextExpectedRevision: number }>).value.nextExpectedRevision);
        }
      });
      // Each raced stream: exactly one of its two appenders won; the loser reports the winner's revision.
      racing.forEach((streamId, index) => {
        const pair = [outcomes[index]!, outcomes[streams.length + index]!];
        const winners = pair.filter((outcome) => outcome.status === 'fulfilled') as PromiseFulfilledResult<{ nextExpectedRevision: number }>[];
        assert.equal(winners.length, 1, `one winner on ${streamId}: ${JSON.stringify(pair.map((outcome) => outcome.status))}`);
        const won = winners[0]!.value.nextExpectedRevision;
        const loser = pair.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
        assert.ok(loser.reason instanceof WrongExpectedVersionError, String(loser.reason));
        assert.equal(loser.reason.actual, won);
        revisions.set(streamId, won);
      });
    }

    const head = await store.headPosition();
    assert.ok(head !== null);
    await recorder.waitUntil(
      () => recorder.events.length > 0 && store.comparePositions(recorder.events[recorder.events.length - 1]!.position, head) >= 0,
      'the subscription reaches the head',
    );
    recorder.stop();
    const log = await readAllAfter(store, start);
    const ours = log.filter((event) => committed.has(event.id) || refused.has(event.id));
    assert.deepEqual(new Set(ours.map((event) => event.id)), committed, 'exactly the committed events are in the log');
    if (adapter.startsEmpty) {
      assert.deepEqual(recorder.events.map((event) => event.id), log.map((event) => event.id));
    } else {
      assertNoDuplicates(recorder.events);
      assert.deepEqual(
        recorder.events.filter((event) => committed.has(event.id)).map((event) => event.id),
        ours.map((event) => event.id),
      );
    }
    assertStrictlyIncreasing(store, recorder.events.map((event) => event.position));
    assert.equal(recorder.error, undefined);
    // Every stream has gapless revisions, and every reported position is its last event's.
    for (const streamId of streams) {
      const events = await store.readStream(streamId);
      assert.deepEqual(events.map((event) => event.revision), Array.from({ length: events.length }, (_unused, index) => index));
      assert.equal(events[events.length - 1]!.revision, revisions.get(streamId));
    }
    for (const { streamId, revision, position } of positions) {
      const [last] = await store.readStream(streamId, { fromRevision: revision, maxCount: 1 });
      assert.equal(last?.position, position, `position of ${streamId}@${revision}`);
    }
  });

  it(
    'fails only the append that repeats an event id, among concurrent appends',
    { skip: !adapter.rejectsDuplicateEventIds && 'EventStoreDB treats a repeated event id as an idempotent retry' },
    async () => {
      const recorded = newEvent('A');
      await store.append(newStreamId('dup-recorded'), [recorded], 'no_stream');
      const fresh = newEvent('Fresh');
      const ok = () => ({ streamId: newStreamId('dup-ok'), events: [newEvent('Ok'), newEvent('Ok')], bad: false });
      const appends = [
        ...Array.from({ length: 6 }, ok),
        { streamId: newStreamId('dup-bad'), events: [newEvent('X'), { ...newEvent('Y'), id: recorded.id }], bad: true },
        ...Array.from({ length: 6 }, ok),
        // The same new id twice in one burst: the first append made wins.
        { streamId: newStreamId('dup-first'), events: [fresh], bad: false },
        { streamId: newStreamId('dup-second'), events: [newEvent('Z'), { ...newEvent('Z'), id: fresh.id }], bad: true },
        ...Array.from({ length: 3 }, ok),
      ];
      const outcomes = await Promise.allSettled(appends.map(({ streamId, events }) => store.append(streamId, events, 'no_stream')));
      for (const [index, outcome] of outcomes.entries()) {
        const { streamId, events, bad } = appends[index]!;
        if (bad) {
          assert.equal(outcome.status, 'rejected', streamId);
          const error: unknown = (outcome as PromiseRejectedResult).reason;
          assert.ok(error instanceof Error && !(error instanceof WrongExpectedVersionError), String(error));
          assert.match(error.message, /event id is already recorded/);
          assert.deepEqual(await store.readStream(streamId), [], `nothing of ${streamId} is written`);
        } else {
          assert.equal(outcome.status, 'fulfilled', String((outcome as PromiseRejectedResult).reason));
          const read = await store.readStream(streamId);
          assert.deepEqual(read.map((event) => event.id), events.map((event) => event.id));
          assert.equal((outcome as PromiseFulfilledResult<{ position: Position }>).value.position, read[read.length - 1]!.position);
        }
      }
    },
  );

  it('keeps large and small concurrent appends atomic: a 1000-event append is contiguous in the log', async () => {
    const start = await store.headPosition();
    const large = Array.from({ length: 1000 }, (_unused, index) => newEvent('Large', { index }));
    const largeStream = newStreamId('large-concurrent');
    const small = Array.from({ length: 300 }, (_unused, index) => ({ streamId: newStreamId('small'), event: newEvent('Small', { index }) }));
    const results = await Promise.all([
      ...small.slice(0, 150).map(({ streamId, event }) => store.append(streamId, [event], 'no_stream')),
      store.append(largeStream, large, 'no_stream'),
      ...small.slice(150).map(({ streamId, event }) => store.append(streamId, [event], 'no_stream')),
    ]);
    const log = await readAllAfter(store, start);
    const largeIds = new Set(large.map((event) => event.id!));
    const firstLarge = log.findIndex((event) => largeIds.has(event.id));
    assert.deepEqual(
      log.slice(firstLarge, firstLarge + 1000).map((event) => event.id),
      large.map((event) => event.id),
      'the large append is one contiguous run, in order',
    );
    assert.equal(results[150]!.position, log[firstLarge + 999]!.position);
    const byId = new Map(log.map((event) => [event.id, event.position]));
    small.forEach(({ event }, index) => {
      const result = results[index < 150 ? index : index + 1]!;
      assert.equal(result.position, byId.get(event.id!));
      assert.equal(result.nextExpectedRevision, 0);
    });
  });

  it('stores quotes, backslashes and non-ASCII in stream ids, types and data exactly', async () => {
    const streamId = newStreamId(`odd'"\\%_;--\n ünï 😀`);
    const upper = streamId.toUpperCase();
    const data = { text: `'); DROP TABLE events; -- \\' \\\\ "x" \u0000 \n 😀 ß`, nested: { quote: "'" } };
    const type = `Odd'"\\Type ü`;
    await store.append(streamId, [{ ...newEvent('x'), type, data }], 'no_stream');
    await store.append(upper, [newEvent('Upper')], 'no_stream');
    const [read] = await store.readStream(streamId);
    assert.equal(read?.streamId, streamId);
    assert.equal(read?.type, type);
    assert.deepEqual(read?.data, data);
    assert.deepEqual((await store.readStream(upper)).map((event) => event.type), ['Upper']);
    await assertWrongExpectedVersion(store.append(streamId, [newEvent('Again')], 'no_stream'), streamId, 'no_stream', 0);
  });

  it('keeps one order across two instances appending concurrently: subscribers on both see every event once, in order', async () => {
    const second = await adapter.openSecondInstance();
    try {
      const start = await store.headPosition();
      const onFirst = new SubscriptionRecorder(store.subscribeToAll({ after: start }));
      const onSecond = new SubscriptionRecorder(second.subscribeToAll({ after: start }));
      const shared = newStreamId('shared');
      const written = new Set<string>();
      await Promise.all(
        [store, second].flatMap((instance, which) =>
          Array.from({ length: 8 }, async (_unused, writer) => {
            const own = newStreamId(`i${which}w${writer}`);
            let expected: ExpectedRevision = 'no_stream';
            for (let index = 0; index < 15; index += 1) {
              const event = newEvent('Own', { which, writer, index });
              const sharedEvent = newEvent('Shared', { which, writer, index });
              written.add(event.id!);
              written.add(sharedEvent.id!);
              expected = (await instance.append(own, [event], expected)).nextExpectedRevision;
              await instance.append(shared, [sharedEvent], 'any');
            }
          }),
        ),
      );
      const head = await store.headPosition();
      assert.ok(head !== null);
      const reached = (recorder: SubscriptionRecorder) => () =>
        recorder.events.length > 0 && store.comparePositions(recorder.events[recorder.events.length - 1]!.position, head) >= 0;
      await onFirst.waitUntil(reached(onFirst), 'the first instance reaches the head');
      await onSecond.waitUntil(reached(onSecond), 'the second instance reaches the head');
      onFirst.stop();
      onSecond.stop();
      const log = (await readAllAfter(store, start)).filter((event) => written.has(event.id));
      assert.equal(log.length, written.size);
      for (const recorder of [onFirst, onSecond]) {
        assertNoDuplicates(recorder.events);
        assertStrictlyIncreasing(store, recorder.events.map((event) => event.position));
        assert.deepEqual(
          recorder.events.filter((event) => written.has(event.id)).map((event) => event.id),
          log.map((event) => event.id),
        );
      }
      const sharedRevisions = (await store.readStream(shared)).map((event) => event.revision);
      assert.deepEqual(sharedRevisions, Array.from({ length: 2 * 8 * 15 }, (_unused, index) => index));
    } finally {
      await second.close();
    }
  });

  it('resumes a subscription from a checkpoint, seeing exactly the new events', async () => {
    const streamId = newStreamId('resume');
    const head = await store.headPosition();
    const firstBatch = Array.from({ length: 5 }, (_unused, index) => newEvent('First', { index }));
    const first = new SubscriptionRecorder(store.subscribeToAll({ after: head }));
    await store.append(streamId, firstBatch, 'no_stream');
    await first.waitUntil(() => first.events.length >= 5, 'first subscription sees the first batch');
    first.stop();
    assert.deepEqual(first.events.map((event) => event.id), firstBatch.map((event) => event.id));
    const checkpoint = first.events[first.events.length - 1]!.position;

    const secondBatch = Array.from({ length: 5 }, (_unused, index) => newEvent('Second', { index }));
    await store.append(streamId, secondBatch, 4);
    const resumed = new SubscriptionRecorder(store.subscribeToAll({ after: checkpoint }));
    await resumed.waitUntil(() => resumed.events.length >= 5, 'resumed subscription sees the second batch');
    await delay(3 * POLL_INTERVAL_MS); // room for a wrongly repeated or extra event to show up
    resumed.stop();
    assert.deepEqual(resumed.events.map((event) => event.id), secondBatch.map((event) => event.id));
  });

  it('wakes a live subscription at once on an append through the same instance', async () => {
    // A poll interval far beyond the wait: only the in-process notification can deliver in time.
    const slowPolling = await adapter.openSecondInstance({ pollIntervalMs: 60_000 });
    try {
      const live = new SubscriptionRecorder(slowPolling.subscribeToAll({ after: await slowPolling.headPosition() }));
      await delay(50); // caught up and waiting
      const event = newEvent('Live');
      const appendedAt = Date.now();
      await slowPolling.append(newStreamId('live'), [event], 'no_stream');
      await live.waitUntil(() => live.events.length === 1, 'live subscription sees the append');
      assert.ok(Date.now() - appendedAt < 5_000);
      live.stop();
      assert.equal(live.events[0]!.id, event.id);
    } finally {
      await slowPolling.close();
    }
  });

  it('lets a second instance on the same storage follow appends of the first, and vice versa', async () => {
    const second = await adapter.openSecondInstance();
    try {
      const head = await store.headPosition();
      const onSecond = new SubscriptionRecorder(second.subscribeToAll({ after: head }));
      const onFirst = new SubscriptionRecorder(store.subscribeToAll({ after: head }));
      const streamId = newStreamId('two-instances');
      const appendedIds: string[] = [];
      for (let index = 0; index < 10; index += 1) {
        const event = newEvent('FromInstance', { index });
        appendedIds.push(event.id!);
        // Alternate the instances: each subscription sees half of the events only by polling.
        await (index % 2 === 0 ? store : second).append(streamId, [event], index === 0 ? 'no_stream' : index - 1);
      }
      await onSecond.waitUntil(() => onSecond.events.length >= 10, 'second instance sees all appends');
      await onFirst.waitUntil(() => onFirst.events.length >= 10, 'first instance sees all appends');
      onSecond.stop();
      onFirst.stop();
      assert.deepEqual(onSecond.events.map((event) => event.id), appendedIds);
      assert.deepEqual(onFirst.events.map((event) => event.id), appendedIds);
    } finally {
      await second.close();
    }
  });

  it('wakes every waiting subscription of a second instance, whatever its cursor, on appends of the first', async () => {
    const second = await adapter.openSecondInstance();
    try {
      const streamId = newStreamId('many-waiting');
      const earlier = newEvent('Earlier');
      await store.append(streamId, [earlier], 'no_stream');
      const head = await second.headPosition();
      const atHead = [0, 1, 2].map(() => new SubscriptionRecorder(second.subscribeToAll({ after: head })));
      const fromBefore = await store.readAll({ maxCount: Number.MAX_SAFE_INTEGER });
      const beforeEarlier = fromBefore[fromBefore.findIndex((event) => event.id === earlier.id) - 1]?.position ?? null;
      const withEarlier = new SubscriptionRecorder(second.subscribeToAll({ after: beforeEarlier }));
      await delay(3 * POLL_INTERVAL_MS); // all caught up and waiting
      const later = [newEvent('Later', { index: 0 }), newEvent('Later', { index: 1 })];
      await store.append(streamId, later, 0);
      for (const recorder of atHead) {
        await recorder.waitUntil(() => recorder.events.length >= 2, 'a waiting subscription sees the appends of the other instance');
      }
      await withEarlier.waitUntil(() => withEarlier.events.length >= 3, 'the subscription from before sees all three');
      await delay(3 * POLL_INTERVAL_MS); // room for a repeated event to show up
      for (const recorder of [...atHead, withEarlier]) recorder.stop();
      for (const recorder of atHead) assert.deepEqual(recorder.events.map((event) => event.id), later.map((event) => event.id));
      assert.deepEqual(withEarlier.events.map((event) => event.id), [earlier, ...later].map((event) => event.id));
    } finally {
      await second.close();
    }
  });

  it('sends a bad checkpoint to the error channel', async () => {
    const failing = new SubscriptionRecorder(store.subscribeToAll({ after: 'not a position' }));
    await failing.waitUntil(() => failing.error !== undefined, 'the subscription fails');
    assert.ok(failing.error instanceof Error);
  });

  it('completes live subscriptions when the store is closed', async () => {
    const instance = await adapter.openSecondInstance();
    const live = new SubscriptionRecorder(instance.subscribeToAll({ after: await instance.headPosition() }));
    await delay(2 * POLL_INTERVAL_MS);
    await instance.close();
    await live.waitUntil(() => live.completed, 'the subscription completes');
    assert.equal(live.error, undefined);
  });
}

// --- helpers ---------------------------------------------------------------------------


async function assertWrongExpectedVersion(
  append: Promise<unknown>,
  streamId: string,
  expected: ExpectedRevision,
  actual: number | 'no_stream',
): Promise<void> {
  await assert.rejects(append, (error: unknown) => {
    assert.ok(error instanceof WrongExpectedVersionError, `expected WrongExpectedVersionError, got ${String(error)}`);
    assert.equal(error.streamId, streamId);
    assert.equal(error.expected, expected);
    assert.equal(error.actual, actual);
    return true;
  });
}

function assertOneWinner(outcomes: PromiseSettledResult<unknown>[], streamId: string, actualAfterWin: number): void {
  const winners = outcomes.filter((outcome) => outcome.status === 'fulfilled');
  assert.equal(winners.length, 1, `exactly one winner: ${JSON.stringify(outcomes.map((outcome) => outcome.status))}`);
  for (const outcome of outcomes) {
    if (outcome.status === 'fulfilled') continue;
    const error: unknown = outcome.reason;
    assert.ok(error instanceof WrongExpectedVersionError, `loser got ${String(error)}`);
    assert.equal(error.streamId, streamId);
    assert.equal(error.actual, actualAfterWin);
  }
}

function assertStrictlyIncreasing(store: EventStore, positions: Position[]): void {
  for (let index = 1; index < positions.length; index += 1) {
    assert.ok(
      store.comparePositions(positions[index - 1]!, positions[index]!) < 0,
      `positions not increasing at ${index}: ${positions[index - 1]} then ${positions[index]}`,
    );
  }
}

function assertNoDuplicates(events: RecordedEvent[]): void {
  assert.equal(new Set(events.map((event) => event.id)).size, events.length, 'an event was delivered twice');
}


/** Records what a subscription delivers, for assertions once a condition holds. */
class SubscriptionRecorder {
  readonly events: RecordedEvent[] = [];
  error: unknown = undefined;
  completed = false;
  private readonly subscription: Subscription;

  constructor(events: Observable<RecordedEvent>) {
    this.subscription = events.subscribe({
      next: (event) => this.events.push(event),
      error: (error: unknown) => {
        this.error = error;
      },
      complete: () => {
        this.completed = true;
      },
    });
  }

  async waitUntil(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WAIT_TIMEOUT_MS;
    while (!condition()) {
      if (this.error !== undefined && !what.includes('fails')) {
        throw new Error(`${what}: the subscription failed`, { cause: this.error });
      }
      if (Date.now() > deadline) {
        throw new Error(`${what}: timed out after ${WAIT_TIMEOUT_MS} ms with ${this.events.length} events`);
      }
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
