/**
 * The execution process manager end to end: the whole service in-process (ticker
 * and process manager on a manual clock) against the fake VMA/OMA over real HTTP.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { streamIds } from '../../src/domain/events.js';
import { executionDetails } from '../../src/domain/execution.js';
import { executionIdFor } from '../../src/domain/execution-ids.js';
import { openReadModelDb } from '../../src/projections/read-model-db.js';
import { ended, harness, POLL_SECONDS, VCENTER } from '../support/e2e-harness.js';
import { driveUntil } from '../support/manual-clock.js';

for (const backend of ['sqlite', 'mariadb', 'esdb'] as const) describe(`execution process manager, end to end, on ${backend}`, () => {
  it('runs a cron execution: one job, three skips with their conflict types, true counters', async () => {
    const h = await harness({
      backend,
      start: '2026-05-01T01:59:30.000Z',
      vmNames: ['web-1', 'web-2', 'web-3', 'web-4'],
      scripts: { 'web-4': { activeJobConflict: true } },
    });
    const scheduleId = await h.createSchedule({ max_concurrent_jobs: 5, retry_attempts: 0 });
    const groupId = await h.createGroup(scheduleId);
    const ids: Record<string, string> = {};
    for (const [i, name] of ['web-1', 'web-2', 'web-3', 'web-4'].entries()) {
      ids[name] = await h.registerVm(name);
      await h.assign(groupId, ids[name]!, { priority: i });
    }
    assert.equal((await h.api.post(`/vm-contexts/${ids['web-2']}/status`, { status: 'failed_over_test' })).status, 200);
    assert.equal((await h.api.post(`/vm-contexts/${ids['web-3']}/scheduler`, { enabled: false })).status, 200);

    const executionId = executionIdFor(scheduleId, '2026-05-01T02:00:00.000Z');
    await h.runUntil(async () => ended(await h.execution(executionId)), 5 * 60_000);

    const state = await h.execution(executionId);
    assert.ok(state.status !== 'absent');
    assert.equal(state.status, 'completed');
    assert.equal(state.trigger, 'cron');
    assert.equal(state.scheduled_at, '2026-05-01T02:00:00.000Z');
    assert.equal(h.fake.jobs().length, 1, 'one job created at the fake OMA');
    assert.equal(h.fake.jobs()[0]?.vmName, 'web-1');
    const byName = new Map(executionDetails(state).map((d) => [d.vm_name, d]));
    assert.equal(byName.get('web-1')?.outcome, 'completed');
    assert.deepEqual([byName.get('web-2')?.outcome, byName.get('web-2')?.conflict_type], ['skipped', 'vm_in_failover']);
    assert.deepEqual([byName.get('web-3')?.outcome, byName.get('web-3')?.conflict_type], ['skipped', 'vm_disabled']);
    assert.deepEqual([byName.get('web-4')?.outcome, byName.get('web-4')?.conflict_type], ['skipped', 'active_job']);
    assert.deepEqual(
      {
        vms_eligible: state.ended?.vms_eligible,
        jobs_created: state.ended?.jobs_created,
        jobs_completed: state.ended?.jobs_completed,
        jobs_failed: state.ended?.jobs_failed,
        jobs_skipped: state.ended?.jobs_skipped,
      },
      // web-1 and web-4 passed the checks; the OMA's 409 made web-4 a skip.
      { vms_eligible: 2, jobs_created: 1, jobs_completed: 1, jobs_failed: 0, jobs_skipped: 3 },
    );

    // The OMA call's field mapping (spec/integrations.md).
    const post = h.fake.replicationPosts().find((p) => (p.body as { source_vm: { name: string } }).source_vm.name === 'web-1');
    const body = post?.body as Record<string, unknown>;
    assert.equal(post?.authorization, `Bearer ${h.fake.token}`);
    assert.equal(body.ossea_config_id, 7);
    assert.equal(body.schedule_execution_id, executionId);
    assert.equal(body.vm_group_id, groupId);
    assert.equal(body.scheduled_by, 'scheduler-service');
    assert.equal(body.vcenter_host, VCENTER);
    assert.equal('replication_type' in body, false, 'auto leaves replication_type out');
    const discovery = h.fake.discoveries()[0]?.body as Record<string, unknown>;
    assert.deepEqual([discovery.vcenter, discovery.username, discovery.password, discovery.datacenter], [VCENTER, 'svc', 'secret-pw', 'DC1']);

    // The read model follows.
    await h.service.projections.waitForPosition((await h.service.store.headPosition())!, 5000);
    const read = await h.api.get(`/executions/${executionId}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.status, 'completed');
    assert.equal(read.body.jobs_created, 1);
  });

  it('never runs more than the group allows: 20 VMs, max_concurrent_vms 3, all done', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `db-${String(i + 1).padStart(2, '0')}`);
    const h = await harness({ backend, start: '2026-05-01T10:00:00.000Z', vmNames: names });
    const scheduleId = await h.createSchedule({ max_concurrent_jobs: 10, retry_attempts: 0, replication_type: 'incremental' });
    const groupId = await h.createGroup(scheduleId, { max_concurrent_vms: 3 });
    for (const name of names) await h.assign(groupId, await h.registerVm(name));

    const trigger = await h.api.post(`/schedules/${scheduleId}/trigger`, { reason: 'e2e' });
    assert.equal(trigger.status, 202, JSON.stringify(trigger.body));
    const executionId = String(trigger.body.execution_id);
    await h.runUntil(async () => ended(await h.execution(executionId)), 30 * 60_000, 5000);

    const state = await h.execution(executionId);
    assert.ok(state.status !== 'absent');
    assert.equal(state.status, 'completed');
    assert.ok(h.fake.maxActiveJobs() <= 3, `the fake saw ${h.fake.maxActiveJobs()} active at once`);
    assert.equal(h.fake.maxActiveJobs(), 3);
    assert.equal(h.fake.jobs().length, 20);
    assert.ok(h.fake.jobs().every((job) => job.status === 'completed'));
    assert.equal(state.ended?.jobs_completed, 20);
    assert.equal(state.triggered_by, 'manual:anonymous');
    assert.ok(h.fake.replicationPosts().every((p) => (p.body as Record<string, unknown>).replication_type === 'incremental'));
  });

  it('retries a failed VM after retry_delay_minutes, then completes', async () => {
    const h = await harness({ backend, start: '2026-05-01T10:00:00.000Z', vmNames: ['app-1'], scripts: { 'app-1': { failFirstAttempts: 1 } } });
    const scheduleId = await h.createSchedule({ retry_attempts: 2, retry_delay_minutes: 5 });
    const groupId = await h.createGroup(scheduleId);
    await h.assign(groupId, await h.registerVm('app-1'));
    const trigger = await h.api.post(`/schedules/${scheduleId}/trigger`, {});
    const executionId = String(trigger.body.execution_id);

    // The first attempt fails within two polls; the retry waits 5 minutes.
    await h.runUntil(async () => {
      const s = await h.execution(executionId);
      return s.status !== 'absent' && s.vms.some((v) => v.phase === 'waiting_retry');
    }, 5 * 60_000);
    const waiting = await h.execution(executionId);
    assert.ok(waiting.status !== 'absent');
    const retryAt = Date.parse(waiting.vms.at(0)!.retry_at!);
    assert.equal(h.fake.replicationPosts().length, 1);
    await driveUntil(h.clock, [h.service.ticker!, h.service.processManager!], retryAt - 1000);
    assert.equal(h.fake.replicationPosts().length, 1, 'no retry before retry_at');

    await h.runUntil(async () => ended(await h.execution(executionId)), 10 * 60_000);
    const state = await h.execution(executionId);
    assert.ok(state.status !== 'absent');
    assert.equal(state.status, 'completed');
    assert.equal(h.fake.replicationPosts().length, 2);
    assert.ok(h.fake.replicationPosts()[1]!.receivedAt >= h.fake.replicationPosts()[0]!.receivedAt);
    assert.deepEqual([state.ended?.jobs_created, state.ended?.jobs_completed, state.ended?.jobs_failed], [2, 1, 0]);
    const detail = executionDetails(state)[0]!;
    assert.equal(detail.attempts, 2);
    assert.equal(detail.job_ids.length, 2);
  });

  it('runs a manual trigger restricted to one group; a chain child follows the completed parent', async () => {
    const h = await harness({ backend, start: '2026-05-01T10:00:00.000Z', vmNames: ['a-1', 'a-2', 'b-1', 'c-1'] });
    const scheduleId = await h.createSchedule({ max_concurrent_jobs: 5 });
    const groupA = await h.createGroup(scheduleId, { priority: 1 });
    const groupB = await h.createGroup(scheduleId, { priority: 0 });
    await h.assign(groupA, await h.registerVm('a-1'), { priority: 1 });
    await h.assign(groupA, await h.registerVm('a-2'), { priority: 2 });
    await h.assign(groupB, await h.registerVm('b-1'));
    const childId = await h.createSchedule({ schedule_type: 'chain', cron_expression: undefined, chain_parent_schedule_id: scheduleId, chain_delay_minutes: 2 });
    const childGroup = await h.createGroup(childId);
    await h.assign(childGroup, await h.registerVm('c-1'));

    const trigger = await h.api.post(`/schedules/${scheduleId}/trigger`, { group_id: groupA, reason: 'only A' });
    assert.equal(trigger.status, 202, JSON.stringify(trigger.body));
    const executionId = String(trigger.body.execution_id);
    await h.runUntil(async () => ended(await h.execution(executionId)), 5 * 60_000);
    const parent = await h.execution(executionId);
    assert.ok(parent.status !== 'absent');
    assert.equal(parent.status, 'completed');
    assert.deepEqual(parent.vms.map((v) => v.vm_name), ['a-1', 'a-2']);
    assert.equal(parent.reason, 'only A');

    // The chain child becomes due 2 minutes after the parent's completion, and runs.
    await h.runUntil(async () => h.fake.jobs().some((j) => j.vmName === 'c-1' && j.status === 'completed'), 10 * 60_000);
    const sent = h.fake.jobs().map((j) => j.vmName).sort();
    assert.deepEqual(sent, ['a-1', 'a-2', 'c-1']);
    const childCreate = h.fake.replicationPosts().find((p) => (p.body as { source_vm: { name: string } }).source_vm.name === 'c-1')!;
    const childExecutionId = String((childCreate.body as Record<string, unknown>).schedule_execution_id);
    await h.runUntil(async () => ended(await h.execution(childExecutionId)), 5 * 60_000);
    const child = await h.execution(childExecutionId);
    assert.ok(child.status !== 'absent');
    assert.equal(child.trigger, 'chain');
    assert.equal(child.parent_execution_id, executionId);
    assert.equal(Date.parse(child.not_before) - Date.parse(parent.completed_at!), 2 * 60_000);
    assert.ok(Date.parse(child.started_at!) >= Date.parse(child.not_before));
    assert.equal(child.status, 'completed');
  });
  it('records a job the OMA does not know (404) as a phantom: a failed attempt that frees its slot', async () => {
    const h = await harness({ backend, start: '2026-05-01T10:00:00.000Z', vmNames: ['ghost-1', 'real-1'], scripts: { 'ghost-1': { forgetJob: true } } });
    const scheduleId = await h.createSchedule({ retry_attempts: 0, max_concurrent_jobs: 1 });
    const groupId = await h.createGroup(scheduleId);
    await h.assign(groupId, await h.registerVm('ghost-1'), { priority: 0 });
    await h.assign(groupId, await h.registerVm('real-1'), { priority: 1 });
    const executionId = String((await h.api.post(`/schedules/${scheduleId}/trigger`, {})).body.execution_id);
    await h.runUntil(async () => ended(await h.execution(executionId)), 5 * 60_000);
    const state = await h.execution(executionId);
    assert.ok(state.status !== 'absent');
    assert.equal(state.status, 'failed');
    const byName = new Map(executionDetails(state).map((d) => [d.vm_name, d]));
    assert.equal(byName.get('ghost-1')?.outcome, 'failed');
    assert.match(byName.get('ghost-1')?.error_message ?? '', /phantom job \(oma_not_found\): OMA does not know the job/);
    assert.equal(byName.get('real-1')?.outcome, 'completed', 'the phantom freed the only slot');
    const events = await h.service.store.readStream(streamIds.execution(executionId));
    const failed = events.find((e) => e.type === 'JobFailed');
    assert.equal(failed?.data.phantom_reason, 'oma_not_found');
    assert.deepEqual([state.ended?.jobs_created, state.ended?.jobs_failed, state.ended?.jobs_completed], [2, 1, 1]);
  });

  it('reconciles an unconfirmed creation (OMA 500 after the job was made): the same request under the same key adopts the job', async () => {
    const h = await harness({ backend, start: '2026-05-01T10:00:00.000Z', vmNames: ['flaky-1'], scripts: { 'flaky-1': { answer500: { jobCreated: true } } } });
    const scheduleId = await h.createSchedule({ retry_attempts: 3, retry_delay_minutes: 1 });
    const groupId = await h.createGroup(scheduleId);
    await h.assign(groupId, await h.registerVm('flaky-1'));
    const executionId = String((await h.api.post(`/schedules/${scheduleId}/trigger`, {})).body.execution_id);
    await h.runUntil(async () => h.fake.replicationPosts().length > 0, 60_000);
    // Not a failure, and not called again while the creation may still be under way.
    await driveUntil(h.clock, [h.service.ticker!, h.service.processManager!], h.clock.now().getTime() + 60_000);
    const waiting = await h.execution(executionId);
    assert.ok(waiting.status !== 'absent');
    assert.equal(waiting.vms.at(0)?.phase, 'requested');
    assert.equal(h.fake.replicationPosts().length, 1);

    await h.runUntil(async () => ended(await h.execution(executionId)), 10 * 60_000);
    const state = await h.execution(executionId);
    assert.ok(state.status !== 'absent');
    assert.equal(state.status, 'completed');
    const [job] = h.fake.jobs();
    assert.equal(h.fake.jobs().length, 1, 'one job at the OMA');
    const posts = h.fake.replicationPosts();
    assert.equal(posts.length, 2, 'the creation, then one reconciliation');
    assert.ok(posts[0]?.idempotencyKey, 'the creation carries an Idempotency-Key');
    assert.equal(posts[1]?.idempotencyKey, posts[0]?.idempotencyKey);
    assert.deepEqual(posts[1]?.answer, { status: 200, jobId: job?.jobId });
    assert.deepEqual(state.vms.at(0)?.job_ids, [job?.jobId]);
    assert.deepEqual([state.ended?.jobs_created, state.ended?.jobs_completed, state.ended?.jobs_failed], [1, 1, 0]);
    const types = (await h.service.store.readStream(streamIds.execution(executionId))).map((e) => e.type);
    assert.deepEqual(
      types.filter((t) => t.startsWith('Dispatch') || t === 'JobRequested' || t === 'JobStarted'),
      ['JobRequested', 'DispatchSent', 'DispatchReconciling', 'JobStarted'],
    );
  });

  it('resumes after a restart from its checkpoint; replaying the log creates nothing twice', async () => {
    const h1 = await harness({ backend, start: '2026-05-01T01:59:50.000Z', vmNames: ['slow-1'], scripts: { 'slow-1': { pollsToFinish: 4 } } });
    const scheduleId = await h1.createSchedule({ retry_attempts: 0 });
    const groupId = await h1.createGroup(scheduleId);
    await h1.assign(groupId, await h1.registerVm('slow-1'));
    const executionId = executionIdFor(scheduleId, '2026-05-01T02:00:00.000Z');
    await h1.runUntil(async () => {
      const s = await h1.execution(executionId);
      return s.status !== 'absent' && s.vms.at(0)?.phase === 'running';
    }, 2 * 60_000);
    const saved = await h1.service.readDb.knex('process_checkpoints').select('name', 'position');
    assert.equal(saved.length, 1);
    assert.equal(saved[0]?.name, 'execution-manager');
    const created = (await h1.service.store.readStream(streamIds.schedule(scheduleId)))[0]!;
    await h1.stop();
    // Move the checkpoint back to the schedule's creation: the next start handles its ExecutionDue again.
    const readDb = await openReadModelDb({ dataDir: h1.dataDir, databaseUrl: h1.databaseUrl });
    assert.equal(await readDb.knex('process_checkpoints').update({ position: created.position }), 1);
    await readDb.close();

    const h2 = await harness({ backend, start: new Date(h1.clock.now().getTime() + 30_000).toISOString(), vmNames: [], fake: h1.fake, dataDir: h1.dataDir, databaseUrl: h1.databaseUrl });
    assert.deepEqual(h2.service.processManager?.drivenExecutionIds(), [executionId]);
    await h2.runUntil(async () => ended(await h2.execution(executionId)), 5 * 60_000);
    const state = await h2.execution(executionId);
    assert.ok(state.status !== 'absent');
    assert.equal(state.status, 'completed');
    assert.equal(h1.fake.replicationPosts().length, 1);
    const scheduled = (await h2.service.store.readStream(streamIds.execution(executionId))).filter((e) => e.type === 'ExecutionScheduled');
    assert.equal(scheduled.length, 1);
    const executions = await h2.api.get(`/schedules/${scheduleId}/executions`);
    assert.equal(executions.body.total_count, 1);
  });
  it('polls a job that ran through a downtime at once after the restart, then at the interval', async () => {
    const h1 = await harness({ backend, start: '2026-05-01T10:00:00.000Z', vmNames: ['long-1'], scripts: { 'long-1': { pollsToFinish: 50 } } });
    const scheduleId = await h1.createSchedule({ retry_attempts: 0 });
    const groupId = await h1.createGroup(scheduleId);
    await h1.assign(groupId, await h1.registerVm('long-1'));
    const executionId = String((await h1.api.post(`/schedules/${scheduleId}/trigger`, {})).body.execution_id);
    await h1.runUntil(async () => h1.fake.jobs().at(0)?.polls === 2, 5 * 60_000);
    await h1.stop();

    // Ten minutes down: the job's state is a whole interval and more out of date.
    const h2 = await harness({ backend, start: new Date(h1.clock.now().getTime() + 10 * 60_000).toISOString(), vmNames: [], fake: h1.fake, dataDir: h1.dataDir, databaseUrl: h1.databaseUrl });
    await h2.runUntil(async () => h1.fake.jobs().at(0)?.polls === 3, 1000);
    const afterRestart = h2.clock.now().getTime();
    await h2.runUntil(async () => h1.fake.jobs().at(0)?.polls === 4, 2 * POLL_SECONDS * 1000);
    assert.equal(h2.clock.now().getTime() - afterRestart, POLL_SECONDS * 1000, 'the next poll one interval later');
    const state = await h2.execution(executionId);
    assert.ok(state.status !== 'absent');
    assert.equal(state.vms.at(0)?.phase, 'running');
    assert.equal(h1.fake.replicationPosts().length, 1);
  });

  it('queues VMs over the schedule limit (max_concurrent), and skips a due run while the last one runs (skip_if_running)', async () => {
    const names = ['q-1', 'q-2', 'q-3', 'q-4', 'q-5'];
    const scripts = Object.fromEntries(names.map((n) => [n, { pollsToFinish: 3 }]));
    const h = await harness({ backend, start: '2026-05-01T09:59:50.000Z', vmNames: names, scripts });
    const scheduleId = await h.createSchedule({ cron_expression: '* * * * *', max_concurrent_jobs: 2, retry_attempts: 0 });
    const groupId = await h.createGroup(scheduleId, { max_concurrent_vms: 10 });
    for (const name of names) await h.assign(groupId, await h.registerVm(name));
    const first = executionIdFor(scheduleId, '2026-05-01T10:00:00.000Z');
    const second = executionIdFor(scheduleId, '2026-05-01T10:01:00.000Z');
    await h.runUntil(async () => ended(await h.execution(second)), 3 * 60_000);
    const skipped = await h.execution(second);
    assert.ok(skipped.status !== 'absent');
    assert.equal(skipped.status, 'skipped');
    assert.deepEqual(skipped.skip, { reason: 'skip_if_running', blocking_execution_id: first });

    await h.runUntil(async () => ended(await h.execution(first)), 10 * 60_000);
    const state = await h.execution(first);
    assert.ok(state.status !== 'absent');
    assert.equal(state.status, 'completed');
    assert.equal(h.fake.maxActiveJobs(), 2);
    const queued = (await h.service.store.readStream(streamIds.execution(first))).filter((e) => e.type === 'VmQueued');
    assert.ok(queued.length >= 3);
    assert.ok(queued.every((e) => e.data.conflict_type === 'max_concurrent'));
    assert.equal(state.ended?.jobs_completed, 5);
  });

  it('cancels a running execution: queued VMs dropped, the running job finishes', async () => {
    const names = ['k-1', 'k-2', 'k-3'];
    const h = await harness({ backend, start: '2026-05-01T10:00:00.000Z', vmNames: names, scripts: { 'k-1': { pollsToFinish: 3 } } });
    const scheduleId = await h.createSchedule({ max_concurrent_jobs: 1, retry_attempts: 0 });
    const groupId = await h.createGroup(scheduleId);
    for (const name of names) await h.assign(groupId, await h.registerVm(name));
    const executionId = String((await h.api.post(`/schedules/${scheduleId}/trigger`, {})).body.execution_id);
    await h.runUntil(async () => {
      const s = await h.execution(executionId);
      return s.status !== 'absent' && s.vms.at(0)?.phase === 'running';
    }, 60_000);
    const cancel = await h.api.post(`/executions/${executionId}/cancel`, { reason: 'maintenance' });
    assert.ok(cancel.status < 300, JSON.stringify(cancel.body));
    await h.runUntil(async () => ended(await h.execution(executionId)), 5 * 60_000);
    const state = await h.execution(executionId);
    assert.ok(state.status !== 'absent');
    assert.equal(state.status, 'cancelled');
    assert.deepEqual(state.vms.map((v) => v.phase), ['completed', 'cancelled', 'cancelled']);
    assert.equal(h.fake.replicationPosts().length, 1);
  });
  it('starts queued VMs when the group limit is raised, without waiting for a slot; skips the rest when the schedule is disabled', async () => {
    const names = ['w-1', 'w-2', 'w-3', 'w-4'];
    // Jobs that run for many polls: no slot frees during the test.
    const scripts = Object.fromEntries(names.map((n) => [n, { pollsToFinish: 40 }]));
    const h = await harness({ backend, start: '2026-05-01T10:00:00.000Z', vmNames: names, scripts });
    const scheduleId = await h.createSchedule({ max_concurrent_jobs: 10, retry_attempts: 0 });
    const groupId = await h.createGroup(scheduleId, { max_concurrent_vms: 1 });
    for (const name of names) await h.assign(groupId, await h.registerVm(name));
    const executionId = String((await h.api.post(`/schedules/${scheduleId}/trigger`, {})).body.execution_id);
    const phases = async () => {
      const s = await h.execution(executionId);
      return s.status === 'absent' ? [] : s.vms.map((v) => v.phase);
    };
    await h.runUntil(async () => (await phases()).join() === 'running,queued,queued,queued', 60_000);

    const raised = await h.api.patch(`/machine-groups/${groupId}`, { max_concurrent_vms: 3 });
    assert.equal(raised.status, 200, JSON.stringify(raised.body));
    await h.runUntil(async () => (await phases()).join() === 'running,running,running,queued', 60_000);
    assert.equal(h.fake.maxActiveJobs(), 3);
    assert.equal(h.fake.jobs().filter((job) => job.status !== 'completed').length, 3, 'the first job still runs: no slot was freed');

    const disabled = await h.api.post(`/schedules/${scheduleId}/enable`, { enabled: false });
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    await h.runUntil(async () => (await phases()).at(3) === 'skipped', 60_000);
    const state = await h.execution(executionId);
    assert.ok(state.status !== 'absent');
    assert.equal(state.vms.at(3)?.conflict_type, 'schedule_disabled');
    assert.deepEqual((await phases()).slice(0, 3), ['running', 'running', 'running'], 'the running jobs go on');
    assert.equal(h.fake.replicationPosts().length, 3);
  });

  it('refuses a manual trigger of a disabled schedule (409), runs it with force (202)', async () => {
    const h = await harness({ backend, start: '2026-05-01T10:00:00.000Z', vmNames: ['f-1'] });
    const scheduleId = await h.createSchedule({ enabled: false, retry_attempts: 0 });
    const groupId = await h.createGroup(scheduleId);
    await h.assign(groupId, await h.registerVm('f-1'));
    const refused = await h.api.post(`/schedules/${scheduleId}/trigger`, { reason: 'before the change window' });
    assert.equal(refused.status, 409);
    assert.equal(h.fake.replicationPosts().length, 0);
    const forced = await h.api.post(`/schedules/${scheduleId}/trigger`, { reason: 'before the change window', force: true });
    assert.equal(forced.status, 202);
    const executionId = String(forced.body.execution_id);
    await h.runUntil(async () => ended(await h.execution(executionId)), 5 * 60_000);
    const execution = await h.api.get(`/executions/${executionId}`);
    assert.deepEqual([execution.body.status, execution.body.triggered_by, execution.body.jobs_created, execution.body.jobs_completed], ['completed', 'manual:anonymous', 1, 1]);
    assert.equal(h.fake.replicationPosts().length, 1);
  });

  it('plans the groups by priority, their enabled members, and the VMs whose override points here', async () => {
    const h = await harness({ backend, start: '2026-05-01T10:00:00.000Z', vmNames: ['x-1', 'x-2', 'x-3', 'y-1', 'y-2'] });
    const s1 = await h.createSchedule({ max_concurrent_jobs: 5 });
    const s2 = await h.createSchedule({ max_concurrent_jobs: 5 });
    const g1 = await h.createGroup(s1);
    const g2High = await h.createGroup(s2, { priority: 5 });
    const g2Low = await h.createGroup(s2, { priority: -1 });
    await h.assign(g1, await h.registerVm('x-1'));
    await h.assign(g1, await h.registerVm('x-2'), { schedule_override_id: s2 });
    await h.assign(g1, await h.registerVm('x-3'), { enabled: false });
    await h.assign(g2High, await h.registerVm('y-1'));
    await h.assign(g2Low, await h.registerVm('y-2'));

    const run1 = String((await h.api.post(`/schedules/${s1}/trigger`, {})).body.execution_id);
    const run2 = String((await h.api.post(`/schedules/${s2}/trigger`, {})).body.execution_id);
    await h.runUntil(async () => ended(await h.execution(run1)) && ended(await h.execution(run2)), 5 * 60_000);
    const e1 = await h.execution(run1);
    const e2 = await h.execution(run2);
    assert.ok(e1.status !== 'absent' && e2.status !== 'absent');
    assert.deepEqual(e1.vms.map((v) => v.vm_name), ['x-1']);
    assert.deepEqual(e2.vms.map((v) => v.vm_name), ['y-2', 'y-1', 'x-2']);
    assert.deepEqual([e1.status, e2.status], ['completed', 'completed']);
    const x2 = (h.fake.replicationPosts().find((p) => (p.body as { source_vm: { name: string } }).source_vm.name === 'x-2')?.body ?? {}) as Record<string, unknown>;
    assert.equal(x2.schedule_execution_id, run2);
  });
});
