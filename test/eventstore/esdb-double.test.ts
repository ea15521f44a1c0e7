/**
 * The EventStoreDB double (test/support/esdb-double) answers the real client as
 * EventStoreDB documents it; and the adapter on it keeps its promises beyond the port
 * contract: appends answered Unavailable or NotLeader are retried (and surfaced once the
 * retries are spent), a subscription the server ends errors so its consumer resubscribes.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NotLeaderError,
  START,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  excludeSystemEvents,
  jsonEvent,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type Position as EsdbPosition,
  type ResolvedEvent,
} from '@eventstore/db-client';
import grpc from '@grpc/grpc-js';
import type { Subscription } from 'rxjs';
import { APPEND_RETRY_DELAYS_MS, openEventStoreDb } from '../../src/eventstore/esdb-event-store.js';
import { EventStoreUnavailableError, type EventMetadata, type EventStore, type NewEvent, type RecordedEvent } from '../../src/eventstore/event-store.js';
import { startEsdbDouble, type EsdbDouble } from '../support/esdb-double/server.js';

const WAIT_TIMEOUT_MS = 10_000;

describe('the EventStoreDB double, through the real client', () => {
  let double: EsdbDouble;
  let client: EventStoreDBClient;
  beforeEach(async () => {
    double = await startEsdbDouble();
    client = EventStoreDBClient.connectionString(double.url);
  });
  afterEach(async () => {
    await client.dispose();
    await double.close();
  });

  const event = (type = 'Happened', id: string = randomUUID()) => jsonEvent({ id, type, data: { at: type } });

  it('takes appends through Streams.Append (GetSupportedMethods leaves BatchAppend out), numbering revisions from 0', async () => {
    const first = await client.appendToStream('order-1', [event('A'), event('B')], { expectedRevision: 'no_stream' });
    const second = await client.appendToStream('order-1', event('C'), { expectedRevision: 1n });
    assert.equal(double.appendCalls, 2);
    assert.equal(first.nextExpectedRevision, 1n);
    assert.equal(second.nextExpectedRevision, 2n);
    const revisions = [];
    for await (const resolved of client.readStream('order-1')) revisions.push([resolved.event?.revision, resolved.event?.type]);
    assert.deepEqual(revisions, [[0n, 'A'], [1n, 'B'], [2n, 'C']]);
  });

  it('answers a wrong expected revision with the stream’s current revision, and writes nothing', async () => {
    await client.appendToStream('order-2', [event(), event()], { expectedRevision: 'no_stream' });
    const cases = [
      { stream: 'order-2', expectedRevision: 0n, current: 1n },
      { stream: 'order-2', expectedRevision: 5n, current: 1n },
      { stream: 'order-2', expectedRevision: 'no_stream' as const, current: 1n },
      { stream: 'absent', expectedRevision: 'stream_exists' as const, current: 'no_stream' },
      { stream: 'absent', expectedRevision: 0n, current: 'no_stream' },
    ];
    for (const { stream, expectedRevision, current } of cases) {
      await assert.rejects(client.appendToStream(stream, event(), { expectedRevision }), (error: unknown) => {
        assert.ok(error instanceof WrongExpectedVersionError, String(error));
        assert.equal(error.actualVersion, current);
        assert.equal(error.expectedVersion, expectedRevision);
        return true;
      });
    }
    assert.equal(double.log.stream('order-2').length, 2);
    assert.equal(double.log.stream('absent').length, 0);
  });

  it('takes a repeat of an append (same ids, same expected revision) as done: success without a position, written once', async () => {
    const batch = [event('A'), event('B')];
    const written = await client.appendToStream('order-3', batch, { expectedRevision: 'no_stream' });
    await client.appendToStream('order-3', event('C'), { expectedRevision: 1n });
    const repeated = await client.appendToStream('order-3', batch, { expectedRevision: 'no_stream' });
    const repeatedAny = await client.appendToStream('order-3', batch, { expectedRevision: 'any' });
    assert.ok(written.position !== undefined);
    assert.deepEqual([repeated.success, repeated.nextExpectedRevision, repeated.position], [true, 1n, undefined]);
    assert.deepEqual([repeatedAny.nextExpectedRevision, repeatedAny.position], [1n, undefined]);
    assert.deepEqual(double.log.stream('order-3').map((recorded) => recorded.type), ['A', 'B', 'C']);
    // Only part of the batch recorded there: a conflict, not a repeat.
    await assert.rejects(
      client.appendToStream('order-3', [batch[0]!, event('D')], { expectedRevision: 'no_stream' }),
      WrongExpectedVersionError,
    );
  });

  it('gives the events of one append one commit position and increasing prepare positions', async () => {
    const result = await client.appendToStream('order-4', [event('A'), event('B'), event('C')], { expectedRevision: 'any' });
    const single = await client.appendToStream('order-5', event('D'), { expectedRevision: 'any' });
    const positions: EsdbPosition[] = [];
    for await (const resolved of client.readStream('order-4')) positions.push(resolved.event!.position!);
    const [first, second, third] = positions;
    assert.ok(first && second && third);
    assert.equal(second.commit, first.commit);
    assert.equal(third.commit, first.commit);
    assert.equal(first.prepare, first.commit);
    assert.ok(first.prepare < second.prepare && second.prepare < third.prepare);
    assert.deepEqual(result.position, third, 'an append reports its last event’s position');
    assert.ok(single.position!.commit > third.prepare);
    assert.equal(single.position!.commit, single.position!.prepare);
  });

  it('reads a stream forwards, backwards, from a revision and up to a count; an absent stream is not found', async () => {
    await client.appendToStream('order-6', ['E0', 'E1', 'E2', 'E3'].map((type) => event(type)), { expectedRevision: 'no_stream' });
    const read = async (options: Parameters<EventStoreDBClient['readStream']>[1]) => {
      const revisions = [];
      for await (const resolved of client.readStream('order-6', options)) revisions.push(Number(resolved.event!.revision));
      return revisions;
    };
    assert.deepEqual(await read({ direction: BACKWARDS, fromRevision: END }), [3, 2, 1, 0]);
    assert.deepEqual(await read({ direction: BACKWARDS, fromRevision: 2n, maxCount: 2 }), [2, 1]);
    assert.deepEqual(await read({ direction: FORWARDS, fromRevision: 1n, maxCount: 2 }), [1, 2]);
    assert.deepEqual(await read({ direction: FORWARDS, fromRevision: 9n }), []);
    await assert.rejects(async () => {
      for await (const _resolved of client.readStream('never-written')) assert.fail('no event expected');
    }, StreamNotFoundError);
  });

  it('reads $all with a fresh node’s system events first, from a position inclusive forwards and exclusive backwards', async () => {
    await client.appendToStream('order-7', [event('A'), event('B'), event('C')], { expectedRevision: 'no_stream' });
    const all = await collect(client.readAll({ fromPosition: START }));
    assert.deepEqual(all.map((resolved) => resolved.event!.type), ['$metadata', '$settings', '$ProjectionsInitialized', 'A', 'B', 'C']);
    const atB = all[4]!.event!.position;
    assert.deepEqual((await collect(client.readAll({ fromPosition: atB }))).map((resolved) => resolved.event!.type), ['B', 'C']);
    const before = await collect(client.readAll({ direction: BACKWARDS, fromPosition: atB, maxCount: 2 }));
    assert.deepEqual(before.map((resolved) => resolved.event!.type), ['A', '$ProjectionsInitialized']);
  });

  it('subscribes to $all after a position (exclusive), filtered, catching up then live, with caught-up and checkpoints', async () => {
    await client.appendToStream('order-8', [event('A'), event('B')], { expectedRevision: 'no_stream' });
    const [, atA] = (await collect(client.readAll({ fromPosition: START }))).slice(2).map((resolved) => resolved.event!.position);
    const checkpoints: EsdbPosition[] = [];
    const subscription = client.subscribeToAll({
      fromPosition: atA!,
      filter: excludeSystemEvents({ maxSearchWindow: 2, checkpointInterval: 1, checkpointReached: (_s, position) => void checkpoints.push(position) }),
    });
    const types: string[] = [];
    let caughtUpAfter = -1;
    subscription.on('caughtUp', () => {
      caughtUpAfter = types.length;
    });
    const reading = (async () => {
      for await (const resolved of subscription) {
        types.push(resolved.event!.type);
        if (types.length === 4) return;
      }
    })();
    await waitUntil(() => caughtUpAfter >= 0, 'caught up');
    double.log.appendSystemEvent('$stats-127.0.0.1', '$statsCollected');
    await client.appendToStream('order-8', [event('C'), event('D')], { expectedRevision: 1n });
    await client.appendToStream('other-1', event('E'), { expectedRevision: 'no_stream' });
    await reading;
    await subscription.unsubscribe();
    assert.deepEqual(types, ['B', 'C', 'D', 'E'], 'after A, without the system event');
    assert.equal(caughtUpAfter, 1, 'caught up after B, before the live events');
    // Searched: B | $statsCollected C | D E -> a checkpoint every 2 events searched.
    assert.equal(checkpoints.length, 2);
    assert.ok(checkpoints.every((position, index) => index === 0 || position.commit > checkpoints[index - 1]!.commit));
  });

  it('filters a subscription by stream name prefix', async () => {
    const subscription = client.subscribeToAll({ fromPosition: START, filter: streamNameFilter({ prefixes: ['keep-'] }) });
    await client.appendToStream('drop-1', event('X'), { expectedRevision: 'any' });
    await client.appendToStream('keep-1', event('Y'), { expectedRevision: 'any' });
    for await (const resolved of subscription) {
      assert.equal(resolved.event!.streamId, 'keep-1');
      break;
    }
    await subscription.unsubscribe();
  });

  it('drops a subscription from the server side: the client sees Unavailable', async () => {
    const subscription = client.subscribeToAll({ fromPosition: END });
    const failed = (async () => {
      for await (const _resolved of subscription) assert.fail('no event expected');
    })();
    await waitUntil(() => double.liveSubscriptions === 1, 'subscribed');
    assert.equal(double.dropSubscriptions(), 1);
    await assert.rejects(failed, UnavailableError);
  });

  it('answers UNIMPLEMENTED to what it does not implement, so a new use of the client fails loudly', async () => {
    const unimplemented = (error: unknown) => {
      assert.equal((error as { code?: number }).code, grpc.status.UNIMPLEMENTED, String(error));
      return true;
    };
    await assert.rejects(client.deleteStream('order-9'), unimplemented);
    await assert.rejects(client.tombstoneStream('order-9'), unimplemented);
    // A service the double does not serve at all (gossip, persistent subscriptions, ...) is unimplemented too.
    await assert.rejects(client.getProjectionStatus('$by_category'), unimplemented);
    await assert.rejects(async () => {
      for await (const _resolved of client.subscribeToStream('order-9')) assert.fail('no event expected');
    }, unimplemented);
  });
});

describe('the EventStoreDB adapter on the double: retried appends and ended subscriptions', () => {
  let double: EsdbDouble;
  let store: EventStore;
  before(async () => {
    double = await startEsdbDouble();
    store = await openEventStoreDb({ connectionString: double.url });
  });
  after(async () => {
    await store.close();
    await double.close();
  });
  afterEach(() => double.faults.clear());

  it('retries an append answered Unavailable before the write: written once', async () => {
    const streamId = `retry-${randomUUID()}`;
    double.faults.inject({ kind: 'unavailable', when: 'before-write' }, 2);
    const calls = double.appendCalls;
    const result = await store.append(streamId, [newEvent('A'), newEvent('B')], 'no_stream');
    assert.equal(double.appendCalls - calls, 3);
    const read = await store.readStream(streamId);
    assert.deepEqual(read.map((event) => event.type), ['A', 'B']);
    assert.deepEqual(result, { nextExpectedRevision: 1, position: read[1]!.position });
  });

  it('retries an append whose answer was lost after the write: the server takes the retry as a repeat, nothing is written twice', async () => {
    const streamId = `lost-answer-${randomUUID()}`;
    await store.append(streamId, [newEvent('A')], 'no_stream');
    double.faults.inject({ kind: 'unavailable', when: 'after-write' });
    const result = await store.append(streamId, [newEvent('B'), newEvent('C')], 0);
    const read = await store.readStream(streamId);
    assert.deepEqual(read.map((event) => event.type), ['A', 'B', 'C']);
    assert.deepEqual(result, { nextExpectedRevision: 2, position: read[2]!.position }, 'the position is read back: a repeat answers none');
  });

  it('retries an append answered NotLeader: the client reconnects to the leader the answer names', async () => {
    const streamId = `not-leader-${randomUUID()}`;
    double.faults.inject({ kind: 'not-leader', when: 'before-write' });
    const result = await store.append(streamId, [newEvent('A')], 'any');
    const read = await store.readStream(streamId);
    assert.equal(read.length, 1);
    assert.equal(result.position, read[0]!.position);
  });

  it(`surfaces Unavailable and NotLeader as the port's EventStoreUnavailableError (the client's error as cause) once ${APPEND_RETRY_DELAYS_MS.length + 1} attempts failed`, async () => {
    const attempts = APPEND_RETRY_DELAYS_MS.length + 1;
    for (const [kind, type] of [['unavailable', UnavailableError], ['not-leader', NotLeaderError]] as const) {
      const streamId = `down-${kind}-${randomUUID()}`;
      double.faults.inject({ kind, when: 'before-write' }, attempts);
      const calls = double.appendCalls;
      await assert.rejects(store.append(streamId, [newEvent('A')], 'no_stream'), (error: unknown) => error instanceof EventStoreUnavailableError && error.cause instanceof type);
      assert.equal(double.appendCalls - calls, attempts);
      assert.deepEqual(await store.readStream(streamId), []);
    }
  });

  it('closes at once after reads that needed only part of what the server sent (the client waits for every unfinished read)', async () => {
    const other = await openEventStoreDb({ connectionString: double.url });
    const streamId = `partial-${randomUUID()}`;
    await other.append(streamId, [newEvent('A'), newEvent('B'), newEvent('C')], 'no_stream');
    double.log.appendSystemEvent('$stats-127.0.0.1', '$statsCollected');
    assert.ok((await other.headPosition()) !== null); // found after a system event, in a page of more
    assert.equal((await other.readAll({ maxCount: 1 })).length, 1);
    double.faults.inject({ kind: 'unavailable', when: 'after-write' });
    await other.append(streamId, [newEvent('D')], 2); // a repeat: its position is read back
    assert.equal((await other.readStream(streamId)).length, 4);
    const closing = other.close();
    const closedInTime = await Promise.race([closing.then(() => true), sleep(3000, false, { ref: false })]);
    assert.equal(closedInTime, true, 'close() settled within 3 s');
  });

  it('errors a subscription the server drops, or ends without error; a new one from the last position sees exactly the rest', async () => {
    for (const drop of [undefined, null]) {
      const streamId = `dropped-${randomUUID()}`;
      const seen: RecordedEvent[] = [];
      let failure: unknown = undefined;
      const watch = (after: string | null): Subscription =>
        store.subscribeToAll({ after }).subscribe({
          next: (event) => seen.push(event),
          error: (error: unknown) => {
            failure = error;
          },
          complete: () => assert.fail('a dropped subscription must not complete'),
        });
      const start = await store.headPosition();
      const first = watch(start);
      await store.append(streamId, [newEvent('A'), newEvent('B')], 'no_stream');
      await waitUntil(() => seen.length === 2, 'the first events');
      assert.equal(double.dropSubscriptions(drop), 1);
      await waitUntil(() => failure !== undefined, 'the subscription fails');
      first.unsubscribe();
      await store.append(streamId, [newEvent('C')], 1);
      const second = watch(seen[seen.length - 1]!.position);
      await store.append(streamId, [newEvent('D')], 2);
      await waitUntil(() => seen.length === 4, 'the rest');
      await sleep(50); // room for a repeated event to show up
      second.unsubscribe();
      assert.deepEqual(seen.map((event) => event.type), ['A', 'B', 'C', 'D']);
    }
  });
});

function newEvent(type: string): NewEvent {
  const metadata: EventMetadata = {
    actor: 'user:alice',
    source: 'api',
    correlation_id: randomUUID(),
    causation_id: null,
    request_id: null,
    timestamp: '2026-05-01T00:00:00.000Z',
    schema_version: 1,
  };
  return { id: randomUUID(), type, data: {}, metadata };
}

async function collect(read: AsyncIterable<AllStreamResolvedEvent | ResolvedEvent>): Promise<(AllStreamResolvedEvent | ResolvedEvent)[]> {
  const events = [];
  for await (const resolved of read) events.push(resolved);
  return events;
}

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: timed out`);
    await sleep(5);
  }
}
