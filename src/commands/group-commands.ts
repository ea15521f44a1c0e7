/** Command handlers of the MachineGroup aggregate: create, update, delete. */
import { DomainError } from '../domain/decider.js';
import { streamIds } from '../domain/events.js';
import { groupDecider, type GroupState } from '../domain/machine-group.js';
import { normalizeName } from '../domain/schedule.js';
import type { GroupSettings } from '../domain/vm-fields.js';
import type { EventStore } from '../eventstore/event-store.js';
import type { CommandContext } from './command-context.js';
import { assumeNewStream } from './aggregate-cache.js';
import { newId } from './ids.js';
import { release, withReservation, type Reservation } from './reservations.js';
import { laterPosition, loadState, runDecider } from './run-decider.js';
import type { CommandOutcome } from './schedule-commands.js';
import { unassignVm } from './membership-commands.js';
import { scheduleIsLive } from './schedule-lookup.js';

export async function groupState(store: EventStore, id: string): Promise<GroupState> {
  return (await loadState(store, streamIds.group(id), groupDecider)).state;
}

function nameReservation(name: string, ownerId: string): Reservation {
  return { kind: 'group-name', value: name.trim(), ownerId, takenMessage: `a machine group named "${name.trim()}"`, field: '/name' };
}

function holderOwnsName(store: EventStore) {
  return async (holderId: string, key: string) => {
    const state = await groupState(store, holderId);
    return state.status === 'active' && normalizeName(state.settings.name) === key;
  };
}

export async function createGroup(store: EventStore, input: Partial<GroupSettings> & { name: string }, context: CommandContext): Promise<CommandOutcome> {
  const id = newId();
  const command = {
    type: 'CreateMachineGroup' as const,
    group_id: id,
    input,
    schedule_exists: await scheduleIsLive(store, input.schedule_id),
    at: context.at,
    actor: context.actor,
  };
  // Refuse bad input before the name is reserved, so a refusal takes nothing.
  groupDecider.decide(command, groupDecider.initialState);
  assumeNewStream(store, streamIds.group(id), groupDecider);
  const result = await withReservation(store, nameReservation(input.name, id), holderOwnsName(store), context, () =>
    runDecider(store, streamIds.group(id), groupDecider, () => command, context),
  );
  return { id, position: result.position };
}

export async function updateGroup(store: EventStore, id: string, changes: Partial<GroupSettings>, context: CommandContext): Promise<CommandOutcome> {
  const before = await groupState(store, id);
  if (before.status !== 'active') throw new DomainError('NotFound', `machine group ${id} not found`);
  const command = async () => ({
    type: 'UpdateMachineGroup' as const,
    group_id: id,
    changes,
    schedule_exists: await scheduleIsLive(store, changes.schedule_id),
    at: context.at,
    actor: context.actor,
  });
  const decide = () => runDecider(store, streamIds.group(id), groupDecider, command, context);
  if (changes.name === undefined || normalizeName(changes.name) === normalizeName(before.settings.name)) {
    return { id, position: (await decide()).position };
  }
  groupDecider.decide(await command(), before);
  const result = await withReservation(store, nameReservation(changes.name, id), holderOwnsName(store), context, decide);
  const released = await release(store, nameReservation(before.settings.name, id), context);
  return { id, position: laterPosition(store, result.position, released) };
}

export async function deleteGroup(store: EventStore, id: string, unassignMembers: boolean, context: CommandContext): Promise<CommandOutcome> {
  let position = null;
  const before = await groupState(store, id);
  if (before.status === 'active' && unassignMembers) {
    // Members leave first (their VM streams hold the membership), then the group goes.
    for (const vmId of before.seats) {
      const outcome = await unassignVm(store, id, vmId, context).catch((error: unknown) => {
        if (error instanceof DomainError && error.kind === 'NotFound') return { id: vmId, position: null };
        throw error;
      });
      position = laterPosition(store, position, outcome.position);
    }
  }
  const result = await runDecider(store, streamIds.group(id), groupDecider, () => ({ type: 'DeleteMachineGroup' as const, group_id: id, unassign_members: unassignMembers, at: context.at, actor: context.actor }), context);
  position = laterPosition(store, position, result.position);
  if (result.state.status === 'deleted') {
    position = laterPosition(store, position, await release(store, nameReservation(result.state.settings.name, id), context));
  }
  return { id, position };
}
