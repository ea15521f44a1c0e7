import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { ReplicationType } from '../../src/domain/schedule-fields.js';
import { GatewayError } from '../../src/integrations/gateway-errors.js';
import { createOmaReplicationClient, type OmaClientOptions } from '../../src/integrations/oma-replication-client.js';
import type { DiscoveredVm, StartReplicationRequest } from '../../src/integrations/replication-gateway.js';
import { fakeVm, startFakeAppliances, type FakeAppliances } from '../support/fake-appliances.js';
import { closedPortUrl, recordedRetries, startEchoServer } from './gateway-test-helpers.js';

const TOKEN = 'oma-bearer-secret-777';

function replicationOf(vm: DiscoveredVm, replicationType: ReplicationType = 'incremental'): StartReplicationRequest {
  return { vm, vcenterHost: 'vc1.example', datacenter: vm.datacenter, replicationType, scheduleExecutionId: 'exec-1', vmGroupId: 'group-1' };
}

describe('OMA replication client', () => {
  let fake: FakeAppliances;
  let retries: ReturnType<typeof recordedRetries>;
  const client = (overrides: Partial<OmaClientOptions> = {}) =>
    createOmaReplicationClient({
      baseUrl: fake.url,
      token: TOKEN,
      target: { osseaConfigId: 7, targetNetwork: 'repl-net' },
      requestTimeoutMs: 2000,
      createTimeoutMs: 2000,
      readRetries: retries,
      ...overrides,
    });

  before(async () => {
    fake = await startFakeAppliances({ token: TOKEN, latencyMs: 2 });
  });
  after(() => fake.close());
  beforeEach(() => {
    retries = recordedRetries();
  });

  it('posts the mapped body with the Bearer token and answers started on 201', async () => {
    const vm = fakeVm('app-full');
    const result = await client().startReplication(replicationOf(vm, 'full'));
    assert.equal(result.kind, 'started');
    const post = fake.replicationPosts().at(-1);
    assert.equal(post?.authorization, `Bearer ${TOKEN}`);
    const body = post?.body as Record<string, unknown>;
    assert.equal(body.replication_type, 'initial');
    assert.equal(body.ossea_config_id, 7);
    assert.equal(body.target_network, 'repl-net');
    assert.equal(body.scheduled_by, 'scheduler-service');
    assert.equal(body.start_replication, true);
    assert.deepEqual([body.vcenter_host, body.datacenter, body.schedule_execution_id, body.vm_group_id], ['vc1.example', 'DC1', 'exec-1', 'group-1']);
    assert.deepEqual(body.source_vm, {
      id: vm.id,
      name: vm.name,
      path: vm.path,
      datacenter: vm.datacenter,
      cpus: vm.num_cpu,
      memory_mb: vm.memory_mb,
      power_state: vm.power_state,
      os_type: vm.guest_os,
      vmx_version: vm.vmx_version,
      disks: vm.disks,
      networks: vm.networks,
    });
    if (result.kind === 'started') {
      assert.equal(result.jobId, fake.jobs().at(-1)?.jobId);
      assert.equal(result.status, 'pending');
      assert.equal(result.progressPercent, 0);
      assert.equal(typeof result.startedAt, 'string');
    }
  });

  it('sends incremental as incremental and leaves the type out for auto', async () => {
    await client().startReplication(replicationOf(fakeVm('app-incremental'), 'incremental'));
    assert.equal((fake.replicationPosts().at(-1)?.body as Record<string, unknown>).replication_type, 'incremental');
    await client().startReplication(replicationOf(fakeVm('app-auto'), 'auto'));
    assert.equal('replication_type' in (fake.replicationPosts().at(-1)?.body as Record<string, unknown>), false);
  });

  it('answers active_job on 409, scripted or because the VM has a running job', async () => {
    fake.setScript('busy', { activeJobConflict: true });
    const scripted = await client().startReplication(replicationOf(fakeVm('busy')));
    assert.equal(scripted.kind, 'active_job');
    assert.match(scripted.kind === 'active_job' ? scripted.message : '', /already has an active replication job/);

    const first = await client().startReplication(replicationOf(fakeVm('twice')));
    const second = await client().startReplication(replicationOf(fakeVm('twice')));
    assert.equal(first.kind, 'started');
    assert.equal(second.kind, 'active_job');
  });

  it('answers rejected on 400 and on a wrong token, with the status', async () => {
    const rejected = await client().startReplication(replicationOf(fakeVm('')));
    assert.deepEqual(rejected.kind === 'rejected' ? [rejected.kind, rejected.status] : rejected, ['rejected', 400]);
    const unauthorized = await client({ token: 'wrong-token-123' }).startReplication(replicationOf(fakeVm('app-token')));
    assert.deepEqual(unauthorized.kind === 'rejected' ? [unauthorized.kind, unauthorized.status] : unauthorized, ['rejected', 401]);
  });

  it('answers unconfirmed when creation outlasts createTimeoutMs, having posted exactly once', async () => {
    fake.setScript('slow', { createDelayMs: 1500 });
    const before = fake.replicationPosts().length;
    const result = await client({ createTimeoutMs: 150 }).startReplication(replicationOf(fakeVm('slow')));
    assert.equal(result.kind, 'unconfirmed');
    assert.match(result.kind === 'unconfirmed' ? result.reason : '', /no answer within 150 ms/);
    assert.equal(fake.replicationPosts().length - before, 1);
    // The OMA did create the job: that is why the caller must reconcile rather than retry.
    assert.equal(fake.jobs().filter((job) => job.vmName === 'slow').length, 1);
  });

  it('answers unconfirmed on a 500, having posted exactly once', async () => {
    fake.setScript('flaky', { answer500: { jobCreated: true } });
    const before = fake.replicationPosts().length;
    const result = await client().startReplication(replicationOf(fakeVm('flaky')));
    assert.equal(result.kind, 'unconfirmed');
    assert.match(result.kind === 'unconfirmed' ? result.reason : '', /HTTP 500/);
    assert.equal(fake.replicationPosts().length - before, 1);
  });

  it('answers unconfirmed when a 201 carries no job id', async () => {
    fake.failNext('create', 1, 201);
    const result = await client().startReplication(replicationOf(fakeVm('no-id')));
    assert.equal(result.kind, 'unconfirmed');
  });

  it('throws unreachable (not unconfirmed) when no connection could be made: no job can exist', async () => {
    await assert.rejects(client({ baseUrl: await closedPortUrl() }).startReplication(replicationOf(fakeVm('nowhere'))), (error: unknown) => {
      assert.ok(error instanceof GatewayError);
      assert.equal(error.kind, 'unreachable');
      assert.equal(error.details.requestMayHaveArrived, false);
      return true;
    });
    assert.deepEqual(retries.waits, [], 'creation is never retried');
  });

  it('never puts the token in a result or an error, even when the OMA echoes it', async () => {
    const echo = await startEchoServer(400);
    try {
      const rejected = await client({ baseUrl: echo.url }).startReplication(replicationOf(fakeVm('echo')));
      assert.equal(rejected.kind, 'rejected');
      assert.ok(!JSON.stringify(rejected).includes(TOKEN), JSON.stringify(rejected));
      await assert.rejects(client({ baseUrl: echo.url }).jobState('job-1'), (error: unknown) => {
        assert.ok(error instanceof GatewayError);
        assert.ok(!error.message.includes(TOKEN), error.message);
        return true;
      });
    } finally {
      await echo.close();
    }
  });

  it("reads job state, and answers 'unknown' on 404", async () => {
    const started = await client().startReplication(replicationOf(fakeVm('followed')));
    assert.equal(started.kind, 'started');
    const jobId = started.kind === 'started' ? started.jobId : '';
    const polled = await client().jobState(jobId);
    assert.deepEqual(polled === 'unknown' ? polled : [polled.jobId, polled.status, polled.progressPercent], [jobId, 'replicating', 50]);
    const ended = await client().jobState(jobId);
    assert.deepEqual(ended === 'unknown' ? ended : [ended.status, ended.progressPercent, typeof ended.completedAt], ['completed', 100, 'string']);
    assert.equal(fake.gets().at(-1)?.authorization, `Bearer ${TOKEN}`);
    assert.equal(await client().jobState('no-such-job'), 'unknown');
  });

  it('retries a 5xx on job state, but not a timeout', async () => {
    const started = await client().startReplication(replicationOf(fakeVm('retried')));
    const jobId = started.kind === 'started' ? started.jobId : '';
    fake.failNext('oma_state', 2, 502);
    const state = await client().jobState(jobId);
    assert.notEqual(state, 'unknown');
    assert.deepEqual(retries.waits, [5, 10]);

    fake.setLatency(300);
    const before = fake.gets().length;
    try {
      await assert.rejects(client({ requestTimeoutMs: 100 }).jobState(jobId), (error: unknown) => error instanceof GatewayError && error.kind === 'timeout');
    } finally {
      fake.setLatency(2);
    }
    assert.equal(fake.gets().length - before, 1);
  });

  it('reports a job state of the wrong shape as bad_response', async () => {
    fake.failNext('oma_state', 1, 200);
    await assert.rejects(client().jobState('whatever'), (error: unknown) => error instanceof GatewayError && error.kind === 'bad_response' && error.status === 200);
  });
});
