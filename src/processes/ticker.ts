/**
 * The ticker (spec/domain.md, "Ticker health and missed runs", "Several instances"):
 * records ExecutionDue for every enabled cron schedule at its due instants.
 *
 * - State: every schedule stream folded with scheduleDecider.evolve, from the whole
 *   log at start and then live from the subscription, so an edit, an enable, a
 *   disable or a delete takes effect on the next tick without a restart.
 * - Plan: each enabled cron schedule has one entry in a min-heap: its next due
 *   instant after max(last recorded due instant, last enable / timing change), and
 *   its fire instant = due + the deterministic jitter offset.
 * - Loop: sleeps until the earliest fire instant (at most `maxSleepMs`, the
 *   heartbeat, which also notices clock jumps), then records what is due with
 *   bounded concurrency through the RecordDue command (expected revision: a second
 *   ticker finds the instant recorded and appends nothing).
 * - Catch-up: an instant that was already past when the ticker planned it (after a
 *   restart or downtime; an enable or edit it learnt of late) or that it reaches
 *   more than `stallMs` late (a stall, a clock jump) goes through RecordCatchUp:
 *   the schedule's catchup_policy and catchup_window_minutes decide what runs and
 *   what is recorded as missed (RunsMissed).
 */
import { Subject, type Observable, type Subscription } from 'rxjs';
import type { Clock } from '../clock.js';
import { primeScheduleState, recordCatchUp, recordDue, tickerContext, type TickResult } from '../commands/tick-commands.js';
import { jitterOffsetSeconds } from '../domain/cron.js';
import { firstDueInstantAfter } from '../domain/due-instant-memo.js';
import type { DueTrigger, MissedRunsReason, ScheduleEvent } from '../domain/events.js';
import { dueFloorMs, scheduleDecider, type ScheduleState } from '../domain/schedule.js';
import type { EventStore, Position, RecordedEvent } from '../eventstore/event-store.js';
import type { Logger } from '../logger.js';
import { MinHeap } from './min-heap.js';
import { systemTimers, type TimerPort } from './ticker-timers.js';

export type { TimerPort } from './ticker-timers.js';
export { systemTimers } from './ticker-timers.js';

export type TickerLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface TickerDeps {
  store: EventStore;
  clock: Clock;
  logger: TickerLogger;
  /** How the ticker sleeps; real timers by default. */
  timers?: TimerPort;
}

export interface TickerOptions {
  /** The loop wakes at least this often (heartbeat; clock jumps are noticed). Default 1000. */
  maxSleepMs?: number;
  /**
   * Records in flight at once (different schedules are independent streams). Default
   * 512: enough for the MariaDB event log to fill two group commits of 256 appends
   * each, one holding its lock while the next waits, so that a burst is pipelined.
   */
  concurrency?: number;
  /** An instant reached more than this after its fire instant is caught up, not recorded as is. Default 60,000. */
  stallMs?: number;
  /** An instant already more than this past when planned (restart, downtime) is caught up. Default 1000. */
  lateGraceMs?: number;
  /** First retry after a failed record (doubling, at most 30 s). Default 1000. */
  retryDelayMs?: number;
}

export interface TickerHealth {
  /** Clock time of the last loop iteration, or null before the first. */
  last_loop_at: string | null;
  loop_interval_ms: number;
  /** Running, and a loop iteration completed within twice the interval. */
  healthy: boolean;
  /** Enabled cron schedules the ticker keeps a next instant for. */
  schedules: number;
  /** Due instant of the entry that fires next, or null. */
  next_due_at: string | null;
}

/** Published for each record this ticker appends. */
export type TickerMetric =
  | {
      type: 'due_recorded';
      schedule_id: string;
      execution_id: string;
      due_at: string;
      fire_at: string;
      trigger: DueTrigger;
      /** Clock time once the append returned. */
      recorded_at: string;
      /** recorded_at - fire_at, in ms. */
      lag_ms: number;
    }
  | { type: 'runs_missed'; schedule_id: string; reason: MissedRunsReason; count: number; last_due_at: string };

