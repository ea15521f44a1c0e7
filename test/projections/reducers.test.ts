import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordedEvent } from '../../src/eventstore/event-store.js';
import { machineGroupsProjection } from '../../src/projections/machine-groups.projection.js';
import { membershipsProjection } from '../../src/projections/memberships.projection.js';
import type { Row, RowProjection } from '../../src/projections/projection.js';
import { schedulesProjection } from '../../src/projections/schedules.projection.js';
import { vmContextsProjection } from '../../src/projections/vm-contexts.projection.js';
import * as f from './fixtures.js';

/** Folds the events as the runner does for one key; checks every event names that key. */
function fold(projection: RowProjection, events: RecordedEvent[], start: Row | null = null): Row | null {
  let row = start;
  for (const event of events) {
    const key = projection.keyOf(event);
    if (key === null) continue;
    row = projection.apply(row, event);
  }
  return row;
}

const T0 = '2026-11-28T12:00:00.000Z';
const T1 = '2026-11-28T19:30:00.000Z';
const T2 = '2026-11-29T20:00:00.000Z';

describe('schedules projection', () => {
  it('builds the full row from ScheduleCreated, next_run_at after the creation time', () => {
    const row = fold(schedulesProjection, [f.recorded(f.scheduleCreated('s1', T0, { description: 'd', jitter_seconds: 5 }))]);
    assert.deepEqual(row, {
      id: 's1',
      name: 'schedule s1',
      description: 'd',
      schedule_type: 'cron',
      cron_expression: '0 18 * * *',
      timezone: 'UTC',
      chain_parent_schedule_id: null,
      chain_delay_minutes: 0,
      chain_trigger_on: 'success',
      replication_type: 'auto',
      max_concurrent_jobs: 1,
      retry_attempts: 3,
      retry_delay_minutes: 30,
      enabled: 1,
      skip_if_running: 1,
      catchup_policy: 'latest',
      catchup_window_minutes: 60,
      jitter_seconds: 5,
      next_run_at: '2026-11-28T18:00:00.000Z',
      last_run_at: null,
      created_at: T0,
      updated_at: T0,
      created_by: 'alice',
    });
  });

  it('stores enabled:false as 0 with no next run (the old system saved it as true)', () => {
    const row = fold(schedulesProjection, [f.recorded(f.scheduleCreated('s1', T0, { enabled: false, skip_if_running: false }))]);
    assert.equal(row?.enabled, 0);
    assert.equal(row?.skip_if_running, 0);
    assert.equal(row?.next_run_at, null);
  });

  it('gives a chain schedule no next run', () => {
    const row = fold(schedulesProjection, [
      f.recorded(f.scheduleCreated('s1', T0, { schedule_type: 'chain', cron_expression: null, chain_parent_schedule_id: 'p' })),
    ]);
    assert.equal(row?.schedule_type, 'chain');
    assert.equal(row?.cron_expression, null);
    assert.equal(row?.next_run_at, null);
  });

  it('evaluates cron in the schedule timezone', () => {
    const row = fold(schedulesProjection, [f.recorded(f.scheduleCreated('s1', T0, { timezone: 'America/New_York' }))]);
    // 18:00 in New York (EST, UTC-5) is 23:00Z.
    assert.equal(row?.next_run_at, '2026-11-28T23:00:00.000Z');
  });

  it('applies only the changed fields and recomputes next_run_at from the update time', () => {
    const created = fold(schedulesProjection, [f.recorded(f.scheduleCreated('s1', T0))]);
    const updated = fold(schedulesProjection, [f.recorded(f.scheduleUpdated('s1', T1, { cron_expression: '0 6 * * *', retry_attempts: 0 }))], created);
    assert.equal(updated?.cron_expression, '0 6 * * *');
    assert.equal(updated?.retry_attempts, 0);
    assert.equal(updated?.name, 'schedule s1');
    assert.equal(updated?.updated_at, T1);
    assert.equal(updated?.created_at, T0);
    assert.equal(updated?.next_run_at, '2026-11-29T06:00:00.000Z');
  });

  it('moves next_run_at on when an unrelated update comes after the previous next run', () => {
    const created = fold(schedulesProjection, [f.recorded(f.scheduleCreated('s1', T0))]);
    const early = fold(schedulesProjection, [f.recorded(f.scheduleUpdated('s1', '2026-11-28T13:00:00.000Z', { description: 'x' }))], created);
    assert.equal(early?.next_run_at, '2026-11-28T18:00:00.000Z');
    const late = fold(schedulesProjection, [f.recorded(f.scheduleUpdated('s1', T2, { description: 'y' }))], early);
    assert.equal(late?.next_run_at, '2026-11-30T18:00:00.000Z');
  });

  it('disable clears next_run_at; enable starts again from the enable time', () => {
    const created = fold(schedulesProjection, [f.recorded(f.scheduleCreated('s1', T0))]);
    const disabled = fold(schedulesProjection, [f.recorded(f.scheduleDisabled('s1', T1))], created);
    assert.equal(disabled?.enabled, 0);
    assert.equal(disabled?.next_run_at, null);
    assert.equal(disabled?.updated_at, T1);
    const enabled = fold(schedulesProjection, [f.recorded(f.scheduleEnabled('s1', T2))], disabled);
    assert.equal(enabled?.enabled, 1);
    assert.equal(enabled?.next_run_at, '2026-11-30T18:00:00.000Z');
  });

  it('deletes the row on ScheduleDeleted', () => {
    const created = fold(schedulesProjection, [f.recorded(f.scheduleCreated('s1', T0))]);
    assert.equal(fold(schedulesProjection, [f.recorded(f.scheduleDeleted('s1', T1))], created), null);
  });

  it('ignores unknown events and events for no row, returning the same object', () => {
    const created = fold(schedulesProjection, [f.recorded(f.scheduleCreated('s1', T0))]);
    const future = f.recorded({ type: 'ScheduleRenamedInTheFuture', data: { schedule_id: 's1' } });
    assert.equal(schedulesProjection.keyOf(future), null);
    assert.equal(schedulesProjection.apply(created, future), created);
    assert.equal(schedulesProjection.apply(null, f.recorded(f.scheduleUpdated('s1', T1, { name: 'x' }))), null);
  });

  it('takes times from the event, never the wall clock', () => {
    const event = f.recorded(f.scheduleCreated('s1', T0));
    assert.deepEqual(schedulesProjection.apply(null, event), schedulesProjection.apply(null, event));
    const withoutTime = f.recorded({ type: 'ScheduleEnabled', data: { schedule_id: 's1' } }, '2026-12-01T00:00:00.000Z');
    const created = fold(schedulesProjection, [event]);
    assert.equal(schedulesProjection.apply(created, withoutTime)?.updated_at, '2026-12-01T00:00:00.000Z');
  });
});

