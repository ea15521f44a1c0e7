/**
 * Execution and job API scenarios, run on every read-model backend (see
 * executions.*.test.ts). No process manager runs here: a job is made by
 * driving the execution decider on the service's store, as it will.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newCommandContext } from '../../src/commands/command-context.js';
import { runDecider } from '../../src/commands/run-decider.js';
import { streamIds } from '../../src/domain/events.js';
import { executionDecider, type ExecutionCommand } from '../../src/domain/execution.js';
import type { Position } from '../../src/eventstore/event-store.js';
import { apiClient, type Answer, type ApiClient } from '../support/api-client.js';
import { logLength, startTestService, type Backend, type TestService } from '../support/test-service.js';

const EXECUTION_FIELDS = [
  'id',
  'schedule_id',
  'group_id',
  'status',
  'scheduled_at',
  'started_at',
  'completed_at',
  'triggered_by',
  'reason',
  'vms_eligible',
  'jobs_created',
  'jobs_completed',
  'jobs_failed',
  'jobs_skipped',
  'execution_duration_seconds',
  'error_message',
  'vms',
].sort();

const JOB_FIELDS = [
  'id',
  'vm_context_id',
  'execution_id',
  'schedule_id',
  'group_id',
  'status',
  'progress_percent',
  'attempt',
  'started_at',
  'updated_at',
  'completed_at',
  'error_message',
  'phantom_reason',
].sort();

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function assertError(answer: Answer, status: number, kind: string, path?: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.equal(answer.body.error, kind);
  assert.equal(typeof answer.body.message, 'string');
  assert.equal(answer.body.request_id, answer.headers['x-request-id']);
  assert.deepEqual(
    Object.keys(answer.body).filter((key) => !['error', 'message', 'details', 'request_id'].includes(key)),
    [],
  );
  if (path !== undefined) {
    assert.ok(
      (answer.body.details as Array<{ path: string }> | undefined)?.some((detail) => detail.path === path),
      `no detail for ${path}: ${JSON.stringify(answer.body)}`,
    );
  }
}

export function executionScenarios(backend: Backend): void {
  describe(`executions and jobs API on ${backend}`, () => {
    let service: TestService;
    let api: ApiClient;
    let counter = 0;

    const createSchedule = async (fields: Record<string, unknown> = {}): Promise<string> => {
      counter += 1;
      const answer = await api.post('/schedules', { name: `Executions ${counter}`, cron_expression: '0 2 * * *', ...fields });
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      return String(answer.body.id);
    };
    const registerVm = async (): Promise<{ id: string; name: string }> => {
      counter += 1;
      const name = `exec-vm-${counter}`;
      const answer = await api.post('/vm-contexts', { vm_name: name, vmware_vm_id: `vmw-${counter}`, vm_path: `/dc1/vm/${name}`, vcenter_host: 'vc.example', datacenter: 'dc1' });
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      return { id: String(answer.body.context_id), name };
    };
    const trigger = async (scheduleId: string, body: Record<string, unknown> = {}): Promise<string> => {
      const answer = await api.post(`/schedules/${scheduleId}/trigger`, body);
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      return String(answer.body.execution_id);
    };

    /** One command on an execution stream, as the process manager will send it; waits for the read models. */
    const drive = async (executionId: string, command: ExecutionCommand, waitForReadModels = true): Promise<void> => {
      const context = newCommandContext({ actor: 'process-manager', source: 'process-manager', at: new Date(command.at) });
      const result = await runDecider(service.store, streamIds.execution(executionId), executionDecider, () => command, context);
      assert.ok(result.events.length > 0, `${command.type} appended nothing`);
      if (waitForReadModels) assert.equal(await service.projections.waitForPosition(result.position as Position, 10_000), true);
    };

    /** A manual execution of a new schedule, started with one VM of its group, whose job the OMA created. */
    const startedJob = async (jobId: string, options: { readModelsWaited: boolean } = { readModelsWaited: true }) => {
      const scheduleId = await createSchedule();
      const group = await api.post('/machine-groups', { name: `Executions group ${jobId}`, schedule_id: scheduleId });
      assert.equal(group.status, 201, JSON.stringify(group.body));
      const groupId = String(group.body.id);
      const vm = await registerVm();
      assert.equal((await api.post(`/machine-groups/${groupId}/vms`, { vm_context_id: vm.id })).status, 201);
      const executionId = await trigger(scheduleId, { reason: 'job scenario' });
      const at = () => new Date().toISOString();
      const meta = () => ({ execution_id: executionId, at: at(), actor: 'process-manager' });
      await drive(executionId, {
        type: 'StartExecution',
        ...meta(),
        schedule: { exists: true, enabled: true, skip_if_running: true, max_concurrent_jobs: 1, retry_attempts: 0, retry_delay_minutes: 30, replication_type: 'auto' },
        running_execution_ids: [],
        plan: [{ vm_context_id: vm.id, vm_name: vm.name, group_id: groupId, group_priority: 0, member_priority: 0 }],
      });
      await drive(executionId, {
        type: 'EvaluateVm',
        ...meta(),
        vm_context_id: vm.id,
        dispatch_id: `dispatch-${jobId}`,
        facts: {
          schedule_enabled: true,
          vm_scheduler_enabled: true,
          membership_enabled: true,
          vm_status: 'discovered',
          vm_has_active_job: false,
          schedule_running_jobs: 0,
          schedule_max_concurrent_jobs: 1,
          group_running_jobs: 0,
          group_max_concurrent_vms: 5,
        },
      });
      await drive(
        executionId,
        { type: 'RecordDispatchResult', ...meta(), vm_context_id: vm.id, attempt: 1, result: { kind: 'started', job_id: jobId, status: 'pending', progress_percent: 0 } },
        options.readModelsWaited,
      );
      return { scheduleId, groupId, vm, executionId };
    };

    before(async () => {
      service = await startTestService(backend);
      api = apiClient(service.app);
    });
    after(async () => service.dispose());

    it('triggers a schedule: 202, then the execution reads back at once, scheduled, with its reason', async () => {
      const scheduleId = await createSchedule();
      const answer = await api.post(`/schedules/${scheduleId}/trigger`, { reason: 'before the upgrade' });
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      assert.deepEqual(Object.keys(answer.body).sort(), ['execution_id', 'schedule_id', 'status', 'triggered_at', 'triggered_by']);
      assert.deepEqual([answer.body.schedule_id, answer.body.status, answer.body.triggered_by], [scheduleId, 'scheduled', 'manual:anonymous']);
      assert.match(answer.body.triggered_at, ISO);

      const execution = await api.get(`/executions/${answer.body.execution_id}`);
      assert.equal(execution.status, 200);
      assert.deepEqual(Object.keys(execution.body).sort(), EXECUTION_FIELDS);
      assert.deepEqual(execution.body, {
        id: answer.body.execution_id,
        schedule_id: scheduleId,
        group_id: null,
        status: 'scheduled',
        scheduled_at: answer.body.triggered_at,
        started_at: null,
        completed_at: null,
        triggered_by: 'manual:anonymous',
        reason: 'before the upgrade',
        vms_eligible: 0,
        jobs_created: 0,
        jobs_completed: 0,
        jobs_failed: 0,
        jobs_skipped: 0,
        execution_duration_seconds: null,
        error_message: null,
        vms: [],
      });

      const schedule = await api.get(`/schedules/${scheduleId}`);
      assert.deepEqual(schedule.body.last_execution, { id: answer.body.execution_id, status: 'scheduled', scheduled_at: answer.body.triggered_at, completed_at: null });
      assert.equal(schedule.body.last_run_at, answer.body.triggered_at);
      const listed = (await api.get('/schedules?limit=500')).body.schedules.find((s: { id: string }) => s.id === scheduleId);
      assert.equal(listed?.last_run_at, answer.body.triggered_at);
      const untriggered = await api.get(`/schedules/${await createSchedule()}`);
      assert.deepEqual([untriggered.body.last_run_at, untriggered.body.last_execution], [null, null]);
    });

    it('records one execution for a repeated Idempotency-Key', async () => {
      const scheduleId = await createSchedule();
      const headers = { 'idempotency-key': `trigger-${scheduleId}` };
      const first = await api.post(`/schedules/${scheduleId}/trigger`, { reason: 'once' }, headers);
      const logAfterFirst = await logLength(service);
      const second = await api.post(`/schedules/${scheduleId}/trigger`, { reason: 'once' }, headers);
      assert.equal(second.status, 202);
      assert.equal(second.body.execution_id, first.body.execution_id);
      assert.equal(await logLength(service), logAfterFirst);
      assert.equal((await api.get(`/schedules/${scheduleId}/executions`)).body.total_count, 1);
    });

    it('refuses to trigger a disabled schedule (409, nothing recorded) unless forced; chain schedules may be triggered', async () => {
      const scheduleId = await createSchedule({ enabled: false });
      const before = await logLength(service);
      const refused = await api.post(`/schedules/${scheduleId}/trigger`, { reason: 'try' });
      assertError(refused, 409, 'Conflict');
      assert.match(refused.body.message, /disabled.*force/);
      assert.equal(await logLength(service), before);
      assert.equal((await api.get(`/schedules/${scheduleId}/executions`)).body.total_count, 0);

      const forced = await api.post(`/schedules/${scheduleId}/trigger`, { force: true });
      assert.equal(forced.status, 202);
      assert.equal((await api.get(`/executions/${forced.body.execution_id}`)).body.reason, null);

      const chain = await createSchedule({ schedule_type: 'chain', cron_expression: null, chain_parent_schedule_id: await createSchedule() });
      assert.equal((await api.post(`/schedules/${chain}/trigger`, {})).status, 202);
    });

    it('takes a trigger and a cancel without any body', async () => {
      const scheduleId = await createSchedule();
      const triggered = await service.app.inject({ method: 'POST', url: `/api/v1/schedules/${scheduleId}/trigger` });
      assert.equal(triggered.statusCode, 202, triggered.body);
      const { execution_id: executionId } = JSON.parse(triggered.body) as { execution_id: string };
      const cancelled = await service.app.inject({ method: 'POST', url: `/api/v1/executions/${executionId}/cancel` });
      assert.equal(cancelled.statusCode, 200, cancelled.body);
      assert.equal((JSON.parse(cancelled.body) as { status: string }).status, 'cancelled');
    });

    it('restricts a trigger to a group of the schedule', async () => {
      const scheduleId = await createSchedule();
      const own = await api.post('/machine-groups', { name: `Own group ${scheduleId}`, schedule_id: scheduleId });
      const other = await api.post('/machine-groups', { name: `Other group ${scheduleId}`, schedule_id: await createSchedule() });
      const executionId = await trigger(scheduleId, { group_id: own.body.id });
      assert.equal((await api.get(`/executions/${executionId}`)).body.group_id, own.body.id);
      assertError(await api.post(`/schedules/${scheduleId}/trigger`, { group_id: other.body.id }), 409, 'Conflict', '/group_id');
      assertError(await api.post(`/schedules/${scheduleId}/trigger`, { group_id: 'nosuchgroup' }), 400, 'ValidationError', '/group_id');
    });

    it('cancels an execution (200, cancelled), then refuses a second cancel (409)', async () => {
      const executionId = await trigger(await createSchedule());
      const cancelled = await api.post(`/executions/${executionId}/cancel`, { reason: 'not today' });
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      assert.deepEqual(Object.keys(cancelled.body).sort(), EXECUTION_FIELDS);
      assert.equal(cancelled.body.status, 'cancelled');
      assert.match(cancelled.body.completed_at, ISO);
      const before = await logLength(service);
      assertError(await api.post(`/executions/${executionId}/cancel`, {}), 409, 'Conflict');
      assert.equal(await logLength(service), before);
      assert.equal((await api.get(`/executions/${executionId}`)).body.status, 'cancelled');
    });

    it('answers 404 for unknown schedules, executions and jobs', async () => {
      const before = await logLength(service);
      assertError(await api.post('/schedules/nosuchschedule/trigger', {}), 404, 'NotFound');
      assertError(await api.get('/schedules/nosuchschedule/executions'), 404, 'NotFound');
      assertError(await api.get('/executions/nosuchexecution'), 404, 'NotFound');
      assertError(await api.post('/executions/nosuchexecution/cancel', {}), 404, 'NotFound');
      assertError(await api.get('/jobs/job-20260501-100000.000-abcdef'), 404, 'NotFound');
      assertError(await api.post('/jobs/job-20260501-100000.000-abcdef/status', { status: 'replicating' }), 404, 'NotFound');
      assert.equal(await logLength(service), before);
      // A deleted schedule's executions stay readable.
      const scheduleId = await createSchedule();
      await trigger(scheduleId);
      assert.equal((await api.delete(`/schedules/${scheduleId}`)).status, 200);
      assertError(await api.post(`/schedules/${scheduleId}/trigger`, {}), 404, 'NotFound');
      assert.equal((await api.get(`/schedules/${scheduleId}/executions`)).body.total_count, 1);
    });

    it("lists a schedule's executions newest first, by page, filtered by status, with true totals", async () => {
      const scheduleId = await createSchedule();
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) ids.push(await trigger(scheduleId, { reason: `run ${i}` }));
      for (const id of ids.slice(0, 2)) assert.equal((await api.post(`/executions/${id}/cancel`, {})).status, 200);
      await trigger(await createSchedule()); // another schedule's: not listed

      const first = await api.get(`/schedules/${scheduleId}/executions?limit=2`);
      assert.equal(first.status, 200);
      assert.deepEqual([first.body.total_count, first.body.page, first.body.page_size, first.body.has_more, first.body.executions.length], [5, 1, 2, true, 2]);
      const pages = [first, await api.get(`/schedules/${scheduleId}/executions?limit=2&page=2`), await api.get(`/schedules/${scheduleId}/executions?limit=2&page=3`)];
      assert.deepEqual(
        pages.map((page) => [page.body.executions.length, page.body.has_more]),
        [
          [2, true],
          [2, true],
          [1, false],
        ],
      );
      const listed = pages.flatMap((page) => page.body.executions as Array<{ id: string; scheduled_at: string; schedule_id: string }>);
      assert.deepEqual(listed.map((e) => e.id).sort(), [...ids].sort());
      assert.ok(listed.every((e, i) => i === 0 || listed[i - 1]!.scheduled_at >= e.scheduled_at), 'newest first');
      assert.ok(listed.every((e) => e.schedule_id === scheduleId));

      const cancelled = await api.get(`/schedules/${scheduleId}/executions?status=cancelled`);
      assert.deepEqual([cancelled.body.total_count, cancelled.body.executions.map((e: { id: string }) => e.id).sort()], [2, ids.slice(0, 2).sort()]);
      assert.equal((await api.get(`/schedules/${scheduleId}/executions?status=running`)).body.total_count, 0);
      const beyond = await api.get(`/schedules/${scheduleId}/executions?limit=2&page=9`);
      assert.deepEqual([beyond.body.executions, beyond.body.total_count, beyond.body.has_more], [[], 5, false]);
    });

    it('takes a status pushed the moment the job was recorded, before the read models show the job', async () => {
      const jobId = 'job-20260501-100000.790-c1d2e3';
      await startedJob(jobId, { readModelsWaited: false });
      const pushed = await api.post(`/jobs/${jobId}/status`, { status: 'completed', progress_percent: 100 });
      assert.equal(pushed.status, 200, JSON.stringify(pushed.body));
      assert.deepEqual([pushed.body.id, pushed.body.status], [jobId, 'completed']);
    });

    it("attributes a job to its schedule and to the VM's group when it was dispatched, after the VM moves", async () => {
      const jobId = 'job-20260501-100000.789-a7b8c9';
      const { scheduleId, groupId, vm } = await startedJob(jobId);
      const other = await api.post('/machine-groups', { name: `Executions other group ${jobId}` });
      assert.equal(other.status, 201, JSON.stringify(other.body));
      assert.equal((await api.put(`/vm-contexts/${vm.id}/group`, { group_id: String(other.body.id) })).status, 200);
      assert.equal((await api.post(`/jobs/${jobId}/status`, { status: 'completed', progress_percent: 100 })).status, 200);

      const job = await api.get(`/jobs/${jobId}`);
      assert.deepEqual([job.body.schedule_id, job.body.group_id], [scheduleId, groupId]);
      // The report reads the job rows: the job counts for the group it ran in, not the VM's group now.
      const byGroup = await api.get('/reports/success-rates?group_by=group');
      assert.equal(byGroup.status, 200, JSON.stringify(byGroup.body));
      const rates = byGroup.body.rates as Array<{ id: string | null; jobs_completed: number }>;
      assert.equal(rates.find((rate) => rate.id === groupId)?.jobs_completed, 1);
      assert.equal(rates.find((rate) => rate.id === String(other.body.id)), undefined);
      const bySchedule = await api.get('/reports/success-rates?group_by=schedule');
      assert.equal((bySchedule.body.rates as Array<{ id: string | null; jobs_completed: number }>).find((rate) => rate.id === scheduleId)?.jobs_completed, 1);
    });

    it('shows a started job, takes its status reports, and counts it on the VM when it completes', async () => {
      const jobId = 'job-20260501-100000.123-a1b2c3';
      const { scheduleId, groupId, vm, executionId } = await startedJob(jobId);

      const job = await api.get(`/jobs/${jobId}`);
      assert.equal(job.status, 200, JSON.stringify(job.body));
      assert.deepEqual(Object.keys(job.body).sort(), JOB_FIELDS);
      assert.deepEqual(
        { ...job.body, started_at: undefined, updated_at: undefined },
        {
          id: jobId,
          vm_context_id: vm.id,
          execution_id: executionId,
          schedule_id: scheduleId,
          group_id: groupId,
          status: 'pending',
          progress_percent: 0,
          attempt: 1,
          started_at: undefined,
          updated_at: undefined,
          completed_at: null,
          error_message: null,
          phantom_reason: null,
        },
      );
      assert.match(job.body.started_at, ISO);

      const running = await api.get(`/executions/${executionId}`);
      assert.deepEqual([running.body.status, running.body.jobs_created, running.body.vms_eligible], ['running', 1, 1]);
      assert.deepEqual(running.body.vms, [{ vm_context_id: vm.id, vm_name: vm.name, outcome: 'dispatched', job_ids: [jobId], attempts: 1 }]);
      const replicating = await api.get(`/vm-contexts/${vm.id}`);
      assert.deepEqual(
        [replicating.body.current_status, replicating.body.current_job_id, replicating.body.last_scheduled_job_id, replicating.body.total_jobs_run],
        ['replicating', jobId, jobId, 1],
      );

      const listed = await api.get(`/jobs?execution_id=${executionId}`);
      assert.deepEqual([listed.body.total_count, listed.body.page, listed.body.page_size, listed.body.has_more], [1, 1, 50, false]);
      assert.deepEqual(listed.body.jobs, [job.body]);
      assert.deepEqual((await api.get(`/jobs?vm_context_id=${vm.id}&status=pending`)).body.jobs.map((j: { id: string }) => j.id), [jobId]);
      assert.equal((await api.get(`/jobs?vm_context_id=${vm.id}&status=replicating`)).body.total_count, 0);

      const progress = await api.post(`/jobs/${jobId}/status`, { status: 'replicating', progress_percent: 37.5 });
      assert.equal(progress.status, 200, JSON.stringify(progress.body));
      assert.deepEqual([progress.body.status, progress.body.progress_percent, progress.body.completed_at], ['replicating', 37.5, null]);

      const completed = await api.post(`/jobs/${jobId}/status`, { status: 'completed', progress_percent: 100 });
      assert.equal(completed.status, 200, JSON.stringify(completed.body));
      assert.deepEqual([completed.body.status, completed.body.progress_percent], ['completed', 100]);
      assert.match(completed.body.completed_at, ISO);

      const vmAfter = await api.get(`/vm-contexts/${vm.id}`);
      assert.deepEqual(
        [vmAfter.body.current_status, vmAfter.body.current_job_id, vmAfter.body.successful_jobs, vmAfter.body.failed_jobs, vmAfter.body.total_jobs_run, vmAfter.body.last_successful_job_id],
        ['ready_for_failover', null, 1, 0, 1, jobId],
      );
      assert.deepEqual(vmAfter.body.recent_jobs.map((j: { id: string; status: string }) => [j.id, j.status]), [[jobId, 'completed']]);
      const ended = await api.get(`/executions/${executionId}`);
      assert.deepEqual(
        [ended.body.status, ended.body.jobs_completed, ended.body.jobs_failed, typeof ended.body.execution_duration_seconds, ended.body.vms[0].outcome],
        ['completed', 1, 0, 'number', 'completed'],
      );
      assert.equal((await api.get(`/schedules/${scheduleId}/executions`)).body.executions[0].status, 'completed');

      const before = await logLength(service);
      const late = await api.post(`/jobs/${jobId}/status`, { status: 'replicating', progress_percent: 50 });
      assertError(late, 409, 'Conflict');
      assert.equal(await logLength(service), before);
      assertError(await api.post(`/executions/${executionId}/cancel`, {}), 409, 'Conflict');
    });

    it('records a failed job with its message and counts it on the VM', async () => {
      const jobId = 'job-20260501-100000.456-d4e5f6';
      const { vm, executionId } = await startedJob(jobId);
      const failed = await api.post(`/jobs/${jobId}/status`, { status: 'replication_failed', error_message: 'disk full' });
      assert.equal(failed.status, 200, JSON.stringify(failed.body));
      assert.deepEqual([failed.body.status, failed.body.error_message, failed.body.phantom_reason], ['replication_failed', 'disk full', null]);
      const vmAfter = await api.get(`/vm-contexts/${vm.id}`);
      assert.deepEqual([vmAfter.body.current_status, vmAfter.body.current_job_id, vmAfter.body.failed_jobs, vmAfter.body.successful_jobs], ['failed', null, 1, 0]);
      const execution = await api.get(`/executions/${executionId}`);
      assert.deepEqual([execution.body.status, execution.body.jobs_failed], ['failed', 1]);
      assert.deepEqual(execution.body.vms, [{ vm_context_id: vm.id, vm_name: vm.name, outcome: 'failed', reason: 'disk full', job_ids: [jobId], attempts: 1 }]);
      assert.match(execution.body.error_message, /disk full/);
    });

    it('answers malformed requests 400 in the error shape, recording nothing', async () => {
      const scheduleId = await createSchedule();
      const executionId = await trigger(scheduleId);
      const before = await logLength(service);
      const cases: Array<[Promise<Answer>, string]> = [
        [api.post(`/schedules/${scheduleId}/trigger`, { force: 'yes' }), '/force'],
        [api.post(`/schedules/${scheduleId}/trigger`, { reason: 42 }), '/reason'],
        [api.post(`/schedules/${scheduleId}/trigger`, { reason: 'x'.repeat(4001) }), '/reason'],
        [api.post(`/schedules/${scheduleId}/trigger`, { group_id: 'not an id!' }), '/group_id'],
        [api.post(`/schedules/${scheduleId}/trigger`, { when: 'now' }), '/when'],
        [api.post(`/executions/${executionId}/cancel`, { reason: ['no'] }), '/reason'],
        [api.post(`/executions/${executionId}/cancel`, { force: true }), '/force'],
        [api.post('/jobs/some-job/status', {}), '/status'],
        [api.post('/jobs/some-job/status', { status: 'bogus' }), '/status'],
        [api.post('/jobs/some-job/status', { status: 'replicating', progress_percent: 101 }), '/progress_percent'],
        [api.post('/jobs/some-job/status', { status: 'replicating', progress_percent: -1 }), '/progress_percent'],
        [api.post('/jobs/some-job/status', { status: 'replicating', progress_percent: '50' }), '/progress_percent'],
        [api.post('/jobs/some-job/status', { status: 'failed', error_message: 7 }), '/error_message'],
        [api.post('/jobs/some-job/status', { status: 'failed', job_id: 'x' }), '/job_id'],
        [api.get(`/schedules/${scheduleId}/executions?status=bogus`), 'querystring:/status'],
        [api.get(`/schedules/${scheduleId}/executions?limit=0`), 'querystring:/limit'],
        [api.get(`/schedules/${scheduleId}/executions?page=0`), 'querystring:/page'],
        [api.get(`/schedules/${scheduleId}/executions?sort=asc`), 'querystring:/sort'],
        [api.get('/jobs?limit=501'), 'querystring:/limit'],
        [api.get('/jobs?status=bogus'), 'querystring:/status'],
        [api.get('/jobs?execution_id=has%20space'), 'querystring:/execution_id'],
        [api.get(`/jobs/${'j'.repeat(192)}`), 'params:/id'],
        [api.get('/jobs/bad%20id'), 'params:/id'],
        [api.get('/executions/bad%20id'), 'params:/id'],
      ];
      for (const [pending, path] of cases) assertError(await pending, 400, 'ValidationError', path);
      const notJson = await service.app.inject({ method: 'POST', url: `/api/v1/schedules/${scheduleId}/trigger`, payload: '{"reason":', headers: { 'content-type': 'application/json' } });
      assert.equal(notJson.statusCode, 400);
      assert.equal(JSON.parse(notJson.body).error, 'ValidationError');
      assert.equal(await logLength(service), before);
    });
  });
}
