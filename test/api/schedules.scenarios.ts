/** Schedule API scenarios, run on every read-model backend (see schedules.*.test.ts). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiClient, type ApiClient } from '../support/api-client.js';
import { startTestService, type Backend, type TestService } from '../support/test-service.js';

export function scheduleScenarios(backend: Backend): void {
  describe(`schedules API on ${backend}`, () => {
    let service: TestService;
    let api: ApiClient;
    before(async () => {
      service = await startTestService(backend);
      api = apiClient(service.app);
    });
    after(async () => service.dispose());

    it('creates a schedule with every default and reads it back at once', async () => {
      const created = await api.post('/schedules', { name: 'Nightly full', cron_expression: '0 2 * * *' });
      assert.equal(created.status, 201);
      const { id } = created.body;
      const read = await api.get(`/schedules/${id}`);
      assert.equal(read.status, 200);
      assert.deepEqual(
        {
          name: read.body.name, description: read.body.description, schedule_type: read.body.schedule_type, timezone: read.body.timezone,
          chain_parent_schedule_id: read.body.chain_parent_schedule_id, chain_delay_minutes: read.body.chain_delay_minutes, chain_trigger_on: read.body.chain_trigger_on,
          replication_type: read.body.replication_type, max_concurrent_jobs: read.body.max_concurrent_jobs, retry_attempts: read.body.retry_attempts,
          retry_delay_minutes: read.body.retry_delay_minutes, enabled: read.body.enabled, skip_if_running: read.body.skip_if_running,
          catchup_policy: read.body.catchup_policy, catchup_window_minutes: read.body.catchup_window_minutes, jitter_seconds: read.body.jitter_seconds,
          created_by: read.body.created_by,
        },
        {
          name: 'Nightly full', description: null, schedule_type: 'cron', timezone: 'UTC', chain_parent_schedule_id: null, chain_delay_minutes: 0,
          chain_trigger_on: 'success', replication_type: 'auto', max_concurrent_jobs: 1, retry_attempts: 3, retry_delay_minutes: 30, enabled: true,
          skip_if_running: true, catchup_policy: 'latest', catchup_window_minutes: 60, jitter_seconds: 0, created_by: 'anonymous',
        },
      );
      assert.equal(read.body.next_runs.length, 5);
      assert.match(read.body.next_runs[0].at, /T02:00:00\.000Z$/);
      assert.equal(read.body.next_run_at, read.body.next_runs[0].at);
    });

    it('stores false and 0 exactly as given', async () => {
      const created = await api.post('/schedules', {
        name: 'Zeroes', cron_expression: '*/15 * * * *', enabled: false, skip_if_running: false, retry_attempts: 0, retry_delay_minutes: 0, jitter_seconds: 0,
        catchup_window_minutes: 0, chain_delay_minutes: 0,
      });
      assert.equal(created.status, 201);
      const read = await api.get(`/schedules/${created.body.id}`);
      assert.equal(read.body.enabled, false);
      assert.equal(read.body.skip_if_running, false);
      assert.equal(read.body.retry_attempts, 0);
      assert.equal(read.body.retry_delay_minutes, 0);
      assert.equal(read.body.catchup_window_minutes, 0);
      assert.deepEqual(read.body.next_runs, [], 'a disabled schedule has no next runs');
      assert.equal(read.body.next_run_at, null);
    });

    it('keeps names unique case-insensitively, and a rename frees the old name', async () => {
      const first = await api.post('/schedules', { name: 'Weekly', cron_expression: '0 3 * * 0' });
      assert.equal(first.status, 201);
      const clash = await api.post('/schedules', { name: '  weekly ', cron_expression: '0 4 * * 0' });
      assert.equal(clash.status, 409);
      assert.equal(clash.body.error, 'Conflict');
      const renamed = await api.patch(`/schedules/${first.body.id}`, { name: 'Weekly (renamed)' });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.name, 'Weekly (renamed)');
      const reuse = await api.post('/schedules', { name: 'WEEKLY', cron_expression: '0 4 * * 0' });
      assert.equal(reuse.status, 201, 'the old name is free again');
      const taken = await api.put(`/schedules/${reuse.body.id}`, { name: 'weekly (RENAMED)' });
      assert.equal(taken.status, 409);
    });

    it('refuses invalid cron expressions and zones, naming the field', async () => {
      for (const cron of ['0 2 * *', '0 0 2 * * * *', '61 * * * *', 'every day']) {
        const answer = await api.post('/schedules', { name: `bad cron ${cron}`, cron_expression: cron });
        assert.equal(answer.status, 400, cron);
        assert.ok(answer.body.details.some((d: { path: string }) => d.path === '/cron_expression'), cron);
      }
      const zone = await api.post('/schedules', { name: 'bad zone', cron_expression: '0 2 * * *', timezone: 'Mars/Olympus' });
      assert.equal(zone.status, 400);
      assert.ok(zone.body.details.some((d: { path: string }) => d.path === '/timezone'));
      const sixFields = await api.post('/schedules', { name: 'six fields', cron_expression: '30 0 2 * * *', timezone: 'America/New_York' });
      assert.equal(sixFields.status, 201);
      assert.match(sixFields.body.next_runs[0].local_time, /T02:00:30/);
      const list = await api.get('/schedules');
      assert.ok(!list.body.schedules.some((s: { name: string }) => s.name.startsWith('bad')), 'refused schedules left nothing behind');
      const freed = await api.post('/schedules', { name: 'bad zone', cron_expression: '0 2 * * *' });
      assert.equal(freed.status, 201, 'a refused create did not keep its name');
    });

    it('checks chains: parent required and existing, no cycles', async () => {
      const root = await api.post('/schedules', { name: 'Chain root', cron_expression: '0 1 * * *' });
      const noParent = await api.post('/schedules', { name: 'Orphan', schedule_type: 'chain' });
      assert.equal(noParent.status, 400);
      const unknownParent = await api.post('/schedules', { name: 'Orphan', schedule_type: 'chain', chain_parent_schedule_id: 'nosuchschedule' });
      assert.equal(unknownParent.status, 400);
      const child = await api.post('/schedules', { name: 'Chain child', schedule_type: 'chain', chain_parent_schedule_id: root.body.id, chain_delay_minutes: 15, chain_trigger_on: 'completion' });
      assert.equal(child.status, 201);
      assert.equal(child.body.cron_expression, null);
      assert.deepEqual(child.body.next_runs, []);
      const grandchild = await api.post('/schedules', { name: 'Chain grandchild', schedule_type: 'chain', chain_parent_schedule_id: child.body.id });
      assert.equal(grandchild.status, 201);
      const cycle = await api.patch(`/schedules/${root.body.id}`, { schedule_type: 'chain', cron_expression: null, chain_parent_schedule_id: grandchild.body.id });
      assert.equal(cycle.status, 409);
      assert.equal(cycle.body.error, 'Conflict');
      const rootAfter = await api.get(`/schedules/${root.body.id}`);
      assert.equal(rootAfter.body.schedule_type, 'cron', 'the refused update changed nothing');
      const deleteParent = await api.delete(`/schedules/${root.body.id}`);
      assert.equal(deleteParent.status, 409);
      assert.match(deleteParent.body.message, new RegExp(child.body.id));
      const detached = await api.patch(`/schedules/${grandchild.body.id}`, { name: 'Standalone now', schedule_type: 'cron', cron_expression: '0 4 * * *', chain_parent_schedule_id: null });
      assert.equal(detached.status, 200, JSON.stringify(detached.body));
      assert.deepEqual([detached.body.schedule_type, detached.body.chain_parent_schedule_id, detached.body.next_runs.length], ['cron', null, 5]);
    });

    it('refuses to delete a schedule a group uses, naming the group; deletes it once free', async () => {
      const schedule = await api.post('/schedules', { name: 'Referenced', cron_expression: '0 5 * * *' });
      const group = await api.post('/machine-groups', { name: 'Uses referenced', schedule_id: schedule.body.id });
      assert.equal(group.status, 201);
      const refused = await api.delete(`/schedules/${schedule.body.id}`);
      assert.equal(refused.status, 409);
      assert.match(refused.body.message, new RegExp(group.body.id));
      assert.equal((await api.patch(`/machine-groups/${group.body.id}`, { schedule_id: null })).status, 200);
      const deleted = await api.delete(`/schedules/${schedule.body.id}`);
      assert.deepEqual([deleted.status, deleted.body], [200, { id: schedule.body.id, deleted: true }]);
      assert.equal((await api.get(`/schedules/${schedule.body.id}`)).status, 404);
      assert.equal((await api.delete(`/schedules/${schedule.body.id}`)).status, 404);
      assert.equal((await api.post('/schedules', { name: 'referenced', cron_expression: '0 5 * * *' })).status, 201, 'a deleted schedule frees its name');
    });

    it('enables and disables, lists with counts, and filters enabled_only', async () => {
      const created = await api.post('/schedules', { name: 'Toggle me', cron_expression: '0 6 * * *' });
      const off = await api.post(`/schedules/${created.body.id}/enable`, { enabled: false });
      assert.equal(off.status, 200);
      assert.equal(off.body.enabled, false);
      const all = await api.get('/schedules');
      const enabledOnly = await api.get('/schedules?enabled_only=true');
      assert.equal(all.body.total_count, all.body.schedules.length);
      assert.equal(all.body.enabled_count + all.body.disabled_count, all.body.total_count);
      assert.ok(enabledOnly.body.schedules.every((s: { enabled: boolean }) => s.enabled));
      assert.ok(!enabledOnly.body.schedules.some((s: { id: string }) => s.id === created.body.id));
      const on = await api.post(`/schedules/${created.body.id}/enable`, { enabled: true });
      assert.equal(on.body.enabled, true);
      assert.equal(on.body.next_runs.length, 5);
    });

    it('answers next runs and previews in the schedule zone, across DST', async () => {
      const created = await api.post('/schedules', { name: 'London 01:30', cron_expression: '30 1 * * *', timezone: 'Europe/London' });
      const runs = await api.get(`/schedules/${created.body.id}/next-runs?count=20`);
      assert.equal(runs.status, 200);
      assert.equal(runs.body.timezone, 'Europe/London');
      assert.equal(runs.body.runs.length, 20);
      for (const run of runs.body.runs) assert.match(run.local_time, /T01:30:00[+-]\d\d:\d\d$/);
      const preview = await api.post('/schedules/preview', { cron_expression: '*/30 * * * *', timezone: 'Europe/London', count: 3 });
      assert.equal(preview.status, 200);
      assert.equal(preview.body.runs.length, 3);
      assert.equal(typeof preview.body.description, 'string');
      const badPreview = await api.post('/schedules/preview', { cron_expression: '* * *', timezone: 'Nowhere/City' });
      assert.equal(badPreview.status, 400);
      assert.deepEqual(badPreview.body.details.map((d: { path: string }) => d.path).sort(), ['/cron_expression', '/timezone']);
    });

    it('keeps the history of a schedule with who changed what', async () => {
      const created = await api.post('/schedules', { name: 'Audited', cron_expression: '0 7 * * *' }, { 'x-request-id': 'req-audit-1' });
      await api.patch(`/schedules/${created.body.id}`, { max_concurrent_jobs: 4 });
      await api.post(`/schedules/${created.body.id}/enable`, { enabled: false });
      const history = await api.get(`/schedules/${created.body.id}/history`);
      assert.equal(history.status, 200);
      assert.deepEqual(history.body.events.map((e: { type: string }) => e.type), ['ScheduleCreated', 'ScheduleUpdated', 'ScheduleDisabled']);
      const [first, second] = history.body.events;
      assert.equal(first.revision, 0);
      assert.equal(first.metadata.actor, 'anonymous');
      assert.equal(first.metadata.source, 'api');
      assert.equal(first.metadata.request_id, 'req-audit-1');
      assert.deepEqual(second.data.changes, { max_concurrent_jobs: 4 });
      const later = await api.get(`/schedules/${created.body.id}/history?after_position=${encodeURIComponent(first.position)}&limit=1`);
      assert.deepEqual(later.body.events.map((e: { type: string }) => e.type), ['ScheduleUpdated']);
      assert.equal(later.body.has_more, true);
      assert.equal((await api.get('/schedules/nosuchschedule/history')).status, 404);
    });
  });
}
