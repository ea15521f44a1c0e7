/**
 * Never twice, never lost: the service runs as a child process against the fake
 * VMA/OMA on loopback, is killed with SIGKILL at a point of an execution, and
 * is started again on the same DATA_DIR. Whatever the point, every VM gets
 * exactly one job per attempt at the OMA (a repeated creation carries the same
 * Idempotency-Key and gets the same job back), the execution ends with true
 * counters, and no job or VM is left running.
 *
 * Each run: 4 VMs in one group of max_concurrent_vms 2 (two in flight, two
 * queued), retry_attempts 0, jobs polled every second, OMA timeouts of 5-10 s so
 * an unanswered dispatch is reconciled within seconds of the restart.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startChildService, type ChildService } from '../support/child-service.js';
import { fakeVm, startFakeAppliances, type FakeAppliances, type VmScript } from '../support/fake-appliances.js';

const VCENTER = 'vc.example';
const VM_NAMES = ['crash-1', 'crash-2', 'crash-3', 'crash-4'];
const END_TIMEOUT_MS = 45_000;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

interface Run {
  fake: FakeAppliances;
  dataDir: string;
  service: ChildService;
  /** Starts the service again on the same DATA_DIR and fake appliances. */
  restart(): Promise<void>;
  api(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  /** The event types of the log, in order (read from the service's SQLite file). */
  eventTypes(): string[];
  events(type: string): Record<string, unknown>[];
}

