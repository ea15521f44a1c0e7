import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  NotLeaderError,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamRecordedEvent,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type EventData,
  type Position as EsdbPosition,
  type ReadPosition,
  type ReadRevision,
  type RecordedEvent as EsdbRecordedEvent,
} from '@eventstore/db-client';
import { setTimeout as delay } from 'node:timers/promises';
import { Observable } from 'rxjs';
import {
  EventStoreUnavailableError,
  WrongExpectedVersionError,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type Position,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamReadRequest,
  type SubscribeOptions,
} from './event-store.js';

/**
 * The EventStoreDB adapter (@eventstore/db-client 6).
 *
 * Positions are `"<commit>/<prepare>"` in decimal, ordered by commit then prepare.
 * System events (types starting with `$`) are never returned: the subscription uses the
 * server-side `excludeSystemEvents()` filter, reads of $all drop them client-side.
 *
 * What it promises beyond the port:
 * - An append answered Unavailable (a node not ready, shutting down, or unreachable) or
 *   NotLeader (a follower; the client has already switched its connection to the leader
 *   the answer names) is tried again, APPEND_RETRY_DELAYS_MS.length times, after those
 *   waits. Every attempt sends the same event ids with the same expected revision, so an
 *   attempt whose answer was lost after the write is recognised by the server as a
 *   repeat and succeeds without writing twice. When every attempt failed, the last
 *   error is raised as the port's EventStoreUnavailableError, its `cause` the client's
 *   own `UnavailableError` or `NotLeaderError`.
 * - A subscription that the server ends (dropped with an error, or ended without one)
 *   errors the Observable, so that its consumer subscribes again from its checkpoint; it
 *   completes only when the consumer's store is closed.
 */

const DEFAULT_READ_ALL_PAGE = 1000;
/** Waits before the 2nd, 3rd and 4th attempt of an append answered Unavailable or NotLeader. */
export const APPEND_RETRY_DELAYS_MS: readonly number[] = [50, 250, 1000];
/** Largest page of the backwards scan that finds the last non-system event. */
const HEAD_SCAN_PAGE = 100;

export async function openEventStoreDb(options: { connectionString: string }): Promise<EventStore> {
  // The client connects lazily: a wrong address surfaces on the first call (e.g. ping()).
  return new EsdbEventStore(EventStoreDBClient.connectionString(options.connectionString));
}

class EsdbEventStore implements EventStore {
  readonly kind = 'eventstoredb';
  /** Ends each live subscription; called by close(). */
  private readonly liveSubscriptionClosers = new Set<() => void>();

  constructor(private readonly client: EventStoreDBClient) {}

