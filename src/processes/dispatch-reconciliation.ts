/**
 * How long a dispatch may stay unanswered before it is reconciled, from the
 * gateway's timeouts (spec/integrations.md: a creation timeout is not a failure
 * until reconciled).
 *
 * - Sent (DispatchSent, no answer): the creation timeout and a margin. By then
 *   the sender's call has surely ended, so the reconciling repeat never races
 *   a creation still in flight (an OMA that ignores the Idempotency-Key would
 *   answer it 409).
 * - Not sent: one discovery's timeout and a margin. Taking over sooner than the
 *   holder's worst case (discovery retries) is safe: once a reconciliation is
 *   claimed the holder's DispatchSent is refused, so it cannot call; the grace
 *   only spares a second discovery while the first is merely slow.
 */
import type { ReconciliationPolicy } from '../domain/execution.js';

/** Reconciliations claimed without an answer before the attempt is recorded failed (and the retry policy applies). */
export const MAX_RECONCILIATIONS = 5;
/** Added to every bound: appends around the calls, and clocks of two instances that differ a little. */
const MARGIN_MS = 2000;

export function reconciliationPolicy(settings: { requestTimeoutMs: number; createTimeoutMs: number; jobPollIntervalSeconds: number; maxReconciliations?: number }): ReconciliationPolicy {
  return {
    unsent_grace_ms: settings.requestTimeoutMs + MARGIN_MS,
    sent_grace_ms: settings.createTimeoutMs + MARGIN_MS,
    backoff_ms: settings.jobPollIntervalSeconds * 1000,
    max_reconciliations: settings.maxReconciliations ?? MAX_RECONCILIATIONS,
  };
}
