import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Clock } from '../../src/clock.js';
import type { StartReplicationRequest } from '../../src/integrations/replication-gateway.js';
import type { SimulatedInventoryVm } from '../../src/integrations/simulated-inventory.js';
import { createSimulator, simulationBanner, type SimulatorOptions } from '../../src/integrations/simulator.js';
import { pickExactVm } from '../../src/integrations/vm-name-match.js';

const T0 = Date.parse('2025-03-01T10:00:00.000Z');

function fakeClock(): Clock & { advanceSeconds(seconds: number): void } {
  let nowMs = T0;
  return {
    now: () => new Date(nowMs),
    advanceSeconds: (seconds) => {
      nowMs += seconds * 1000;
    },
  };
}

const REGISTERED: SimulatedInventoryVm[] = [
  { vm_name: 'web-1', vmware_vm_id: 'vm-101', vm_path: '/DC1/vm/web-1', vcenter_host: 'vc1.example', datacenter: 'DC1', cpu_count: 4, memory_mb: 8192, os_type: 'rhel9_64Guest', power_state: 'poweredOn' },
  { vm_name: 'web-10', vmware_vm_id: 'vm-110', vm_path: '/DC1/vm/web-10', vcenter_host: 'vc1.example', datacenter: 'DC1', cpu_count: null, memory_mb: null, os_type: null, power_state: null },
  { vm_name: 'elsewhere', vmware_vm_id: 'vm-900', vm_path: '/DC2/vm/elsewhere', vcenter_host: 'vc1.example', datacenter: 'DC2', cpu_count: 1, memory_mb: 1024, os_type: null, power_state: null },
];

function simulator(clock: Clock, options: Partial<SimulatorOptions> = {}) {
  return createSimulator({ clock, inventory: async () => REGISTERED, random: () => 0.5, ...options });
}

async function replicationOf(sim: ReturnType<typeof simulator>, name: string): Promise<StartReplicationRequest> {
  const vm = pickExactVm(await sim.discover({ vcenter: 'vc1.example', datacenter: 'DC1', filter: name }), name);
  assert.ok(vm, `simulator discovers ${name}`);
  return { vm, vcenterHost: 'vc1.example', datacenter: 'DC1', replicationType: 'auto', scheduleExecutionId: 'exec-1', vmGroupId: 'group-1' };
}

async function startedJobId(sim: ReturnType<typeof simulator>, name: string): Promise<string> {
  const result = await sim.startReplication(await replicationOf(sim, name));
  assert.equal(result.kind, 'started');
  return result.kind === 'started' ? result.jobId : '';
}

