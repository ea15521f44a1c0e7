/**
 * Phantom jobs (spec/domain.md, "Phantom jobs"): a job the service believes
 * active is a phantom when
 *   1. the VMA answers 404 for its status, or
 *   2. it has had no progress update for longer than `noProgressHours` and the VMA cannot be reached, or
 *   3. it is `replicating` with 0 % progress more than `zeroProgressMinutes` after it started, or
 *   4. it is reported `completed` with progress below 100 %.
 * Thresholds are configuration; "longer than" / "more than" are strict.
 */

export interface PhantomThresholds {
  noProgressHours: number;
  zeroProgressMinutes: number;
}

export const DEFAULT_PHANTOM_THRESHOLDS: PhantomThresholds = { noProgressHours: 2, zeroProgressMinutes: 30 };

export type PhantomReason = 'vma_not_found' | 'no_progress_vma_unreachable' | 'zero_progress' | 'completed_below_100';

/** The job as the scheduler knows it (from its events). Times are ISO strings or Dates. */
export interface PhantomJobFacts {
  /** Last status the OMA reported. */
  status: string;
  progress_percent: number;
  started_at: string | Date;
  /** Last time progress changed; null: none since the start. */
  last_progress_at: string | Date | null;
}

/**
 * What the VMA said about the job just now: 'not_found' (404), 'unreachable'
 * (no answer), 'unknown' (not asked), or its report.
 */
export type VmaJobReport = 'unknown' | 'unreachable' | 'not_found' | { status: string; progress_percent: number };

export type PhantomVerdict = { phantom: true; reason: PhantomReason; detail: string } | { phantom: false };

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

function ms(value: string | Date, what: string): number {
  const t = value instanceof Date ? value.getTime() : Date.parse(value);
  if (!Number.isFinite(t)) throw new RangeError(`phantomVerdict: ${what} is not an instant (${String(value)})`);
  return t;
}

/** Rule 4 alone: a `completed` report below 100 % (also used when a status is recorded). */
export function completedBelowFull(status: string, progressPercent: number): boolean {
  return status === 'completed' && progressPercent < 100;
}

export function phantomVerdict(input: {
  job: PhantomJobFacts;
  vma: VmaJobReport;
  now: Date;
  thresholds?: PhantomThresholds;
}): PhantomVerdict {
  const { job, vma, now } = input;
  const thresholds = input.thresholds ?? DEFAULT_PHANTOM_THRESHOLDS;
  const nowMs = ms(now, 'now');
  const startedMs = ms(job.started_at, 'started_at');

  // 1. The VMA does not know the job.
  if (vma === 'not_found') return { phantom: true, reason: 'vma_not_found', detail: 'the VMA answers 404 for the job status' };

  // 2. No progress for too long, and the VMA cannot be reached.
  const lastProgressMs = job.last_progress_at === null ? startedMs : ms(job.last_progress_at, 'last_progress_at');
  const silentMs = nowMs - lastProgressMs;
  if (vma === 'unreachable' && silentMs > thresholds.noProgressHours * HOUR_MS) {
    return {
      phantom: true,
      reason: 'no_progress_vma_unreachable',
      detail: `no progress update for ${Math.floor(silentMs / MINUTE_MS)} min (limit ${thresholds.noProgressHours} h) and the VMA cannot be reached`,
    };
  }

  // Zero progress means no source shows any: a VMA report of progress counts too.
  const progress = typeof vma === 'object' ? Math.max(vma.progress_percent, job.progress_percent) : job.progress_percent;

  // 3. Replicating at 0 % long after the start.
  const runningMs = nowMs - startedMs;
  if (job.status === 'replicating' && progress === 0 && runningMs > thresholds.zeroProgressMinutes * MINUTE_MS) {
    return {
      phantom: true,
      reason: 'zero_progress',
      detail: `replicating at 0 % ${Math.floor(runningMs / MINUTE_MS)} min after the start (limit ${thresholds.zeroProgressMinutes} min)`,
    };
  }

  // 4. Completed below 100 %, as the OMA or the VMA reports it.
  if (completedBelowFull(job.status, job.progress_percent)) {
    return { phantom: true, reason: 'completed_below_100', detail: `reported completed at ${job.progress_percent} %` };
  }
  if (typeof vma === 'object' && completedBelowFull(vma.status, vma.progress_percent)) {
    return { phantom: true, reason: 'completed_below_100', detail: `the VMA reports completed at ${vma.progress_percent} %` };
  }
  return { phantom: false };
}
