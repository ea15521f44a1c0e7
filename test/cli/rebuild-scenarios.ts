/**
 * `rebuild` and `verify` from the command line, on the stores a service writes.
 * Run for SQLite and MariaDB by rebuild.*.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CliIo } from '../../src/cli/cli-command.js';
import { runCli } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config.js';
import { loadIntegrationConfig } from '../../src/integrations/integration-config.js';
import { openReadModelDb, type ReadModelDb } from '../../src/projections/read-model-db.js';
import { startService, type Service } from '../../src/service.js';
import { apiClient } from '../support/api-client.js';
import { createTestDatabase, type TestDatabase } from '../support/mariadb.js';
import { snapshotReadModels } from '../projections/read-model-snapshot.js';
import { capturedIo } from './captured-io.js';

const ADMIN_TOKEN = 'admin-secret-1';

/** A terminal's stderr: what the progress bar is drawn on. */
function terminalIo(env: NodeJS.ProcessEnv): CliIo & { stderr(): string } {
  let err = '';
  return { out: { write: () => true, isTTY: true }, err: { write: (text: string) => (err += text), isTTY: true }, env, stderr: () => err };
}

export function describeRebuildCli(backend: 'sqlite' | 'mariadb'): void {
  describe(`cli rebuild and verify on ${backend}`, () => {
    let dataDir: string;
    let database: TestDatabase | null = null;
    let env: Record<string, string>;
    let service: Service | null = null;
    let readDb: ReadModelDb;

    const startTheService = async () => {
      const config = loadConfig({ ...env, LOG_LEVEL: 'silent' });
      service = await startService(config, { integrationConfig: loadIntegrationConfig({}), ticker: false, processManager: false });
      return service;
    };
    const stopTheService = async () => {
      await service?.stop();
      service = null;
    };
    const cli = async (...argv: string[]) => {
      const io = capturedIo(env);
      const status = await runCli(argv, io);
      return { status, stdout: io.stdout(), stderr: io.stderr() };
    };

    before(async () => {
      dataDir = await mkdtemp(path.join(tmpdir(), 'cli-rebuild-'));
      database = backend === 'mariadb' ? await createTestDatabase('t_cli_rebuild') : null;
      env = { DATA_DIR: dataDir, API_TOKENS: `carol:admin:${ADMIN_TOKEN}`, ...(database && { DATABASE_URL: database.url }) };
      const running = await startTheService();
      const api = apiClient(running.app, { token: ADMIN_TOKEN });
      for (let index = 0; index < 12; index += 1) {
        const schedule = await api.post('/schedules', { name: `Nightly ${index}`, cron_expression: '0 1 * * *' });
        assert.equal(schedule.status, 201);
        assert.equal((await api.post('/machine-groups', { name: `Group ${index}`, schedule_id: schedule.body.id })).status, 201);
      }
      await stopTheService();
      readDb = await openReadModelDb({ databaseUrl: database?.url ?? null, dataDir });
    });
    after(async () => {
      await stopTheService();
      await readDb?.close();
      await database?.drop();
      await rm(dataDir, { recursive: true, force: true });
    });

    it('rebuilds in place with the service stopped, with plain progress lines, and the rows are those before', async () => {
      const before = await snapshotReadModels(readDb);
      const run = await cli('rebuild');
      assert.equal(run.status, 0, run.stderr);
      // The log: 12 schedules and 12 groups, each with its name reservation.
      assert.match(run.stderr, /^rebuild all: 48\/48 events \(100%\), [\d,]+ events\/s, 0s left$/m);
      assert.match(run.stderr, /rebuilt schedules, machine-groups, .*: 48 events/);
      assert.doesNotMatch(run.stderr, /\r/, 'no terminal control characters in a log');
      assert.deepEqual(await snapshotReadModels(readDb), before);
    });

    it('draws a progress bar on a terminal, and rebuilds one projection blue/green', async () => {
      const before = await snapshotReadModels(readDb);
      const io = terminalIo(env);
      assert.equal(await runCli(['rebuild', '--projection', 'machine-groups', '--blue-green'], io), 0, io.stderr());
      assert.match(io.stderr(), /\r\x1b\[2Krebuild machine-groups \(blue\/green\) \[#{30}\] 100% 48\/48 events .* ev\/s {2}0s left\n/);
      assert.deepEqual(await snapshotReadModels(readDb), before);
    });

    it('refuses an unknown projection, listing the names (exit 2)', async () => {
      const run = await cli('rebuild', '--projection', 'nope');
      assert.equal(run.status, 2);
      assert.match(run.stderr, /unknown projection nope; the projections are schedules, machine-groups, memberships, vm-contexts, executions, jobs/);
      assert.equal((await cli('verify', '--projection', 'nope')).status, 2);
    });

    it('verify: exit 0 when the read models equal a replay, 1 with every drifted row named', async () => {
      const clean = await cli('verify');
      assert.equal(clean.status, 0, clean.stderr + clean.stdout);
      assert.equal(clean.stdout, '');
      assert.match(clean.stderr, /verified \d+ rows of 6 projection\(s\) .*: no drift/);

      const [changed, removed] = (await readDb.knex('replication_schedules').select('id').orderBy('id').limit(2)).map((row: { id: string }) => row.id);
      const originalName: string = (await readDb.knex('replication_schedules').where('id', changed).first()).name;
      await readDb.knex('replication_schedules').where('id', changed).update({ name: 'Tampered', max_concurrent_jobs: 9 });
      const removedRow = await readDb.knex('vm_machine_groups').where('schedule_id', removed).first();
      await readDb.knex('vm_machine_groups').where('id', removedRow.id).delete();
      await readDb.knex('vm_machine_groups').insert({ ...removedRow, id: 'zz-extra-group' });
      const drift = await cli('verify');
      assert.equal(drift.status, 1);
      const lines = drift.stdout.trim().split('\n').sort();
      assert.deepEqual(lines, [
        `differs replication_schedules ${changed} name: live="Tampered" expected="${originalName}" max_concurrent_jobs: live=9 expected=1`,
        `extra vm_machine_groups zz-extra-group`,
        `missing vm_machine_groups ${removedRow.id}`,
      ].sort());
      const json = await cli('verify', '--projection', 'schedules', '--format', 'json');
      assert.equal(json.status, 1);
      assert.deepEqual(JSON.parse(json.stdout.trim()), {
        projection: 'schedules',
        table: 'replication_schedules',
        key: changed,
        kind: 'differs',
        columns: [
          { column: 'name', live: 'Tampered', expected: originalName },
          { column: 'max_concurrent_jobs', live: 9, expected: 1 },
        ],
      });
      // A rebuild repairs it.
      assert.equal((await cli('rebuild')).status, 0);
      assert.equal((await cli('verify')).status, 0);
      for (const table of ['replication_schedules__verify', 'vm_machine_groups__verify']) assert.equal(await readDb.knex.schema.hasTable(table), false);
    });

    it('with the service running: refuses in place, asks the service for --blue-green, and verify finds no drift while it writes', async () => {
      const running = await startTheService();
      await running.app.listen({ host: '127.0.0.1', port: 0 });
      const address = running.app.server.address();
      assert.ok(address !== null && typeof address === 'object');
      const url = `http://127.0.0.1:${address.port}`;

      const refused = await cli('rebuild');
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /the service is running .* Stop it first, or use --blue-green/);

      const api = apiClient(running.app, { token: ADMIN_TOKEN });
      const writing = (async () => {
        for (let index = 0; index < 10; index += 1) await api.post('/schedules', { name: `While verifying ${index}`, cron_expression: '0 3 * * *' });
      })();
      const verified = await cli('verify');
      await writing;
      assert.equal(verified.status, 0, verified.stdout + verified.stderr);

      const delegated = await cli('rebuild', '--blue-green', '--service-url', url);
      assert.equal(delegated.status, 0, delegated.stderr);
      assert.match(delegated.stderr, /the service holds the projection lease; asking it to rebuild/);
      assert.match(delegated.stderr, /rebuilt schedules, .*: \d+ events/);
      assert.equal((await cli('verify')).status, 0);
      await stopTheService();
    });

  });
}