async function startRun(scripts: Record<string, VmScript> = {}): Promise<Run> {
  const fake = await startFakeAppliances({ vms: VM_NAMES.map((name) => fakeVm(name)), scripts });
  cleanups.push(() => fake.close());
  const dataDir = await mkdtemp(join(tmpdir(), 'scheduler-crash-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const env = {
    DATA_DIR: dataDir,
    OMA_API_URL: fake.url,
    VMA_API_URL: fake.url,
    OMA_API_TOKEN: fake.token,
    OMA_OSSEA_CONFIG_ID: '7',
    VCENTER_CREDENTIALS: JSON.stringify({ [VCENTER]: { username: 'svc', password: 'secret-pw' } }),
    JOB_POLL_INTERVAL_SECONDS: '1',
    // Short enough that an unanswered dispatch is reconciled within seconds of a restart
    // (the graces count from the dispatch's last event, before the kill), long enough that
    // a loaded machine does not time out a loopback call (a failed discovery fails the VM).
    OMA_REQUEST_TIMEOUT_MS: '10000',
    OMA_CREATE_TIMEOUT_MS: '5000',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
  };
  let db: Database.Database | null = null;
  const log = (): Database.Database => (db ??= new Database(join(dataDir, 'events.sqlite'), { readonly: true, fileMustExist: true }));
  cleanups.push(async () => {
    db?.close();
  });
  const run: Run = {
    fake,
    dataDir,
    service: await startChildService(env),
    async restart() {
      run.service = await startChildService(env);
    },
    async api(method, path, body) {
      const answer = await fetch(`${run.service.url}/api/v1${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: answer.status, body: (await answer.json()) as Record<string, unknown> };
    },
    eventTypes: () => (log().prepare('SELECT type FROM events ORDER BY position').all() as { type: string }[]).map((row) => row.type),
    events: (type) => (log().prepare('SELECT data FROM events WHERE type = ? ORDER BY position').all(type) as { data: string }[]).map((row) => JSON.parse(row.data) as Record<string, unknown>),
  };
  cleanups.push(() => run.service.kill());
  return run;
}

/** A schedule, one group of max_concurrent_vms 2 and the four VMs; the schedule id and the VMs' context ids by name. */
async function setUpSchedule(run: Run, scheduleFields: Record<string, unknown> = {}): Promise<{ scheduleId: string; vmIds: Record<string, string> }> {
  const created = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const answer = await run.api('POST', path, body);
    assert.equal(answer.status, 201, `${path}: ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  const schedule = await created('/schedules', { name: 'Crash schedule', cron_expression: '0 3 1 1 *', max_concurrent_jobs: 5, retry_attempts: 0, ...scheduleFields });
  const group = await created('/machine-groups', { name: 'Crash group', schedule_id: schedule.id, max_concurrent_vms: 2 });
  const vmIds: Record<string, string> = {};
  for (const [i, name] of VM_NAMES.entries()) {
    const vm = await created('/vm-contexts', { vm_name: name, vmware_vm_id: `vm-${name}`, vm_path: `/DC1/vm/${name}`, vcenter_host: VCENTER, datacenter: 'DC1' });
    await created(`/machine-groups/${String(group.id)}/vms`, { vm_context_id: vm.context_id, priority: i });
    vmIds[name] = String(vm.context_id);
  }
  return { scheduleId: String(schedule.id), vmIds };
}

async function trigger(run: Run, scheduleId: string): Promise<string> {
  const answer = await run.api('POST', `/schedules/${scheduleId}/trigger`, { reason: 'crash test' });
  assert.equal(answer.status, 202, JSON.stringify(answer.body));
  return String(answer.body.execution_id);
}

/** Polls `check` every 20 ms until it holds; fails naming `what` after `timeoutMs`. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000, output?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms${output ? `\n--- service output ---\n${output().slice(-4000)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const ENDED = new Set(['completed', 'failed', 'cancelled', 'skipped']);
const TERMINAL_JOB = new Set(['completed', 'failed', 'replication_failed', 'cancelled']);

/** Waits until the execution has ended, then checks the OMA's records, the counters and that nothing runs. */
async function assertEndedExactlyOnce(run: Run, executionId: string): Promise<void> {
  let execution: Record<string, unknown> = {};
  await waitFor(
    `execution ${executionId} ends after the restart`,
    async () => {
      const answer = await run.api('GET', `/executions/${executionId}`);
      execution = answer.body;
      return answer.status === 200 && ENDED.has(String(answer.body.status));
    },
    END_TIMEOUT_MS,
    () => `${run.service.output()}\nlast execution: ${JSON.stringify(execution)}`,
  );

  // At the OMA: one job per VM (one attempt each); every creation of a VM under one key, answered with that job.
  const jobs = run.fake.jobs().filter((job) => job.scheduleExecutionId === executionId);
  const posts = run.fake.replicationPosts().filter((post) => (post.body as { schedule_execution_id?: string }).schedule_execution_id === executionId);
  for (const name of VM_NAMES) {
    const ofVm = jobs.filter((job) => job.vmName === name);
    assert.equal(ofVm.length, 1, `${name}: exactly one job at the OMA, got ${ofVm.map((j) => j.jobId).join(', ') || 'none'}; execution: ${JSON.stringify(execution)}`);
    const job = ofVm[0]!;
    const vmPosts = posts.filter((post) => (post.body as { source_vm: { name: string } }).source_vm.name === name);
    assert.ok(vmPosts.length >= 1);
    assert.ok(job.idempotencyKey, `${name}: the creation carried an Idempotency-Key`);
    for (const post of vmPosts) {
      assert.equal(post.idempotencyKey, job.idempotencyKey, `${name}: every creation under the same key`);
      if (post.answer !== undefined && post.answer.status < 300) assert.equal(post.answer.jobId, job.jobId, `${name}: a repeated creation gets the same job back`);
    }
  }

  // The execution, as the API shows it: completed with true counters.
  assert.equal(execution.status, 'completed', JSON.stringify(execution));
  assert.deepEqual(
    [execution.vms_eligible, execution.jobs_created, execution.jobs_completed, execution.jobs_failed, execution.jobs_skipped],
    [4, 4, 4, 0, 0],
    JSON.stringify(execution),
  );
  const vms = execution.vms as { vm_name: string; outcome: string; job_ids: string[]; attempts: number }[];
  assert.deepEqual(
    vms.map((vm) => [vm.vm_name, vm.outcome, vm.job_ids.length, vm.attempts]),
    VM_NAMES.map((name) => [name, 'completed', 1, 1]),
  );

  // Nothing stays running: every job of the execution is terminal, no VM is replicating.
  await waitFor('the job and VM read models catch up', async () => {
    const listed = await run.api('GET', `/jobs?execution_id=${executionId}&limit=100`);
    const rows = listed.body.jobs as { status: string }[];
    return rows.length === 4 && rows.every((job) => TERMINAL_JOB.has(job.status));
  });
  const contexts = (await run.api('GET', '/vm-contexts?limit=100')).body.vms as { vm_name: string; current_status: string }[];
  assert.deepEqual(contexts.filter((vm) => vm.current_status === 'replicating').map((vm) => vm.vm_name), []);
  assert.equal(run.fake.activeJobCount(), 0);
}

function postsFor(run: Run, name: string) {
  return run.fake.replicationPosts().filter((post) => (post.body as { source_vm: { name: string } }).source_vm.name === name);
}

/** A six-field cron (seconds first) due once, `seconds` from now, in UTC. */
function cronAt(seconds: number): string {
  const due = new Date(Math.ceil((Date.now() + seconds * 1000) / 1000) * 1000);
  return `${due.getUTCSeconds()} ${due.getUTCMinutes()} ${due.getUTCHours()} ${due.getUTCDate()} ${due.getUTCMonth() + 1} *`;
}

describe('crash recovery: the service killed with SIGKILL and started again', () => {
  it('after ExecutionDue: the due instant is run once', async () => {
    const run = await startRun();
    const { scheduleId } = await setUpSchedule(run, { timezone: 'UTC' });
    // Due once, a few seconds from now, with the group in place.
    const changed = await run.api('PATCH', `/schedules/${scheduleId}`, { cron_expression: cronAt(3) });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    await waitFor('ExecutionDue is recorded', () => run.eventTypes().includes('ExecutionDue'), 10_000, run.service.output);
    await run.service.kill();
    const due = run.events('ExecutionDue');
    assert.equal(due.length, 1);
    const executionId = String(due[0]!.execution_id);

    await run.restart();
    await assertEndedExactlyOnce(run, executionId);
    for (const name of VM_NAMES) assert.equal(postsFor(run, name).length, 1, `${name}: one creation`);
    const executions = await run.api('GET', `/schedules/${scheduleId}/executions`);
    assert.equal(executions.body.total_count, 1, 'one execution for the due instant');
  });

  it('after JobRequested, before the call (discovery held): the call is made once, after the restart', async () => {
    const run = await startRun();
    const { scheduleId, vmIds } = await setUpSchedule(run);
    const held = run.fake.holdDiscovery('crash-1');
    const executionId = await trigger(run, scheduleId);
    await held.reached;
    await run.service.kill();
    held.release();
    assert.equal(postsFor(run, 'crash-1').length, 0, 'no call before the crash');
    const ofCrash1 = (type: string) => run.events(type).filter((e) => e.vm_context_id === vmIds['crash-1']);
    assert.equal(ofCrash1('JobRequested').length, 1, 'JobRequested was recorded before the discovery');
    assert.equal(ofCrash1('DispatchSent').length, 0, 'the call was not about to be made');

    await run.restart();
    await assertEndedExactlyOnce(run, executionId);
    assert.equal(postsFor(run, 'crash-1').length, 1, 'the dispatch never sent is sent once, by the reconciliation');
    assert.ok(run.eventTypes().includes('DispatchReconciling'));
  });

  it('after the call, before JobStarted (the OMA holds its answer): the job is adopted, not made twice', async () => {
    const run = await startRun();
    const { scheduleId, vmIds } = await setUpSchedule(run);
    const held = run.fake.holdCreation('crash-1');
    const executionId = await trigger(run, scheduleId);
    await held.reached;
    await run.service.kill();
    held.release();
    assert.equal(run.fake.jobs().filter((job) => job.vmName === 'crash-1').length, 1, 'the job exists at the OMA');
    const ofCrash1 = (type: string) => run.events(type).filter((e) => e.vm_context_id === vmIds['crash-1']);
    assert.deepEqual([ofCrash1('DispatchSent').length, ofCrash1('JobStarted').length], [1, 0], 'sent, its job not recorded');

    await run.restart();
    await assertEndedExactlyOnce(run, executionId);
    const posts = postsFor(run, 'crash-1');
    assert.equal(posts.length, 2, 'the creation, then its reconciliation under the same key');
    assert.deepEqual(posts[1]?.answer, { status: 200, jobId: run.fake.jobs().find((job) => job.vmName === 'crash-1')?.jobId });
  });

  it('while jobs run: the running jobs are followed to their end, the queued VMs dispatched once', async () => {
    const scripts = Object.fromEntries(VM_NAMES.map((name) => [name, { pollsToFinish: 3 }]));
    const run = await startRun(scripts);
    const { scheduleId } = await setUpSchedule(run);
    const executionId = await trigger(run, scheduleId);
    await waitFor('a job is in progress at the OMA', () => run.fake.jobs().some((job) => job.status === 'replicating'), 20_000, run.service.output);
    await run.service.kill();
    assert.ok(run.fake.activeJobCount() >= 1);

    await run.restart();
    await assertEndedExactlyOnce(run, executionId);
  });

  it('a creation timeout (no crash) is not a failure: the dispatch is reconciled and its job adopted', async () => {
    const run = await startRun();
    const { scheduleId } = await setUpSchedule(run);
    const held = run.fake.holdCreation('crash-1');
    const executionId = await trigger(run, scheduleId);
    await held.reached;
    // OMA_CREATE_TIMEOUT_MS is 5 s: the service gives up on the answer; the job exists.
    await waitFor('the service gives up on the creation', () => run.service.output().includes('replication call unconfirmed: left for reconciliation'), 15_000, run.service.output);
    held.release();
    await assertEndedExactlyOnce(run, executionId);
    assert.equal(postsFor(run, 'crash-1').length, 2);
    assert.equal(run.events('JobFailed').length, 0, 'no failure recorded');
  });
});
