/**
 * The catch-up loop shared by the runner's catch-up, its rebuilds and verify: pulls
 * pages of the log, folds them into a working set and writes it when it holds
 * maxRows rows, every flushIntervalMs, and at the end (also when told to stop: what
 * was folded is committed, not lost).
 */
import type { EventStore, Position, RecordedEvent } from '../eventstore/event-store.js';
import type { ProjectionWorkingSet } from './projection-working-set.js';

export interface PageReplay {
  store: EventStore;
  workingSet: ProjectionWorkingSet;
  /** Replays the events after this position (null: from the start). */
  after: Position | null;
  /** Stops after this position (inclusive); absent: at the head (the first short page). */
  upTo?: Position;
  pageSize: number;
  maxRows: number;
  flushIntervalMs: number;
  /** Writes the working set (the caller's guard and bookkeeping around workingSet.flush()). */
  flush(): Promise<void>;
  /** Asked before each page is folded; false stops the replay. */
  keepGoing(): boolean;
  /** After each page, with the events read so far. */
  onPage?(eventsDone: number): void;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function readPage(store: EventStore, after: Position | null, maxCount: number): Promise<RecordedEvent[]> {
  const page = store.readAll({ after, maxCount });
  // Handled where it is awaited; this only keeps a read-ahead that fails meanwhile from
  // being reported as an unhandled rejection.
  page.catch(() => undefined);
  return page;
}

/** The events of the page up to `upTo`, and whether the replay ends with them. */
function cutAt(store: EventStore, page: RecordedEvent[], upTo: Position | undefined): { events: RecordedEvent[]; last: boolean } {
  if (upTo === undefined) return { events: page, last: false };
  const end = page.findIndex((event) => store.comparePositions(event.position, upTo) > 0);
  if (end >= 0) return { events: page.slice(0, end), last: true };
  const final = page[page.length - 1];
  return { events: page, last: final !== undefined && store.comparePositions(final.position, upTo) === 0 };
}

/** Returns the number of events folded. */
export async function replayPages(replay: PageReplay): Promise<number> {
  const { store, workingSet, pageSize, maxRows, flushIntervalMs } = replay;
  let lastFlushAt = performance.now();
  let eventsDone = 0;
  let nextPage: Promise<RecordedEvent[]> | null = readPage(store, replay.after, pageSize);
  while (nextPage !== null) {
    const page: RecordedEvent[] = await nextPage;
    const last = page[page.length - 1];
    if (!replay.keepGoing() || last === undefined) break;
    const { events, last: ends } = cutAt(store, page, replay.upTo);
    // Read ahead while this page is folded and written (overlaps the two databases' work).
    nextPage = page.length < pageSize || ends ? null : readPage(store, last.position, pageSize);
    await workingSet.fold(events);
    eventsDone += events.length;
    if (workingSet.size >= maxRows || performance.now() - lastFlushAt >= flushIntervalMs) {
      await replay.flush();
      lastFlushAt = performance.now();
    }
    replay.onPage?.(eventsDone);
    // SQLite work is synchronous: let timers and I/O (HTTP requests) run between pages.
    await yieldToEventLoop();
  }
  await replay.flush();
  return eventsDone;
}
