import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { loadIntegrationConfig } from '../../src/integrations/integration-config.js';
import { allProjections } from '../../src/projections/all-projections.js';
import type { RowProjection } from '../../src/projections/projection.js';
import { startService, type Service } from '../../src/service.js';
import { apiClient, type ApiClient } from '../support/api-client.js';
import { projectionsWithSchedulesVersion2 } from '../projections/upgraded-projections.js';
import { logLength, startTestService, type TestService } from '../support/test-service.js';

const TOKENS = 'alice:viewer:viewer-secret-1,bob:operator:operator-secret-1,carol:admin:admin-secret-1';
const WAIT_MS = 15_000;

/** Polls GET /admin/projections until the rebuild is no longer running; returns the last answer's body. */
async function rebuildOutcome(admin: ApiClient): Promise<Record<string, any>> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const answer = await admin.get('/admin/projections');
    assert.equal(answer.status, 200);
    if (answer.body.rebuild !== null && answer.body.rebuild.status !== 'running') return answer.body;
    if (Date.now() > deadline) assert.fail(`the rebuild did not end: ${JSON.stringify(answer.body.rebuild)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('admin: projections and blue/green rebuild over the API', () => {
  let service: TestService;
  let admin: ApiClient;
  before(async () => {
    service = await startTestService('sqlite', { API_TOKENS: TOKENS });
    admin = apiClient(service.app, { token: 'admin-secret-1' });
    for (let index = 0; index < 20; index += 1) {
      const created = await admin.post('/schedules', { name: `Nightly ${index}`, description: `run ${index}`, cron_expression: '0 1 * * *' });
      assert.equal(created.status, 201);
    }
  });
  after(async () => service?.dispose());

  it('is for admins only', async () => {
    for (const token of ['viewer-secret-1', 'operator-secret-1']) {
      const other = apiClient(service.app, { token });
      assert.equal((await other.get('/admin/projections')).status, 403);
      const refused = await other.post('/admin/projections/rebuild', {});
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error, 'Forbidden');
    }
  });

  it('shows each projection with its version, checkpoint, lag and state', async () => {
    const answer = await admin.get('/admin/projections');
    assert.equal(answer.status, 200);
    assert.deepEqual(
      answer.body.projections.map((projection: { name: string }) => projection.name),
      allProjections.map((projection) => projection.name),
    );
    const schedules = answer.body.projections.find((projection: { name: string }) => projection.name === 'schedules');
    assert.equal(schedules.version, 1);
    assert.equal(schedules.state, 'live');
    assert.equal(schedules.lag_events, 0);
    assert.equal(schedules.lag_seconds, 0);
    assert.equal(schedules.events_applied, 20);
    assert.equal(typeof schedules.position, 'string');
  });

  it('refuses an unknown projection, naming the known ones', async () => {
    const refused = await admin.post('/admin/projections/rebuild', { projection: 'nope' });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'ValidationError');
    assert.match(refused.body.message, /schedules, machine-groups|schedules.*jobs/);
    assert.equal((await admin.post('/admin/projections/rebuild', { projections: ['x'] })).status, 400, 'unknown fields are refused');
  });

  it('answers 202 with a rebuild id, 409 while it runs, and the rebuilt rows are those before', async () => {
    const before = await admin.get('/schedules');
    const [first, second] = await Promise.all([admin.post('/admin/projections/rebuild', {}), admin.post('/admin/projections/rebuild', { projection: 'schedules' })]);
    const answers = [first, second].sort((a, b) => a.status - b.status);
    assert.deepEqual(answers.map((answer) => answer.status), [202, 409]);
    const accepted = answers[0]!.body;
    assert.equal(typeof accepted.rebuild_id, 'string');
    assert.equal(accepted.mode, 'blue_green');
    assert.equal(answers[1]!.body.error, 'Conflict');

    const outcome = await rebuildOutcome(admin);
    assert.equal(outcome.rebuild.rebuild_id, accepted.rebuild_id);
    assert.equal(outcome.rebuild.status, 'done', outcome.rebuild.error);
    assert.equal(outcome.rebuild.events_done, await logLength(service));
    assert.equal(outcome.rebuild.eta_seconds, 0);
    assert.deepEqual(outcome.rebuild.projections, accepted.projections);
    assert.ok(outcome.projections.every((projection: { state: string; rebuilding: boolean }) => projection.state === 'live' && !projection.rebuilding));
    assert.deepEqual((await admin.get('/schedules')).body, before.body);

    // The service goes on from the rebuilt tables.
    const created = await admin.post('/schedules', { name: 'After the rebuild', cron_expression: '0 2 * * *' });
    assert.equal(created.status, 201);
    assert.equal((await admin.get(`/schedules/${created.body.id}`)).status, 200);
    const one = await admin.post('/admin/projections/rebuild', { projection: 'schedules' });
    assert.equal(one.status, 202);
    assert.deepEqual(one.body.projections, ['schedules']);
    assert.equal((await rebuildOutcome(admin)).rebuild.status, 'done');
  });
});

describe('a service started with a new projection version', () => {
  let dataDir: string;
  let running: Service | null = null;
  const start = async (projections: readonly RowProjection[]) => {
    const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    running = await startService(config, { integrationConfig: loadIntegrationConfig({}), ticker: false, processManager: false, projections });
    return running;
  };
  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'admin-version-'));
  });
  after(async () => {
    await running?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('rebuilds that projection blue/green on start and serves its new rows', async () => {
    const first = await start(allProjections);
    const api = apiClient(first.app);
    for (const name of ['alpha', 'beta']) assert.equal((await api.post('/schedules', { name, description: `the ${name} run`, cron_expression: '0 1 * * *' })).status, 201);
    await first.stop();
    running = null;

    // Version 2 of the schedules projection writes descriptions in upper case.
    const second = await start(projectionsWithSchedulesVersion2);
    const outcome = await rebuildOutcome(apiClient(second.app));
    assert.equal(outcome.rebuild.status, 'done', outcome.rebuild.error);
    assert.deepEqual(outcome.rebuild.projections, ['schedules']);
    assert.equal(outcome.rebuild.mode, 'blue_green');
    const listed = await apiClient(second.app).get('/schedules');
    assert.deepEqual(listed.body.schedules.map((schedule: { description: string }) => schedule.description).sort(), ['THE ALPHA RUN', 'THE BETA RUN']);
  });
});
