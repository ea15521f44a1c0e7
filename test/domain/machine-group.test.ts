import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GroupEvent, MachineGroupCreated } from '../../src/domain/events.js';
import { groupDecider, type GroupCommand } from '../../src/domain/machine-group.js';
import { GROUP_DEFAULTS, GROUP_RANGES, type GroupSettings } from '../../src/domain/vm-fields.js';
import { given } from './given-when-then.js';

const AT = '2026-05-01T10:00:00.000Z';
const LATER = '2026-05-02T10:00:00.000Z';

const create = (input: Partial<GroupSettings> & { name: string }, schedule_exists = true): GroupCommand => ({
  type: 'CreateMachineGroup',
  group_id: 'g1',
  input,
  schedule_exists,
  at: AT,
  actor: 'alice',
});
const created = (settings: Partial<GroupSettings> & { name: string }): MachineGroupCreated => ({
  type: 'MachineGroupCreated',
  data: { group_id: 'g1', ...GROUP_DEFAULTS, ...settings, created_at: AT, created_by: 'alice' },
});
const update = (changes: Partial<GroupSettings>, schedule_exists = true): GroupCommand => ({
  type: 'UpdateMachineGroup',
  group_id: 'g1',
  changes,
  schedule_exists,
  at: LATER,
  actor: 'bob',
});
const seat = (vm: string): GroupEvent => ({ type: 'GroupSeatTaken', data: { group_id: 'g1', vm_context_id: vm, at: AT } });
const take = (vm: string): GroupCommand => ({ type: 'TakeGroupSeat', group_id: 'g1', vm_context_id: vm, at: LATER, actor: 'bob' });
const release = (vm: string): GroupCommand => ({ type: 'ReleaseGroupSeat', group_id: 'g1', vm_context_id: vm, at: LATER, actor: 'bob' });
const del = (unassign_members: boolean): GroupCommand => ({ type: 'DeleteMachineGroup', group_id: 'g1', unassign_members, at: LATER, actor: 'bob' });

const web = created({ name: 'Web' });
const small = created({ name: 'Small', max_members: 2 });

describe('CreateMachineGroup', () => {
  it('applies the defaults', () => {
    given(groupDecider).when(create({ name: 'Web' })).then([web]);
  });

  it('keeps given values, including priority 0 and negative priorities', () => {
    const input = { name: 'DB', description: 'databases', schedule_id: 's1', max_concurrent_vms: 1, max_members: 10, priority: -5 };
    given(groupDecider).when(create(input)).then([created(input)]);
    given(groupDecider).when(create({ name: 'Zero', priority: 0 })).then([created({ name: 'Zero', priority: 0 })]);
  });

  it('trims the name; refuses empty, blank and too long names', () => {
    given(groupDecider).when(create({ name: '  Web ' })).then([web]);
    given(groupDecider).when(create({ name: '' })).thenThrows('ValidationError', '/name');
    given(groupDecider).when(create({ name: ' \t ' })).thenThrows('ValidationError', '/name');
    given(groupDecider).when(create({ name: 'g'.repeat(255) })).then([created({ name: 'g'.repeat(255) })]);
    given(groupDecider).when(create({ name: 'g'.repeat(256) })).thenThrows('ValidationError', '/name');
  });

  it('refuses an unknown schedule', () => {
    given(groupDecider).when(create({ name: 'Web', schedule_id: 'nope' }, false)).thenThrows('ValidationError', '/schedule_id');
    given(groupDecider).when(create({ name: 'Web', schedule_id: 'nope' }, false)).thenThrows('ValidationError', 'unknown schedule');
  });

  it('ignores schedule_exists when no schedule is given', () => {
    given(groupDecider).when(create({ name: 'Web' }, false)).then([web]);
  });

  it('checks the ranges at their edges', () => {
    for (const [field, [min, max]] of Object.entries(GROUP_RANGES)) {
      for (const ok of [min, max]) given(groupDecider).when(create({ name: 'Web', [field]: ok })).then([created({ name: 'Web', [field]: ok })]);
      for (const bad of [min - 1, max + 1, 2.5]) given(groupDecider).when(create({ name: 'Web', [field]: bad })).thenThrows('ValidationError', `/${field}`);
    }
    given(groupDecider).when(create({ name: 'Web', max_members: null })).then([web]);
    given(groupDecider).when(create({ name: 'Web', priority: 1.5 })).thenThrows('ValidationError', '/priority');
  });

  it('refuses a second create', () => {
    given(groupDecider, [web]).when(create({ name: 'Web' })).thenThrows('Conflict');
  });
});

