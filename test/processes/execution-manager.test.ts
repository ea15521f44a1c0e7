/**
 * The execution process manager as the service wires it: the embedded default
 * (built-in simulator, logged loudly), configuration checked at start-up, and
 * two instances reconciling the dispatch a dead process left unanswered.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { Logger } from '../../src/logger.js';
import { decideExecution, processManagerContext } from '../../src/commands/execution-process-commands.js';
import { loadState } from '../../src/commands/run-decider.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { streamIds } from '../../src/domain/events.js';
import { executionDecider, type ExecutionCommand } from '../../src/domain/execution.js';
import { loadIntegrationConfig } from '../../src/integrations/integration-config.js';
import { createOmaReplicationClient } from '../../src/integrations/oma-replication-client.js';
import { startService } from '../../src/service.js';
import { apiClient } from '../support/api-client.js';
import { fakeVm, startFakeAppliances } from '../support/fake-appliances.js';
import { driveUntil, ManualClock } from '../support/manual-clock.js';

function capturingLogger(): { logger: Logger; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, stream) as unknown as Logger, text: () => chunks.join('') };
}

describe('execution process manager in the service', () => {
  it('runs an execution on the built-in simulator and says loudly that it simulates', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'scheduler-pm-'));
    const clock = new ManualClock('2026-05-01T10:00:00.000Z');
    const { logger, text } = capturingLogger();
    const service = await startService(loadConfig({ DATA_DIR: dataDir }), {
      clock,
      timers: clock,
      logger,
      ticker: true,
      processManager: true,
      integrationConfig: loadIntegrationConfig({ SIMULATOR_FAILURE_RATE: '0', SIMULATOR_JOB_DURATION_SECONDS: '30', JOB_POLL_INTERVAL_SECONDS: '5' }),
    });
    try {
      assert.equal(service.gateway.mode, 'simulator');
      assert.match(text(), /SIMULATION MODE/);
      const api = apiClient(service.app);
      const schedule = await api.post('/schedules', { name: 'Simulated', cron_expression: '0 2 * * *', max_concurrent_jobs: 2 });
      const group = await api.post('/machine-groups', { name: 'Simulated group', schedule_id: schedule.body.id });
      for (const name of ['sim-1', 'sim-2', 'sim-3']) {
        const vm = await api.post('/vm-contexts', { vm_name: name, vmware_vm_id: `vmw-${name}`, vm_path: `/DC1/vm/${name}`, vcenter_host: 'vc.local', datacenter: 'DC1' });
        assert.equal(vm.status, 201, JSON.stringify(vm.body));
        assert.equal((await api.post(`/machine-groups/${group.body.id}/vms`, { vm_context_id: vm.body.context_id })).status, 201);
      }
      const trigger = await api.post(`/schedules/${schedule.body.id}/trigger`, { reason: 'try it' });
      assert.equal(trigger.status, 202);
      const executionId = String(trigger.body.execution_id);
      const actors = [service.ticker!, service.processManager!];
      let state = (await loadState(service.store, streamIds.execution(executionId), executionDecider)).state;
      for (let step = 0; step < 60 && (state.status === 'absent' || state.ended === null); step++) {
        await driveUntil(clock, actors, clock.now().getTime() + 5000);
        state = (await loadState(service.store, streamIds.execution(executionId), executionDecider)).state;
      }
      assert.ok(state.status !== 'absent');
      assert.equal(state.status, 'completed', JSON.stringify(state.ended));
      assert.deepEqual([state.ended?.jobs_created, state.ended?.jobs_completed], [3, 3]);
    } finally {
      await service.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to start on a bad integration setting, naming the variable', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'scheduler-pm-'));
    const saved = process.env.OMA_API_URL;
    process.env.OMA_API_URL = 'ftp://oma.example';
    try {
      await assert.rejects(startService(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), { ticker: false }), (error: unknown) => error instanceof ConfigError && error.variable === 'OMA_API_URL');
    } finally {
      if (saved === undefined) delete process.env.OMA_API_URL;
      else process.env.OMA_API_URL = saved;
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('two instances find the dispatch a dead process sent without an answer: one claims it, one resend under the same key adopts the job', async () => {
    const fake = await startFakeAppliances({ vms: [fakeVm('orphan-1')] });
    const dataDir = await mkdtemp(join(tmpdir(), 'scheduler-pm-'));
    const clock = new ManualClock('2026-05-01T10:00:00.000Z');
    const env = {
      OMA_API_URL: fake.url,
      VMA_API_URL: fake.url,
      OMA_API_TOKEN: fake.token,
      OMA_OSSEA_CONFIG_ID: '7',
      VCENTER_CREDENTIALS: JSON.stringify({ 'vc.example': { username: 'svc', password: 'secret-pw' } }),
      JOB_POLL_INTERVAL_SECONDS: '5',
    };
    const integrationConfig = loadIntegrationConfig(env);
    const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    const services: Awaited<ReturnType<typeof startService>>[] = [];
    try {
      // The dead process: its execution dispatched the VM, recorded DispatchSent, its call made the job, and it died.
      const dead = await startService(config, { clock, timers: clock, ticker: false, processManager: false, integrationConfig });
      const api = apiClient(dead.app);
      const schedule = await api.post('/schedules', { name: 'Orphans', cron_expression: '0 2 * * *', retry_attempts: 0 });
      const group = await api.post('/machine-groups', { name: 'Orphan group', schedule_id: schedule.body.id });
      const vm = await api.post('/vm-contexts', { vm_name: 'orphan-1', vmware_vm_id: 'vm-orphan-1', vm_path: '/DC1/vm/orphan-1', vcenter_host: 'vc.example', datacenter: 'DC1' });
      assert.equal((await api.post(`/machine-groups/${group.body.id}/vms`, { vm_context_id: vm.body.context_id })).status, 201);
      const executionId = 'run-of-a-dead-process';
      const at = clock.now().toISOString();
      const meta = { execution_id: executionId, at, actor: 'process-manager' };
      const vmId = String(vm.body.context_id);
      const commands: ExecutionCommand[] = [
        { type: 'ScheduleExecution', ...meta, schedule_id: String(schedule.body.id), scheduled_at: at, not_before: at, trigger: 'manual', triggered_by: 'manual:test', reason: null, group_id: null, force: false, parent_execution_id: null },
        {
          type: 'StartExecution',
          ...meta,
          schedule: { exists: true, enabled: true, skip_if_running: false, max_concurrent_jobs: 5, retry_attempts: 0, retry_delay_minutes: 5, replication_type: 'auto' },
          running_execution_ids: [],
          plan: [{ vm_context_id: vmId, vm_name: 'orphan-1', group_id: String(group.body.id), group_priority: 0, member_priority: 0 }],
        },
        {
          type: 'EvaluateVm',
          ...meta,
          vm_context_id: vmId,
          dispatch_id: 'dispatch-of-the-dead',
          facts: { schedule_enabled: true, vm_scheduler_enabled: true, membership_enabled: true, vm_status: 'discovered', vm_has_active_job: false, schedule_running_jobs: 0, schedule_max_concurrent_jobs: 5, group_running_jobs: 0, group_max_concurrent_vms: 5 },
        },
        { type: 'SendDispatch', ...meta, vm_context_id: vmId, attempt: 1, dispatch_id: 'dispatch-of-the-dead', reconciliation: 0 },
      ];
      for (const command of commands) await decideExecution(dead.store, executionId, () => command, processManagerContext(clock.now()));
      const oma = createOmaReplicationClient({ baseUrl: fake.url, token: fake.token, target: { osseaConfigId: 7, targetNetwork: null }, requestTimeoutMs: 2000, createTimeoutMs: 2000 });
      const made = await oma.startReplication({ vm: fakeVm('orphan-1'), vcenterHost: 'vc.example', datacenter: 'DC1', replicationType: 'auto', scheduleExecutionId: executionId, vmGroupId: String(group.body.id), idempotencyKey: 'dispatch-of-the-dead' });
      assert.equal(made.kind, 'started');
      await dead.projections.waitForPosition((await dead.store.headPosition())!, 5000);
      await dead.stop();

      for (let n = 0; n < 2; n += 1) services.push(await startService(config, { clock, timers: clock, ticker: false, processManager: true, integrationConfig }));
      const actors = services.map((service) => service.processManager!);
      const store = services[0]!.store;
      let state = (await loadState(store, streamIds.execution(executionId), executionDecider)).state;
      for (let step = 0; step < 120 && (state.status === 'absent' || state.ended === null); step++) {
        await driveUntil(clock, actors, clock.now().getTime() + 5000);
        state = (await loadState(store, streamIds.execution(executionId), executionDecider)).state;
      }
      assert.ok(state.status !== 'absent');
      assert.equal(state.status, 'completed', JSON.stringify(state.ended));
      const types = (await store.readStream(streamIds.execution(executionId))).map((e) => e.type);
      assert.equal(types.filter((t) => t === 'DispatchReconciling').length, 1, `one claim: ${types.join(', ')}`);
      assert.equal(fake.jobs().length, 1, 'one job at the OMA');
      assert.deepEqual(
        fake.replicationPosts().map((post) => [post.idempotencyKey, post.answer?.status, post.answer?.jobId]),
        [
          ['dispatch-of-the-dead', 201, fake.jobs()[0]?.jobId],
          ['dispatch-of-the-dead', 200, fake.jobs()[0]?.jobId],
        ],
        'the dead call, then one reconciliation under its key',
      );
      assert.deepEqual([state.ended?.jobs_created, state.ended?.jobs_completed], [1, 1]);
      // Not before the creation timeout had passed since DispatchSent (the sender could still have been waiting).
      const claimedAt = Date.parse(String((await store.readStream(streamIds.execution(executionId))).find((e) => e.type === 'DispatchReconciling')?.data.at));
      assert.ok(claimedAt - Date.parse(at) >= integrationConfig.createTimeoutMs, `claimed ${claimedAt - Date.parse(at)} ms after the send`);
    } finally {
      for (const service of services) await service.stop();
      await fake.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
