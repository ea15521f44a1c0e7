/**
 * The machine group aggregate (stream group-{id}): its settings and its seat
 * ledger, so that max_members holds even when VMs are assigned concurrently.
 * Rules: spec/domain.md, "Machine group". Whether a schedule exists is read by
 * the command handler and handed in with the command.
 */
import { DomainError, type Decider } from './decider.js';
import type { GroupEvent } from './events.js';
import {
  INT32_RANGE,
  Problems,
  changedEntries,
  checkDescription,
  checkInteger,
  checkName,
  checkOptionalId,
  pickDefined,
  type CommandMeta,
} from './field-rules.js';
import { GROUP_DEFAULTS, GROUP_RANGES, type GroupSettings } from './vm-fields.js';
import { settingsWithDefaults } from './settings-with-defaults.js';

export type GroupState =
  | { status: 'absent' }
  | {
      status: 'active' | 'deleted';
      id: string;
      settings: GroupSettings;
      /** Context ids of the VMs holding a seat, in the order they took it. */
      seats: string[];
      created_at: string;
      created_by: string;
      updated_at: string;
    };

export type CreateMachineGroup = CommandMeta & {
  type: 'CreateMachineGroup';
  group_id: string;
  input: Partial<GroupSettings> & { name: string };
  /** Whether input.schedule_id names a live schedule (read only when it is set). */
  schedule_exists: boolean;
};
export type UpdateMachineGroup = CommandMeta & {
  type: 'UpdateMachineGroup';
  group_id: string;
  changes: Partial<GroupSettings>;
  /** Whether changes.schedule_id names a live schedule (read only when it is set). */
  schedule_exists: boolean;
};
export type DeleteMachineGroup = CommandMeta & { type: 'DeleteMachineGroup'; group_id: string; unassign_members: boolean };
export type TakeGroupSeat = CommandMeta & { type: 'TakeGroupSeat'; group_id: string; vm_context_id: string };
export type ReleaseGroupSeat = CommandMeta & { type: 'ReleaseGroupSeat'; group_id: string; vm_context_id: string };
export type GroupCommand = CreateMachineGroup | UpdateMachineGroup | DeleteMachineGroup | TakeGroupSeat | ReleaseGroupSeat;

export const GROUP_SETTING_KEYS: readonly (keyof GroupSettings)[] = [
  'name',
  'description',
  'schedule_id',
  'max_concurrent_vms',
  'max_members',
  'priority',
];

type LiveGroup = Exclude<GroupState, { status: 'absent' }>;

function settingsOf(fields: Partial<GroupSettings> & { name: string }): GroupSettings {
  return settingsWithDefaults(GROUP_DEFAULTS, GROUP_SETTING_KEYS, fields);
}

function tidy(fields: Partial<GroupSettings>): Partial<GroupSettings> {
  return typeof fields.name === 'string' ? { ...fields, name: fields.name.trim() } : { ...fields };
}

function validate(s: GroupSettings, checkSchedule: boolean, scheduleExists: boolean): void {
  const p = new Problems();
  checkName(p, '/name', s.name);
  checkDescription(p, '/description', s.description);
  checkOptionalId(p, '/schedule_id', s.schedule_id);
  if (checkSchedule && typeof s.schedule_id === 'string' && s.schedule_id !== '' && !scheduleExists) {
    p.add('/schedule_id', `unknown schedule ${s.schedule_id}`);
  }
  checkInteger(p, '/max_concurrent_vms', s.max_concurrent_vms, GROUP_RANGES.max_concurrent_vms);
  if (s.max_members !== null) checkInteger(p, '/max_members', s.max_members, GROUP_RANGES.max_members);
  checkInteger(p, '/priority', s.priority, INT32_RANGE);
  p.throwIfAny('machine group');
}

function live(state: GroupState, id: string): LiveGroup {
  if (state.status !== 'active') throw new DomainError('NotFound', `machine group ${id} not found`);
  return state;
}

