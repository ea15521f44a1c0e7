/**
 * Catch-up after downtime, end to end: the service stops, the clock moves on, a new
 * service on the same stores applies each schedule's catchup_policy, records what it
 * drops, and the executions it keeps run.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { streamIds } from '../../src/domain/events.js';
import { harness, type Harness } from '../support/e2e-harness.js';

interface ExecutionSummary {
  scheduled_at: string;
  status: string;
  jobs_created: number;
  jobs_skipped: number;
}

async function executionsOf(h: Harness, scheduleId: string): Promise<ExecutionSummary[]> {
  const answer = await h.api.get(`/schedules/${scheduleId}/executions?limit=500`);
  assert.equal(answer.status, 200);
  return (answer.body.executions as ExecutionSummary[]).sort((a, b) => a.scheduled_at.localeCompare(b.scheduled_at));
}

async function missedRuns(h: Harness, scheduleId: string): Promise<{ count: number; reasons: string[] }> {
  const events = (await h.service.store.readStream(streamIds.schedule(scheduleId))).filter((e) => e.type === 'RunsMissed');
  return { count: events.reduce((sum, e) => sum + Number(e.data.count), 0), reasons: events.map((e) => String(e.data.reason)) };
}

for (const backend of ['sqlite', 'mariadb'] as const) describe(`catch-up after downtime, end to end, on ${backend}`, () => {
  for (const [policy, expected] of [
    // Down from just after 02:00 until 03:05, every 10 minutes: 02:10 .. 03:00 missed (6), all inside the 60-minute window.
    ['latest', { due: ['02:00', '03:00'], missed: 5 }],
    ['all', { due: ['02:00', '02:10', '02:20', '02:30', '02:40', '02:50', '03:00'], missed: 0 }],
    ['skip', { due: ['02:00'], missed: 6 }],
  ] as const) {
    it(`${policy}: runs ${expected.due.length - 1} of the 6 missed due instants and records ${expected.missed} as missed`, async () => {
      const h1 = await harness({ backend, start: '2026-05-01T01:59:50.000Z', vmNames: ['vm-a'] });
      const scheduleId = await h1.createSchedule({ cron_expression: '*/10 * * * *', catchup_policy: policy, catchup_window_minutes: 60, skip_if_running: false, retry_attempts: 0 });
      const groupId = await h1.createGroup(scheduleId);
      await h1.assign(groupId, await h1.registerVm('vm-a'));
      await h1.runUntil(async () => {
        const list = await executionsOf(h1, scheduleId);
        return list.length === 1 && list[0]!.status === 'completed';
      }, 5 * 60_000);
      await h1.stop();

      const h2 = await harness({ backend, start: '2026-05-01T03:05:00.000Z', vmNames: [], fake: h1.fake, dataDir: h1.dataDir, databaseUrl: h1.databaseUrl });
      await h2.runUntil(async () => {
        const list = await executionsOf(h2, scheduleId);
        return list.length === expected.due.length && (await Promise.all(list.map(async (e) => e.status !== 'scheduled' && e.status !== 'running'))).every(Boolean);
      }, 5 * 60_000);
      const list = await executionsOf(h2, scheduleId);
      assert.deepEqual(list.map((e) => e.scheduled_at.slice(11, 16)), expected.due);
      assert.ok(list.every((e) => e.status === 'completed'), JSON.stringify(list));
      const missed = await missedRuns(h2, scheduleId);
      assert.equal(missed.count, expected.missed);
      if (expected.missed > 0) assert.deepEqual(missed.reasons, ['catchup_policy_skip']);
      // Catch-up executions of one schedule start together: a VM already replicating for
      // an earlier one is skipped (active_job), never given a second job.
      const jobs = list.reduce((sum, e) => sum + e.jobs_created, 0);
      assert.equal(h1.fake.replicationPosts().length, jobs, 'one replication call per job created');
      assert.ok(list.every((e) => e.jobs_created + e.jobs_skipped === 1), JSON.stringify(list));
      assert.ok(h1.fake.maxActiveJobs() <= 1, 'never two jobs for one VM');
    });
  }

  it('drops due instants older than the window and counts them', async () => {
    const h1 = await harness({ backend, start: '2026-05-01T01:59:50.000Z', vmNames: ['vm-b'] });
    const scheduleId = await h1.createSchedule({ cron_expression: '*/10 * * * *', catchup_policy: 'all', catchup_window_minutes: 30, skip_if_running: false, retry_attempts: 0 });
    const groupId = await h1.createGroup(scheduleId);
    await h1.assign(groupId, await h1.registerVm('vm-b'));
    await h1.runUntil(async () => (await executionsOf(h1, scheduleId)).some((e) => e.status === 'completed'), 5 * 60_000);
    await h1.stop();
    // Down until 03:05 with a 30-minute window: 02:40, 02:50, 03:00 run; 02:10 .. 02:30 (3) are dropped.
    const h2 = await harness({ backend, start: '2026-05-01T03:05:00.000Z', vmNames: [], fake: h1.fake, dataDir: h1.dataDir, databaseUrl: h1.databaseUrl });
    await h2.runUntil(async () => (await executionsOf(h2, scheduleId)).filter((e) => e.status === 'completed').length === 4, 5 * 60_000);
    assert.deepEqual((await executionsOf(h2, scheduleId)).map((e) => e.scheduled_at.slice(11, 16)), ['02:00', '02:40', '02:50', '03:00']);
    const missed = await missedRuns(h2, scheduleId);
    assert.equal(missed.count, 3);
    assert.deepEqual(missed.reasons, ['outside_catchup_window']);
  });
});
