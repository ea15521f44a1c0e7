/**
 * The VM context aggregate (stream vm-{contextId}): what is known of a VM, its
 * status, whether the scheduler may touch it, and its one group membership.
 * Rules: spec/domain.md, "VM context" and "Membership". Group seats (the size
 * cap) are kept by the group stream; the command handler takes and releases
 * them alongside these events.
 */
import { DomainError, type Decider } from './decider.js';
import type { VmEvent } from './events.js';
import {
  INT32_RANGE,
  Problems,
  changedEntries,
  checkBoolean,
  checkInteger,
  checkOptionalId,
  checkOptionalText,
  checkText,
  pickDefined,
  type CommandMeta,
} from './field-rules.js';
import { VM_STATUSES, type MembershipSettings, type VmDescription, type VmStatus } from './vm-fields.js';

export interface VmMembership {
  group_id: string;
  membership_id: string;
  priority: number;
  enabled: boolean;
  schedule_override_id: string | null;
  added_at: string;
  added_by: string;
}

export type VmState =
  | { status: 'absent' }
  | {
      status: 'registered';
      context_id: string;
      description: VmDescription;
      current_status: VmStatus;
      scheduler_enabled: boolean;
      auto_added: boolean;
      membership: VmMembership | null;
      created_at: string;
      updated_at: string;
    };

export type RegisterVm = CommandMeta & { type: 'RegisterVm'; context_id: string; description: VmDescription; auto_added: boolean };
export type AssignVmToGroup = CommandMeta & {
  type: 'AssignVmToGroup';
  context_id: string;
  group_id: string;
  membership_id: string;
  priority?: number;
  enabled?: boolean;
  schedule_override_id?: string | null;
  /** Whether schedule_override_id names a live schedule; checked only when given. */
  override_schedule_exists?: boolean;
  move: boolean;
};
export type UpdateMembership = CommandMeta & {
  type: 'UpdateMembership';
  context_id: string;
  group_id: string;
  changes: Partial<MembershipSettings>;
  /** Whether changes.schedule_override_id names a live schedule; checked only when given. */
  override_schedule_exists?: boolean;
};
export type UnassignVm = CommandMeta & { type: 'UnassignVm'; context_id: string; group_id: string | null };
export type ReportVmStatus = CommandMeta & { type: 'ReportVmStatus'; context_id: string; status: VmStatus; reason: string | null };
export type SetVmScheduler = CommandMeta & { type: 'SetVmScheduler'; context_id: string; enabled: boolean };
export type VmCommand = RegisterVm | AssignVmToGroup | UpdateMembership | UnassignVm | ReportVmStatus | SetVmScheduler;

export const MEMBERSHIP_DEFAULTS: MembershipSettings = { priority: 0, enabled: true, schedule_override_id: null };
export const MEMBERSHIP_KEYS: readonly (keyof MembershipSettings)[] = ['priority', 'enabled', 'schedule_override_id'];

/** Column lengths of vm_replication_contexts (spec/readmodels.sql). */
export const VM_FIELD_LIMITS = {
  context_id: 64,
  vm_name: 255,
  vmware_vm_id: 255,
  vm_path: 500,
  vcenter_host: 255,
  datacenter: 255,
  os_type: 255,
  power_state: 50,
  vm_tools_version: 255,
} as const;

const POSITIVE_INT: readonly [number, number] = [1, INT32_RANGE[1]];

type RegisteredVm = Exclude<VmState, { status: 'absent' }>;

/** The description with optional fields that were left out set to null. */
export function tidyDescription(d: Pick<VmDescription, 'vm_name' | 'vmware_vm_id' | 'vm_path' | 'vcenter_host' | 'datacenter'> & Partial<VmDescription>): VmDescription {
  return {
    vm_name: d.vm_name,
    vmware_vm_id: d.vmware_vm_id,
    vm_path: d.vm_path,
    vcenter_host: d.vcenter_host,
    datacenter: d.datacenter,
    cpu_count: d.cpu_count ?? null,
    memory_mb: d.memory_mb ?? null,
    os_type: d.os_type ?? null,
    power_state: d.power_state ?? null,
    vm_tools_version: d.vm_tools_version ?? null,
  };
}

