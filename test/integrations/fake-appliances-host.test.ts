import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOmaReplicationClient } from '../../src/integrations/oma-replication-client.js';
import { createVmaDiscoveryClient } from '../../src/integrations/vma-discovery-client.js';
import { fakeVm } from '../support/fake-appliances.js';
import { startFakeAppliancesProcess } from '../support/fake-appliances-host.js';

/** Benchmarks read the fake in its own process through these reports: they must count what happened. */
describe('fake VMA/OMA appliances in a child process', () => {
  it('answers like the in-process fake and reports POST times, counts and the most active jobs', async () => {
    const fake = await startFakeAppliancesProcess({ vms: [fakeVm('web-1'), fakeVm('web-2')], scripts: { 'web-2': { pollsToFinish: 1 } } });
    try {
      assert.notEqual(fake.pid, process.pid);
      const vma = createVmaDiscoveryClient({ baseUrl: fake.url, vcenterCredentials: { vc1: { username: 'u', password: 'p' } }, requestTimeoutMs: 2000 });
      const oma = createOmaReplicationClient({ baseUrl: fake.url, token: fake.token, target: { osseaConfigId: 1, targetNetwork: null }, requestTimeoutMs: 2000, createTimeoutMs: 2000 });
      const sentAt = Date.now();
      const jobIds: string[] = [];
      for (const vm of await vma.discover({ vcenter: 'vc1', datacenter: 'DC1', filter: 'web' })) {
        const started = await oma.startReplication({ vm, vcenterHost: 'vc1', datacenter: 'DC1', replicationType: 'incremental', scheduleExecutionId: 'e', vmGroupId: 'g' });
        assert.equal(started.kind, 'started');
        if (started.kind === 'started') jobIds.push(started.jobId);
      }
      assert.equal((await oma.jobState(jobIds[1] ?? '')) === 'unknown', false);

      const report = await fake.report();
      assert.equal(report.replicationPosts, 2);
      assert.equal(report.replicationPostTimes.length, 2);
      assert.ok(report.replicationPostTimes.every((time) => time >= sentAt - 5 && time <= Date.now()), JSON.stringify(report.replicationPostTimes));
      assert.deepEqual([report.discoveries, report.omaPolls, report.activeJobs, report.maxActiveJobs], [1, 1, 1, 2]);
      assert.ok(report.cpuSeconds > 0);
      assert.deepEqual((await fake.report(1)).replicationPostTimes, report.replicationPostTimes.slice(1));
    } finally {
      await fake.close();
    }
    await assert.rejects(fake.report(), /exited/);
  });
});
