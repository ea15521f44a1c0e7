/**
 * A clock tests drive by hand, with the timers that go with it: a timer fires when
 * the clock is moved to or past its deadline, never by wall time.
 *
 *   const clock = new ManualClock('2026-05-01T10:00:00Z');
 *   const ticker = new Ticker({ store, clock, timers: clock, logger });
 *   clock.advance(60_000); // fires every timer due within that minute, in deadline order
 */
import type { Clock } from '../../src/clock.js';
import type { TimerPort } from '../../src/processes/ticker-timers.js';

interface PendingTimer {
  id: number;
  deadline: number;
  callback: () => void;
}

export class ManualClock implements Clock, TimerPort {
  private current: number;
  private readonly pending = new Map<number, PendingTimer>();
  private nextId = 1;

  constructor(start: Date | string | number = '2026-01-01T00:00:00.000Z') {
    this.current = toMs(start);
  }

  now(): Date {
    return new Date(this.current);
  }

  /** Moves the clock forward by `ms` and fires the timers due by then. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ms must be 0 or more, got ${ms}`);
    this.set(this.current + ms);
  }

  /** Sets the clock (forward or back) and fires the timers due by then. */
  set(to: Date | string | number): void {
    this.current = toMs(to);
    this.fireDue();
  }

  /** A timer on this clock; `ms` <= 0 fires on the next turn of the event loop. */
  setTimeout(callback: () => void, ms: number): () => void {
    const id = this.nextId++;
    if (!(ms > 0)) {
      const immediate = setImmediate(callback);
      return () => clearImmediate(immediate);
    }
    this.pending.set(id, { id, deadline: this.current + ms, callback });
    return () => {
      this.pending.delete(id);
    };
  }

  /** The earliest deadline of a pending timer, or null. */
  nextDeadline(): Date | null {
    let min = Number.POSITIVE_INFINITY;
    for (const timer of this.pending.values()) min = Math.min(min, timer.deadline);
    return Number.isFinite(min) ? new Date(min) : null;
  }

  get pendingTimers(): number {
    return this.pending.size;
  }

  private fireDue(): void {
    const due = [...this.pending.values()].filter((t) => t.deadline <= this.current).sort((a, b) => a.deadline - b.deadline || a.id - b.id);
    for (const timer of due) {
      if (!this.pending.delete(timer.id)) continue; // cancelled by an earlier callback
      timer.callback();
    }
  }
}

function toMs(value: Date | string | number): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(ms)) throw new RangeError(`ManualClock: not an instant: ${String(value)}`);
  return ms;
}

/** Something that can say when it has nothing left to do at the clock's current time (a Ticker). */
export interface Settles {
  whenIdle(): Promise<void>;
}

/**
 * Moves `clock` to `target` one timer deadline at a time, letting every actor
 * settle after each step, so each timer fires at its own instant.
 */
export async function driveUntil(clock: ManualClock, actors: Settles[], target: Date | string | number): Promise<void> {
  const end = toMs(target);
  for (;;) {
    await Promise.all(actors.map((a) => a.whenIdle()));
    const next = clock.nextDeadline();
    if (next !== null && next.getTime() <= end) clock.set(Math.max(next.getTime(), clock.now().getTime()));
    else if (clock.now().getTime() < end) clock.set(end);
    else return;
  }
}
