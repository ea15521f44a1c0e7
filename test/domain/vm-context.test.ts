import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VmAssignedToGroup, VmEvent, VmRegistered } from '../../src/domain/events.js';
import { vmDecider, type VmCommand } from '../../src/domain/vm-context.js';
import type { MembershipSettings, VmDescription, VmStatus } from '../../src/domain/vm-fields.js';
import { given } from './given-when-then.js';

const AT = '2026-05-01T10:00:00.000Z';
const LATER = '2026-05-02T10:00:00.000Z';
const meta = { at: LATER, actor: 'bob' };

const description: VmDescription = {
  vm_name: 'web-01',
  vmware_vm_id: 'vm-101',
  vm_path: '/DC1/vm/web-01',
  vcenter_host: 'vcenter.example.com',
  datacenter: 'DC1',
  cpu_count: 4,
  memory_mb: 8192,
  os_type: 'ubuntu64Guest',
  power_state: 'poweredOn',
  vm_tools_version: '12.1.0',
};

const register = (d: Partial<VmDescription> = {}, auto_added = false): VmCommand => ({
  type: 'RegisterVm',
  context_id: 'ctx1',
  description: { ...description, ...d },
  auto_added,
  at: AT,
  actor: 'alice',
});
const registered: VmRegistered = {
  type: 'VmRegistered',
  data: { context_id: 'ctx1', ...description, auto_added: false, created_at: AT, created_by: 'alice' },
};
const inGroup = (group_id: string, settings: Partial<MembershipSettings> = {}): VmAssignedToGroup => ({
  type: 'VmAssignedToGroup',
  data: {
    context_id: 'ctx1',
    group_id,
    membership_id: `m-${group_id}`,
    priority: 0,
    enabled: true,
    schedule_override_id: null,
    ...settings,
    previous_group_id: null,
    added_at: AT,
    added_by: 'alice',
  },
});
const assign = (group_id: string, extra: Partial<Extract<VmCommand, { type: 'AssignVmToGroup' }>> = {}): VmCommand => ({
  type: 'AssignVmToGroup',
  context_id: 'ctx1',
  group_id,
  membership_id: `m-${group_id}`,
  move: false,
  ...extra,
  ...meta,
});

describe('RegisterVm', () => {
  it('registers a VM', () => {
    given(vmDecider).when(register()).then([registered]);
    given(vmDecider)
      .when(register())
      .thenState((s) => {
        assert.ok(s.status === 'registered');
        assert.equal(s.current_status, 'discovered');
        assert.equal(s.scheduler_enabled, true);
        assert.equal(s.membership, null);
        assert.equal(s.auto_added, false);
      });
  });

  it('sets optional fields left out to null and keeps auto_added', () => {
    const minimal = { vm_name: 'a', vmware_vm_id: 'b', vm_path: 'c', vcenter_host: 'd', datacenter: 'e' } as VmDescription;
    const [event] = given(vmDecider).when({ type: 'RegisterVm', context_id: 'ctx1', description: minimal, auto_added: true, at: AT, actor: 'discovery' }).then([
      {
        type: 'VmRegistered',
        data: {
          context_id: 'ctx1',
          ...minimal,
          cpu_count: null,
          memory_mb: null,
          os_type: null,
          power_state: null,
          vm_tools_version: null,
          auto_added: true,
          created_at: AT,
          created_by: 'discovery',
        },
      },
    ]);
    assert.ok(event);
  });

  it('refuses empty or blank required strings', () => {
    for (const field of ['vm_name', 'vmware_vm_id', 'vm_path', 'vcenter_host', 'datacenter'] as const) {
      given(vmDecider).when(register({ [field]: '' })).thenThrows('ValidationError', `/${field}`);
      given(vmDecider).when(register({ [field]: '  ' })).thenThrows('ValidationError', `/${field}`);
    }
  });

  it('checks lengths as the read model columns', () => {
    given(vmDecider).when(register({ vm_name: 'n'.repeat(255) })).then([{ ...registered, data: { ...registered.data, vm_name: 'n'.repeat(255) } }]);
    given(vmDecider).when(register({ vm_name: 'n'.repeat(256) })).thenThrows('ValidationError', '/vm_name');
    given(vmDecider).when(register({ vm_path: 'p'.repeat(500) })).then([{ ...registered, data: { ...registered.data, vm_path: 'p'.repeat(500) } }]);
    given(vmDecider).when(register({ vm_path: 'p'.repeat(501) })).thenThrows('ValidationError', '/vm_path');
    given(vmDecider).when(register({ power_state: 'x'.repeat(51) })).thenThrows('ValidationError', '/power_state');
    given(vmDecider)
      .when({ ...register(), context_id: 'c'.repeat(65) } as VmCommand)
      .thenThrows('ValidationError', '/context_id');
  });

  it('cpu_count and memory_mb are positive integers or null', () => {
    given(vmDecider).when(register({ cpu_count: 1, memory_mb: null })).then([{ ...registered, data: { ...registered.data, cpu_count: 1, memory_mb: null } }]);
    for (const bad of [0, -1, 1.5]) {
      given(vmDecider).when(register({ cpu_count: bad })).thenThrows('ValidationError', '/cpu_count');
      given(vmDecider).when(register({ memory_mb: bad })).thenThrows('ValidationError', '/memory_mb');
    }
  });

  it('refuses registering twice', () => {
    given(vmDecider, [registered]).when(register()).thenThrows('Conflict', 'already registered');
  });
});