const SCHEDULE_STREAM_PREFIX = 'schedule-';
const SCHEDULE_EVENT_TYPES = new Set<string>(['ScheduleCreated', 'ScheduleUpdated', 'ScheduleEnabled', 'ScheduleDisabled', 'ScheduleDeleted', 'ExecutionDue', 'RunsMissed']);
const MAX_RETRY_DELAY_MS = 30_000;
const DEFAULT_CONCURRENCY = 512;

/** What the ticker knows of one schedule. */
interface Tracked {
  id: string;
  state: ScheduleState;
  /** Revision `state` is folded to; -1 before any event. */
  revision: number;
  /** A record for it is in flight: it is planned again when that ends. */
  busy: boolean;
  /** Due instants at or before this were handled by this ticker (guards against planning one twice). */
  handledThrough: number;
  failures: number;
  /** After a failed record: not before this. */
  retryAt: number;
}

/** A heap entry; the heap's priority is when to act (the fire instant, or a retry time). */
interface Planned {
  due: number;
  fire: number;
  /** Clock time when this instant was first planned: it was late then when plannedAt - fire > lateGraceMs. */
  plannedAt: number;
}

type Phase = 'new' | 'starting' | 'running' | 'stopped';

export class Ticker {
  private readonly store: EventStore;
  private readonly clock: Clock;
  private readonly logger: TickerLogger;
  private readonly timers: TimerPort;
  private readonly maxSleepMs: number;
  private readonly concurrency: number;
  private readonly stallMs: number;
  private readonly lateGraceMs: number;
  private readonly retryDelayMs: number;

  private readonly schedules = new Map<string, Tracked>();
  private readonly heap = new MinHeap<string, Planned>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly metricsSubject = new Subject<TickerMetric>();
  private readonly idleWaiters = new Set<() => void>();

  private phase: Phase = 'new';
  private planning = false;
  private subscription: Subscription | null = null;
  private cancelResubscribe: (() => void) | null = null;
  private lastPosition: Position | null = null;
  private caughtUp: { resolve: () => void; reject: (error: unknown) => void } | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  private lastLoopAt: number | null = null;
  /** Set while the loop sleeps: wakes it. */
  private wakeSleeper: (() => void) | null = null;
  private wakeRequested = false;
  /** When the sleeping loop wakes by itself; a plan before it wakes the loop. */
  private sleepUntil = Number.NEGATIVE_INFINITY;
  /** The loop waits for a free slot (every slot busy, entries due). */
  private waitingForSlot = false;
  private parked = false;

  /** Each record's lag and each count of missed runs (see TickerMetric). */
  readonly metrics: Observable<TickerMetric> = this.metricsSubject.asObservable();