  async append(streamId: string, events: NewEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    if (events.length === 0) {
      throw new TypeError(`append to ${streamId}: at least one event is required`);
    }
    // Built once: a retry must send the same event ids (jsonEvent makes one when absent).
    const proposed = events.map((event) =>
      jsonEvent({
        ...(event.id === undefined ? {} : { id: event.id }),
        type: event.type,
        data: event.data,
        // Spread: an interface has no index signature, the client wants a JSON record.
        metadata: { ...event.metadata },
      }),
    );
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.appendOnce(streamId, proposed, expectedRevision);
      } catch (error) {
        if (!(error instanceof UnavailableError || error instanceof NotLeaderError)) throw error;
        const retryIn = APPEND_RETRY_DELAYS_MS[attempt];
        if (retryIn === undefined) {
          throw new EventStoreUnavailableError(`EventStoreDB did not take the append to ${streamId} after ${attempt + 1} attempts: ${error.message}`, { cause: error });
        }
        await delay(retryIn);
      }
    }
  }

  private async appendOnce(streamId: string, proposed: EventData[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    try {
      const result = await this.client.appendToStream(streamId, proposed, {
        expectedRevision: toEsdbExpectedRevision(expectedRevision),
      });
      const position =
        result.position === undefined
          ? await this.positionOfRevision(streamId, result.nextExpectedRevision)
          : encodePosition(result.position);
      return { nextExpectedRevision: Number(result.nextExpectedRevision), position };
    } catch (error) {
      if (error instanceof EsdbWrongExpectedVersionError) {
        const actual = error.actualVersion === NO_STREAM ? 'no_stream' : Number(error.actualVersion);
        throw new WrongExpectedVersionError(streamId, expectedRevision, actual);
      }
      throw error;
    }
  }

  /** Fallback for an answer without a position: servers give none for a repeated (idempotent) append. */
  private async positionOfRevision(streamId: string, revision: bigint): Promise<Position> {
    const [resolved] = await readToEnd(this.client.readStream(streamId, { fromRevision: revision, maxCount: 1 }));
    if (resolved?.event !== undefined) return positionOf(resolved.event, resolved.commitPosition);
    throw new Error(`stream ${streamId}: revision ${revision} just appended could not be read back`);
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    if (options.maxCount !== undefined && options.maxCount <= 0) return [];
    const direction = options.direction ?? 'forwards';
    const fromRevision: ReadRevision =
      options.fromRevision !== undefined ? BigInt(options.fromRevision) : direction === 'forwards' ? START : END;
    const events: RecordedEvent[] = [];
    try {
      const read = this.client.readStream(streamId, {
        direction: direction === 'forwards' ? FORWARDS : BACKWARDS,
        fromRevision,
        ...(options.maxCount === undefined ? {} : { maxCount: options.maxCount }),
      });
      for await (const resolved of read) {
        if (resolved.event !== undefined) events.push(toRecordedEvent(resolved.event, resolved.commitPosition));
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
    return events;
  }

  /** EventStoreDB reads one stream per call: the reads go out together. */
  readStreams(requests: readonly StreamReadRequest[]): Promise<RecordedEvent[][]> {
    return Promise.all(requests.map((request) => this.readStream(request.streamId, { fromRevision: request.fromRevision })));
  }

  /**
   * `fromPosition` is inclusive for reads, so the event at `after` is dropped; system
   * events are dropped too, and reading goes on until `maxCount` events are collected.
   */
  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const wanted = options.maxCount ?? DEFAULT_READ_ALL_PAGE;
    if (wanted <= 0) return [];
    const collected: RecordedEvent[] = [];
    // Everything at or before this position has been seen already.
    let seenUpTo: EsdbPosition | null = options.after == null ? null : decodePosition(options.after);
    // One more than wanted: the first event of a page read from a position is that position.
    const pageSize = wanted + 1;

    while (collected.length < wanted) {
      const page = await readToEnd(this.client.readAll({ direction: FORWARDS, fromPosition: seenUpTo ?? START, maxCount: pageSize }));
      for (const resolved of page) {
        const event = resolved.event;
        if (event === undefined || collected.length === wanted) continue;
        if (seenUpTo !== null && compareEsdbPositions(event.position, seenUpTo) <= 0) continue;
        seenUpTo = event.position;
        if (isSystemEvent(event)) continue;
        collected.push(toRecordedEvent(event, resolved.commitPosition));
      }
      if (page.length < pageSize) break; // end of the log
    }
    return collected;
  }

  subscribeToAll(options: SubscribeOptions = {}): Observable<RecordedEvent> {
    return new Observable<RecordedEvent>((subscriber) => {
      const after = options.after == null ? null : decodePosition(options.after);
      // fromPosition is exclusive for subscriptions.
      const subscription = this.client.subscribeToAll({
        fromPosition: after ?? START,
        filter: excludeSystemEvents(),
      });
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        this.liveSubscriptionClosers.delete(closeOnStoreClose);
        // Errors while cancelling are of no interest: the consumer has gone.
        subscription.unsubscribe().catch(() => undefined);
      };
      const closeOnStoreClose = () => {
        end();
        subscriber.complete();
      };
      this.liveSubscriptionClosers.add(closeOnStoreClose);

      void (async () => {
        try {
          for await (const resolved of subscription) {
            if (ended) return;
            const event = resolved.event;
            if (event === undefined) continue;
            // Guard: never re-deliver the checkpoint event itself.
            if (after !== null && compareEsdbPositions(event.position, after) <= 0) continue;
            subscriber.next(toRecordedEvent(event, resolved.commitPosition));
          }
          // Not asked for (a subscription to $all has no end): the consumer resubscribes on an error.
          if (!ended) {
            end();
            subscriber.error(new Error('EventStoreDB ended the subscription to $all'));
          }
        } catch (error) {
          if (!ended) {
            end();
            subscriber.error(error);
          }
        }
      })();

      return end;
    });
  }

  /** The newest event of $all is usually the answer: a page of one first, larger pages past system events. */
  async headPosition(): Promise<Position | null> {
    let from: ReadPosition = END;
    for (let pageSize = 1; ; pageSize = Math.min(pageSize * 10, HEAD_SCAN_PAGE)) {
      const page: AllStreamResolvedEvent[] = await readToEnd(this.client.readAll({ direction: BACKWARDS, fromPosition: from, maxCount: pageSize }));
      const newest = page.find((resolved) => resolved.event !== undefined && !isSystemEvent(resolved.event));
      if (newest?.event !== undefined) return encodePosition(newest.event.position);
      const oldest = page[page.length - 1]?.event;
      if (page.length < pageSize || oldest === undefined) return null;
      // Should a backwards read from a position include it, the next page repeats one system event: harmless.
      from = oldest.position;
    }
  }

  comparePositions(a: Position, b: Position): number {
    return compareEsdbPositions(decodePosition(a), decodePosition(b));
  }

  async ping(): Promise<void> {
    // Reading one record is enough to know the server answers.
    await readToEnd(this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 }));
  }

  async close(): Promise<void> {
    for (const close of [...this.liveSubscriptionClosers]) close();
    await this.client.dispose();
  }
}

