/** `npm run cli -- export` on the history of report-world.ts, on every read-model backend (test/cli/export.*.test.ts). */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportRows } from '../../src/reports/export-rows.js';
import type { Backend } from '../support/test-service.js';
import { csvObjects, runCliOn } from './cli-run.js';
import { AWKWARD_ERROR, AWKWARD_REASON, startReportWorld, type ReportWorld } from './report-world.js';

const EXECUTION_HEADER = [
  'id',
  'schedule_id',
  'group_id',
  'status',
  'scheduled_at',
  'started_at',
  'completed_at',
  'triggered_by',
  'vms_eligible',
  'jobs_created',
  'jobs_completed',
  'jobs_failed',
  'jobs_skipped',
  'execution_duration_seconds',
  'error_message',
  'error_details',
  'execution_details',
  'created_at',
];

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function exportCliScenarios(backend: Backend): void {
  describe(`CLI export on ${backend}`, () => {
    let world: ReportWorld;
    let scratch: string;

    before(async () => {
      world = await startReportWorld(backend);
      scratch = await mkdtemp(join(tmpdir(), 'export-test-'));
    });
    after(async () => {
      await world.dispose();
      await rm(scratch, { recursive: true, force: true });
    });

    it('writes executions due in [from, to) as CSV that parses back to what the API shows', async () => {
      const run = await runCliOn(world.service, ['export', 'executions', '--from', '2026-05-19T01:00:00Z', '--to', '2026-05-20T08:00:00Z']);
      assert.equal(run.status, 0, run.err);
      assert.match(run.err, /exported 2 executions/);
      const { header, rows } = csvObjects(run.out);
      assert.deepEqual(header, EXECUTION_HEADER);
      // A1 is due exactly at --from (inclusive), B1 exactly at --to (exclusive).
      assert.deepEqual(
        rows.map((row) => [row.id, row.scheduled_at, row.status]),
        [
          [world.executions.a1, '2026-05-19T01:00:00.000Z', 'failed'],
          [world.executions.a2, '2026-05-20T01:00:00.000Z', 'completed'],
        ],
      );
      const a1 = rows[0]!;
      const shown = (await world.viewer.get(`/executions/${world.executions.a1}`)).body;
      assert.ok(a1.error_message!.includes(AWKWARD_ERROR), a1.error_message);
      assert.equal(a1.error_message, shown.error_message);
      assert.deepEqual([a1.schedule_id, a1.jobs_created, a1.jobs_completed, a1.jobs_failed, a1.group_id], [world.schedules.nightly, '2', '1', '1', '']);
      assert.equal(a1.completed_at, shown.completed_at);
      for (const column of ['scheduled_at', 'started_at', 'completed_at', 'created_at']) assert.match(a1[column]!, ISO, column);
      const details = JSON.parse(a1.execution_details!) as { reason: string; vms: Array<{ vm_name: string; job_ids: string[] }> };
      assert.equal(details.reason, AWKWARD_REASON);
      assert.deepEqual(
        details.vms.map((vm) => [vm.vm_name, vm.job_ids]),
        [
          ['fin-db', ['job-a1-fin-db']],
          ['fin-app', ['job-a1-fin-app']],
        ],
      );
      // The quoting itself: the error's quotes doubled inside a quoted field.
      assert.ok(run.out.includes('disk ""sdb"" full, 0 bytes left\nretry after cleanup'));
    });

    it('writes jobs started in [from, to) as JSON lines with their schedule and group', async () => {
      const run = await runCliOn(world.service, ['export', 'jobs', '--from', '2026-05-19T01:00:05Z', '--to', '2026-05-20T08:00:06Z', '--format', 'json']);
      assert.equal(run.status, 0, run.err);
      const lines = run.out.split('\n');
      assert.equal(lines.pop(), '');
      const jobs = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      // The two jobs of A1 started at the same instant: ordered by id. web-2's B1 job started at --to.
      assert.deepEqual(
        jobs.map((job) => [job.id, job.started_at, job.status]),
        [
          ['job-a1-fin-app', '2026-05-19T01:00:05.000Z', 'failed'],
          ['job-a1-fin-db', '2026-05-19T01:00:05.000Z', 'completed'],
          ['job-a2-fin-db', '2026-05-20T01:00:05.000Z', 'completed'],
          ['job-a2-fin-app', '2026-05-20T01:00:06.000Z', 'completed'],
          ['job-b1-web-1', '2026-05-20T08:00:05.000Z', 'completed'],
        ],
      );
      assert.deepEqual(jobs[0], {
        id: 'job-a1-fin-app',
        vm_context_id: world.vms.finApp.id,
        schedule_execution_id: world.executions.a1,
        schedule_id: world.schedules.nightly,
        vm_group_id: world.groups.finance,
        attempt: 1,
        status: 'failed',
        progress_percent: 0,
        error_message: AWKWARD_ERROR,
        phantom_reason: null,
        started_at: '2026-05-19T01:00:05.000Z',
        updated_at: '2026-05-19T01:40:00.000Z',
        completed_at: '2026-05-19T01:40:00.000Z',
      });
      assert.deepEqual([jobs[4]!.schedule_id, jobs[4]!.vm_group_id], [world.schedules.hourly, world.groups.web]);
    });

    it('embeds execution_details as JSON in JSON lines', async () => {
      const run = await runCliOn(world.service, ['export', 'executions', '--from', '2026-05-01T00:00:00Z', '--to', '2026-06-01T00:00:00Z', '--format', 'json']);
      assert.equal(run.status, 0, run.err);
      const executions = run.out.trimEnd().split('\n').map((line) => JSON.parse(line) as { id: string; execution_details: { reason: string | null; vms: unknown[] } });
      assert.deepEqual(
        executions.map((e) => e.id),
        [world.executions.a0, world.executions.a1, world.executions.a2, world.executions.b1, world.executions.b2],
      );
      assert.equal(executions[1]!.execution_details.reason, AWKWARD_REASON);
      assert.equal(executions[4]!.execution_details.vms.length, 2);
    });

    it('writes to --output, the same as to standard output, every job once', async () => {
      const file = join(scratch, 'jobs.csv');
      const range = ['--from', '2026-05-01T00:00:00Z', '--to', '2026-06-01T00:00:00+02:00'];
      const toFile = await runCliOn(world.service, ['export', 'jobs', ...range, '--output', file]);
      assert.equal(toFile.status, 0, toFile.err);
      assert.equal(toFile.out, '');
      const written = await readFile(file, 'utf8');
      assert.equal(written, (await runCliOn(world.service, ['export', 'jobs', ...range])).out);
      const { rows } = csvObjects(written);
      const listed = await world.viewer.get('/jobs?limit=500');
      assert.deepEqual(rows.map((row) => row.id).sort(), listed.body.jobs.map((job: { id: string }) => job.id).sort());
      assert.equal(rows.length, 9);
      assert.deepEqual(
        rows.filter((row) => row.completed_at === '').map((row) => [row.id, row.status]),
        [['job-b2-web-2', 'pending']],
      );
    });

    it('reads one row at a time and frees its connection when the reader stops early', async () => {
      const range = { from: new Date('2026-05-01T00:00:00Z'), to: new Date('2026-06-01T00:00:00Z') };
      const { knex, kind } = world.service.readDb;
      for (let round = 0; round < 12; round += 1) {
        const taken: unknown[] = [];
        for await (const row of exportRows(knex, kind, 'jobs', range)) {
          taken.push(row.id);
          if (taken.length === 2) break;
        }
        assert.deepEqual(taken, ['job-a0-fin-app', 'job-a1-fin-app']);
      }
      // More rounds than the pool has connections: each was given back, reads still answer.
      assert.equal((await world.viewer.get('/jobs?limit=500')).body.total_count, 9);
      const all: unknown[] = [];
      for await (const row of exportRows(knex, kind, 'executions', range)) all.push(row.id);
      assert.equal(all.length, 5);
    });

    it('refuses a bad command line with exit status 2 and writes no rows', async () => {
      const ok = ['--from', '2026-05-01T00:00:00Z', '--to', '2026-06-01T00:00:00Z'];
      const cases: Array<[string[], RegExp]> = [
        [['export', 'executions', '--from', 'yesterday', '--to', '2026-06-01T00:00:00Z'], /--from: not an ISO-8601 instant/],
        [['export', 'executions', '--from', '2026-05-01T00:00:00', '--to', '2026-06-01T00:00:00Z'], /--from: not an ISO-8601 instant/],
        [['export', 'executions', '--from', '2026-05-01T00:00:00Z', '--to', '2026-02-30T00:00:00Z'], /--to: not an ISO-8601 instant/],
        [['export', 'executions', '--from', '2026-05-01T00:00:00Z'], /--from and --to are required/],
        [['export', 'executions', '--from', '2026-06-01T00:00:00Z', '--to', '2026-05-01T00:00:00Z'], /--from must be before --to/],
        [['export', 'executions', ...ok, '--format', 'xml'], /--format must be csv or json/],
        [['export', 'vms', ...ok], /executions or jobs/],
        [['export', ...ok], /executions or jobs/],
        [['export', 'jobs', ...ok, '--since', 'x'], /Unknown option '--since'/],
        [['export', 'jobs', ...ok, '--output', join(scratch, 'no-such-dir', 'x.csv')], /--output: cannot write/],
      ];
      for (const [args, message] of cases) {
        const run = await runCliOn(world.service, args);
        assert.equal(run.status, 2, `${args.join(' ')}: ${run.err}`);
        assert.equal(run.out, '', args.join(' '));
        assert.match(run.err, message, args.join(' '));
      }
      const help = await runCliOn(world.service, ['export', '--help']);
      assert.equal(help.status, 0);
      assert.match(help.out, /JSON lines, one object per row/);
      assert.match(help.out, /--from inclusive, --to exclusive/);
    });
  });
}