function validateDescription(p: Problems, d: VmDescription): void {
  checkText(p, '/vm_name', d.vm_name, VM_FIELD_LIMITS.vm_name);
  checkText(p, '/vmware_vm_id', d.vmware_vm_id, VM_FIELD_LIMITS.vmware_vm_id);
  checkText(p, '/vm_path', d.vm_path, VM_FIELD_LIMITS.vm_path);
  checkText(p, '/vcenter_host', d.vcenter_host, VM_FIELD_LIMITS.vcenter_host);
  checkText(p, '/datacenter', d.datacenter, VM_FIELD_LIMITS.datacenter);
  if (d.cpu_count !== null) checkInteger(p, '/cpu_count', d.cpu_count, POSITIVE_INT);
  if (d.memory_mb !== null) checkInteger(p, '/memory_mb', d.memory_mb, POSITIVE_INT);
  checkOptionalText(p, '/os_type', d.os_type, VM_FIELD_LIMITS.os_type);
  checkOptionalText(p, '/power_state', d.power_state, VM_FIELD_LIMITS.power_state);
  checkOptionalText(p, '/vm_tools_version', d.vm_tools_version, VM_FIELD_LIMITS.vm_tools_version);
}

function validateMembership(p: Problems, m: Partial<MembershipSettings>, overrideExists: boolean | undefined): void {
  if (m.priority !== undefined) checkInteger(p, '/priority', m.priority, INT32_RANGE);
  if (m.enabled !== undefined) checkBoolean(p, '/enabled', m.enabled);
  if (m.schedule_override_id !== undefined) {
    checkOptionalId(p, '/schedule_override_id', m.schedule_override_id);
    if (typeof m.schedule_override_id === 'string' && overrideExists === false) {
      p.add('/schedule_override_id', `unknown schedule ${m.schedule_override_id}`);
    }
  }
}

function registered(state: VmState, id: string): RegisteredVm {
  if (state.status !== 'registered') throw new DomainError('NotFound', `VM context ${id} not found`);
  return state;
}