describe('machine groups projection', () => {
  it('keeps max_members null (unlimited) and the defaults', () => {
    const row = fold(machineGroupsProjection, [f.recorded(f.groupCreated('g1', T0))]);
    assert.deepEqual(row, {
      id: 'g1',
      name: 'group g1',
      description: null,
      schedule_id: null,
      max_concurrent_vms: 5,
      max_members: null,
      priority: 0,
      created_at: T0,
      updated_at: T0,
      created_by: 'bob',
    });
  });

  it('applies changes, including setting max_members back to null', () => {
    const created = fold(machineGroupsProjection, [f.recorded(f.groupCreated('g1', T0, { max_members: 10 }))]);
    assert.equal(created?.max_members, 10);
    const updated = fold(machineGroupsProjection, [f.recorded(f.groupUpdated('g1', T1, { max_members: null, priority: -3 }))], created);
    assert.equal(updated?.max_members, null);
    assert.equal(updated?.priority, -3);
    assert.equal(updated?.updated_at, T1);
  });

  it('needs no column for the seat ledger and deletes on MachineGroupDeleted', () => {
    assert.equal(machineGroupsProjection.keyOf(f.recorded(f.seatTaken('g1', 'vm1', T0))), null);
    const created = fold(machineGroupsProjection, [f.recorded(f.groupCreated('g1', T0))]);
    assert.equal(fold(machineGroupsProjection, [f.recorded(f.groupDeleted('g1', T1))], created), null);
  });
});