describe('AssignVmToGroup', () => {
  it('assigns with the defaults', () => {
    given(vmDecider, [registered])
      .when(assign('g1'))
      .then([{ ...inGroup('g1'), data: { ...inGroup('g1').data, added_at: LATER, added_by: 'bob' } }]);
  });

  it('keeps priority, enabled:false and an override', () => {
    given(vmDecider, [registered])
      .when(assign('g1', { priority: 0, enabled: false, schedule_override_id: 's9' }))
      .thenState((s) => {
        assert.ok(s.status === 'registered' && s.membership !== null);
        assert.equal(s.membership.enabled, false);
        assert.equal(s.membership.priority, 0);
        assert.equal(s.membership.schedule_override_id, 's9');
        assert.equal(s.membership.membership_id, 'm-g1');
      });
  });

  it('already in that group: no events', () => {
    given(vmDecider, [registered, inGroup('g1')]).when(assign('g1', { priority: 5 })).then([]);
  });

  it('in another group without move: Conflict naming the current group', () => {
    given(vmDecider, [registered, inGroup('g1')]).when(assign('g2')).thenThrows('Conflict', 'g1');
  });

  it('in another group with move: moves, naming the previous group', () => {
    given(vmDecider, [registered, inGroup('g1')])
      .when(assign('g2', { move: true }))
      .then([
        {
          type: 'VmAssignedToGroup',
          data: {
            context_id: 'ctx1',
            group_id: 'g2',
            membership_id: 'm-g2',
            priority: 0,
            enabled: true,
            schedule_override_id: null,
            previous_group_id: 'g1',
            added_at: LATER,
            added_by: 'bob',
          },
        },
      ]);
  });

  it('validates the membership values', () => {
    given(vmDecider, [registered]).when(assign('g1', { priority: 1.5 })).thenThrows('ValidationError', '/priority');
    given(vmDecider, [registered])
      .when(assign('g1', { enabled: 'yes' as unknown as boolean }))
      .thenThrows('ValidationError', '/enabled');
    given(vmDecider, [registered]).when(assign('g1', { schedule_override_id: 's9', override_schedule_exists: false })).thenThrows('ValidationError', '/schedule_override_id');
  });

  it('is NotFound on an absent VM', () => {
    given(vmDecider).when(assign('g1')).thenThrows('NotFound');
  });
});

describe('UpdateMembership', () => {
  const change = (group_id: string, changes: Partial<MembershipSettings>): VmCommand => ({ type: 'UpdateMembership', context_id: 'ctx1', group_id, changes, ...meta });

  it('emits only changed fields', () => {
    given(vmDecider, [registered, inGroup('g1')])
      .when(change('g1', { priority: 0, enabled: false, schedule_override_id: 's2' }))
      .then([{ type: 'VmMembershipUpdated', data: { context_id: 'ctx1', group_id: 'g1', changes: { enabled: false, schedule_override_id: 's2' }, at: LATER } }]);
  });

  it('no change: no events', () => {
    given(vmDecider, [registered, inGroup('g1', { priority: 3 })]).when(change('g1', { priority: 3 })).then([]);
  });

  it('evolves into the membership', () => {
    given(vmDecider, [registered, inGroup('g1')])
      .when(change('g1', { priority: 7 }))
      .thenState((s) => assert.ok(s.status === 'registered' && s.membership?.priority === 7 && s.membership.enabled));
  });

  it('NotFound when not a member of that group', () => {
    given(vmDecider, [registered]).when(change('g1', { priority: 1 })).thenThrows('NotFound');
    given(vmDecider, [registered, inGroup('g2')]).when(change('g1', { priority: 1 })).thenThrows('NotFound', 'g1');
    given(vmDecider).when(change('g1', { priority: 1 })).thenThrows('NotFound');
  });

  it('validates', () => {
    given(vmDecider, [registered, inGroup('g1')]).when(change('g1', { priority: 2 ** 31 })).thenThrows('ValidationError', '/priority');
  });
});

