import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOmaReplicationClient } from '../../src/integrations/oma-replication-client.js';
import type { OmaReplication, StartReplicationRequest } from '../../src/integrations/replication-gateway.js';
import { createVmaDiscoveryClient } from '../../src/integrations/vma-discovery-client.js';
import { fakeVm, startFakeAppliances, type FakeAppliances } from '../support/fake-appliances.js';

/** The test double is itself relied on by end-to-end tests: its scripts must do what they say. */
describe('fake VMA/OMA appliances', () => {
  let fake: FakeAppliances;
  let oma: OmaReplication;
  const replicationOf = (name: string): StartReplicationRequest => ({
    vm: fakeVm(name),
    vcenterHost: 'vc1',
    datacenter: 'DC1',
    replicationType: 'incremental',
    scheduleExecutionId: 'e',
    vmGroupId: 'g',
  });
  const start = async (name: string): Promise<string> => {
    const result = await oma.startReplication(replicationOf(name));
    assert.equal(result.kind, 'started', `${name}: ${JSON.stringify(result)}`);
    return result.kind === 'started' ? result.jobId : '';
  };
  const statusAfterPolls = async (jobId: string, polls: number): Promise<string> => {
    let status = '';
    for (let poll = 0; poll < polls; poll += 1) {
      const state = await oma.jobState(jobId);
      status = state === 'unknown' ? state : state.status;
    }
    return status;
  };

  before(async () => {
    fake = await startFakeAppliances({
      latencyMs: 1,
      scripts: {
        quick: { pollsToFinish: 1 },
        slow: { pollsToFinish: 3 },
        doomed: { fail: true, pollsToFinish: 1 },
        flaky: { failFirstAttempts: 2, pollsToFinish: 1 },
        ghost: { forgetJob: true },
        broken: { answer500: { times: 1 } },
      },
    });
    oma = createOmaReplicationClient({ baseUrl: fake.url, token: fake.token, target: { osseaConfigId: 1, targetNetwork: null }, requestTimeoutMs: 2000, createTimeoutMs: 2000 });
  });
  after(() => fake.close());

  it('ends jobs after the scripted number of polls, failing or succeeding as told', async () => {
    assert.equal(await statusAfterPolls(await start('quick'), 1), 'completed');
    const slow = await start('slow');
    assert.equal(await statusAfterPolls(slow, 2), 'replicating');
    assert.equal(await statusAfterPolls(slow, 1), 'completed');
    assert.equal(await statusAfterPolls(await start('doomed'), 1), 'failed');
    const flakyOutcomes = [];
    for (let attempt = 0; attempt < 3; attempt += 1) flakyOutcomes.push(await statusAfterPolls(await start('flaky'), 1));
    assert.deepEqual(flakyOutcomes, ['failed', 'failed', 'completed']);
  });

  it('forgets jobs on both appliances when scripted to, and answers 500 only as often as told', async () => {
    const ghost = await start('ghost');
    assert.equal(await oma.jobState(ghost), 'unknown');
    const vma = createVmaDiscoveryClient({ baseUrl: fake.url, vcenterCredentials: {}, requestTimeoutMs: 2000 });
    assert.equal(await vma.jobStatus(ghost), 'unknown');
    assert.equal((await oma.startReplication(replicationOf('broken'))).kind, 'unconfirmed');
    assert.equal(fake.jobs().filter((job) => job.vmName === 'broken').length, 0, 'a plain 500 makes no job');
    assert.equal((await oma.startReplication(replicationOf('broken'))).kind, 'started');
  });

  it('counts the jobs active at once and lets a test set a job status', async () => {
    const baseline = fake.activeJobCount();
    const ids = [await start('c-1'), await start('c-2'), await start('c-3')];
    assert.equal(fake.activeJobCount(), baseline + 3);
    assert.ok(fake.maxActiveJobs() >= baseline + 3);
    for (const jobId of ids) fake.setJobStatus(jobId, 'completed', 100);
    assert.equal(fake.activeJobCount(), baseline);
    const state = await oma.jobState(ids[0] ?? '');
    assert.deepEqual(state === 'unknown' ? state : [state.status, state.progressPercent], ['completed', 100]);
    assert.ok(fake.gets().length > 0);
    assert.ok(fake.requests.every((request) => request.route !== 'create' || request.authorization === `Bearer ${fake.token}`));
  });
});