describe('built-in simulator', () => {
  it('discovers the registered VMs of the datacenter plus five simulated ones, filtered like the VMA', async () => {
    const sim = simulator(fakeClock());
    const all = await sim.discover({ vcenter: 'VC1.EXAMPLE', datacenter: 'DC1' });
    assert.deepEqual(
      all.map((vm) => vm.name),
      ['web-1', 'web-10', 'sim-dc1-vm-01', 'sim-dc1-vm-02', 'sim-dc1-vm-03', 'sim-dc1-vm-04', 'sim-dc1-vm-05'],
    );
    const web1 = all[0];
    assert.deepEqual([web1?.id, web1?.path, web1?.num_cpu, web1?.memory_mb, web1?.guest_os], ['vm-101', '/DC1/vm/web-1', 4, 8192, 'rhel9_64Guest']);
    assert.equal(web1?.disks.length, 1);
    assert.deepEqual(
      (await sim.discover({ vcenter: 'vc1.example', datacenter: 'DC1', filter: 'WEB-1, vm-05' })).map((vm) => vm.name),
      ['web-1', 'web-10', 'sim-dc1-vm-05'],
    );
    assert.deepEqual(await sim.discover({ vcenter: 'vc1.example', datacenter: 'DC1' }), all, 'the same every time');
    assert.equal((await sim.discover({ vcenter: 'vc2.example', datacenter: 'DC1' })).length, 5);
  });

  it('moves a job through the active statuses over clock time and completes it', async () => {
    const clock = fakeClock();
    const sim = simulator(clock, { jobDurationSeconds: 100 });
    const jobId = await startedJobId(sim, 'web-1');
    const seen: Array<[string, number]> = [];
    for (let second = 0; second <= 100; second += 1) {
      const state = await sim.jobState(jobId);
      assert.notEqual(state, 'unknown');
      if (state !== 'unknown') seen.push([state.status, state.progressPercent]);
      clock.advanceSeconds(1);
    }
    assert.deepEqual(seen[0], ['pending', 0]);
    const statusesInOrder = seen.map(([status]) => status).filter((status, index, all) => status !== all[index - 1]);
    assert.deepEqual(statusesInOrder, ['pending', 'initializing', 'analyzing', 'provisioning', 'attaching', 'configuring', 'ready_for_sync', 'replicating', 'completed']);
    const progress = seen.map(([, percent]) => percent);
    assert.deepEqual(progress, [...progress].sort((a, b) => a - b), 'progress never goes back');
    assert.deepEqual(seen.at(-1), ['completed', 100]);
    assert.ok(seen.filter(([status]) => status !== 'completed').every(([, percent]) => percent < 100), '100 % only with completed');
    const done = await sim.jobState(jobId);
    assert.equal(done === 'unknown' ? null : done.completedAt, new Date(T0 + 100_000).toISOString());
  });

  it('answers the VMA side too: running, then completed', async () => {
    const clock = fakeClock();
    const sim = simulator(clock);
    const jobId = await startedJobId(sim, 'web-1');
    clock.advanceSeconds(30);
    const running = await sim.jobStatus(jobId);
    assert.deepEqual(running === 'unknown' ? running : [running.status, running.vmPath], ['running', '/DC1/vm/web-1']);
    clock.advanceSeconds(30);
    const done = await sim.jobStatus(jobId);
    assert.deepEqual(done === 'unknown' ? done : [done.status, done.progressPercent], ['completed', 100]);
  });

  it('fails the jobs the random draw dooms, deterministically', async () => {
    const clock = fakeClock();
    const draws = [0.05, 0.5];
    const sim = simulator(clock, { failureRate: 0.1, random: () => draws.shift() ?? 0.5 });
    const doomed = await startedJobId(sim, 'web-1');
    const spared = await startedJobId(sim, 'web-10');
    clock.advanceSeconds(60);
    const failed = await sim.jobState(doomed);
    assert.deepEqual(failed === 'unknown' ? failed : [failed.status, failed.errorMessage !== null, failed.progressPercent < 100], ['failed', true, true]);
    const vmaView = await sim.jobStatus(doomed);
    assert.equal(vmaView === 'unknown' ? vmaView : vmaView.status, 'failed');
    const completed = await sim.jobState(spared);
    assert.equal(completed === 'unknown' ? completed : completed.status, 'completed');
  });

  it('answers active_job for a second job on a VM whose job is still active, and accepts it once that ended', async () => {
    const clock = fakeClock();
    const sim = simulator(clock);
    await startedJobId(sim, 'web-1');
    clock.advanceSeconds(30);
    const second = await sim.startReplication(await replicationOf(sim, 'web-1'));
    assert.equal(second.kind, 'active_job');
    assert.equal((await sim.startReplication(await replicationOf(sim, 'web-10'))).kind, 'started', 'another VM is free');
    clock.advanceSeconds(30);
    assert.equal((await sim.startReplication(await replicationOf(sim, 'web-1'))).kind, 'started');
  });

  it("loses a job on request: VMA and OMA answer 'unknown', and the VM is free again", async () => {
    const clock = fakeClock();
    const sim = simulator(clock);
    const jobId = await startedJobId(sim, 'web-1');
    assert.equal(sim.loseJob(jobId), true);
    assert.equal(await sim.jobStatus(jobId), 'unknown');
    assert.equal(await sim.jobState(jobId), 'unknown');
    assert.equal(sim.loseJob('not-a-simulated-job'), false);
    assert.equal(await sim.jobState('not-a-simulated-job'), 'unknown');
    assert.equal((await sim.startReplication(await replicationOf(sim, 'web-1'))).kind, 'started');
  });

  it('still knows its jobs after a restart (a new simulator on the same clock)', async () => {
    const clock = fakeClock();
    const jobId = await startedJobId(simulator(clock, { jobDurationSeconds: 120 }), 'web-1');
    clock.advanceSeconds(60);
    const restarted = simulator(clock, { jobDurationSeconds: 30 });
    const state = await restarted.jobState(jobId);
    assert.equal(state === 'unknown' ? state : state.status, 'replicating', 'the job keeps its own duration');
    clock.advanceSeconds(60);
    const done = await restarted.jobStatus(jobId);
    assert.equal(done === 'unknown' ? done : done.status, 'completed');
  });

  it('refuses invalid settings and says loudly that it simulates', () => {
    assert.throws(() => simulator(fakeClock(), { jobDurationSeconds: 0.5 }), RangeError);
    assert.throws(() => simulator(fakeClock(), { failureRate: 2 }), RangeError);
    assert.match(simulationBanner(), /SIMULATION MODE/);
    assert.match(simulationBanner({ jobDurationSeconds: 60, failureRate: 0.1 }), /60 s .* 10 %/);
  });
});
