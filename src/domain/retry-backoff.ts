/**
 * Retry backoff of spec/domain.md (Execution, step 5): a failed VM is retried
 * after retry_delay_minutes * 2^(attempt-1), capped at 24 h.
 */
const MINUTE_MS = 60_000;

/** The longest wait before a retry: 24 hours. */
export const MAX_RETRY_DELAY_MS = 24 * 60 * MINUTE_MS;

/**
 * The wait before retry number `attempt` (1 = the first retry, after the
 * first failed job), in milliseconds: retryDelayMinutes * 2^(attempt-1)
 * minutes, at most 24 h.
 */
export function retryDelayMs(retryDelayMinutes: number, attempt: number): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`retry attempt must be a whole number from 1, got ${attempt}`);
  if (!Number.isFinite(retryDelayMinutes) || retryDelayMinutes < 0) throw new RangeError(`retry delay must be 0 or more minutes, got ${retryDelayMinutes}`);
  if (retryDelayMinutes === 0) return 0;
  // 2^40 minutes is far past the cap: no need to compute larger powers.
  const factor = 2 ** Math.min(attempt - 1, 40);
  return Math.min(retryDelayMinutes * MINUTE_MS * factor, MAX_RETRY_DELAY_MS);
}

/** The instant (ISO) at which retry number `attempt` may run, for a failure recorded at `failedAt`. */
export function retryAt(failedAt: string, retryDelayMinutes: number, attempt: number): string {
  const ms = Date.parse(failedAt);
  if (!Number.isFinite(ms)) throw new RangeError(`not an instant: ${failedAt}`);
  return new Date(ms + retryDelayMs(retryDelayMinutes, attempt)).toISOString();
}
