/**
 * Membership: the VM stream holds which group a VM is in (one group per VM);
 * the group stream holds the seats that enforce max_members. A seat is taken
 * before the VM joins and given back if the VM cannot join.
 */
import { DomainError } from '../domain/decider.js';
import { streamIds } from '../domain/events.js';
import { groupDecider } from '../domain/machine-group.js';
import { vmDecider, type VmState } from '../domain/vm-context.js';
import type { MembershipSettings } from '../domain/vm-fields.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import type { CommandContext } from './command-context.js';
import { newId } from './ids.js';
import { laterPosition, runDecider, stateAcceptedFromCache } from './run-decider.js';
import type { CommandOutcome } from './schedule-commands.js';
import { scheduleIsLive } from './schedule-lookup.js';

export interface AssignOptions {
  priority?: number;
  enabled?: boolean;
  schedule_override_id?: string | null;
  move: boolean;
}

async function takeSeat(store: EventStore, groupId: string, vmId: string, context: CommandContext): Promise<Position | null> {
  const result = await runDecider(store, streamIds.group(groupId), groupDecider, () => ({ type: 'TakeGroupSeat' as const, group_id: groupId, vm_context_id: vmId, at: context.at, actor: context.actor }), context);
  return result.position;
}

async function releaseSeat(store: EventStore, groupId: string, vmId: string, context: CommandContext): Promise<Position | null> {
  const result = await runDecider(store, streamIds.group(groupId), groupDecider, () => ({ type: 'ReleaseGroupSeat' as const, group_id: groupId, vm_context_id: vmId, at: context.at, actor: context.actor }), context);
  return result.position;
}

async function requireOverrideSchedule(store: EventStore, scheduleId: string | null | undefined): Promise<void> {
  if (scheduleId && !(await scheduleIsLive(store, scheduleId))) {
    throw new DomainError('ValidationError', `schedule ${scheduleId} does not exist`, [{ path: '/schedule_override_id', message: 'unknown schedule' }]);
  }
}

/**
 * Whether the group exists and is not deleted, from its stream (not a read model). A
 * cached live state will do: assignVm's own appends decide again on fresh state.
 */
export async function groupIsLive(store: EventStore, groupId: string): Promise<boolean> {
  const isLive = (state: { status: string }) => state.status === 'active';
  return isLive((await stateAcceptedFromCache(store, streamIds.group(groupId), groupDecider, isLive)).state);
}

/** Puts one VM in a group (moving it when `move`), returning the position to wait for. */
export async function assignVm(store: EventStore, groupId: string, vmId: string, options: AssignOptions, context: CommandContext): Promise<CommandOutcome> {
  // The VM's own append below decides again on fresh state: a cached state that passes these checks will do.
  const passesChecks = (state: VmState) => state.status !== 'absent' && (!state.membership || state.membership.group_id === groupId || options.move);
  const vm = (await stateAcceptedFromCache(store, streamIds.vm(vmId), vmDecider, passesChecks)).state;
  if (vm.status === 'absent') throw new DomainError('NotFound', `VM context ${vmId} not found`);
  if (vm.membership && vm.membership.group_id !== groupId && !options.move) {
    throw new DomainError('Conflict', `VM ${vmId} is already in group ${vm.membership.group_id}; ask to move it`);
  }
  await requireOverrideSchedule(store, options.schedule_override_id);
  let position = await takeSeat(store, groupId, vmId, context);
  let joined;
  try {
    joined = await runDecider(
      store,
      streamIds.vm(vmId),
      vmDecider,
      () => ({
        type: 'AssignVmToGroup' as const,
        context_id: vmId,
        group_id: groupId,
        membership_id: newId(),
        priority: options.priority,
        enabled: options.enabled,
        schedule_override_id: options.schedule_override_id,
        move: options.move,
        at: context.at,
        actor: context.actor,
      }),
      context,
    );
  } catch (error) {
    await releaseSeat(store, groupId, vmId, context).catch(() => undefined);
    throw error;
  }
  position = laterPosition(store, position, joined.position);
  const moved = joined.events.find((event) => event.type === 'VmAssignedToGroup');
  const previousGroup = moved?.type === 'VmAssignedToGroup' ? moved.data.previous_group_id : null;
  if (previousGroup) position = laterPosition(store, position, await releaseSeat(store, previousGroup, vmId, context));
  return { id: vmId, position };
}

export async function updateMembership(store: EventStore, groupId: string, vmId: string, changes: Partial<MembershipSettings>, context: CommandContext): Promise<CommandOutcome> {
  await requireOverrideSchedule(store, changes.schedule_override_id);
  const result = await runDecider(store, streamIds.vm(vmId), vmDecider, () => ({ type: 'UpdateMembership' as const, context_id: vmId, group_id: groupId, changes, at: context.at, actor: context.actor }), context);
  return { id: vmId, position: result.position };
}

/** Takes a VM out of its group (`groupId` null: whatever group it is in). */
export async function unassignVm(store: EventStore, groupId: string | null, vmId: string, context: CommandContext): Promise<CommandOutcome> {
  const left = await runDecider(store, streamIds.vm(vmId), vmDecider, () => ({ type: 'UnassignVm' as const, context_id: vmId, group_id: groupId, at: context.at, actor: context.actor }), context);
  const event = left.events.find((e) => e.type === 'VmUnassignedFromGroup');
  const formerGroup = event?.type === 'VmUnassignedFromGroup' ? event.data.group_id : null;
  let position = left.position;
  if (formerGroup) position = laterPosition(store, position, await releaseSeat(store, formerGroup, vmId, context));
  return { id: vmId, position };
}
