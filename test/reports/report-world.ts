/**
 * A small replication history for the report tests, recorded through the real
 * service: schedules, groups and VMs by the API; executions triggered by the API
 * at chosen instants of a manual clock; their jobs driven through the execution
 * decider on the service's store with chosen instants, as the process manager
 * would (see test/api/executions.scenarios.ts), so every read model is a
 * projection of real events.
 *
 * "Now" is NOW (2026-05-20T12:00Z). The history:
 *
 *   Nightly (group Finance: fin-db, fin-app)     Hourly (group Web: web-1, web-2, new-vm)
 *   A0 05-10 01:00  fin-app failed 01:30          B1 05-20 08:00  web-1 completed 08:20
 *   A1 05-19 01:00  fin-db completed 01:30                        web-2 failed    08:25
 *                   fin-app failed   01:40        B2 05-20 11:00  web-1 completed 11:15
 *   A2 05-20 01:00  fin-db completed 02:00                        web-2 still running
 *                   fin-app completed 02:10
 *   lonely: no group, no job; new-vm: never dispatched.
 */
import assert from 'node:assert/strict';
import { newCommandContext } from '../../src/commands/command-context.js';
import { runDecider } from '../../src/commands/run-decider.js';
import { streamIds } from '../../src/domain/events.js';
import { executionDecider, type ExecutionCommand } from '../../src/domain/execution.js';
import type { Position } from '../../src/eventstore/event-store.js';
import { apiClient, type ApiClient } from '../support/api-client.js';
import { ManualClock } from '../support/manual-clock.js';
import { startTestService, type Backend, type TestService } from '../support/test-service.js';

export const NOW = '2026-05-20T12:00:00.000Z';
export const ADMIN_TOKEN = 'admin-token-for-reports';
export const VIEWER_TOKEN = 'viewer-token-for-reports';

/** What an error a user sees in a failed execution's error_message, with the characters CSV must quote. */
export const AWKWARD_ERROR = 'disk "sdb" full, 0 bytes left\nretry after cleanup';
export const AWKWARD_REASON = 'before the "big" move, part 1\nof 2';

export interface ReportWorld {
  service: TestService;
  clock: ManualClock;
  /** Client with the admin token (seeding); the reports need only `viewer`. */
  admin: ApiClient;
  viewer: ApiClient;
  schedules: { nightly: string; hourly: string };
  groups: { finance: string; web: string };
  vms: Record<'finDb' | 'finApp' | 'web1' | 'web2' | 'newVm' | 'lonely', { id: string; name: string }>;
  executions: Record<'a0' | 'a1' | 'a2' | 'b1' | 'b2', string>;
  dispose(): Promise<void>;
}

type JobPlan = { vm: { id: string; name: string }; groupId: string; jobId: string; startedAt: string; end?: { status: 'completed' | 'failed'; at: string; error?: string } };

