/**
 * An EventStore around any adapter that hands out every event in the current
 * shape of its data: reads (readStream, readAll, subscribeToAll) pass each
 * event through an upcaster, keyed on metadata.schema_version (1 when a stored
 * event has none). Appends pass through untouched: the version an event is
 * written with is stamped by whoever builds its metadata.
 */
import { map, type Observable } from 'rxjs';
import type { AppendResult, EventStore, ExpectedRevision, NewEvent, Position, ReadAllOptions, ReadStreamOptions, RecordedEvent, StreamReadRequest, SubscribeOptions } from './event-store.js';

/** The data of a `type` event stored in `version`, lifted to the current version; null when nothing changes. */
export type EventDataUpcaster = (type: string, data: Record<string, unknown>, version: number) => { data: Record<string, unknown>; version: number } | null;

/** What metadata.schema_version reads as on events stored before versions were recorded. */
const UNVERSIONED = 1;

export class UpcastingEventStore implements EventStore {
  readonly kind: string;

  constructor(
    /** The adapter underneath, for reads and writes of events exactly as stored. */
    readonly inner: EventStore,
    private readonly upcast: EventDataUpcaster,
  ) {
    this.kind = inner.kind;
  }

  append(streamId: string, events: NewEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    return this.inner.append(streamId, events, expectedRevision);
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return (await this.inner.readStream(streamId, options)).map((event) => this.current(event));
  }

  async readStreams(requests: readonly StreamReadRequest[]): Promise<RecordedEvent[][]> {
    return (await this.inner.readStreams(requests)).map((events) => events.map((event) => this.current(event)));
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    return (await this.inner.readAll(options)).map((event) => this.current(event));
  }

  subscribeToAll(options?: SubscribeOptions): Observable<RecordedEvent> {
    return this.inner.subscribeToAll(options).pipe(map((event) => this.current(event)));
  }

  headPosition(): Promise<Position | null> {
    return this.inner.headPosition();
  }

  comparePositions(a: Position, b: Position): number {
    return this.inner.comparePositions(a, b);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** The event with its data in the current version and its metadata saying so (the same object when it is current). */
  private current(event: RecordedEvent): RecordedEvent {
    const recorded = typeof event.metadata.schema_version === 'number';
    const stored = recorded ? event.metadata.schema_version : UNVERSIONED;
    const lifted = this.upcast(event.type, event.data, stored);
    if (lifted === null) return recorded ? event : { ...event, metadata: { ...event.metadata, schema_version: stored } };
    return { ...event, data: lifted.data, metadata: { ...event.metadata, schema_version: lifted.version } };
  }
}
