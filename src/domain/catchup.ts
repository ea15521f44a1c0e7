/**
 * Catch-up after downtime (spec/domain.md, Schedule: catchup_policy and
 * catchup_window_minutes; "Ticker health and missed runs").
 *
 * The due instants considered are those in (max(lastDueAt, enabledAt), now]:
 * nothing is caught up for a period the schedule was disabled, since enabling
 * starts from the enable time. Of those,
 * - the ones older than now - window are dropped and counted (outside the window);
 * - within the window, `latest` runs the newest once and skips the rest,
 *   `all` runs each oldest first, at most 100, and drops the rest (truncated),
 *   `skip` runs none.
 *
 * Long downtimes stay cheap: at most CATCHUP_LIST_LIMIT instants of each kind
 * are listed; at most CATCHUP_SCAN_LIMIT are enumerated per kind, beyond which
 * the count is estimated from the rate seen so far (countsExact = false); the
 * newest instant of each kind is found by a binary search, not by enumeration.
 */
import { nextDueInstants } from './cron.js';
import type { CatchupPolicy } from './schedule-fields.js';

/** Instants listed per kind (run, missed outside the window, skipped, truncated). */
export const CATCHUP_LIST_LIMIT = 100;
/** `all` runs at most this many missed due instants. */
export const CATCHUP_RUN_LIMIT = 100;
/** Instants enumerated per kind before the count is estimated. */
export const CATCHUP_SCAN_LIMIT = 10_000;

const MINUTE_MS = 60_000;

export interface CatchUpInput {
  expression: string;
  timezone: string;
  /** The last due instant recorded (run or counted as missed); null when none yet. */
  lastDueAt: Date | null;
  /** When the schedule was last enabled or created (or its timing last changed): nothing before it is due. */
  enabledAt: Date;
  now: Date;
  policy: CatchupPolicy;
  windowMinutes: number;
}

export interface CatchUpCounts {
  missedOutsideWindow: number;
  skippedByPolicy: number;
  truncated: number;
}

export interface CatchUpPlan {
  /** Due instants to run now, oldest first. */
  run: Date[];
  /** Dropped for being older than the window: the oldest CATCHUP_LIST_LIMIT. */
  missedOutsideWindow: Date[];
  /** Within the window but not run by the policy (`latest`: all but the newest; `skip`: all). */
  skippedByPolicy: Date[];
  /** `all`: the instants past the first CATCHUP_RUN_LIMIT. */
  truncated: Date[];
  /** How many of each kind, including those not listed. */
  counts: CatchUpCounts;
  /** False when a count was estimated because its kind held more than CATCHUP_SCAN_LIMIT instants. */
  countsExact: boolean;
  /** The newest instant of each kind, listed or not. */
  newest: { missedOutsideWindow: Date | null; skippedByPolicy: Date | null; truncated: Date | null };
  /** The newest due instant the plan accounts for (run or missed): the schedule's new last due instant. */
  lastDueAt: Date | null;
}

interface Span {
  listed: Date[];
  count: number;
  exact: boolean;
  newest: Date | null;
}

const EMPTY: Span = { listed: [], count: 0, exact: true, newest: null };

class DueWalker {
  constructor(
    private readonly expression: string,
    private readonly timezone: string,
  ) {}

  /** The first due instant strictly after `ms`, or null. */
  nextAfter(ms: number): number | null {
    const next = nextDueInstants(this.expression, this.timezone, new Date(ms), 1)[0];
    return next === undefined ? null : next.getTime();
  }