function decide(command: VmCommand, state: VmState): VmEvent[] {
  switch (command.type) {
    case 'RegisterVm': {
      if (state.status !== 'absent') {
        throw new DomainError('Conflict', `VM context ${command.context_id} is already registered`);
      }
      const description = tidyDescription(command.description);
      const p = new Problems();
      checkText(p, '/context_id', command.context_id, VM_FIELD_LIMITS.context_id);
      validateDescription(p, description);
      checkBoolean(p, '/auto_added', command.auto_added);
      p.throwIfAny('VM context');
      return [
        {
          type: 'VmRegistered',
          data: { context_id: command.context_id, ...description, auto_added: command.auto_added, created_at: command.at, created_by: command.actor },
        },
      ];
    }
    case 'AssignVmToGroup': {
      const vm = registered(state, command.context_id);
      const current = vm.membership;
      if (current?.group_id === command.group_id) return [];
      const settings: MembershipSettings = {
        priority: command.priority ?? MEMBERSHIP_DEFAULTS.priority,
        enabled: command.enabled ?? MEMBERSHIP_DEFAULTS.enabled,
        schedule_override_id: command.schedule_override_id ?? MEMBERSHIP_DEFAULTS.schedule_override_id,
      };
      const p = new Problems();
      checkText(p, '/group_id', command.group_id, 64);
      checkText(p, '/membership_id', command.membership_id, 64);
      validateMembership(p, settings, command.override_schedule_exists);
      p.throwIfAny('membership');
      if (current && !command.move) {
        throw new DomainError(
          'Conflict',
          `VM ${command.context_id} already belongs to group ${current.group_id} (ask to move it)`,
          [{ path: '/group_id', message: `VM is in group ${current.group_id}` }],
        );
      }
      return [
        {
          type: 'VmAssignedToGroup',
          data: {
            context_id: command.context_id,
            group_id: command.group_id,
            membership_id: command.membership_id,
            ...settings,
            previous_group_id: current?.group_id ?? null,
            added_at: command.at,
            added_by: command.actor,
          },
        },
      ];
    }
    case 'UpdateMembership': {
      const vm = registered(state, command.context_id);
      const current = vm.membership;
      if (current === null || current.group_id !== command.group_id) {
        throw new DomainError('NotFound', `VM ${command.context_id} is not a member of group ${command.group_id}`);
      }
      const requested = pickDefined(command.changes, MEMBERSHIP_KEYS);
      const p = new Problems();
      validateMembership(p, requested, command.override_schedule_exists);
      p.throwIfAny('membership');
      const before: MembershipSettings = { priority: current.priority, enabled: current.enabled, schedule_override_id: current.schedule_override_id };
      const changes = changedEntries(before, { ...before, ...requested }, MEMBERSHIP_KEYS);
      if (Object.keys(changes).length === 0) return [];
      return [{ type: 'VmMembershipUpdated', data: { context_id: command.context_id, group_id: command.group_id, changes, at: command.at } }];
    }
    case 'UnassignVm': {
      const vm = registered(state, command.context_id);
      const current = vm.membership;
      if (current === null) throw new DomainError('NotFound', `VM ${command.context_id} is not a member of any group`);
      if (command.group_id !== null && current.group_id !== command.group_id) {
        throw new DomainError('NotFound', `VM ${command.context_id} is not a member of group ${command.group_id}`);
      }
      return [{ type: 'VmUnassignedFromGroup', data: { context_id: command.context_id, group_id: current.group_id, at: command.at } }];
    }
    case 'ReportVmStatus': {
      const vm = registered(state, command.context_id);
      const p = new Problems();
      if (!(VM_STATUSES as readonly string[]).includes(command.status)) p.add('/status', `must be one of ${VM_STATUSES.join(', ')}`);
      checkOptionalText(p, '/reason', command.reason ?? null, 4000);
      p.throwIfAny('status report');
      // Every report is recorded, also one equal to the last: job events move the VM's
      // status in the read model too, so a repeated report still sets it right there.
      return [
        {
          type: 'VmStatusReported',
          data: { context_id: command.context_id, status: command.status, previous_status: vm.current_status, reason: command.reason ?? null, at: command.at },
        },
      ];
    }
    case 'SetVmScheduler': {
      const vm = registered(state, command.context_id);
      const p = new Problems();
      checkBoolean(p, '/enabled', command.enabled);
      p.throwIfAny('request');
      if (vm.scheduler_enabled === command.enabled) return [];
      return [{ type: command.enabled ? 'VmSchedulerEnabled' : 'VmSchedulerDisabled', data: { context_id: command.context_id, at: command.at } }];
    }
  }
}

function evolve(state: VmState, event: VmEvent): VmState {
  if (event.type === 'VmRegistered') {
    const { context_id, auto_added, created_at, created_by: _createdBy, ...description } = event.data;
    return {
      status: 'registered',
      context_id,
      description: tidyDescription(description),
      current_status: 'discovered',
      scheduler_enabled: true,
      auto_added,
      membership: null,
      created_at,
      updated_at: created_at,
    };
  }
  if (state.status === 'absent') return state;
  switch (event.type) {
    case 'VmAssignedToGroup': {
      const d = event.data;
      return {
        ...state,
        membership: {
          group_id: d.group_id,
          membership_id: d.membership_id,
          priority: d.priority,
          enabled: d.enabled,
          schedule_override_id: d.schedule_override_id,
          added_at: d.added_at,
          added_by: d.added_by,
        },
        updated_at: d.added_at,
      };
    }
    case 'VmMembershipUpdated':
      if (state.membership === null || state.membership.group_id !== event.data.group_id) return state;
      return { ...state, membership: { ...state.membership, ...event.data.changes }, updated_at: event.data.at };
    case 'VmUnassignedFromGroup':
      if (state.membership === null || state.membership.group_id !== event.data.group_id) return state;
      return { ...state, membership: null, updated_at: event.data.at };
    case 'VmStatusReported':
      return { ...state, current_status: event.data.status, updated_at: event.data.at };
    case 'VmSchedulerEnabled':
    case 'VmSchedulerDisabled':
      return { ...state, scheduler_enabled: event.type === 'VmSchedulerEnabled', updated_at: event.data.at };
  }
}

export const vmDecider: Decider<VmCommand, VmEvent, VmState> = {
  initialState: { status: 'absent' },
  evolve,
  decide,
};
