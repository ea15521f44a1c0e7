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
  type StreamReadRequest,
  type SubscribeOptions,
} from './event-store.js';
import { openMariaDbEventLog } from './mariadb-event-log.js';
import { recordedEventOf, type CommittedRun, type EventColumns, type SqlEventLog } from './sql-event-common.js';
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
 *
 * Own appends from memory. The live subscriptions (projections, ticker, process manager)
 * follow mostly this process's own appends; reading those back would cost a query per
 * wake-up. The logs report each commit as a CommittedRun: its rows as a read returns
 * them, and the head read under the append lock before the inserts, which proves that no
 * other event lies among them. A subscription whose cursor lies in a kept run takes the
 * rest of it without a read; otherwise it reads, as it does to catch up and after the
 * poll saw the log grow (other processes).
 */

const DEFAULT_POLL_INTERVAL_MS = 250;
/**
 * The poll slows down this many times once no other process has appended for
 * QUIET_AFTER_POLLS poll intervals (10 s at 250 ms): then one poll a second. This
 * instance's own appends do not count, they reach its subscriptions without a poll.
 * Each poll of an idle service costs ~1.5 ms of CPU on MariaDB (mysql2's code runs
 * cold) and ~1 ms on SQLite: at 4 a second, 0.4-0.6 % of a core doing nothing. Another
 * process's first event after a quiet spell is seen up to one slow interval late; the
 * polls after it are at the fast interval again.
 */
const QUIET_POLL_FACTOR = 4;
const QUIET_AFTER_POLLS = 40;
const DEFAULT_READ_ALL_PAGE = 1000;
/** Page size of the catch-up reads of a subscription. */
const SUBSCRIPTION_PAGE_SIZE = 1000;
/** Events of committed runs kept for the live subscriptions, at most; one behind reads instead. */
const MAX_KEPT_EVENTS = 4096;

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
  /** Its cursor as a number: runs it has passed need not be kept for it. */
  at: number;
}

/** A CommittedRun kept for the live subscriptions, decoded when first taken. */
interface KeptRun {
  after: number;
  /** The position of its last event. */
  last: number;
  rows: EventColumns[];
  events: RecordedEvent[] | null;
}

/** Exported for tests that watch the log under it; services open it with openSqliteEventStore or openMariaDbEventStore. */
export class SqlEventStore implements EventStore {
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
  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  private pollInFlight = false;
  /** When a poll last saw another process's appends (performance.now()). */
  private lastForeignAppendAt = performance.now();
  /** The head the last poll saw. */
  private polledHead = 0;
  /** Appends through this instance under way, and how many began: a poll meanwhile may see their events before localHead does. */
  private ownAppendsInFlight = 0;
  private ownAppendsBegun = 0;
  /** Committed runs of this instance's appends, in position order (disjoint), while live subscriptions may take them. */
  private runs: KeptRun[] = [];
  private keptEvents = 0;
  /** The last position appended through this instance: a subscription behind it has own events to take or read. */
  private localHead = 0;

  constructor(
    private readonly log: SqlEventLog,
    private readonly pollIntervalMs: number,
  ) {
    this.kind = log.dialect;
    log.watchCommits((run) => this.keepRun(run));
  }

