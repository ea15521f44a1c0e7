/**
 * The catch-up loop shared by the runner's catch-up, its rebuilds and verify: pulls
 * pages of the log, folds them into a working set and writes it when it holds
 * maxRows rows, every flushIntervalMs, and at the end (also when told to stop: what
 * was folded is committed, not lost).
 */
import type { EventStore, Position, RecordedEvent } from '../eventstore/event-store.js';
import type { PendingFlush, ProjectionWorkingSet } from './projection-working-set.js';

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
  /**
   * Writes what the working set's beginFlush() took (the caller's guard and bookkeeping
   * around `pending.commit()`; a caller that does not commit it discards the working set).
   */
  flush(pending: PendingFlush): Promise<void>;
  /** Asked before each page is folded; false stops the replay. */
  keepGoing(): boolean;
  /** After each page, with the events read so far. */
  onPage?(eventsDone: number): void;
}

/**
 * Share of maxRows at which a flush starts when the working set's writes run in the
 * background; folding goes on meanwhile up to maxRows. Where they do not (SQLite is
 * synchronous), flushing earlier would only halve the rows kept between flushes.
 */
const OVERLAPPED_FLUSH_AT_SHARE = 0.75;

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

/**
 * Returns the number of events folded. A flush runs while the next pages are folded
 * (the database writes while this process folds): one starts when the working set
 * holds maxRows (OVERLAPPED_FLUSH_AT_SHARE of it on MariaDB) or flushIntervalMs passed,
 * and none runs; folding waits for it when the set reaches maxRows. Flushes never
 * overlap, and the end and a failure wait for the one running.
 */
export async function replayPages(replay: PageReplay): Promise<number> {
  const { store, workingSet, pageSize, maxRows, flushIntervalMs } = replay;
  const flushAtRows = workingSet.flushesOverlapFolding ? Math.ceil(maxRows * OVERLAPPED_FLUSH_AT_SHARE) : maxRows;
  let lastFlushAt = performance.now();
  let eventsDone = 0;
  let flushing: Promise<void> | null = null;
  let flushRunning = false;
  const startFlush = async (): Promise<void> => {
    if (flushing !== null) await flushing;
    flushRunning = true;
    // Taken between pages: every projection at the same event.
    const flush = replay.flush(workingSet.beginFlush());
    flushing = flush.finally(() => (flushRunning = false));
    // Awaited before the next flush and at the end; this only keeps a failure from being unhandled meanwhile.
    flushing.catch(() => undefined);
  };
  try {
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
      // Memory bound: the rows a running flush writes are evicted only once it commits, so
      // folding waits for it at maxRows. (Waiting earlier, at 92 % of maxRows, cost a MariaDB
      // rebuild of 1M events 6-10 % of its rate for 12-50 MB less peak RSS, measured compiled.)
      if (flushRunning && workingSet.size >= maxRows) await flushing;
      if (!flushRunning && (workingSet.size >= flushAtRows || performance.now() - lastFlushAt >= flushIntervalMs)) {
        await startFlush();
        lastFlushAt = performance.now();
      }
      replay.onPage?.(eventsDone);
      // SQLite work is synchronous: let timers and I/O (HTTP requests) run between pages.
      await yieldToEventLoop();
    }
    await startFlush();
    await flushing;
  } finally {
    // A failure while a flush runs: let it settle, so that what it committed is recorded.
    await (flushing as Promise<void> | null)?.catch(() => undefined);
  }
  return eventsDone;
}
