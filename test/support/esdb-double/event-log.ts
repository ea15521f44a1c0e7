/**
 * The double's in-memory transaction log, with EventStoreDB's rules for what an append
 * may write (no gRPC here: append.ts, read.ts and subscribe.ts translate).
 *
 * Positions imitate the real log: each event is a record at a byte offset (its prepare
 * position, not consecutive numbers); the events of one append are one transaction and
 * share its commit position, the offset of its first record. So a one-event append has
 * commit = prepare, and a multi-event append has commit < prepare for all but its first.
 */

export interface LogPosition {
  commit: bigint;
  prepare: bigint;
}

export interface ProposedEvent {
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  customMetadata: Uint8Array;
}

export interface StoredEvent extends ProposedEvent {
  streamId: string;
  /** 0-based. */
  revision: bigint;
  position: LogPosition;
  /** 100-ns ticks since the Unix epoch, as the server sends `created`. */
  createdTicks: bigint;
}

export type ExpectedState =
  | { kind: 'any' }
  | { kind: 'no_stream' }
  | { kind: 'stream_exists' }
  | { kind: 'revision'; revision: bigint };

export type AppendOutcome =
  | { kind: 'written'; lastRevision: bigint; position: LogPosition }
  /** The same event ids were already recorded at that place: nothing is written, and (as the server does) no position is returned. */
  | { kind: 'idempotent'; lastRevision: bigint }
  /** `current` null: the stream does not exist. */
  | { kind: 'wrong_expected_version'; current: bigint | null };

/** Size of a record besides its variable parts, roughly the real prepare record's header. */
const RECORD_HEADER_BYTES = 87n;
/** A fresh node's log does not start at 0 either (chunk header, epoch records). */
const FIRST_OFFSET = 4_096n;
const TICKS_PER_MILLISECOND = 10_000n;

export function comparePositions(a: LogPosition, b: LogPosition): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

export class EventLog {
  private readonly records: StoredEvent[] = [];
  private readonly streams = new Map<string, StoredEvent[]>();
  private nextOffset = FIRST_OFFSET;
  private readonly appendListeners = new Set<() => void>();
  private clientAppends = 0;

  /**
   * @param options.systemEventEvery after every this many client appends that write, a
   *   `$statsCollected` event goes to `statsStream` (0: never), as a node writes its stats.
   */
  constructor(private readonly options: { systemEventEvery: number; statsStream: string }) {}

  /** Every event in log order (system events included, as in $all). */
  get all(): readonly StoredEvent[] {
    return this.records;
  }

  /** The events of one stream in revision order; [] when absent. */
  stream(streamId: string): readonly StoredEvent[] {
    return this.streams.get(streamId) ?? [];
  }

  /**
   * EventStoreDB's check: the expected state must hold, unless the same event ids are
   * already recorded where this append would put them (a retry of an append that
   * landed), which succeeds without writing. A partial match is a conflict.
   */
  append(streamId: string, events: readonly ProposedEvent[], expected: ExpectedState): AppendOutcome {
    const outcome = this.writeIfExpected(streamId, events, expected);
    const { systemEventEvery, statsStream } = this.options;
    if (outcome.kind === 'written' && systemEventEvery > 0 && ++this.clientAppends % systemEventEvery === 0) {
      this.appendSystemEvent(statsStream, '$statsCollected', { 'proc-mem': process.memoryUsage().rss });
    }
    return outcome;
  }

  private writeIfExpected(streamId: string, events: readonly ProposedEvent[], expected: ExpectedState): AppendOutcome {
    const stream = this.stream(streamId);
    const current = stream.length === 0 ? null : BigInt(stream.length - 1);
    const conflict: AppendOutcome = { kind: 'wrong_expected_version', current };
    switch (expected.kind) {
      case 'no_stream':
        return current === null ? this.write(streamId, events) : (this.replayAt(stream, 0, events) ?? conflict);
      case 'revision': {
        if (current === expected.revision) return this.write(streamId, events);
        if (current !== null && current > expected.revision) {
          return this.replayAt(stream, Number(expected.revision) + 1, events) ?? conflict;
        }
        return conflict;
      }
      case 'stream_exists':
        if (current === null) return conflict;
        return this.replayOfFirstId(stream, events) ?? this.write(streamId, events);
      case 'any':
        return this.replayOfFirstId(stream, events) ?? this.write(streamId, events);
    }
  }

