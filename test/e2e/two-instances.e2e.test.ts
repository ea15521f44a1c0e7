/**
 * Two whole service instances on the same stores (one DATA_DIR for SQLite; one MariaDB
 * database), tickers and process managers on, one manual clock, the fake VMA/OMA:
 * every due instant is one execution, every dispatch one OMA call, and the read models
 * are written by one instance (the lease holder) and read by both.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { loadIntegrationConfig } from '../../src/integrations/integration-config.js';
import { startService, type Service } from '../../src/service.js';
import { readWholeLog, referenceSnapshot, snapshotReadModels } from '../projections/read-model-snapshot.js';
import { apiClient } from '../support/api-client.js';
import { fakeVm, startFakeAppliances } from '../support/fake-appliances.js';
import { driveUntil, ManualClock } from '../support/manual-clock.js';
import { createTestDatabase } from '../support/mariadb.js';

const VCENTER = 'vc.example';
const START = '2026-05-01T10:00:30.000Z';
const MINUTES = 20;
const SCHEDULES = 3;
const VMS_PER_GROUP = 2;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

for (const backend of ['sqlite', 'mariadb'] as const) {
  describe(`two service instances on the same ${backend} stores`, () => {
    it(`run ${SCHEDULES} every-minute schedules for ${MINUTES} minutes: one execution per due instant, one OMA call per dispatch`, async () => {
      const vmNames = Array.from({ length: SCHEDULES * VMS_PER_GROUP }, (_, i) => `vm-${i + 1}`);
      const fake = await startFakeAppliances({ vms: vmNames.map((name) => fakeVm(name)), scripts: {} });
      cleanups.push(() => fake.close());
      const dataDir = await mkdtemp(join(tmpdir(), 'scheduler-two-'));
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      let databaseUrl: string | null = null;
      if (backend === 'mariadb') {
        const database = await createTestDatabase('t_two');
        cleanups.push(() => database.drop());
        databaseUrl = database.url;
      }
      const clock = new ManualClock(START);
      const integrationConfig = loadIntegrationConfig({
        OMA_API_URL: fake.url,
        VMA_API_URL: fake.url,
        OMA_API_TOKEN: fake.token,
        OMA_OSSEA_CONFIG_ID: '7',
        VCENTER_CREDENTIALS: JSON.stringify({ [VCENTER]: { username: 'svc', password: 'secret-pw' } }),
        JOB_POLL_INTERVAL_SECONDS: '10',
      });
      const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) });
      const services: Service[] = [];
      for (let n = 0; n < 2; n += 1) {
        const service = await startService(config, { clock, timers: clock, ticker: true, processManager: true, integrationConfig });
        services.push(service);
        cleanups.push(() => service.stop());
      }
      const [one, two] = services as [Service, Service];
      assert.deepEqual(
        services.map((s) => s.projections.isWriter),
        [true, false],
        'the first instance writes the read models, the second stands by',
      );
      const apiOne = apiClient(one.app);
      const apiTwo = apiClient(two.app);

      // Set up through both instances: the standby's writes read their own writes too.
      const scheduleIds: string[] = [];
      for (let s = 0; s < SCHEDULES; s += 1) {
        const api = s % 2 === 0 ? apiOne : apiTwo;
        const schedule = await api.post('/schedules', { name: `Every minute ${s}`, cron_expression: '*/1 * * * *', retry_attempts: 0, max_concurrent_jobs: 5 });
        assert.equal(schedule.status, 201, JSON.stringify(schedule.body));
        const scheduleId = String(schedule.body.id);
        scheduleIds.push(scheduleId);
        const group = await apiTwo.post('/machine-groups', { name: `Group ${s}`, schedule_id: scheduleId });
        assert.equal(group.status, 201, JSON.stringify(group.body));
        for (let v = 0; v < VMS_PER_GROUP; v += 1) {
          const name = vmNames[s * VMS_PER_GROUP + v]!;
          const api = v % 2 === 0 ? apiTwo : apiOne;
          const vm = await api.post('/vm-contexts', { vm_name: name, vmware_vm_id: `vm-${name}`, vm_path: `/DC1/vm/${name}`, vcenter_host: VCENTER, datacenter: 'DC1' });
          assert.equal(vm.status, 201, JSON.stringify(vm.body));
          const assigned = await api.post(`/machine-groups/${String(group.body.id)}/vms`, { vm_context_id: String(vm.body.context_id) });
          assert.equal(assigned.status, 201, JSON.stringify(assigned.body));
        }
      }

      const actors = services.flatMap((s) => [s.ticker!, s.processManager!]);
      const end = Date.parse(START) + MINUTES * 60_000;
      while (clock.now().getTime() < end) await driveUntil(clock, actors, Math.min(end, clock.now().getTime() + 5_000));
      await Promise.all(actors.map((a) => a.whenIdle()));

      const log = await readWholeLog(one.store);
      // Due instants: every minute from 10:01 to 10:20 for each schedule, each recorded once.
      const expectedDue = Array.from({ length: MINUTES }, (_, m) => new Date(Date.parse('2026-05-01T10:01:00.000Z') + m * 60_000).toISOString());
      for (const scheduleId of scheduleIds) {
        const due = log.filter((e) => e.type === 'ExecutionDue' && e.data.schedule_id === scheduleId).map((e) => String(e.data.due_at));
        assert.deepEqual(due, expectedDue, `due instants of ${scheduleId}, once each`);
      }
      const dueExecutions = log.filter((e) => e.type === 'ExecutionDue').map((e) => String(e.data.execution_id));
      const scheduled = log.filter((e) => e.type === 'ExecutionScheduled').map((e) => String(e.data.execution_id));
      assert.equal(new Set(scheduled).size, scheduled.length, 'one ExecutionScheduled per execution id');
      assert.deepEqual([...scheduled].sort(), [...dueExecutions].sort(), 'executions = due instants');

      // Dispatches: one JobRequested per (execution, VM, attempt), one OMA call for each.
      const requested = log
        .filter((e) => e.type === 'JobRequested')
        .map((e) => `${e.streamId.replace(/^execution-/, '')}|${String(e.data.vm_context_id)}|${String(e.data.attempt)}`);
      assert.equal(new Set(requested).size, requested.length, 'one JobRequested per (execution, VM, attempt)');
      assert.ok(requested.length > 0, 'some jobs were dispatched');
      const posts = fake.replicationPosts().map((p) => {
        const body = p.body as { schedule_execution_id: string; source_vm: { name: string } };
        return `${body.schedule_execution_id}|${body.source_vm.name}`;
      });
      const duplicates = posts.filter((key, index) => posts.indexOf(key) !== index);
      assert.deepEqual(duplicates, [], 'no duplicate OMA call for one (execution, VM) (retry_attempts 0: one attempt each)');
      assert.equal(posts.length, requested.length, 'one OMA call per JobRequested');

      // The read models: written once per event, readable through both instances.
      const head = (await one.store.headPosition())!;
      assert.equal(await one.projections.waitForPosition(head, 10_000), true);
      assert.equal(await two.projections.waitForPosition(head, 10_000), true);
      const statuses = await two.projections.status();
      assert.ok(statuses.every((s) => s.state === 'standby'), JSON.stringify(statuses));
      assert.deepEqual(await snapshotReadModels(one.readDb), await referenceSnapshot(one.store), 'the read models equal a single replay of the log');
      for (const api of [apiOne, apiTwo]) {
        const read = await api.get(`/executions/${dueExecutions[0]!}`);
        assert.equal(read.status, 200, JSON.stringify(read.body));
        const listed = await api.get(`/schedules/${scheduleIds[0]!}/executions`);
        assert.equal(listed.status, 200, JSON.stringify(listed.body));
      }
      const ready = await apiTwo.get('/health/ready');
      assert.equal(ready.status, 200, JSON.stringify(ready.body));
    });
  });
}
