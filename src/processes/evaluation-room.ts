/**
 * Which queued VMs an evaluation batch should take: those the free slots left
 * under the schedule's and the groups' limits can hold, counted on the states
 * known before the batch and the limits read for the round. It sizes the batch
 * only: each VM's checks are still made at dispatch time on fresh facts, so an
 * estimate too high costs a VM queued again, and one too low a VM left for the
 * next round (an append that frees a slot drives the execution again).
 */
import { occupiedSlots, type ExecutionRecord, type VmRun } from '../domain/execution.js';

export interface RoundLimits {
  /** The schedule exists and is enabled: else queued VMs are decided (skipped) without a slot, unless the execution is forced. */
  scheduleEnabled: boolean;
  /** max_concurrent_vms of the queued VMs' groups (null: no limit applies). */
  groupLimits: ReadonlyMap<string, number | null>;
}

export interface EvaluationRoom {
  /** Whether a queued VM of this group would find a slot, after the VMs taken so far. */
  fits(vm: Pick<VmRun, 'group_id'>): boolean;
  /** Whether a queued VM of any of these groups would (null: VMs without a group). */
  fitsAny(groupIds: Iterable<string | null>): boolean;
  /** Counts a VM put in the batch (pending or queued: either may take a slot). */
  take(vm: Pick<VmRun, 'group_id'>): void;
}

const UNBOUNDED: EvaluationRoom = { fits: () => true, fitsAny: () => true, take: () => undefined };

export function evaluationRoom(current: ExecutionRecord, others: ReadonlyMap<string, ExecutionRecord>, limits: RoundLimits): EvaluationRoom {
  if (current.settings === null || (!limits.scheduleEnabled && !current.force)) return UNBOUNDED;
  let scheduleFree = current.settings.max_concurrent_jobs;
  const groupFree = new Map<string, number>();
  for (const [groupId, limit] of limits.groupLimits) if (limit !== null) groupFree.set(groupId, limit);
  for (const state of [current, ...others.values()]) {
    const slots = occupiedSlots(state);
    if (state.schedule_id === current.schedule_id) scheduleFree -= slots.total;
    for (const [groupId, held] of Object.entries(slots.by_group)) {
      const free = groupFree.get(groupId);
      if (free !== undefined) groupFree.set(groupId, free - held);
    }
  }
  const groupFits = (groupId: string | null) => {
    const free = groupId === null ? undefined : groupFree.get(groupId);
    return free === undefined || free > 0;
  };
  return {
    fits: (vm) => scheduleFree > 0 && groupFits(vm.group_id),
    fitsAny(groupIds) {
      if (scheduleFree <= 0) return false;
      for (const groupId of groupIds) if (groupFits(groupId)) return true;
      return false;
    },
    take(vm) {
      scheduleFree -= 1;
      const free = vm.group_id === null ? undefined : groupFree.get(vm.group_id);
      if (free !== undefined) groupFree.set(vm.group_id!, free - 1);
    },
  };
}
