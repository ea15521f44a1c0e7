/**
 * Reads the log page by page for an audit filter, never all of it at once: the
 * whole log (readAll) or, when the filter names one stream, that stream only
 * (readStream by revision). Each page yields the events that match.
 */
import type { EventStore, Position, RecordedEvent } from '../eventstore/event-store.js';
import { exactStreamOf, matchesEventFilter, type EventFilter } from './event-filter.js';

export interface ScannedPage {
  /** The events of the page that pass the filter, in log order. */
  matches: RecordedEvent[];
  /** Position of the last event read (matching or not): a scan resumes after it. */
  lastPosition: Position;
  /** How many events the page read. */
  scanned: number;
  /** The log (or the stream) ends with this page. */
  last: boolean;
}

export const DEFAULT_SCAN_PAGE_SIZE = 500;

/** The pages of events after `filter.after` up to the end of the log (or of the stream), in order. */
export async function* scanEventLog(store: EventStore, filter: EventFilter, pageSize = DEFAULT_SCAN_PAGE_SIZE): AsyncGenerator<ScannedPage> {
  const after = filter.after ?? null;
  if (after !== null) {
    // Nothing lies after the head; also spares adapters a position they could not bind.
    const head = await store.headPosition();
    if (head === null || store.comparePositions(after, head) >= 0) return;
  }
  const stream = exactStreamOf(filter);
  if (stream !== null) {
    for (let fromRevision = 0; ; fromRevision += pageSize) {
      const page = await store.readStream(stream, { fromRevision, maxCount: pageSize });
      const fresh = after === null ? page : page.filter((event) => store.comparePositions(event.position, after) > 0);
      const last = page[page.length - 1];
      const isLast = page.length < pageSize;
      if (last !== undefined && fresh.length > 0) yield { matches: fresh.filter((event) => matchesEventFilter(event, filter)), lastPosition: last.position, scanned: page.length, last: isLast };
      if (isLast) return;
    }
  }
  for (let cursor = after; ; ) {
    const page = await store.readAll({ after: cursor, maxCount: pageSize });
    const last = page[page.length - 1];
    if (last === undefined) return;
    const isLast = page.length < pageSize;
    yield { matches: page.filter((event) => matchesEventFilter(event, filter)), lastPosition: last.position, scanned: page.length, last: isLast };
    if (isLast) return;
    cursor = last.position;
  }
}

/** One page of an audit listing: at most `limit` matches, reading at most `scanBudget` events to find them. */
export interface AuditPage {
  events: RecordedEvent[];
  /** More may follow: pass `nextAfter` as the next filter's `after`. */
  hasMore: boolean;
  /** Where the next page starts (exclusive); null when the log (or the stream) has no more. */
  nextAfter: Position | null;
}

/**
 * The first `limit` matches after `filter.after`. A rare filter over a long log
 * stops once `scanBudget` events were read without filling the page: the answer
 * then says there may be more and where to go on, so one request never reads
 * the whole log.
 */
export async function readAuditPage(store: EventStore, filter: EventFilter, limit: number, scanBudget = 20 * DEFAULT_SCAN_PAGE_SIZE): Promise<AuditPage> {
  const events: RecordedEvent[] = [];
  let scanned = 0;
  for await (const page of scanEventLog(store, filter, Math.min(DEFAULT_SCAN_PAGE_SIZE, scanBudget))) {
    for (const event of page.matches) {
      if (events.length === limit) return { events, hasMore: true, nextAfter: (events[limit - 1] as RecordedEvent).position };
      events.push(event);
    }
    scanned += page.scanned;
    if (scanned >= scanBudget && !page.last) return { events, hasMore: true, nextAfter: page.lastPosition };
  }
  return { events, hasMore: false, nextAfter: null };
}
