import { Observable } from 'rxjs';
import {
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type Position,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
} from './event-store.js';
import { openMariaDbEventLog } from './mariadb-event-log.js';
import type { SqlEventLog } from './sql-event-common.js';
import { openSqliteEventLog } from './sqlite-event-log.js';

/**
 * The SQL event store, for SQLite (embedded default) and MariaDB. The dialects differ in
 * how they append and read (sqlite-event-log.ts, mariadb-event-log.ts: raw drivers,
 * prepared statements, group commit on MariaDB); subscriptions and checks are here.
 *
 * Ordering guarantee. Subscribers read `position > cursor`, so a position must never
 * become visible after a higher one, or a subscriber would skip it. Both dialects
 * serialise appends so that positions are assigned and committed in one order, across
 * processes too:
 * - SQLite has a single writer per file; an append is one synchronous IMMEDIATE
 *   transaction (see sqlite-event-log.ts).
 * - MariaDB: every append transaction first locks the single row of `event_append_lock`
 *   (`SELECT ... FOR UPDATE`), held until commit, so AUTO_INCREMENT positions are
 *   allocated and committed in the same order. The appends of one process share these
 *   transactions (group commit, see mariadb-event-log.ts).
 */

const DEFAULT_POLL_INTERVAL_MS = 250;
const DEFAULT_READ_ALL_PAGE = 1000;
/** Page size of the catch-up reads of a subscription. */
const SUBSCRIPTION_PAGE_SIZE = 1000;

