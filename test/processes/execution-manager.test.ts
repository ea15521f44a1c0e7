/**
 * The execution process manager as the service wires it: the embedded default
 * (built-in simulator, logged loudly), and configuration checked at start-up.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { Logger } from '../../src/logger.js';
import { loadState } from '../../src/commands/run-decider.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { streamIds } from '../../src/domain/events.js';
import { executionDecider } from '../../src/domain/execution.js';
import { loadIntegrationConfig } from '../../src/integrations/integration-config.js';
import { startService } from '../../src/service.js';
import { apiClient } from '../support/api-client.js';
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
});
