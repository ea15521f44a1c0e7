/**
 * GET /reports/rpo and /reports/success-rates on the history of report-world.ts,
 * run on every read-model backend (test/api/reports.*.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Answer } from '../support/api-client.js';
import type { Backend } from '../support/test-service.js';
import { NOW, startReportWorld, type ReportWorld } from './report-world.js';

function assertValidationError(answer: Answer, path: string): void {
  assert.equal(answer.status, 400, JSON.stringify(answer.body));
  assert.equal(answer.body.error, 'ValidationError');
  assert.equal(typeof answer.body.message, 'string');
  assert.equal(answer.body.request_id, answer.headers['x-request-id']);
  assert.ok((answer.body.details as Array<{ path: string }> | undefined)?.some((detail) => detail.path === path), `no detail for ${path}: ${JSON.stringify(answer.body)}`);
}

type RpoRow = { vm_name: string; vm_context_id: string; group_name: string | null; last_success_at: string | null; age: string; age_seconds: number | null; last_job_status: string | null };
type RateRow = { id: string | null; name: string | null; jobs_total: number; jobs_completed: number; jobs_failed: number; success_fraction: number | null };

const summary = (rows: RpoRow[]) => rows.map((row) => [row.vm_name, row.age, row.last_job_status]);
const rates = (rows: RateRow[]) => rows.map((row) => [row.name, row.jobs_total, row.jobs_completed, row.jobs_failed, row.success_fraction]);

export function reportApiScenarios(backend: Backend): void {
  describe(`reports API on ${backend}`, () => {
    let world: ReportWorld;

    before(async () => {
      world = await startReportWorld(backend);
    });
    after(async () => world.dispose());

    it('lists every VM by the age of its last successful replication, never-replicated first, as of the service clock', async () => {
      const answer = await world.viewer.get('/reports/rpo');
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.as_of, NOW);
      assert.deepEqual([answer.body.total_count, answer.body.page, answer.body.page_size, answer.body.has_more], [6, 1, 50, false]);
      assert.deepEqual(summary(answer.body.vms), [
        ['lonely', 'never', null],
        ['new-vm', 'never', null],
        ['web-2', 'never', 'pending'],
        ['fin-db', '10h 0m', 'completed'],
        ['fin-app', '9h 50m', 'completed'],
        ['web-1', '45m', 'completed'],
      ]);
      const finDb = answer.body.vms[3];
      assert.deepEqual(finDb, {
        vm_context_id: world.vms.finDb.id,
        vm_name: 'fin-db',
        group_id: world.groups.finance,
        group_name: 'Finance',
        last_successful_job_id: 'job-a2-fin-db',
        last_success_at: '2026-05-20T02:00:00.000Z',
        age_seconds: 36_000,
        age: '10h 0m',
        last_job_status: 'completed',
      });
      const lonely = answer.body.vms[0];
      assert.deepEqual([lonely.group_id, lonely.group_name, lonely.last_success_at, lonely.age_seconds], [null, null, null, null]);
    });

    it('filters by age: over_minutes keeps VMs whose age exceeds it (strictly) and every never-replicated VM', async () => {
      const over600 = await world.viewer.get('/reports/rpo?over_minutes=600');
      assert.deepEqual(over600.body.vms.map((row: RpoRow) => row.vm_name), ['lonely', 'new-vm', 'web-2']);
      assert.equal(over600.body.total_count, 3);
      const over599 = await world.viewer.get('/reports/rpo?over_minutes=599');
      assert.deepEqual(over599.body.vms.map((row: RpoRow) => row.vm_name), ['lonely', 'new-vm', 'web-2', 'fin-db']);
      const over0 = await world.viewer.get('/reports/rpo?over_minutes=0');
      assert.equal(over0.body.total_count, 6);
    });

    it('filters by group and pages like the other lists', async () => {
      const web = await world.viewer.get(`/reports/rpo?group_id=${world.groups.web}`);
      assert.deepEqual(web.body.vms.map((row: RpoRow) => row.vm_name), ['new-vm', 'web-2', 'web-1']);
      const pages = [await world.viewer.get('/reports/rpo?limit=4'), await world.viewer.get('/reports/rpo?limit=4&page=2')];
      assert.deepEqual(
        pages.map((page) => [page.body.vms.length, page.body.total_count, page.body.page, page.body.page_size, page.body.has_more]),
        [
          [4, 6, 1, 4, true],
          [2, 6, 2, 4, false],
        ],
      );
      assert.deepEqual(
        pages.flatMap((page) => page.body.vms.map((row: RpoRow) => row.vm_name)),
        ['lonely', 'new-vm', 'web-2', 'fin-db', 'fin-app', 'web-1'],
      );
      assert.equal((await world.viewer.get('/reports/rpo?group_id=nosuchgroup')).body.total_count, 0);
    });

    it('counts the jobs finished in the last 7 days by the service clock, per schedule, lowest success first', async () => {
      const answer = await world.viewer.get('/reports/success-rates');
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.deepEqual([answer.body.group_by, answer.body.from, answer.body.to], ['schedule', '2026-05-13T12:00:00.000Z', NOW]);
      // A0's failure (05-10) is older than 7 days; web-2's job of B2 has not finished.
      assert.deepEqual(rates(answer.body.rates), [
        ['Hourly', 3, 2, 1, 0.6667],
        ['Nightly', 4, 3, 1, 0.75],
      ]);
      assert.deepEqual(
        answer.body.rates.map((row: RateRow) => row.id),
        [world.schedules.hourly, world.schedules.nightly],
      );
      assert.deepEqual(answer.body.totals, { jobs_total: 7, jobs_completed: 5, jobs_failed: 2, success_fraction: 0.7143 });
      assert.deepEqual([answer.body.total_count, answer.body.page, answer.body.has_more], [2, 1, false]);
    });

    it('counts per group and per VM', async () => {
      const groups = await world.viewer.get('/reports/success-rates?group_by=group');
      assert.deepEqual(rates(groups.body.rates), [
        ['Web', 3, 2, 1, 0.6667],
        ['Finance', 4, 3, 1, 0.75],
      ]);
      const vms = await world.viewer.get('/reports/success-rates?group_by=vm');
      const byName = rates(vms.body.rates);
      assert.deepEqual(byName.slice(0, 2), [
        ['web-2', 1, 0, 1, 0],
        ['fin-app', 2, 1, 1, 0.5],
      ]);
      assert.deepEqual(byName.slice(2).sort(), [
        ['fin-db', 2, 2, 0, 1],
        ['web-1', 2, 2, 0, 1],
      ]);
    });

    it('takes a range [from, to): a job finished at `from` counts, one finished at `to` does not', async () => {
      const answer = await world.viewer.get('/reports/success-rates?from=2026-05-20T02:00:00Z&to=2026-05-20T08:25:00Z');
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.deepEqual([answer.body.from, answer.body.to], ['2026-05-20T02:00:00.000Z', '2026-05-20T08:25:00.000Z']);
      // fin-db at 02:00 (inclusive), fin-app at 02:10, web-1 at 08:20; web-2 failed at 08:25 (exclusive).
      // Equal rates: the one with more jobs first.
      assert.deepEqual(rates(answer.body.rates), [
        ['Nightly', 2, 2, 0, 1],
        ['Hourly', 1, 1, 0, 1],
      ]);
      const old = await world.viewer.get('/reports/success-rates?from=2026-05-01T00:00:00Z&group_by=vm');
      assert.deepEqual(old.body.to, NOW);
      assert.deepEqual(rates(old.body.rates).find((row) => row[0] === 'fin-app'), ['fin-app', 3, 1, 2, 0.3333]);
      const toOnly = await world.viewer.get('/reports/success-rates?to=2026-05-12T00:00:00Z');
      assert.deepEqual([toOnly.body.from, toOnly.body.totals], ['2026-05-05T00:00:00.000Z', { jobs_total: 1, jobs_completed: 0, jobs_failed: 1, success_fraction: 0 }]);
      const empty = await world.viewer.get('/reports/success-rates?from=2026-04-01T00:00:00Z&to=2026-04-02T00:00:00Z');
      assert.deepEqual([empty.body.rates, empty.body.total_count, empty.body.totals.success_fraction], [[], 0, null]);
    });

    it('pages the success rates', async () => {
      const first = await world.viewer.get('/reports/success-rates?group_by=vm&limit=3');
      const second = await world.viewer.get('/reports/success-rates?group_by=vm&limit=3&page=2');
      assert.deepEqual([first.body.rates.length, first.body.total_count, first.body.has_more], [3, 4, true]);
      assert.deepEqual([second.body.rates.length, second.body.has_more], [1, false]);
      assert.equal(new Set([...first.body.rates, ...second.body.rates].map((row: RateRow) => row.id)).size, 4);
    });

    it('refuses bad parameters with 400 in the error shape', async () => {
      const cases: Array<[string, string]> = [
        ['/reports/rpo?over_minutes=-1', 'querystring:/over_minutes'],
        ['/reports/rpo?over_minutes=ten', 'querystring:/over_minutes'],
        ['/reports/rpo?over_minutes=1.5', 'querystring:/over_minutes'],
        ['/reports/rpo?group_id=not%20an%20id', 'querystring:/group_id'],
        ['/reports/rpo?limit=501', 'querystring:/limit'],
        ['/reports/rpo?sort=age', 'querystring:/sort'],
        ['/reports/success-rates?group_by=datacenter', 'querystring:/group_by'],
        ['/reports/success-rates?from=yesterday', 'querystring:/from'],
        ['/reports/success-rates?from=2026-05-01T00:00:00', 'querystring:/from'],
        ['/reports/success-rates?to=2026-02-30T00:00:00Z', 'querystring:/to'],
        ['/reports/success-rates?from=2026-05-02T00:00:00Z&to=2026-05-01T00:00:00Z', 'querystring:/from'],
        ['/reports/success-rates?from=2026-05-01T00:00:00Z&to=2026-05-01T00:00:00Z', 'querystring:/from'],
        ['/reports/success-rates?from=2026-06-01T00:00:00Z', 'querystring:/from'],
        ['/reports/success-rates?page=0', 'querystring:/page'],
      ];
      for (const [url, path] of cases) assertValidationError(await world.viewer.get(url), path);
    });

    it('answers a viewer, and nobody without a token', async () => {
      assert.equal((await world.viewer.get('/reports/rpo')).status, 200);
      assert.equal((await world.viewer.get('/reports/success-rates')).status, 200);
      const anonymous = await world.service.app.inject({ method: 'GET', url: '/api/v1/reports/rpo' });
      assert.equal(anonymous.statusCode, 401);
      assert.equal((JSON.parse(anonymous.body) as { error: string }).error, 'Unauthorized');
    });
  });
}
