/**
 * A creation repeated under the same Idempotency-Key (a reconciliation) gets the
 * job of the first one, from the OMA client against the fake OMA and from the
 * built-in simulator; a 409 names the active job when the OMA says which.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Clock } from '../../src/clock.js';
import { createOmaReplicationClient } from '../../src/integrations/oma-replication-client.js';
import type { DiscoveredVm, StartReplicationRequest } from '../../src/integrations/replication-gateway.js';
import { createSimulator } from '../../src/integrations/simulator.js';
import { pickExactVm } from '../../src/integrations/vm-name-match.js';
import { fakeVm, startFakeAppliances, type FakeAppliances } from '../support/fake-appliances.js';

const TOKEN = 'oma-bearer-secret-777';

function replicationOf(vm: DiscoveredVm, idempotencyKey?: string): StartReplicationRequest {
  return { vm, vcenterHost: 'vc1.example', datacenter: vm.datacenter, replicationType: 'auto', scheduleExecutionId: 'exec-1', vmGroupId: 'group-1', ...(idempotencyKey ? { idempotencyKey } : {}) };
}

describe('idempotent creation: the OMA client and the fake OMA', () => {
  let fake: FakeAppliances;
  const client = () =>
    createOmaReplicationClient({ baseUrl: fake.url, token: TOKEN, target: { osseaConfigId: 7, targetNetwork: null }, requestTimeoutMs: 2000, createTimeoutMs: 2000 });
  before(async () => {
    fake = await startFakeAppliances({ token: TOKEN });
  });
  after(() => fake.close());

  it('sends the key as the Idempotency-Key header; a repeat gets the same job and makes none', async () => {
    const first = await client().startReplication(replicationOf(fakeVm('keyed-1'), 'dispatch-123'));
    const again = await client().startReplication(replicationOf(fakeVm('keyed-1'), 'dispatch-123'));
    assert.equal(first.kind, 'started');
    assert.equal(again.kind, 'started');
    assert.equal(again.kind === 'started' && first.kind === 'started' && again.jobId === first.jobId, true);
    assert.deepEqual(
      fake.replicationPosts().map((post) => [post.idempotencyKey, post.answer?.status]),
      [
        ['dispatch-123', 201],
        ['dispatch-123', 200],
      ],
    );
    assert.equal(fake.jobs().filter((job) => job.vmName === 'keyed-1').length, 1);
  });

  it('a new key for a VM with an active job gets the 409, naming that job', async () => {
    const first = await client().startReplication(replicationOf(fakeVm('keyed-2'), 'dispatch-a'));
    const other = await client().startReplication(replicationOf(fakeVm('keyed-2'), 'dispatch-b'));
    assert.equal(first.kind, 'started');
    assert.deepEqual(other.kind === 'active_job' ? other.jobId : other, first.kind === 'started' ? first.jobId : null);
    fake.setScript('keyed-3', { activeJobConflict: true });
    const unnamed = await client().startReplication(replicationOf(fakeVm('keyed-3'), 'dispatch-c'));
    assert.deepEqual(unnamed.kind === 'active_job' ? unnamed.jobId : unnamed, null);
  });
});

describe('idempotent creation: the built-in simulator', () => {
  it('answers a repeated key with its job (as it stands now), and names the active job in its 409', async () => {
    let nowMs = Date.parse('2025-03-01T10:00:00.000Z');
    const clock: Clock = { now: () => new Date(nowMs) };
    const sim = createSimulator({
      clock,
      random: () => 0.5,
      failureRate: 0,
      jobDurationSeconds: 60,
      inventory: async () => [{ vm_name: 'web-1', vmware_vm_id: 'vm-101', vm_path: '/DC1/vm/web-1', vcenter_host: 'vc1.example', datacenter: 'DC1', cpu_count: 2, memory_mb: 2048, os_type: null, power_state: null }],
    });
    const vm = pickExactVm(await sim.discover({ vcenter: 'vc1.example', datacenter: 'DC1', filter: 'web-1' }), 'web-1');
    assert.ok(vm);
    const first = await sim.startReplication(replicationOf(vm, 'k-1'));
    assert.equal(first.kind, 'started');
    const jobId = first.kind === 'started' ? first.jobId : '';
    const other = await sim.startReplication(replicationOf(vm, 'k-2'));
    assert.deepEqual(other.kind === 'active_job' ? other.jobId : other, jobId);
    nowMs += 120_000; // the job has ended meanwhile
    const again = await sim.startReplication(replicationOf(vm, 'k-1'));
    assert.deepEqual(again.kind === 'started' ? [again.jobId, again.status] : again, [jobId, 'completed']);
  });
});
