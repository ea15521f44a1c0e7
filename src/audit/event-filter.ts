/**
 * Which events of the log an audit reader asks for: by stream (exact, or a
 * prefix ending in `*`), event type, actor, time range and position. Shared by
 * `npm run cli -- events` and GET /audit/events.
 */
import type { EventStore, Position, RecordedEvent } from '../eventstore/event-store.js';

export interface EventFilter {
  /** An exact stream id, or a prefix followed by `*` (`execution-*`). */
  stream?: string | null;
  /** Any of these event types; empty or absent: every type. */
  types?: readonly string[];
  /** The actor of the event's metadata, exactly. */
  actor?: string | null;
  /** Inclusive, on metadata.timestamp (the instant the command was decided). */
  from?: Date | null;
  /** Exclusive, on metadata.timestamp: consecutive ranges never show an event twice. */
  to?: Date | null;
  /** Only events strictly after this global position. */
  after?: Position | null;
}

/** The stream a filter names exactly, or null when it names none or a prefix. */
export function exactStreamOf(filter: EventFilter): string | null {
  const stream = filter.stream;
  return stream && !stream.endsWith('*') ? stream : null;
}

/** Whether the event passes the filter's stream, type, actor and time conditions (the position is the reader's). */
export function matchesEventFilter(event: RecordedEvent, filter: EventFilter): boolean {
  const stream = filter.stream;
  if (stream) {
    if (stream.endsWith('*') ? !event.streamId.startsWith(stream.slice(0, -1)) : event.streamId !== stream) return false;
  }
  if (filter.types && filter.types.length > 0 && !filter.types.includes(event.type)) return false;
  if (filter.actor && event.metadata.actor !== filter.actor) return false;
  if (filter.from || filter.to) {
    const at = Date.parse(event.metadata.timestamp);
    if (filter.from && !(at >= filter.from.getTime())) return false;
    if (filter.to && !(at < filter.to.getTime())) return false;
  }
  return true;
}

/** Whether `text` is a position of this event store (each adapter has its own form). */
export function isPositionOf(store: EventStore, text: string): boolean {
  try {
    store.comparePositions(text, text);
    return true;
  } catch {
    return false;
  }
}

/** Why a time range selects nothing by construction, or null when it is a range. */
export function timeRangeProblem(from: Date | null | undefined, to: Date | null | undefined): string | null {
  return from && to && from.getTime() >= to.getTime() ? 'from must be before to (to is exclusive)' : null;
}

/** Event types given as repeated options or comma lists, each once, in the order given. */
export function eventTypesOf(given: readonly string[]): string[] {
  return [...new Set(given.flatMap((item) => item.split(',')).map((type) => type.trim()).filter((type) => type !== ''))];
}
