/**
 * The whole service in-process (ticker and process manager on a manual clock)
 * against the fake VMA/OMA over real HTTP, for end-to-end tests.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'node:test';
import { loadState } from '../../src/commands/run-decider.js';
import { loadConfig } from '../../src/config.js';
import { streamIds } from '../../src/domain/events.js';
import { executionDecider, isEnded, type ExecutionState } from '../../src/domain/execution.js';
import { loadIntegrationConfig } from '../../src/integrations/integration-config.js';
import { startService, type Service } from '../../src/service.js';
import { apiClient, type ApiClient } from './api-client.js';
import { startEsdbDouble, type EsdbDouble } from './esdb-double/server.js';
import { fakeVm, startFakeAppliances, type FakeAppliances, type VmScript } from './fake-appliances.js';
import { driveUntil, ManualClock } from './manual-clock.js';
import { createTestDatabase } from './mariadb.js';

export const VCENTER = 'vc.example';
export const POLL_SECONDS = 10;

export interface Harness {
  service: Service;
  api: ApiClient;
  fake: FakeAppliances;
  clock: ManualClock;
  /** Moves the clock in steps until `done` holds (or `maxMs` of clock time passed). */
  runUntil(done: () => Promise<boolean>, maxMs: number, stepMs?: number): Promise<void>;
  execution(id: string): Promise<ExecutionState>;
  dataDir: string;
  databaseUrl: string | null;
  /** On backend esdb, the EventStoreDB double holding the events (to drop subscriptions, inject faults); else null. */
  esdb: EsdbDouble | null;
  /** Stops the service (once). */
  stop(): Promise<void>;
  registerVm(name: string): Promise<string>;
  createSchedule(fields?: Record<string, unknown>): Promise<string>;
  createGroup(scheduleId: string, fields?: Record<string, unknown>): Promise<string>;
  assign(groupId: string, vmId: string, fields?: Record<string, unknown>): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** esdb: events on the in-process EventStoreDB double, read models on SQLite. */
export type Backend = 'sqlite' | 'mariadb' | 'esdb';

/**
 * On esdb, the double holding the events of a data dir: a harness given that data dir
 * again (a restart) finds the same log there, as SQLite keeps events.sqlite in it.
 */
const eventStoreOfDataDir = new Map<string, EsdbDouble>();

export async function harness(options: {
  backend: Backend;
  start: string;
  vmNames: string[];
  scripts?: Record<string, VmScript>;
  fake?: FakeAppliances;
  dataDir?: string;
  databaseUrl?: string | null;
}): Promise<Harness> {
  let fake = options.fake;
  if (!fake) {
    const started = await startFakeAppliances({ vms: options.vmNames.map((name) => fakeVm(name)), scripts: options.scripts ?? {} });
    cleanups.push(() => started.close());
    fake = started;
  }
  let dataDir = options.dataDir;
  if (!dataDir) {
    const made = await mkdtemp(join(tmpdir(), 'scheduler-e2e-'));
    cleanups.push(() => rm(made, { recursive: true, force: true }));
    dataDir = made;
  }
  let databaseUrl = options.databaseUrl ?? null;
  if (options.backend === 'mariadb' && databaseUrl === null) {
    const database = await createTestDatabase('t_pm');
    cleanups.push(() => database.drop());
    databaseUrl = database.url;
  }
  let esdb: EsdbDouble | null = null;
  if (options.backend === 'esdb') {
    let double = eventStoreOfDataDir.get(dataDir);
    if (double === undefined) {
      const started = await startEsdbDouble();
      const dir = dataDir;
      eventStoreOfDataDir.set(dir, started);
      cleanups.push(async () => {
        eventStoreOfDataDir.delete(dir);
        await started.close();
      });
      double = started;
    }
    esdb = double;
  }
  const clock = new ManualClock(options.start);
  const integrationConfig = loadIntegrationConfig({
    OMA_API_URL: fake.url,
    VMA_API_URL: fake.url,
    OMA_API_TOKEN: fake.token,
    OMA_OSSEA_CONFIG_ID: '7',
    VCENTER_CREDENTIALS: JSON.stringify({ [VCENTER]: { username: 'svc', password: 'secret-pw' } }),
    JOB_POLL_INTERVAL_SECONDS: String(POLL_SECONDS),
  });
  const service = await startService(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), ...(esdb ? { EVENTSTORE_URL: esdb.url } : {}) }), {
    clock,
    timers: clock,
    ticker: true,
    processManager: true,
    integrationConfig,
  });
  let stopped: Promise<void> | null = null;
  const stop = () => (stopped ??= service.stop());
  cleanups.push(stop);
  const api = apiClient(service.app);
  const actors = [service.ticker!, service.processManager!];
  let counter = 0;
  return {
    service,
    api,
    fake,
    clock,
    dataDir,
    databaseUrl,
    esdb,
    stop,
    async runUntil(done, maxMs, stepMs = 1000) {
      const end = clock.now().getTime() + maxMs;
      for (;;) {
        await Promise.all(actors.map((a) => a.whenIdle()));
        if (await done()) return;
        if (clock.now().getTime() >= end) assert.fail(`not done after ${maxMs} ms of clock time`);
        await driveUntil(clock, actors, clock.now().getTime() + stepMs);
      }
    },
    async execution(id) {
      return (await loadState(service.store, streamIds.execution(id), executionDecider)).state;
    },
    async registerVm(name) {
      counter += 1;
      const answer = await api.post('/vm-contexts', { vm_name: name, vmware_vm_id: `vm-${name}`, vm_path: `/DC1/vm/${name}`, vcenter_host: VCENTER, datacenter: 'DC1' });
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      return String(answer.body.context_id);
    },
    async createSchedule(fields = {}) {
      counter += 1;
      const answer = await api.post('/schedules', { name: `E2E schedule ${counter}`, cron_expression: '0 2 * * *', ...fields });
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      return String(answer.body.id);
    },
    async createGroup(scheduleId, fields = {}) {
      counter += 1;
      const answer = await api.post('/machine-groups', { name: `E2E group ${counter}`, schedule_id: scheduleId, ...fields });
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      return String(answer.body.id);
    },
    async assign(groupId, vmId, fields = {}) {
      const answer = await api.post(`/machine-groups/${groupId}/vms`, { vm_context_id: vmId, ...fields });
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
    },
  };
}

export function ended(state: ExecutionState): boolean {
  return isEnded(state);
}

