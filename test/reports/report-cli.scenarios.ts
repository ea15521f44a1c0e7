/** `npm run cli -- report` on the history of report-world.ts, on every read-model backend (test/cli/report.*.test.ts). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Backend } from '../support/test-service.js';
import { runCliOn } from './cli-run.js';
import { NOW, startReportWorld, type ReportWorld } from './report-world.js';

/** A table's lines as their cells (cells are separated by two or more spaces). */
function cells(table: string): string[][] {
  return table
    .trimEnd()
    .split('\n')
    .map((line) => line.split(/ {2,}/));
}

export function reportCliScenarios(backend: Backend): void {
  describe(`CLI report on ${backend}`, () => {
    let world: ReportWorld;

    before(async () => {
      world = await startReportWorld(backend);
    });
    after(async () => world.dispose());

    it('prints the RPO table worst first, never-replicated VMs as "never"', async () => {
      const run = await runCliOn(world.service, ['report', 'rpo', '--as-of', NOW]);
      assert.equal(run.status, 0, run.err);
      const [header, ...rows] = cells(run.out);
      assert.deepEqual(header, ['VM', 'CONTEXT ID', 'GROUP', 'LAST SUCCESS', 'AGE', 'LAST JOB']);
      assert.deepEqual(rows, [
        ['lonely', world.vms.lonely.id, '-', 'never', 'never', '-'],
        ['new-vm', world.vms.newVm.id, 'Web', 'never', 'never', '-'],
        ['web-2', world.vms.web2.id, 'Web', 'never', 'never', 'pending'],
        ['fin-db', world.vms.finDb.id, 'Finance', '2026-05-20T02:00:00.000Z', '10h 0m', 'completed'],
        ['fin-app', world.vms.finApp.id, 'Finance', '2026-05-20T02:10:00.000Z', '9h 50m', 'completed'],
        ['web-1', world.vms.web1.id, 'Web', '2026-05-20T11:15:00.000Z', '45m', 'completed'],
      ]);
    });

    it('filters with --over and --group, and answers JSON lines with --format json', async () => {
      const over = await runCliOn(world.service, ['report', 'rpo', '--as-of', NOW, '--over', '599', '--format', 'json']);
      assert.equal(over.status, 0, over.err);
      const entries = over.out.trimEnd().split('\n').map((line) => JSON.parse(line) as { vm_name: string; age: string; age_seconds: number | null });
      assert.deepEqual(
        entries.map((e) => [e.vm_name, e.age, e.age_seconds]),
        [
          ['lonely', 'never', null],
          ['new-vm', 'never', null],
          ['web-2', 'never', null],
          ['fin-db', '10h 0m', 36_000],
        ],
      );
      const finance = await runCliOn(world.service, ['report', 'rpo', '--as-of', NOW, '--group', world.groups.finance]);
      assert.deepEqual(
        cells(finance.out)
          .slice(1)
          .map((row) => row[0]),
        ['fin-db', 'fin-app'],
      );
      // The same entries as the API's.
      const api = await world.viewer.get('/reports/rpo?over_minutes=599');
      assert.deepEqual(entries, api.body.vms);
    });

    it('prints success rates per group over the 7 days before --as-of', async () => {
      const run = await runCliOn(world.service, ['report', 'success-rates', '--by', 'group', '--as-of', NOW]);
      assert.equal(run.status, 0, run.err);
      const [title, header, ...rows] = cells(run.out);
      assert.deepEqual(title, ['jobs finished from 2026-05-13T12:00:00.000Z (inclusive) to 2026-05-20T12:00:00.000Z (exclusive), by group']);
      assert.deepEqual(header, ['GROUP', 'ID', 'TOTAL', 'COMPLETED', 'FAILED', 'SUCCESS']);
      assert.deepEqual(rows, [
        ['Web', world.groups.web, '3', '2', '1', '66.7%'],
        ['Finance', world.groups.finance, '4', '3', '1', '75.0%'],
      ]);
      const json = await runCliOn(world.service, ['report', 'success-rates', '--from', '2026-05-01T00:00:00Z', '--to', NOW, '--format', 'json']);
      assert.deepEqual(
        json.out
          .trimEnd()
          .split('\n')
          .map((line) => JSON.parse(line) as { name: string; jobs_total: number; success_fraction: number }),
        [
          { id: world.schedules.nightly, name: 'Nightly', jobs_total: 5, jobs_completed: 3, jobs_failed: 2, success_fraction: 0.6 },
          { id: world.schedules.hourly, name: 'Hourly', jobs_total: 3, jobs_completed: 2, jobs_failed: 1, success_fraction: 0.6667 },
        ],
      );
    });

    it('refuses a bad command line with exit status 2', async () => {
      const cases: Array<[string[], RegExp]> = [
        [['report'], /rpo or success-rates/],
        [['report', 'uptime'], /unknown report: uptime/],
        [['report', 'rpo', '--over', 'ten'], /--over: a whole number of minutes/],
        [['report', 'rpo', '--over', '-5'], /--over/],
        [['report', 'rpo', '--from', NOW], /--from does not apply to report rpo/],
        [['report', 'rpo', '--as-of', 'now'], /--as-of: not an ISO-8601 instant/],
        [['report', 'rpo', '--format', 'csv'], /--format must be table or json/],
        [['report', 'success-rates', '--by', 'datacenter'], /--by must be schedule, group, vm/],
        [['report', 'success-rates', '--from', '2026-05-20T00:00:00Z', '--to', '2026-05-19T00:00:00Z'], /--from must be before --to/],
        [['report', 'success-rates', '--over', '5'], /--over does not apply/],
      ];
      for (const [args, message] of cases) {
        const run = await runCliOn(world.service, args);
        assert.equal(run.status, 2, `${args.join(' ')}: ${run.err}`);
        assert.equal(run.out, '', args.join(' '));
        assert.match(run.err, message, args.join(' '));
      }
    });
  });
}
