/**
 * Due instants after a time, memoised: the one cache in front of nextDueInstants for
 * the projections (replay speed), the ticker and the API's next runs. Evaluating cron for
 * every schedule event of a long log costs more than the rest of that event's work,
 * while a log holds few distinct (expression, timezone) pairs and its times move
 * forward. So per pair a window of consecutive due instants is kept: every due
 * instant in (from, last] is in it, hence for `from <= after < last` the first one
 * after `after` is in it too. The answer is exactly nextDueInstants' (a memo only).
 */
import { nextDueInstants } from './cron.js';

/** Due instants computed per window. */
const WINDOW_SIZE = 32;
/** Pairs remembered before the memo starts again (bounds memory on odd logs). */
const MAX_PAIRS = 2000;

interface DueWindow {
  /** Exclusive start: the `after` the window was computed from (ms). */
  from: number;
  /** Every due instant in (from, last], ascending (ms). */
  instants: number[];
}

const windows = new Map<string, DueWindow>();

/** Index of the first instant strictly after `after` (instants ascending; length when none). */
function firstIndexAfter(instants: readonly number[], after: number): number {
  let low = 0;
  let high = instants.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((instants[middle] ?? Infinity) > after) high = middle;
    else low = middle + 1;
  }
  return low;
}

/**
 * The first due instant of `expression` in `timezone` strictly after `after`, or null
 * when there is none. Throws as nextDueInstants does on an invalid expression or zone.
 */
export function firstDueInstantAfter(expression: string, timezone: string, after: Date): Date | null {
  return dueInstantsAfter(expression, timezone, after, 1)[0] ?? null;
}

/**
 * The next `count` due instants of `expression` in `timezone` strictly after `after`
 * (fewer when the expression has no more). Throws as nextDueInstants does.
 */
export function dueInstantsAfter(expression: string, timezone: string, after: Date, count: number): Date[] {
  const pair = `${timezone}\u0000${expression}`;
  const afterMs = after.getTime();
  const window = windows.get(pair);
  if (window && afterMs >= window.from) {
    const start = firstIndexAfter(window.instants, afterMs);
    // Only instants before the window's last are known to have no unseen one between them.
    if (start + count <= window.instants.length && start < window.instants.length) {
      return window.instants.slice(start, start + count).map((instant) => new Date(instant));
    }
  }
  const instants = nextDueInstants(expression, timezone, after, Math.max(WINDOW_SIZE, count)).map((instant) => instant.getTime());
  if (windows.size >= MAX_PAIRS) windows.clear();
  windows.set(pair, { from: afterMs, instants });
  return instants.slice(0, count).map((instant) => new Date(instant));
}
