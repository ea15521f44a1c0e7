/**
 * How long the live runner gathers events after a batch before applying the next.
 * An expensive batch is followed by a rest (at most 250 ms): the projections then
 * take a bounded share of the event loop, and their batches grow with their cost, so
 * the cost per event stays flat instead of starving the writers (the process manager
 * of a 5,000-VM execution) whose events they wait for. Every other batch is followed
 * at once: read-your-writes waits on it.
 *
 * Expensive means:
 * - on SQLite, 5 ms or more (its work holds the event loop for as long as it takes):
 *   the rest is as long as the batch took;
 * - on any database, a batch that wrote 64 KiB or more of large documents (a running
 *   execution's execution_details, ~1 MB at 5,000 VMs, is rewritten whole by every
 *   batch that touches it, and built on the event loop): the rest is ten times as long
 *   as the batch, so such documents take about a tenth of the event loop. While a large
 *   execution runs, a write's read-your-writes wait may therefore take up to 250 ms.
 *   bench:fanout, 5,000 VMs: 19 s -> 13 s of CPU against a rest as long as the batch.
 * A MariaDB batch that only waited long for the server is not expensive: resting after
 * it would only add to the latency of the writes waiting on it.
 */

export interface LiveBatchCost {
  elapsedMs: number;
  /** Characters of large (lazily built) documents the batch wrote. */
  largeValueChars: number;
  /** The read models' work runs on the event loop (SQLite) rather than in a server. */
  blocksEventLoop: boolean;
}

export const EXPENSIVE_BLOCKING_BATCH_MS = 5;
export const LARGE_WRITE_CHARS = 64 * 1024;
const MAX_REST_MS = 250;
const LARGE_WRITE_REST_FACTOR = 10;

/** The rest after a live batch (0: apply the next at once). */
export function restAfterLiveBatch(cost: LiveBatchCost): number {
  if (cost.largeValueChars >= LARGE_WRITE_CHARS) return Math.min(LARGE_WRITE_REST_FACTOR * cost.elapsedMs, MAX_REST_MS);
  const expensive = cost.blocksEventLoop && cost.elapsedMs >= EXPENSIVE_BLOCKING_BATCH_MS;
  return expensive ? Math.min(cost.elapsedMs, MAX_REST_MS) : 0;
}