describe('UpdateMachineGroup', () => {
  it('emits only changed fields; a no-op emits nothing', () => {
    given(groupDecider, [web])
      .when(update({ name: 'Web', priority: 3, max_concurrent_vms: 5 }))
      .then([{ type: 'MachineGroupUpdated', data: { group_id: 'g1', changes: { priority: 3 }, updated_at: LATER } }]);
    given(groupDecider, [web]).when(update({ name: 'Web ' })).then([]);
  });

  it('sets and clears the schedule, checking that a new one exists', () => {
    given(groupDecider, [web])
      .when(update({ schedule_id: 's2' }))
      .then([{ type: 'MachineGroupUpdated', data: { group_id: 'g1', changes: { schedule_id: 's2' }, updated_at: LATER } }]);
    given(groupDecider, [web]).when(update({ schedule_id: 's2' }, false)).thenThrows('ValidationError', '/schedule_id');
    given(groupDecider, [created({ name: 'Web', schedule_id: 's1' })])
      .when(update({ schedule_id: null }, false))
      .then([{ type: 'MachineGroupUpdated', data: { group_id: 'g1', changes: { schedule_id: null }, updated_at: LATER } }]);
  });

  it('refuses max_members below the current members (Conflict), allows it equal', () => {
    given(groupDecider, [web, seat('vm1'), seat('vm2'), seat('vm3')]).when(update({ max_members: 2 })).thenThrows('Conflict', '/max_members');
    given(groupDecider, [web, seat('vm1'), seat('vm2')])
      .when(update({ max_members: 2 }))
      .then([{ type: 'MachineGroupUpdated', data: { group_id: 'g1', changes: { max_members: 2 }, updated_at: LATER } }]);
  });

  it('validates the merged settings', () => {
    given(groupDecider, [web]).when(update({ max_concurrent_vms: 0 })).thenThrows('ValidationError', '/max_concurrent_vms');
    given(groupDecider, [web]).when(update({ max_members: 100001 })).thenThrows('ValidationError', '/max_members');
  });

  it('is NotFound on an absent or deleted group', () => {
    given(groupDecider).when(update({ priority: 1 })).thenThrows('NotFound');
    given(groupDecider, [web, { type: 'MachineGroupDeleted', data: { group_id: 'g1', name: 'Web', at: AT } }]).when(update({ priority: 1 })).thenThrows('NotFound');
  });
});

describe('seats', () => {
  it('takes a seat', () => {
    given(groupDecider, [web]).when(take('vm1')).then([{ type: 'GroupSeatTaken', data: { group_id: 'g1', vm_context_id: 'vm1', at: LATER } }]);
  });

  it('taking a seat already held emits nothing', () => {
    given(groupDecider, [small, seat('vm1'), seat('vm2')]).when(take('vm1')).then([]);
  });

  it('refuses a seat in a full group, up to max_members exactly', () => {
    given(groupDecider, [small, seat('vm1')]).when(take('vm2')).then([{ type: 'GroupSeatTaken', data: { group_id: 'g1', vm_context_id: 'vm2', at: LATER } }]);
    given(groupDecider, [small, seat('vm1'), seat('vm2')]).when(take('vm3')).thenThrows('Conflict', 'group full');
  });

  it('a released seat can be taken again', () => {
    const released: GroupEvent = { type: 'GroupSeatReleased', data: { group_id: 'g1', vm_context_id: 'vm1', at: AT } };
    given(groupDecider, [small, seat('vm1'), seat('vm2'), released]).when(take('vm3')).then([{ type: 'GroupSeatTaken', data: { group_id: 'g1', vm_context_id: 'vm3', at: LATER } }]);
  });

  it('taking a seat is NotFound on an absent or deleted group', () => {
    given(groupDecider).when(take('vm1')).thenThrows('NotFound');
    given(groupDecider, [web, { type: 'MachineGroupDeleted', data: { group_id: 'g1', name: 'Web', at: AT } }]).when(take('vm1')).thenThrows('NotFound');
  });

  it('releasing is a no-op unless seated', () => {
    given(groupDecider, [web, seat('vm1')]).when(release('vm1')).then([{ type: 'GroupSeatReleased', data: { group_id: 'g1', vm_context_id: 'vm1', at: LATER } }]);
    given(groupDecider, [web, seat('vm1')]).when(release('vm2')).then([]);
    given(groupDecider).when(release('vm1')).then([]);
  });

  it('evolve keeps the seat ledger', () => {
    given(groupDecider, [web, seat('vm1')])
      .when(take('vm2'))
      .thenState((s) => assert.ok(s.status === 'active' && s.seats.join() === 'vm1,vm2'));
  });
});

describe('DeleteMachineGroup', () => {
  it('deletes an empty group', () => {
    given(groupDecider, [web]).when(del(false)).then([{ type: 'MachineGroupDeleted', data: { group_id: 'g1', name: 'Web', at: LATER } }]);
  });

  it('with members and no unassign: Conflict naming the members', () => {
    const error = given(groupDecider, [web, seat('vm1'), seat('vm2')]).when(del(false)).thenThrows('Conflict', 'vm1');
    assert.match(error.message, /vm2/);
  });

  it('with members and unassign: releases every seat, then deletes', () => {
    given(groupDecider, [web, seat('vm1'), seat('vm2')])
      .when(del(true))
      .then([
        { type: 'GroupSeatReleased', data: { group_id: 'g1', vm_context_id: 'vm1', at: LATER } },
        { type: 'GroupSeatReleased', data: { group_id: 'g1', vm_context_id: 'vm2', at: LATER } },
        { type: 'MachineGroupDeleted', data: { group_id: 'g1', name: 'Web', at: LATER } },
      ]);
    given(groupDecider, [web, seat('vm1')])
      .when(del(true))
      .thenState((s) => assert.ok(s.status === 'deleted' && s.seats.length === 0));
  });

  it('is NotFound on an absent or deleted group', () => {
    given(groupDecider).when(del(true)).thenThrows('NotFound');
    given(groupDecider, [web, { type: 'MachineGroupDeleted', data: { group_id: 'g1', name: 'Web', at: AT } }]).when(del(true)).thenThrows('NotFound');
  });
});
