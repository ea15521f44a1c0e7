/** Starts the whole service in-process on throwaway stores, for API tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { loadIntegrationConfig } from '../../src/integrations/integration-config.js';
import { startService, type Service, type ServiceOptions } from '../../src/service.js';
import { startEsdbDouble, type EsdbDouble } from './esdb-double/server.js';
import { createTestDatabase } from './mariadb.js';

export interface TestService extends Service {
  /** DATA_DIR (and DATABASE_URL on MariaDB, EVENTSTORE_URL on the EventStoreDB double) of its stores, for a CLI run against them. */
  storesEnv: Record<string, string>;
  /** On backend esdb, the EventStoreDB double holding the events (to inject faults); else null. */
  esdb: EsdbDouble | null;
  /** Stops the service and removes its stores. */
  dispose(): Promise<void>;
}

/** esdb: events on the in-process EventStoreDB double, read models on SQLite. */
export type Backend = 'sqlite' | 'mariadb' | 'esdb';

/** The service on throwaway stores; without its ticker and process manager unless asked, so no due instant lands in a test's log. */
export async function startTestService(backend: Backend = 'sqlite', env: Record<string, string> = {}, options: ServiceOptions = { ticker: false, processManager: false }): Promise<TestService> {
  const dataDir = await mkdtemp(join(tmpdir(), 'scheduler-test-'));
  const database = backend === 'mariadb' ? await createTestDatabase('t_api') : null;
  const double = backend === 'esdb' ? await startEsdbDouble() : null;
  const storesEnv: Record<string, string> = {
    DATA_DIR: dataDir,
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...(double ? { EVENTSTORE_URL: double.url } : {}),
  };
  const config = loadConfig({ ...storesEnv, LOG_LEVEL: 'silent', ...env });
  // The integration settings come from the test's env too, never from the runner's process.env.
  const service = await startService(config, { integrationConfig: loadIntegrationConfig(env), ...options });
  return Object.assign(service, {
    storesEnv,
    esdb: double,
    async dispose() {
      await service.stop();
      await double?.close();
      await database?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  });
}

/** Every event in the log, for "nothing was appended" checks. */
export async function logLength(service: Service): Promise<number> {
  let count = 0;
  let after: string | null = null;
  for (;;) {
    const page = await service.store.readAll({ after, maxCount: 1000 });
    if (page.length === 0) return count;
    count += page.length;
    after = page[page.length - 1]!.position;
  }
}