  async append(streamId: string, events: NewEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    if (events.length === 0) {
      throw new TypeError(`append to ${streamId}: at least one event is required`);
    }
    assertValidExpectedRevision(expectedRevision);
    if (this.closed) throw new Error(`append to ${streamId}: the event store is closed`);
    this.ownAppendsInFlight += 1;
    this.ownAppendsBegun += 1;
    let result: AppendResult;
    try {
      result = await this.log.append(streamId, events, expectedRevision);
    } finally {
      this.ownAppendsInFlight -= 1;
    }
    this.localHead = Math.max(this.localHead, Number(result.position));
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

  readStreams(requests: readonly StreamReadRequest[]): Promise<RecordedEvent[][]> {
    return requests.length === 0 ? Promise.resolve([]) : this.log.readStreams(requests);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const maxCount = limitOf(options.maxCount ?? DEFAULT_READ_ALL_PAGE);
    if (maxCount !== null && maxCount <= 0) return [];
    const after = options.after == null ? 0 : positionBinding(options.after);
    return this.log.readAll(after, maxCount ?? Number.MAX_SAFE_INTEGER);
  }

  /**
   * Pull-based: takes this instance's committed events from memory when a kept run
   * starts at or spans the cursor (see the file comment), else reads a page; emits them,
   * then goes on; when caught up, waits for an append through this instance (immediate)
   * or the store's poll of the head (other processes, see poll).
   * Wake-ups coalesce: appends made while a read is in flight (a whole MariaDB group
   * commit, say) only set a flag, and the next read, one query, catches them all.
   */
  subscribeToAll(options: SubscribeOptions = {}): Observable<RecordedEvent> {
    return new Observable<RecordedEvent>((subscriber) => {
      let cursor: Position | null = options.after ?? null;
      let unsubscribed = false;
      // Set by an append notification; checked before sleeping so none is lost while reading.
      let appendedSinceLastRead = false;
      /**
       * Whether events not in memory may follow the cursor, other than this instance's
       * (localHead tells of those): at the start (catching up), after a full page, and
       * when the poll saw the log grow past the cursor.
       */
      let readNeeded = true;
      let wakeUp: (() => void) | null = null;

      const onAppended = () => {
        appendedSinceLastRead = true;
        wakeUp?.();
      };
      const waitForAppendOrPoll = () =>
        new Promise<void>((resolve) => {
          if (unsubscribed || this.closed || appendedSinceLastRead) return resolve();
          const waiter: Waiter = {
            after: live.at,
            wake: () => {
              readNeeded = true;
              finish();
            },
          };
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
          live.at = cursor === null ? 0 : positionBinding(cursor);
          let page = this.takeRun(live.at);
          if (page === null && (readNeeded || live.at < this.localHead)) {
            page = await this.readSharedPage(cursor);
            readNeeded = page.length === SUBSCRIPTION_PAGE_SIZE;
          }
          for (const event of page ?? []) {
            if (!following()) return;
            subscriber.next(event);
            cursor = event.position;
          }
          live.at = cursor === null ? 0 : positionBinding(cursor);
          if (!readNeeded && live.at >= this.localHead) await waitForAppendOrPoll();
        }
      };

      const live: LiveSubscription = { wake: () => wakeUp?.(), finished: Promise.resolve(), at: 0 };
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
          this.dropPassedRuns();
        });

      return () => {
        unsubscribed = true;
        wakeUp?.();
      };
    });
  }

  private waitForPoll(waiter: Waiter): void {
    this.waiters.add(waiter);
    this.schedulePoll();
  }

  /** Sets the next poll, unless one is pending or running (that one sets the next when done). */
  private schedulePoll(): void {
    if (this.pollTimer !== null || this.pollInFlight || this.closed) return;
    const slow = performance.now() - this.lastForeignAppendAt >= this.pollIntervalMs * QUIET_AFTER_POLLS;
    const interval = slow ? this.pollIntervalMs * QUIET_POLL_FACTOR : this.pollIntervalMs;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      void this.poll();
    }, interval);
  }

  /**
   * Wakes the waiting subscriptions the log has grown past (appends of other instances;
   * positions commit in order, so a head beyond a cursor means events to read). A failed
   * poll wakes them all: their read reports the failure as before. The next poll is set
   * while any subscription waits.
   */
  private async poll(): Promise<void> {
    if (this.waiters.size === 0 || this.closed) return;
    this.pollInFlight = true;
    const ownBefore = { inFlight: this.ownAppendsInFlight, begun: this.ownAppendsBegun };
    let head: number;
    try {
      head = Number((await this.log.headPosition()) ?? 0);
    } catch {
      head = Number.POSITIVE_INFINITY;
    } finally {
      this.pollInFlight = false;
    }
    // Past what this instance appended and what the last poll saw, with none of its own
    // appends under way before or during the poll (their commits may show before
    // localHead does): another process appended. (Its events among this instance's own
    // show no such growth, but the subscriptions that own appends wake read them anyway.)
    const ownMeanwhile = ownBefore.inFlight > 0 || this.ownAppendsBegun !== ownBefore.begun;
    if (!ownMeanwhile && head > Math.max(this.polledHead, this.localHead)) this.lastForeignAppendAt = performance.now();
    if (Number.isFinite(head)) this.polledHead = Math.max(this.polledHead, head);
    for (const waiter of this.waiters) if (head > waiter.after) waiter.wake();
    if (this.waiters.size > 0) this.schedulePoll();
  }

  /** Keeps a run of this instance's appends while live subscriptions may take it (within MAX_KEPT_EVENTS). */
  private keepRun(run: CommittedRun): void {
    if (this.liveSubscriptions.size === 0 || run.rows.length === 0 || run.rows.length > MAX_KEPT_EVENTS) return;
    const kept: KeptRun = { after: run.after, last: Number(run.rows[run.rows.length - 1]![0]), rows: run.rows, events: null };
    // Runs come in commit order; placed by position all the same (they are disjoint).
    let index = this.runs.length;
    while (index > 0 && this.runs[index - 1]!.after > kept.after) index -= 1;
    this.runs.splice(index, 0, kept);
    this.keptEvents += kept.rows.length;
    this.dropPassedRuns();
  }

  /** Drops the runs every live subscription has passed, and the oldest beyond MAX_KEPT_EVENTS. */
  private dropPassedRuns(): void {
    let slowest = Number.POSITIVE_INFINITY;
    for (const live of this.liveSubscriptions) slowest = Math.min(slowest, live.at);
    let dropped = 0;
    while (dropped < this.runs.length && (this.runs[dropped]!.last <= slowest || this.keptEvents > MAX_KEPT_EVENTS)) {
      this.keptEvents -= this.runs[dropped]!.rows.length;
      dropped += 1;
    }
    if (dropped > 0) this.runs.splice(0, dropped);
  }

  /**
   * The events after position `at` of the kept run spanning it (its `after` <= at < its
   * last position), or null when none does: the run proves that no other event lies
   * between. The events are shared, like a shared page.
   */
  private takeRun(at: number): RecordedEvent[] | null {
    // From the newest: live subscriptions are mostly at the last run.
    for (let index = this.runs.length - 1; index >= 0; index -= 1) {
      const run = this.runs[index]!;
      if (run.last <= at) return null;
      if (run.after > at) continue;
      run.events ??= run.rows.map(recordedEventOf);
      return at === run.after ? run.events : run.events.slice(run.rows.findIndex((row) => Number(row[0]) > at));
    }
    return null;
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
    clearTimeout(this.pollTimer ?? undefined);
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