export async function openSqliteEventStore(options: {
  filename: string;
  pollIntervalMs?: number;
}): Promise<EventStore> {
  const log = await openSqliteEventLog(options.filename);
  return new SqlEventStore(log, options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
}

export async function openMariaDbEventStore(options: {
  url: string;
  pollIntervalMs?: number;
  /** Read positions of multi-row inserts back; default: when the server needs it (see mariadb-event-log.ts). */
  readBackPositions?: boolean;
}): Promise<EventStore> {
  const log = await openMariaDbEventLog({
    url: options.url,
    ...(options.readBackPositions === undefined ? {} : { readBackPositions: options.readBackPositions }),
  });
  return new SqlEventStore(log, options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
}

/** A live subscription that is caught up and waiting, for the poll to wake when the log has grown past it. */
interface Waiter {
  /** The subscription's cursor, as a number (0: the start of the log). */
  after: number;
  wake(): void;
}

/** A live subscription, as the store sees it: so that `close()` can end it. */
interface LiveSubscription {
  /** Wakes the subscription so it notices that the store is closing. */
  wake(): void;
  /** Settles when its read loop has ended. */
  finished: Promise<void>;
}

class SqlEventStore implements EventStore {
  readonly kind: string;
  private closed = false;
  /** Called after every append through this instance: wakes live subscriptions at once. */
  private readonly appendListeners = new Set<() => void>();
  private readonly liveSubscriptions = new Set<LiveSubscription>();
  /**
   * Pages read for live subscriptions, by cursor, kept until the next append through
   * this instance or the end of this turn of the event loop: the subscribers one append
   * wakes (projections, ticker, process manager) are at the same cursor and read once.
   */
  private readonly sharedPages = new Map<Position | null, Promise<RecordedEvent[]>>();
  /**
   * Subscriptions caught up and waiting. One poll for all of them (the head position:
   * one cheap indexed query, not a page read per subscription), and only while any waits.
   */
  private readonly waiters = new Set<Waiter>();
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  private pollInFlight = false;

  constructor(
    private readonly log: SqlEventLog,
    private readonly pollIntervalMs: number,
  ) {
    this.kind = log.dialect;
  }

  async append(streamId: string, events: NewEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    if (events.length === 0) {
      throw new TypeError(`append to ${streamId}: at least one event is required`);
    }
    assertValidExpectedRevision(expectedRevision);
    if (this.closed) throw new Error(`append to ${streamId}: the event store is closed`);
    const result = await this.log.append(streamId, events, expectedRevision);
    // A page read before this append is short of it: the woken subscribers read again.
    this.sharedPages.clear();
    for (const listener of this.appendListeners) listener();
    return result;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const maxCount = limitOf(options.maxCount);
    if (maxCount !== null && maxCount <= 0) return [];
    const forwards = (options.direction ?? 'forwards') === 'forwards';
    return this.log.readStream(streamId, forwards, options.fromRevision ?? null, maxCount);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const maxCount = limitOf(options.maxCount ?? DEFAULT_READ_ALL_PAGE);
    if (maxCount !== null && maxCount <= 0) return [];
    const after = options.after == null ? 0 : positionBinding(options.after);
    return this.log.readAll(after, maxCount ?? Number.MAX_SAFE_INTEGER);
  }

  /**
   * Pull-based: reads a page, emits it, then reads the next; when caught up, waits for
   * an append through this instance (immediate) or the store's poll of the head (other
   * processes, see poll).
   * Wake-ups coalesce: appends made while a read is in flight (a whole MariaDB group
   * commit, say) only set a flag, and the next read, one query, catches them all.
   */
  subscribeToAll(options: SubscribeOptions = {}): Observable<RecordedEvent> {
    return new Observable<RecordedEvent>((subscriber) => {
      let cursor: Position | null = options.after ?? null;
      let unsubscribed = false;
      // Set by an append notification; checked before sleeping so none is lost while reading.
      let appendedSinceLastRead = false;
      let wakeUp: (() => void) | null = null;

      const onAppended = () => {
        appendedSinceLastRead = true;
        wakeUp?.();
      };
      const waitForAppendOrPoll = () =>
        new Promise<void>((resolve) => {
          if (unsubscribed || this.closed || appendedSinceLastRead) return resolve();
          const waiter: Waiter = { after: cursor === null ? 0 : positionBinding(cursor), wake: finish };
          const waiters = this.waiters;
          function finish() {
            waiters.delete(waiter);
            wakeUp = null;
            resolve();
          }
          wakeUp = finish;
          this.waitForPoll(waiter);
        });
      const following = () => !unsubscribed && !this.closed;

      const follow = async () => {
        while (following()) {
          appendedSinceLastRead = false;
          const page = await this.readSharedPage(cursor);
          for (const event of page) {
            if (!following()) return;
            subscriber.next(event);
            cursor = event.position;
          }
          if (page.length < SUBSCRIPTION_PAGE_SIZE) await waitForAppendOrPoll();
        }
      };

      const live: LiveSubscription = { wake: () => wakeUp?.(), finished: Promise.resolve() };
      this.appendListeners.add(onAppended);
      this.liveSubscriptions.add(live);
      live.finished = follow()
        .then(
          () => {
            if (!unsubscribed) subscriber.complete(); // the store was closed
          },
          (error: unknown) => {
            if (unsubscribed) return;
            // A read cut short by close() is an end, not a failure.
            if (this.closed) subscriber.complete();
            else subscriber.error(error);
          },
        )
        .finally(() => {
          this.appendListeners.delete(onAppended);
          this.liveSubscriptions.delete(live);
        });

      return () => {
        unsubscribed = true;
        wakeUp?.();
      };
    });
  }

  private waitForPoll(waiter: Waiter): void {
    this.waiters.add(waiter);
    this.pollTimer ??= setInterval(() => void this.poll(), this.pollIntervalMs);
  }

  /**
   * Wakes the waiting subscriptions the log has grown past (appends of other instances;
   * positions commit in order, so a head beyond a cursor means events to read). A failed
   * poll wakes them all: their read reports the failure as before.
   */
  private async poll(): Promise<void> {
    if (this.pollInFlight) return;
    if (this.waiters.size === 0 || this.closed) {
      clearInterval(this.pollTimer ?? undefined);
      this.pollTimer = null;
      return;
    }
    this.pollInFlight = true;
    let head: number;
    try {
      head = Number((await this.log.headPosition()) ?? 0);
    } catch {
      head = Number.POSITIVE_INFINITY;
    } finally {
      this.pollInFlight = false;
    }
    for (const waiter of this.waiters) if (head > waiter.after) waiter.wake();
  }

  /** The subscriptions' page after `cursor` (the events are shared: readers do not change them). */
  private readSharedPage(cursor: Position | null): Promise<RecordedEvent[]> {
    let page = this.sharedPages.get(cursor);
    if (!page) {
      page = this.readAll({ after: cursor, maxCount: SUBSCRIPTION_PAGE_SIZE });
      if (this.sharedPages.size === 0) setImmediate(() => this.sharedPages.clear());
      this.sharedPages.set(cursor, page);
      // A failed read is not kept: each subscriber gets the error once, and the next read tries again.
      page.catch(() => {
        if (this.sharedPages.get(cursor) === page) this.sharedPages.delete(cursor);
      });
    }
    return page;
  }

  headPosition(): Promise<Position | null> {
    return this.log.headPosition();
  }

  comparePositions(a: Position, b: Position): number {
    const left = parsePosition(a);
    const right = parsePosition(b);
    return left < right ? -1 : left > right ? 1 : 0;
  }

  ping(): Promise<void> {
    return this.log.ping();
  }

  /** Completes live subscriptions (after their current read), lets queued appends finish, then closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pollTimer ?? undefined);
    this.pollTimer = null;
    const subscriptions = [...this.liveSubscriptions];
    for (const subscription of subscriptions) subscription.wake();
    await Promise.allSettled(subscriptions.map((subscription) => subscription.finished));
    await this.log.close();
  }
}

function assertValidExpectedRevision(expected: ExpectedRevision): void {
  if (typeof expected === 'number' && !(Number.isSafeInteger(expected) && expected >= 0)) {
    throw new TypeError(`expected revision must be a non-negative integer, got ${expected}`);
  }
}

/**
 * A LIMIT as the drivers take it: a whole number, or null for none (knex's rules:
 * a fraction is cut, a non-finite count is no limit).
 */
function limitOf(maxCount: number | undefined): number | null {
  if (maxCount === undefined || !Number.isFinite(maxCount)) return null;
  return Math.min(Math.trunc(maxCount), Number.MAX_SAFE_INTEGER);
}

/** SQL positions are decimal strings of the events table's AUTO_INCREMENT key. */
function parsePosition(position: Position): bigint {
  if (!/^\d+$/.test(position)) {
    throw new TypeError(`not a position of the SQL event store: ${JSON.stringify(position)}`);
  }
  return BigInt(position);
}

/** Positions bound as numbers; 2^53 events is out of reach. */
function positionBinding(position: Position): number {
  const value = parsePosition(position);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`position beyond Number.MAX_SAFE_INTEGER: ${position}`);
  }
  return Number(value);
}