  constructor(deps: TickerDeps, options: TickerOptions = {}) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.timers = deps.timers ?? systemTimers;
    this.maxSleepMs = positive(options.maxSleepMs ?? 1000, 'maxSleepMs');
    this.concurrency = Math.floor(positive(options.concurrency ?? DEFAULT_CONCURRENCY, 'concurrency'));
    this.stallMs = positive(options.stallMs ?? 60_000, 'stallMs');
    this.lateGraceMs = positive(options.lateGraceMs ?? 1000, 'lateGraceMs');
    this.retryDelayMs = positive(options.retryDelayMs ?? 1000, 'retryDelayMs');
  }

  /** Folds the log, plans every enabled cron schedule, then starts the loop (catch-up first). */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new Error('Ticker.start: a ticker starts once');
    this.phase = 'starting';
    try {
      const head = await this.store.headPosition();
      await new Promise<void>((resolve, reject) => {
        this.caughtUp = { resolve, reject };
        this.subscribe(head);
        if (head === null) this.settleCatchUp();
      });
    } catch (error) {
      this.phase = 'stopped';
      this.subscription?.unsubscribe();
      this.subscription = null;
      this.metricsSubject.complete();
      this.notify();
      throw error;
    }
    if (this.phase !== 'starting') return; // stopped meanwhile
    this.phase = 'running';
    this.planning = true;
    for (const tracked of this.schedules.values()) this.plan(tracked);
    this.loopDone = this.loop();
    this.logger.info({ schedules: this.heap.size, tracked: this.schedules.size, next_due_at: this.health().next_due_at }, 'ticker started');
  }

  /** Stops the loop and the subscription; records in flight are finished first. */
  async stop(): Promise<void> {
    if (this.phase === 'stopped') return;
    const wasStarting = this.phase === 'starting';
    this.phase = 'stopped';
    this.subscription?.unsubscribe();
    this.subscription = null;
    this.cancelResubscribe?.();
    if (wasStarting) this.settleCatchUp();
    this.wake();
    await this.loopDone;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    this.metricsSubject.complete();
    this.notify();
    this.logger.info('ticker stopped');
  }

  health(): TickerHealth {
    const now = this.clock.now().getTime();
    const top = this.heap.peek();
    return {
      last_loop_at: this.lastLoopAt === null ? null : new Date(this.lastLoopAt).toISOString(),
      loop_interval_ms: this.maxSleepMs,
      healthy: this.phase === 'running' && this.lastLoopAt !== null && now - this.lastLoopAt <= 2 * this.maxSleepMs,
      schedules: this.heap.size + this.inFlight.size,
      next_due_at: top === undefined ? null : new Date(top.value.due).toISOString(),
    };
  }

  /**
   * Settles when the ticker has nothing left to do at the current clock time:
   * every event in the log at the time of the call folded, no record in flight,
   * the loop asleep until a later fire instant. For tests that drive the clock.
   */
  async whenIdle(): Promise<void> {
    for (;;) {
      const head = await this.store.headPosition();
      await this.until(() => this.phase === 'stopped' || this.phase === 'new' || (this.phase === 'running' && this.idle() && this.reached(head)));
      if (this.phase !== 'running') return;
      const again = await this.store.headPosition();
      if (samePosition(head, again) && this.idle()) return;
    }
  }

  // --- the log ---------------------------------------------------------------

  private subscribe(head: Position | null): void {
    this.subscription = this.store.subscribeToAll({ after: this.lastPosition }).subscribe({
      next: (event) => {
        this.apply(event);
        this.lastPosition = event.position;
        if (this.caughtUp && head !== null && this.store.comparePositions(event.position, head) >= 0) this.settleCatchUp();
        this.notify();
      },
      error: (error: unknown) => {
        this.subscription = null;
        if (this.caughtUp) {
          const { reject } = this.caughtUp;
          this.caughtUp = null;
          reject(error);
          return;
        }
        if (this.phase !== 'running') return;
        this.logger.error({ err: error }, 'ticker: the event subscription failed; subscribing again');
        this.cancelResubscribe = this.timers.setTimeout(() => {
          this.cancelResubscribe = null;
          if (this.phase === 'running' && this.subscription === null) this.subscribe(null);
        }, this.retryDelayMs);
      },
      complete: () => {
        this.subscription = null;
        if (this.caughtUp) this.settleCatchUp();
        if (this.phase === 'running') this.logger.warn('ticker: the event subscription ended (store closed?)');
      },
    });
  }

  private settleCatchUp(): void {
    const pending = this.caughtUp;
    this.caughtUp = null;
    pending?.resolve();
  }

  /** Folds a schedule event into the ticker's state and plans the schedule again. */
  private apply(event: RecordedEvent): void {
    if (!event.streamId.startsWith(SCHEDULE_STREAM_PREFIX) || !SCHEDULE_EVENT_TYPES.has(event.type)) return;
    const id = event.streamId.slice(SCHEDULE_STREAM_PREFIX.length);
    let tracked = this.schedules.get(id);
    if (tracked === undefined) {
      tracked = { id, state: scheduleDecider.initialState, revision: -1, busy: false, handledThrough: Number.NEGATIVE_INFINITY, failures: 0, retryAt: 0 };
      this.schedules.set(id, tracked);
    }
    // Already known from the result of a record (own appends come back here later).
    if (event.revision <= tracked.revision) return;
    const before = tracked.state;
    tracked.state = scheduleDecider.evolve(tracked.state, { type: event.type, data: event.data } as unknown as ScheduleEvent);
    tracked.revision = event.revision;
    // A deleted schedule never comes back: forget it (a record in flight still holds it and plans nothing).
    if (tracked.state.status === 'deleted') this.schedules.delete(id);
    // An edit of a name, description or limits leaves the plan as it is: no cron to evaluate again.
    if (this.planning && !sameTiming(before, tracked.state)) this.plan(tracked);
  }

  /**
   * A record's result is the stream's latest state: newer than the subscription's, or the
   * same. The same revision is adopted too: the subscription may have folded the record's
   * own event first, into an equal copy, and one copy per schedule is kept, shared with
   * the command layer's cache.
   */
  private adopt(tracked: Tracked, result: TickResult): void {
    if (result.revision !== null && result.revision >= tracked.revision) {
      tracked.state = result.state;
      tracked.revision = result.revision;
    }
  }

  // --- the plan --------------------------------------------------------------

  /** The schedule's next due and fire instants, or null when the ticker has nothing to do for it. */
  private nextFor(tracked: Tracked): { due: number; fire: number } | null {
    const state = tracked.state;
    if (state.status !== 'active') return null;
    const { enabled, schedule_type, cron_expression, timezone, jitter_seconds } = state.settings;
    if (!enabled || schedule_type !== 'cron' || !cron_expression) return null;
    const last = state.last_due_at === null ? Number.NEGATIVE_INFINITY : Date.parse(state.last_due_at);
    const after = Math.max(last, dueFloorMs(state), tracked.handledThrough);
    const due = this.nextInstant(cron_expression, timezone, after, tracked.id);
    if (due === null) return null;
    return { due, fire: due + jitterOffsetSeconds(tracked.id, new Date(due), jitter_seconds) * 1000 };
  }

  /** The next due instant (memoised: the schedules of a :00 herd share a few expressions). */
  private nextInstant(expression: string, timezone: string, after: number, scheduleId: string): number | null {
    try {
      return firstDueInstantAfter(expression, timezone, new Date(after))?.getTime() ?? null;
    } catch (error) {
      this.logger.warn({ err: error, schedule_id: scheduleId, cron_expression: expression, timezone }, 'ticker: cannot compute the next due instant');
      return null;
    }
  }

  private plan(tracked: Tracked): void {
    if (tracked.busy) return; // planned when its record ends
    const next = this.nextFor(tracked);
    if (next === null) {
      this.heap.delete(tracked.id);
      return;
    }
    const priority = Math.max(next.fire, tracked.retryAt);
    const existing = this.heap.get(tracked.id);
    if (existing !== undefined && existing.value.due === next.due && existing.priority === priority) return;
    const plannedAt = existing !== undefined && existing.value.due === next.due ? existing.value.plannedAt : this.clock.now().getTime();
    this.heap.push(tracked.id, priority, { due: next.due, fire: next.fire, plannedAt });
    if (priority < this.sleepUntil) this.wake();
  }

  // --- the loop --------------------------------------------------------------

  private async loop(): Promise<void> {
    while (this.phase === 'running') {
      const now = this.clock.now().getTime();
      this.lastLoopAt = now;
      for (let top = this.heap.peek(); top !== undefined && top.priority <= now && this.inFlight.size < this.concurrency; top = this.heap.peek()) {
        this.heap.pop();
        this.dispatch(top.key, top.value);
      }
      const top = this.heap.peek();
      this.waitingForSlot = top !== undefined && top.priority <= now;
      const wait = top === undefined || this.waitingForSlot ? this.maxSleepMs : Math.min(top.priority - now, this.maxSleepMs);
      this.sleepUntil = this.waitingForSlot ? Number.NEGATIVE_INFINITY : now + wait;
      await this.sleep(wait);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.wakeRequested || this.phase !== 'running') {
        this.wakeRequested = false;
        resolve();
        return;
      }
      let cancel: (() => void) | null = null;
      const finish = () => {
        cancel?.();
        this.wakeSleeper = null;
        this.parked = false;
        this.sleepUntil = Number.NEGATIVE_INFINITY;
        resolve();
      };
      this.wakeSleeper = finish;
      cancel = this.timers.setTimeout(finish, ms);
      this.parked = true;
      this.notify();
    });
  }

  private wake(): void {
    if (this.wakeSleeper) this.wakeSleeper();
    else this.wakeRequested = true;
  }

  private dispatch(id: string, planned: Planned): void {
    const tracked = this.schedules.get(id);
    if (tracked === undefined) return;
    tracked.busy = true;
    const work: Promise<void> = this.record(tracked, planned).finally(() => {
      tracked.busy = false;
      this.inFlight.delete(work);
      if (this.phase === 'running') {
        this.plan(tracked);
        if (this.waitingForSlot) this.wake();
      }
      this.notify();
    });
    this.inFlight.add(work);
  }

  /** Records one planned instant: RecordDue when on time, RecordCatchUp when late. */
  private async record(tracked: Tracked, planned: Planned): Promise<void> {
    const at = this.clock.now();
    const late = planned.plannedAt - planned.fire > this.lateGraceMs || at.getTime() - planned.fire > this.stallMs;
    const context = tickerContext(at);
    try {
      // The ticker has the stream folded already: the command reads only what is newer.
      if (tracked.revision >= 0) primeScheduleState(this.store, tracked.id, tracked.state, tracked.revision);
      const result = late ? await recordCatchUp(this.store, tracked.id, context) : await recordDue(this.store, tracked.id, new Date(planned.due), context);
      this.adopt(tracked, result);
      tracked.handledThrough = Math.max(tracked.handledThrough, planned.due);
      tracked.failures = 0;
      tracked.retryAt = 0;
      this.publish(result.events);
      if (late || result.events.length === 0) {
        this.logger.debug({ schedule_id: tracked.id, due_at: new Date(planned.due).toISOString(), catch_up: late, events: result.events.map((e) => e.type) }, 'ticker: recorded');
      }
    } catch (error) {
      tracked.failures += 1;
      const delay = Math.min(this.retryDelayMs * 2 ** (tracked.failures - 1), MAX_RETRY_DELAY_MS);
      tracked.retryAt = this.clock.now().getTime() + delay;
      this.logger.error(
        { err: error, schedule_id: tracked.id, due_at: new Date(planned.due).toISOString(), attempt: tracked.failures, retry_in_ms: delay },
        'ticker: recording a due instant failed',
      );
    }
  }

  private publish(events: ScheduleEvent[]): void {
    if (events.length === 0 || !this.metricsSubject.observed) return;
    const recordedAt = this.clock.now();
    for (const event of events) {
      if (event.type === 'ExecutionDue') {
        const d = event.data;
        this.metricsSubject.next({
          type: 'due_recorded',
          schedule_id: d.schedule_id,
          execution_id: d.execution_id,
          due_at: d.due_at,
          fire_at: d.fire_at,
          trigger: d.trigger,
          recorded_at: recordedAt.toISOString(),
          lag_ms: recordedAt.getTime() - Date.parse(d.fire_at),
        });
      } else if (event.type === 'RunsMissed') {
        const d = event.data;
        this.metricsSubject.next({ type: 'runs_missed', schedule_id: d.schedule_id, reason: d.reason, count: d.count, last_due_at: d.last_due_at });
      }
    }
  }

  // --- idleness, for tests ---------------------------------------------------

  private idle(): boolean {
    const top = this.heap.peek();
    return this.parked && !this.waitingForSlot && this.inFlight.size === 0 && (top === undefined || top.priority > this.clock.now().getTime());
  }

  private reached(head: Position | null): boolean {
    return head === null || (this.lastPosition !== null && this.store.comparePositions(this.lastPosition, head) >= 0);
  }

  private until(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const check = () => {
        if (!condition()) return;
        this.idleWaiters.delete(check);
        resolve();
      };
      this.idleWaiters.add(check);
    });
  }

  private notify(): void {
    if (this.idleWaiters.size === 0) return;
    for (const check of [...this.idleWaiters]) check();
  }
}

function positive(value: number, name: string): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`Ticker: ${name} must be a positive number, got ${value}`);
  return value;
}

function samePosition(a: Position | null, b: Position | null): boolean {
  return a === b;
}

/**
 * Whether the schedule's plan (nextFor) stays as it was: both states live, with the
 * same fields it depends on (every change of a schedule not live is planned).
 * Compared field by field: evolve gives a new state and leaves the old one as it was.
 */
function sameTiming(a: ScheduleState, b: ScheduleState): boolean {
  if (a.status !== 'active' || b.status !== 'active') return false;
  const x = a.settings;
  const y = b.settings;
  return (
    x.enabled === y.enabled &&
    x.schedule_type === y.schedule_type &&
    x.cron_expression === y.cron_expression &&
    x.timezone === y.timezone &&
    x.jitter_seconds === y.jitter_seconds &&
    a.last_due_at === b.last_due_at &&
    a.cron_changed_at === b.cron_changed_at &&
    a.enabled_at === b.enabled_at
  );
}
