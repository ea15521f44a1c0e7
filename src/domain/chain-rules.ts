/**
 * Chain follow-ups (spec/domain.md, Execution step 7): a chain schedule whose
 * parent execution ended, per its chain_trigger_on, becomes due at the parent's
 * completion + chain_delay_minutes.
 *
 * - `success` follows a parent that ended `completed` (no failed VM).
 * - `completion` follows any parent that ran and ended: completed, failed or
 *   cancelled. A `skipped` parent does not count: it replicated nothing, and
 *   the execution that blocked it (skip_if_running) ends on its own and
 *   triggers the child then; following the skip too would run the child twice
 *   for one parent run.
 * - A disabled child does not follow (disabling stops future runs).
 */
import type { ChainTrigger } from './schedule-fields.js';
import { chainExecutionIdFor } from './execution-ids.js';

export type ParentExecutionStatus = 'completed' | 'failed' | 'cancelled' | 'skipped';

export interface ChainParent {
  execution_id: string;
  schedule_id: string;
  status: ParentExecutionStatus;
  /** When the parent ended (ISO); for a skipped parent, when it was skipped. */
  completed_at: string;
}

export interface ChainChild {
  id: string;
  enabled: boolean;
  chain_trigger_on: ChainTrigger;
  chain_delay_minutes: number;
}

export interface ChainFollowUp {
  schedule_id: string;
  /** Deterministic: chainExecutionIdFor(child id, parent execution id). */
  execution_id: string;
  /** The follow-up's due instant: parent completion + chain_delay_minutes (its scheduled_at too). */
  not_before: string;
  /** `chain:<parent execution id>`. */
  triggered_by: string;
  parent_execution_id: string;
}

/** Whether a child with this trigger follows a parent that ended with this status. */
export function chainTriggers(triggerOn: ChainTrigger, parentStatus: ParentExecutionStatus): boolean {
  if (parentStatus === 'skipped') return false;
  return triggerOn === 'completion' || parentStatus === 'completed';
}

/** The executions the chain children of an ended parent execution become due for, in the children's order. */
export function chainFollowUps(parent: ChainParent, children: readonly ChainChild[]): ChainFollowUp[] {
  const completedMs = Date.parse(parent.completed_at);
  if (!Number.isFinite(completedMs)) throw new RangeError(`chainFollowUps: completed_at is not an instant (${parent.completed_at})`);
  return children
    .filter((child) => child.enabled && child.id !== parent.schedule_id && chainTriggers(child.chain_trigger_on, parent.status))
    .map((child) => ({
      schedule_id: child.id,
      execution_id: chainExecutionIdFor(child.id, parent.execution_id),
      not_before: new Date(completedMs + child.chain_delay_minutes * 60_000).toISOString(),
      triggered_by: `chain:${parent.execution_id}`,
      parent_execution_id: parent.execution_id,
    }));
}