/**
 * Every record of a read bounded by its maxCount. A read is always read to its end:
 * breaking off leaves the client's gRPC stream unfinished, and client.dispose() (close())
 * then waits for it for ever.
 */
async function readToEnd<T>(read: AsyncIterable<T>): Promise<T[]> {
  const records: T[] = [];
  for await (const record of read) records.push(record);
  return records;
}

function toEsdbExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return BigInt(expected);
  }
}

function isSystemEvent(event: EsdbRecordedEvent): boolean {
  return event.type.startsWith('$');
}

function toRecordedEvent(event: EsdbRecordedEvent, commitPosition: bigint | undefined): RecordedEvent {
  return {
    id: event.id,
    streamId: event.streamId,
    revision: Number(event.revision),
    position: positionOf(event, commitPosition),
    type: event.type,
    data: asJsonObject(event.data, `data of event ${event.id}`),
    metadata: asJsonObject(event.metadata, `metadata of event ${event.id}`) as unknown as EventMetadata,
    recordedAt: event.created.toISOString(),
  };
}

/**
 * Servers before 22.6 do not return the position of events read from a stream; then
 * only the commit position is known, and it is used for both parts.
 */
function positionOf(event: EsdbRecordedEvent | AllStreamRecordedEvent, commitPosition: bigint | undefined): Position {
  if (event.position !== undefined) return encodePosition(event.position);
  if (commitPosition !== undefined) return encodePosition({ commit: commitPosition, prepare: commitPosition });
  throw new Error(`event ${event.id}: the server returned no position`);
}

/** JSON events arrive parsed; binary ones (written by other tools) are parsed here. */
function asJsonObject(value: unknown, what: string): Record<string, unknown> {
  const parsed: unknown = value instanceof Uint8Array ? JSON.parse(Buffer.from(value).toString('utf8')) : value;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${what} is not a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

function encodePosition(position: EsdbPosition): Position {
  return `${position.commit}/${position.prepare}`;
}

function decodePosition(position: Position): EsdbPosition {
  const match = /^(\d+)\/(\d+)$/.exec(position);
  if (match === null) {
    throw new TypeError(`not an EventStoreDB position ("<commit>/<prepare>"): ${JSON.stringify(position)}`);
  }
  return { commit: BigInt(match[1] as string), prepare: BigInt(match[2] as string) };
}

function compareEsdbPositions(a: EsdbPosition, b: EsdbPosition): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}
