import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstConflict, type VmCheckFacts } from '../../src/domain/conflict-checks.js';

const clear: VmCheckFacts = {
  schedule_enabled: true,
  force: false,
  vm_scheduler_enabled: true,
  membership_enabled: true,
  vm_status: 'ready_for_failover',
  vm_has_active_job: false,
  schedule_running_jobs: 0,
  schedule_max_concurrent_jobs: 2,
  group_running_jobs: 0,
  group_max_concurrent_vms: 3,
};
const typeOf = (over: Partial<VmCheckFacts>) => firstConflict({ ...clear, ...over })?.type ?? null;

describe('firstConflict: the six checks in order', () => {
  it('lets a VM with no conflict through', () => {
    assert.equal(firstConflict(clear), null);
  });

  it('each check alone, with its outcome', () => {
    const cases: Array<[Partial<VmCheckFacts>, string, 'skip' | 'queue']> = [
      [{ schedule_enabled: false }, 'schedule_disabled', 'skip'],
      [{ vm_scheduler_enabled: false }, 'vm_disabled', 'skip'],
      [{ membership_enabled: false }, 'vm_disabled', 'skip'],
      [{ vm_status: 'failed_over_test' }, 'vm_in_failover', 'skip'],
      [{ vm_status: 'failed_over_live' }, 'vm_in_failover', 'skip'],
      [{ vm_status: 'cleanup_required' }, 'vm_in_failover', 'skip'],
      [{ vm_has_active_job: true }, 'active_job', 'skip'],
      [{ schedule_running_jobs: 2 }, 'max_concurrent', 'queue'],
      [{ group_running_jobs: 3 }, 'group_concurrent', 'queue'],
    ];
    for (const [over, type, outcome] of cases) {
      const conflict = firstConflict({ ...clear, ...over });
      assert.equal(conflict?.type, type, JSON.stringify(over));
      assert.equal(conflict?.outcome, outcome, JSON.stringify(over));
      assert.ok(conflict && conflict.reason.length > 0);
    }
  });

  it('other VM statuses are no conflict', () => {
    for (const vm_status of ['discovered', 'replicating', 'ready_for_failover', 'completed', 'failed'] as const) {
      assert.equal(typeOf({ vm_status }), null, vm_status);
    }
  });

  it('the first that holds decides: a VM both disabled and failed over is vm_disabled', () => {
    assert.equal(typeOf({ vm_scheduler_enabled: false, vm_status: 'failed_over_live' }), 'vm_disabled');
  });

  it('runs the whole order when everything holds', () => {
    const all: Partial<VmCheckFacts> = {
      schedule_enabled: false,
      vm_scheduler_enabled: false,
      vm_status: 'failed_over_test',
      vm_has_active_job: true,
      schedule_running_jobs: 9,
      group_running_jobs: 9,
    };
    assert.equal(typeOf(all), 'schedule_disabled');
    assert.equal(typeOf({ ...all, schedule_enabled: true }), 'vm_disabled');
    assert.equal(typeOf({ ...all, schedule_enabled: true, vm_scheduler_enabled: true }), 'vm_in_failover');
    assert.equal(typeOf({ ...all, schedule_enabled: true, vm_scheduler_enabled: true, vm_status: 'discovered' }), 'active_job');
    assert.equal(typeOf({ ...all, schedule_enabled: true, vm_scheduler_enabled: true, vm_status: 'discovered', vm_has_active_job: false }), 'max_concurrent');
    assert.equal(
      typeOf({ ...all, schedule_enabled: true, vm_scheduler_enabled: true, vm_status: 'discovered', vm_has_active_job: false, schedule_running_jobs: 0 }),
      'group_concurrent',
    );
  });

  it('force overrides schedule_disabled only', () => {
    assert.equal(typeOf({ schedule_enabled: false, force: true }), null);
    assert.equal(typeOf({ schedule_enabled: false, force: true, vm_scheduler_enabled: false }), 'vm_disabled');
    assert.equal(typeOf({ schedule_enabled: false, force: true, vm_status: 'failed_over_live' }), 'vm_in_failover');
    assert.equal(typeOf({ schedule_enabled: false, force: true, vm_has_active_job: true }), 'active_job');
    assert.equal(typeOf({ schedule_enabled: false, force: true, schedule_running_jobs: 2 }), 'max_concurrent');
    assert.equal(typeOf({ schedule_enabled: false, force: true, group_running_jobs: 3 }), 'group_concurrent');
  });

  it('limits are reached at equality, and a null group limit never queues', () => {
    assert.equal(typeOf({ schedule_running_jobs: 1 }), null);
    assert.equal(typeOf({ schedule_running_jobs: 2 }), 'max_concurrent');
    assert.equal(typeOf({ group_running_jobs: 2 }), null);
    assert.equal(typeOf({ group_running_jobs: 3 }), 'group_concurrent');
    assert.equal(typeOf({ group_running_jobs: 500, group_max_concurrent_vms: null }), null);
  });
});