  /** Appends a system event (type starting with `$`), as the server writes its own. */
  appendSystemEvent(streamId: string, type: string, data: Record<string, unknown> = {}): StoredEvent {
    const outcome = this.write(streamId, [
      {
        id: crypto.randomUUID(),
        type,
        contentType: 'application/json',
        data: Buffer.from(JSON.stringify(data), 'utf8'),
        customMetadata: new Uint8Array(),
      },
    ]);
    return this.stream(streamId)[Number(outcome.lastRevision)]!;
  }

  /** Index in `all` of the first event at or after `position`. */
  indexAtOrAfter(position: LogPosition): number {
    return this.firstIndexWhere((event) => comparePositions(event.position, position) >= 0);
  }

  /** Index in `all` of the first event strictly after `position`. */
  indexAfter(position: LogPosition): number {
    return this.firstIndexWhere((event) => comparePositions(event.position, position) > 0);
  }

  /** Called after every append that wrote; returns the unsubscriber. */
  onAppend(listener: () => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  private write(streamId: string, events: readonly ProposedEvent[]): AppendOutcome & { kind: 'written' } {
    let stream = this.streams.get(streamId);
    if (stream === undefined) {
      stream = [];
      this.streams.set(streamId, stream);
    }
    const commit = this.nextOffset;
    const createdTicks = BigInt(Date.now()) * TICKS_PER_MILLISECOND;
    let last: StoredEvent | undefined;
    for (const event of events) {
      last = {
        ...event,
        streamId,
        revision: BigInt(stream.length),
        position: { commit, prepare: this.nextOffset },
        createdTicks,
      };
      stream.push(last);
      this.records.push(last);
      this.nextOffset += recordSize(last);
    }
    if (last === undefined) throw new Error('an append writes at least one event');
    for (const listener of [...this.appendListeners]) listener();
    return { kind: 'written', lastRevision: last.revision, position: last.position };
  }

  /** Idempotent success when `events` are recorded at `from`, `from + 1`, ...; a conflict on a partial match; else null. */
  private replayAt(stream: readonly StoredEvent[], from: number, events: readonly ProposedEvent[]): AppendOutcome | null {
    const recorded = stream.slice(from, from + events.length);
    const matching = recorded.filter((event, index) => event.id === events[index]!.id).length;
    if (matching === 0) return null;
    if (matching < events.length) return { kind: 'wrong_expected_version', current: BigInt(stream.length - 1) };
    return { kind: 'idempotent', lastRevision: BigInt(from + events.length - 1) };
  }

  /** For `any` and `stream_exists`: the server looks the first event id up in the stream. */
  private replayOfFirstId(stream: readonly StoredEvent[], events: readonly ProposedEvent[]): AppendOutcome | null {
    const first = events[0];
    const at = first === undefined ? -1 : stream.findIndex((event) => event.id === first.id);
    return at === -1 ? null : this.replayAt(stream, at, events);
  }

  private firstIndexWhere(predicate: (event: StoredEvent) => boolean): number {
    let low = 0;
    let high = this.records.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (predicate(this.records[middle]!)) high = middle;
      else low = middle + 1;
    }
    return low;
  }
}

function recordSize(event: StoredEvent): bigint {
  const variable = Buffer.byteLength(event.streamId) + Buffer.byteLength(event.type) + event.data.length + event.customMetadata.length;
  return RECORD_HEADER_BYTES + BigInt(variable);
}