  /** The newest due instant in (fromExcl, toIncl], by binary search on "some instant lies in (x, toIncl]". */
  newestIn(fromExcl: number, toIncl: number): number | null {
    if (toIncl <= fromExcl) return null;
    const first = this.nextAfter(fromExcl);
    if (first === null || first > toIncl) return null;
    let lo = fromExcl; // some instant in (lo, toIncl]
    let hi = toIncl; // none in (hi, toIncl]
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const next = this.nextAfter(mid);
      if (next !== null && next <= toIncl) lo = mid;
      else hi = mid;
    }
    return this.nextAfter(lo);
  }

  /** The instants in (fromExcl, toIncl]: the first `listLimit` listed, all counted (estimated past the scan limit). */
  scan(fromExcl: number, toIncl: number, listLimit: number, scanLimit = CATCHUP_SCAN_LIMIT): Span {
    if (toIncl <= fromExcl) return EMPTY;
    const listed: Date[] = [];
    let count = 0;
    let first: number | null = null;
    let last: number | null = null;
    let after = fromExcl;
    let batchSize = 64;
    while (count < scanLimit) {
      const batch = nextDueInstants(this.expression, this.timezone, new Date(after), Math.min(batchSize, scanLimit - count));
      if (batch.length === 0) return { listed, count, exact: true, newest: last === null ? null : new Date(last) };
      for (const instant of batch) {
        const t = instant.getTime();
        if (t > toIncl) return { listed, count, exact: true, newest: last === null ? null : new Date(last) };
        count += 1;
        if (listed.length < listLimit) listed.push(instant);
        first ??= t;
        last = t;
      }
      after = last as number;
      batchSize = Math.min(batchSize * 2, 1024);
    }
    // The scan limit is reached: is there more, and how much?
    const lastSeen = last as number;
    const next = this.nextAfter(lastSeen);
    if (next === null || next > toIncl) return { listed, count, exact: true, newest: new Date(lastSeen) };
    const newest = this.newestIn(lastSeen, toIncl) ?? next;
    const spanMs = lastSeen - (first as number);
    const rest = spanMs > 0 ? Math.max(1, Math.round(((newest - lastSeen) * (count - 1)) / spanMs)) : 1;
    return { listed, count: count + rest, exact: false, newest: new Date(newest) };
  }
}

function ms(value: Date, what: string): number {
  const t = value instanceof Date ? value.getTime() : Number.NaN;
  if (!Number.isFinite(t)) throw new RangeError(`planCatchUp: ${what} is not a valid Date`);
  return t;
}

/** What to run and what to record as missed after a downtime (see the module comment). */
export function planCatchUp(input: CatchUpInput): CatchUpPlan {
  const nowMs = ms(input.now, 'now');
  const enabledMs = ms(input.enabledAt, 'enabledAt');
  const lastMs = input.lastDueAt === null ? Number.NEGATIVE_INFINITY : ms(input.lastDueAt, 'lastDueAt');
  if (!(input.windowMinutes >= 0)) throw new RangeError(`planCatchUp: windowMinutes must be 0 or more, got ${input.windowMinutes}`);
  const startMs = Math.max(lastMs, enabledMs);
  const walker = new DueWalker(input.expression, input.timezone);

  // Instants at or after windowStart are within the window.
  const windowStartMs = nowMs - input.windowMinutes * MINUTE_MS;
  const outside = walker.scan(startMs, Math.min(windowStartMs - 1, nowMs), CATCHUP_LIST_LIMIT);
  const inFrom = Math.max(startMs, windowStartMs - 1);

  let run: Date[] = [];
  let skipped: Span = EMPTY;
  let truncated: Span = EMPTY;
  switch (input.policy) {
    case 'latest': {
      const newest = walker.newestIn(inFrom, nowMs);
      if (newest !== null) {
        run = [new Date(newest)];
        skipped = walker.scan(inFrom, newest - 1, CATCHUP_LIST_LIMIT);
      }
      break;
    }
    case 'all': {
      const all = walker.scan(inFrom, nowMs, CATCHUP_RUN_LIMIT + CATCHUP_LIST_LIMIT);
      run = all.listed.slice(0, CATCHUP_RUN_LIMIT);
      if (all.count > CATCHUP_RUN_LIMIT) {
        truncated = { listed: all.listed.slice(CATCHUP_RUN_LIMIT), count: all.count - CATCHUP_RUN_LIMIT, exact: all.exact, newest: all.newest };
      }
      break;
    }
    case 'skip':
      skipped = walker.scan(inFrom, nowMs, CATCHUP_LIST_LIMIT);
      break;
    default:
      throw new RangeError(`planCatchUp: unknown catch-up policy ${JSON.stringify(input.policy)}`);
  }

  const candidates = [outside.newest, skipped.newest, truncated.newest, run[run.length - 1] ?? null].filter((d): d is Date => d !== null);
  const lastDueAt = candidates.length === 0 ? null : new Date(Math.max(...candidates.map((d) => d.getTime())));
  return {
    run,
    missedOutsideWindow: outside.listed,
    skippedByPolicy: skipped.listed,
    truncated: truncated.listed,
    counts: { missedOutsideWindow: outside.count, skippedByPolicy: skipped.count, truncated: truncated.count },
    countsExact: outside.exact && skipped.exact && truncated.exact,
    newest: { missedOutsideWindow: outside.newest, skippedByPolicy: skipped.newest, truncated: truncated.newest },
    lastDueAt,
  };
}