describe('UnassignVm', () => {
  const unassign = (group_id: string | null): VmCommand => ({ type: 'UnassignVm', context_id: 'ctx1', group_id, ...meta });

  it('leaves the named group', () => {
    given(vmDecider, [registered, inGroup('g1')]).when(unassign('g1')).then([{ type: 'VmUnassignedFromGroup', data: { context_id: 'ctx1', group_id: 'g1', at: LATER } }]);
  });

  it('null leaves whatever group', () => {
    given(vmDecider, [registered, inGroup('g3')]).when(unassign(null)).then([{ type: 'VmUnassignedFromGroup', data: { context_id: 'ctx1', group_id: 'g3', at: LATER } }]);
    given(vmDecider, [registered, inGroup('g3')])
      .when(unassign(null))
      .thenState((s) => assert.ok(s.status === 'registered' && s.membership === null));
  });

  it('NotFound when not a member (of that group)', () => {
    given(vmDecider, [registered]).when(unassign(null)).thenThrows('NotFound');
    given(vmDecider, [registered]).when(unassign('g1')).thenThrows('NotFound');
    given(vmDecider, [registered, inGroup('g2')]).when(unassign('g1')).thenThrows('NotFound');
    given(vmDecider).when(unassign(null)).thenThrows('NotFound');
  });
});

describe('ReportVmStatus', () => {
  const report = (status: string, reason: string | null = null): VmCommand => ({ type: 'ReportVmStatus', context_id: 'ctx1', status: status as VmStatus, reason, ...meta });

  it('records a change with the previous status', () => {
    given(vmDecider, [registered])
      .when(report('replicating', 'job j1'))
      .then([{ type: 'VmStatusReported', data: { context_id: 'ctx1', status: 'replicating', previous_status: 'discovered', reason: 'job j1', at: LATER } }]);
  });

  it('records a report equal to the last one too (jobs move the status in between)', () => {
    const moved: VmEvent = { type: 'VmStatusReported', data: { context_id: 'ctx1', status: 'ready_for_failover', previous_status: 'discovered', reason: null, at: AT } };
    given(vmDecider, [registered, moved])
      .when(report('ready_for_failover', 'failover test cleaned up'))
      .then([{ type: 'VmStatusReported', data: { context_id: 'ctx1', status: 'ready_for_failover', previous_status: 'ready_for_failover', reason: 'failover test cleaned up', at: LATER } }]);
  });

  it('unknown status: ValidationError', () => {
    given(vmDecider, [registered]).when(report('exploded')).thenThrows('ValidationError', '/status');
  });

  it('NotFound on an absent VM', () => {
    given(vmDecider).when(report('replicating')).thenThrows('NotFound');
  });
});

describe('SetVmScheduler', () => {
  const set = (enabled: boolean): VmCommand => ({ type: 'SetVmScheduler', context_id: 'ctx1', enabled, ...meta });

  it('disables and enables; no events when already so', () => {
    given(vmDecider, [registered]).when(set(false)).then([{ type: 'VmSchedulerDisabled', data: { context_id: 'ctx1', at: LATER } }]);
    given(vmDecider, [registered]).when(set(true)).then([]);
    const off: VmEvent = { type: 'VmSchedulerDisabled', data: { context_id: 'ctx1', at: AT } };
    given(vmDecider, [registered, off]).when(set(true)).then([{ type: 'VmSchedulerEnabled', data: { context_id: 'ctx1', at: LATER } }]);
    given(vmDecider, [registered, off]).when(set(false)).then([]);
  });

  it('NotFound on an absent VM', () => {
    given(vmDecider).when(set(false)).thenThrows('NotFound');
  });
});
