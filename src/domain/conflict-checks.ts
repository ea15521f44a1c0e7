/**
 * The six per-VM checks of spec/domain.md (Execution, step 3), in order: the
 * first that holds decides. Pure: the facts are gathered by the caller at
 * dispatch time (never once up front) and handed in.
 */
import type { VmStatus } from './vm-fields.js';

export const SKIP_CONFLICTS = ['schedule_disabled', 'vm_disabled', 'vm_in_failover', 'active_job'] as const;
export const QUEUE_CONFLICTS = ['max_concurrent', 'group_concurrent'] as const;
export type SkipConflictType = (typeof SKIP_CONFLICTS)[number];
export type QueueConflictType = (typeof QUEUE_CONFLICTS)[number];
export type ConflictType = SkipConflictType | QueueConflictType;

/** VM statuses in which a VM is not replicated (check 3). */
export const FAILOVER_STATUSES: readonly VmStatus[] = ['failed_over_test', 'failed_over_live', 'cleanup_required'];

/** What the checks look at, read fresh just before the dispatch decision. */
export interface VmCheckFacts {
  /** The schedule is enabled now. */
  schedule_enabled: boolean;
  /** The execution is a manual trigger with `force`: overrides `schedule_disabled` only. */
  force: boolean;
  /** The VM context's scheduler_enabled. */
  vm_scheduler_enabled: boolean;
  /** The VM's membership is enabled (true for a VM that follows the schedule through an override without its group). */
  membership_enabled: boolean;
  vm_status: VmStatus;
  /** The VM has a replication job in a non-terminal status (ACTIVE_JOB_STATUSES), in any execution. */
  vm_has_active_job: boolean;
  /** Replication jobs of this schedule running now (dispatches awaiting their answer included). */
  schedule_running_jobs: number;
  schedule_max_concurrent_jobs: number;
  /** Jobs of the VM's group's VMs running now. */
  group_running_jobs: number;
  /** The group's max_concurrent_vms; null when no group limit applies. */
  group_max_concurrent_vms: number | null;
}

export type Conflict =
  | { type: SkipConflictType; outcome: 'skip'; reason: string }
  | { type: QueueConflictType; outcome: 'queue'; reason: string };

/** The first check that holds, in the order of spec/domain.md, or null when the VM may be dispatched. */
export function firstConflict(facts: VmCheckFacts): Conflict | null {
  if (!facts.schedule_enabled && !facts.force) {
    return { type: 'schedule_disabled', outcome: 'skip', reason: 'the schedule is disabled' };
  }
  if (!facts.vm_scheduler_enabled || !facts.membership_enabled) {
    const what = !facts.vm_scheduler_enabled ? 'the VM is excluded from schedules (scheduler_enabled is false)' : 'the VM\'s group membership is disabled';
    return { type: 'vm_disabled', outcome: 'skip', reason: what };
  }
  if (FAILOVER_STATUSES.includes(facts.vm_status)) {
    return { type: 'vm_in_failover', outcome: 'skip', reason: `the VM is ${facts.vm_status}` };
  }
  if (facts.vm_has_active_job) {
    return { type: 'active_job', outcome: 'skip', reason: 'the VM already has an active replication job' };
  }
  if (facts.schedule_running_jobs >= facts.schedule_max_concurrent_jobs) {
    return {
      type: 'max_concurrent',
      outcome: 'queue',
      reason: `the schedule has ${facts.schedule_running_jobs} of ${facts.schedule_max_concurrent_jobs} jobs running`,
    };
  }
  if (facts.group_max_concurrent_vms !== null && facts.group_running_jobs >= facts.group_max_concurrent_vms) {
    return {
      type: 'group_concurrent',
      outcome: 'queue',
      reason: `the group has ${facts.group_running_jobs} of ${facts.group_max_concurrent_vms} jobs running`,
    };
  }
  return null;
}