describe('memberships projection', () => {
  it('is keyed by the VM, with the membership id as row id', () => {
    const event = f.recorded(f.vmAssigned('vm1', 'g1', 'm1', T0, { priority: 4, enabled: false }));
    assert.equal(membershipsProjection.keyOf(event), 'vm1');
    assert.deepEqual(membershipsProjection.apply(null, event), {
      id: 'm1',
      group_id: 'g1',
      vm_context_id: 'vm1',
      enabled: 0,
      priority: 4,
      schedule_override_id: null,
      added_at: T0,
      added_by: 'carol',
    });
  });

  it('replaces the row on a move', () => {
    const row = fold(membershipsProjection, [
      f.recorded(f.vmAssigned('vm1', 'g1', 'm1', T0, { priority: 4 })),
      f.recorded(f.vmAssigned('vm1', 'g2', 'm2', T1, { previous_group_id: 'g1' })),
    ]);
    assert.equal(row?.id, 'm2');
    assert.equal(row?.group_id, 'g2');
    assert.equal(row?.priority, 0);
    assert.equal(row?.added_at, T1);
  });

  it('updates priority, enabled and override of the current group only', () => {
    const assigned = fold(membershipsProjection, [f.recorded(f.vmAssigned('vm1', 'g1', 'm1', T0))]);
    const updated = fold(membershipsProjection, [f.recorded(f.membershipUpdated('vm1', 'g1', T1, { enabled: false, schedule_override_id: 's9' }))], assigned);
    assert.equal(updated?.enabled, 0);
    assert.equal(updated?.schedule_override_id, 's9');
    const stale = fold(membershipsProjection, [f.recorded(f.membershipUpdated('vm1', 'g-other', T2, { priority: 7 }))], updated);
    assert.equal(stale, updated);
  });

  it('deletes on unassignment from its group', () => {
    const assigned = fold(membershipsProjection, [f.recorded(f.vmAssigned('vm1', 'g1', 'm1', T0))]);
    assert.equal(fold(membershipsProjection, [f.recorded(f.vmUnassigned('vm1', 'g-other', T1))], assigned), assigned);
    assert.equal(fold(membershipsProjection, [f.recorded(f.vmUnassigned('vm1', 'g1', T1))], assigned), null);
  });
});

describe('vm contexts projection', () => {
  it('registers a VM as discovered, status change at registration', () => {
    const row = fold(vmContextsProjection, [f.recorded(f.vmRegistered('c1', T0, { cpu_count: null }, true))]);
    assert.deepEqual(row, {
      context_id: 'c1',
      vm_name: 'vm-c1',
      vmware_vm_id: 'vmw-c1',
      vm_path: '/dc1/vm/vm-c1',
      vcenter_host: 'vcenter.example.test',
      datacenter: 'dc1',
      current_status: 'discovered',
      current_job_id: null,
      total_jobs_run: 0,
      successful_jobs: 0,
      failed_jobs: 0,
      last_successful_job_id: null,
      last_scheduled_job_id: null,
      next_scheduled_at: null,
      scheduler_enabled: 1,
      auto_added: 1,
      cpu_count: null,
      memory_mb: 8192,
      os_type: 'linux',
      power_state: 'poweredOn',
      vm_tools_version: '12.1',
      created_at: T0,
      updated_at: T0,
      first_job_at: null,
      last_job_at: null,
      last_status_change: T0,
    });
  });

  it('follows status reports and the scheduler switch', () => {
    const registered = fold(vmContextsProjection, [f.recorded(f.vmRegistered('c1', T0))]);
    const reported = fold(vmContextsProjection, [f.recorded(f.vmStatusReported('c1', T1, 'failed_over_test'))], registered);
    assert.equal(reported?.current_status, 'failed_over_test');
    assert.equal(reported?.last_status_change, T1);
    assert.equal(reported?.updated_at, T1);
    const disabled = fold(vmContextsProjection, [f.recorded(f.vmSchedulerDisabled('c1', T2))], reported);
    assert.equal(disabled?.scheduler_enabled, 0);
    assert.equal(disabled?.updated_at, T2);
    assert.equal(disabled?.last_status_change, T1);
  });

  it('ignores membership events and unknown statuses', () => {
    assert.equal(vmContextsProjection.keyOf(f.recorded(f.vmAssigned('c1', 'g1', 'm1', T0))), null);
    const registered = fold(vmContextsProjection, [f.recorded(f.vmRegistered('c1', T0))]);
    const odd = f.recorded({ type: 'VmStatusReported', data: { context_id: 'c1', status: 'exploded', at: T1 } });
    assert.equal(vmContextsProjection.apply(registered, odd), registered);
  });
});