export async function startReportWorld(backend: Backend): Promise<ReportWorld> {
  const clock = new ManualClock('2026-05-01T00:00:00.000Z');
  const service = await startTestService(backend, { API_TOKENS: `admin:admin:${ADMIN_TOKEN},viewer:viewer:${VIEWER_TOKEN}` }, { ticker: false, processManager: false, clock });
  const admin = apiClient(service.app, { token: ADMIN_TOKEN });
  const viewer = apiClient(service.app, { token: VIEWER_TOKEN });

  const created = async (path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const answer = await admin.post(path, body);
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    return answer.body;
  };
  const vm = async (name: string) => ({ id: String((await created('/vm-contexts', { vm_name: name, vmware_vm_id: `vmw-${name}`, vm_path: `/dc1/vm/${name}`, vcenter_host: 'vc.example', datacenter: 'dc1' })).context_id), name });
  const assign = async (groupId: string, vmId: string) => {
    await created(`/machine-groups/${groupId}/vms`, { vm_context_id: vmId });
  };
  const drive = async (executionId: string, command: ExecutionCommand): Promise<void> => {
    const context = newCommandContext({ actor: 'process-manager', source: 'process-manager', at: new Date(command.at) });
    const result = await runDecider(service.store, streamIds.execution(executionId), executionDecider, () => command, context);
    assert.ok(result.events.length > 0, `${command.type} appended nothing`);
    assert.equal(await service.projections.waitForPosition(result.position as Position, 10_000), true);
  };

  /** A manual execution due at `at`, its VMs dispatched and (where planned) ended. */
  const execution = async (scheduleId: string, at: string, jobs: JobPlan[], reason?: string): Promise<string> => {
    clock.set(at);
    const triggered = await admin.post(`/schedules/${scheduleId}/trigger`, reason === undefined ? {} : { reason });
    assert.equal(triggered.status, 202, JSON.stringify(triggered.body));
    const executionId = String(triggered.body.execution_id);
    const meta = (when: string) => ({ execution_id: executionId, at: when, actor: 'process-manager' });
    await drive(executionId, {
      type: 'StartExecution',
      ...meta(at),
      schedule: { exists: true, enabled: true, skip_if_running: false, max_concurrent_jobs: 100, retry_attempts: 0, retry_delay_minutes: 30, replication_type: 'auto' },
      running_execution_ids: [],
      plan: jobs.map((job, i) => ({ vm_context_id: job.vm.id, vm_name: job.vm.name, group_id: job.groupId, group_priority: 0, member_priority: i })),
    });
    for (const job of jobs) {
      await drive(executionId, {
        type: 'EvaluateVm',
        ...meta(job.startedAt),
        vm_context_id: job.vm.id,
        dispatch_id: `dispatch-${job.jobId}`,
        facts: {
          schedule_enabled: true,
          vm_scheduler_enabled: true,
          membership_enabled: true,
          vm_status: 'discovered',
          vm_has_active_job: false,
          schedule_running_jobs: 0,
          schedule_max_concurrent_jobs: 100,
          group_running_jobs: 0,
          group_max_concurrent_vms: 100,
        },
      });
      await drive(executionId, { type: 'RecordDispatchResult', ...meta(job.startedAt), vm_context_id: job.vm.id, attempt: 1, result: { kind: 'started', job_id: job.jobId, status: 'pending', progress_percent: 0 } });
    }
    for (const job of jobs) {
      if (!job.end) continue;
      await drive(executionId, {
        type: 'RecordJobStatus',
        ...meta(job.end.at),
        job_id: job.jobId,
        status: job.end.status,
        ...(job.end.status === 'completed' ? { progress_percent: 100 } : { error_message: job.end.error ?? 'replication failed' }),
      });
    }
    return executionId;
  };

  const nightly = String((await created('/schedules', { name: 'Nightly', cron_expression: '0 1 * * *' })).id);
  const hourly = String((await created('/schedules', { name: 'Hourly', cron_expression: '0 * * * *' })).id);
  const finance = String((await created('/machine-groups', { name: 'Finance', schedule_id: nightly })).id);
  const web = String((await created('/machine-groups', { name: 'Web', schedule_id: hourly })).id);
  const vms = { finDb: await vm('fin-db'), finApp: await vm('fin-app'), web1: await vm('web-1'), web2: await vm('web-2'), newVm: await vm('new-vm'), lonely: await vm('lonely') };
  for (const member of [vms.finDb, vms.finApp]) await assign(finance, member.id);
  for (const member of [vms.web1, vms.web2, vms.newVm]) await assign(web, member.id);

  const a0 = await execution(nightly, '2026-05-10T01:00:00.000Z', [
    { vm: vms.finApp, groupId: finance, jobId: 'job-a0-fin-app', startedAt: '2026-05-10T01:00:05.000Z', end: { status: 'failed', at: '2026-05-10T01:30:00.000Z' } },
  ]);
  // Both jobs of A1 start at the same instant: the export pages must neither skip nor repeat either.
  const a1 = await execution(
    nightly,
    '2026-05-19T01:00:00.000Z',
    [
      { vm: vms.finDb, groupId: finance, jobId: 'job-a1-fin-db', startedAt: '2026-05-19T01:00:05.000Z', end: { status: 'completed', at: '2026-05-19T01:30:00.000Z' } },
      { vm: vms.finApp, groupId: finance, jobId: 'job-a1-fin-app', startedAt: '2026-05-19T01:00:05.000Z', end: { status: 'failed', at: '2026-05-19T01:40:00.000Z', error: AWKWARD_ERROR } },
    ],
    AWKWARD_REASON,
  );
  const a2 = await execution(nightly, '2026-05-20T01:00:00.000Z', [
    { vm: vms.finDb, groupId: finance, jobId: 'job-a2-fin-db', startedAt: '2026-05-20T01:00:05.000Z', end: { status: 'completed', at: '2026-05-20T02:00:00.000Z' } },
    { vm: vms.finApp, groupId: finance, jobId: 'job-a2-fin-app', startedAt: '2026-05-20T01:00:06.000Z', end: { status: 'completed', at: '2026-05-20T02:10:00.000Z' } },
  ]);
  const b1 = await execution(hourly, '2026-05-20T08:00:00.000Z', [
    { vm: vms.web1, groupId: web, jobId: 'job-b1-web-1', startedAt: '2026-05-20T08:00:05.000Z', end: { status: 'completed', at: '2026-05-20T08:20:00.000Z' } },
    { vm: vms.web2, groupId: web, jobId: 'job-b1-web-2', startedAt: '2026-05-20T08:00:06.000Z', end: { status: 'failed', at: '2026-05-20T08:25:00.000Z' } },
  ]);
  const b2 = await execution(hourly, '2026-05-20T11:00:00.000Z', [
    { vm: vms.web1, groupId: web, jobId: 'job-b2-web-1', startedAt: '2026-05-20T11:00:05.000Z', end: { status: 'completed', at: '2026-05-20T11:15:00.000Z' } },
    { vm: vms.web2, groupId: web, jobId: 'job-b2-web-2', startedAt: '2026-05-20T11:00:06.000Z' },
  ]);
  clock.set(NOW);

  return {
    service,
    clock,
    admin,
    viewer,
    schedules: { nightly, hourly },
    groups: { finance, web },
    vms,
    executions: { a0, a1, a2, b1, b2 },
    dispose: () => service.dispose(),
  };
}