function decide(command: GroupCommand, state: GroupState): GroupEvent[] {
  switch (command.type) {
    case 'CreateMachineGroup': {
      if (state.status !== 'absent') throw new DomainError('Conflict', `machine group ${command.group_id} already exists`);
      const settings = settingsOf(tidy(command.input) as Partial<GroupSettings> & { name: string });
      validate(settings, true, command.schedule_exists);
      return [{ type: 'MachineGroupCreated', data: { group_id: command.group_id, ...settings, created_at: command.at, created_by: command.actor } }];
    }
    case 'UpdateMachineGroup': {
      const current = live(state, command.group_id);
      const next: GroupSettings = { ...current.settings, ...tidy(pickDefined(command.changes, GROUP_SETTING_KEYS)) };
      const changed = changedEntries(current.settings, next, GROUP_SETTING_KEYS);
      if (Object.keys(changed).length === 0) return [];
      validate(next, changed.schedule_id !== undefined, command.schedule_exists);
      if (next.max_members !== null && next.max_members < current.seats.length) {
        throw new DomainError(
          'Conflict',
          `machine group ${command.group_id} has ${current.seats.length} members, more than max_members ${next.max_members}`,
          [{ path: '/max_members', message: `must be at least the current ${current.seats.length} members` }],
        );
      }
      return [{ type: 'MachineGroupUpdated', data: { group_id: command.group_id, changes: changed, updated_at: command.at } }];
    }
    case 'DeleteMachineGroup': {
      const current = live(state, command.group_id);
      if (current.seats.length > 0 && !command.unassign_members) {
        throw new DomainError(
          'Conflict',
          `machine group ${command.group_id} still has ${current.seats.length} members: ${current.seats.join(', ')} (ask to unassign them)`,
        );
      }
      const events: GroupEvent[] = current.seats.map((vm) => ({
        type: 'GroupSeatReleased' as const,
        data: { group_id: command.group_id, vm_context_id: vm, at: command.at },
      }));
      events.push({ type: 'MachineGroupDeleted', data: { group_id: command.group_id, name: current.settings.name, at: command.at } });
      return events;
    }
    case 'TakeGroupSeat': {
      const current = live(state, command.group_id);
      if (current.seats.includes(command.vm_context_id)) return [];
      const max = current.settings.max_members;
      if (max !== null && current.seats.length >= max) {
        throw new DomainError('Conflict', `machine group ${command.group_id} is full (group full: ${current.seats.length} of ${max} members)`);
      }
      return [{ type: 'GroupSeatTaken', data: { group_id: command.group_id, vm_context_id: command.vm_context_id, at: command.at } }];
    }
    case 'ReleaseGroupSeat': {
      // Idempotent clean-up: nothing to release on a group that is gone or a VM without a seat.
      if (state.status !== 'active' || !state.seats.includes(command.vm_context_id)) return [];
      return [{ type: 'GroupSeatReleased', data: { group_id: command.group_id, vm_context_id: command.vm_context_id, at: command.at } }];
    }
  }
}

function evolve(state: GroupState, event: GroupEvent): GroupState {
  switch (event.type) {
    case 'MachineGroupCreated': {
      const { group_id, created_at, created_by, ...rest } = event.data;
      return { status: 'active', id: group_id, settings: settingsOf(rest), seats: [], created_at, created_by, updated_at: created_at };
    }
    case 'MachineGroupUpdated':
      if (state.status === 'absent') return state;
      return { ...state, settings: { ...state.settings, ...event.data.changes }, updated_at: event.data.updated_at };
    case 'MachineGroupDeleted':
      if (state.status === 'absent') return state;
      return { ...state, status: 'deleted', seats: [], updated_at: event.data.at };
    case 'GroupSeatTaken':
      if (state.status === 'absent' || state.seats.includes(event.data.vm_context_id)) return state;
      return { ...state, seats: [...state.seats, event.data.vm_context_id] };
    case 'GroupSeatReleased':
      if (state.status === 'absent') return state;
      return { ...state, seats: state.seats.filter((id) => id !== event.data.vm_context_id) };
  }
}

export const groupDecider: Decider<GroupCommand, GroupEvent, GroupState> = {
  initialState: { status: 'absent' },
  evolve,
  decide,
};
