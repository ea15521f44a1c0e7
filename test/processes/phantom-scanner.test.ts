/**
 * The phantom scanner against a real store and read model (sqlite), with a stub
 * VMA: each rule at its threshold, a valid job, a failed check, a job that ends
 * between check and record, the interval on the timer port, and the route.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../src/api/app.js';
import { processManagerContext, decideExecution } from '../../src/commands/execution-process-commands.js';
import { loadState } from '../../src/commands/run-decider.js';
import { loadConfig } from '../../src/config.js';
import { streamIds } from '../../src/domain/events.js';
import { executionDecider, scheduleExecutionForDue, type ExecutionCommand } from '../../src/domain/execution.js';
import { GatewayError } from '../../src/integrations/gateway-errors.js';
import type { VmaJobStatus } from '../../src/integrations/replication-gateway.js';
import { PhantomScanner } from '../../src/processes/phantom-scanner.js';
import { apiClient } from '../support/api-client.js';
import { clearEvaluationFacts } from '../support/evaluation-facts.js';
import { ManualClock } from '../support/manual-clock.js';
import { startTestService, type TestService } from '../support/test-service.js';

const T0 = Date.parse('2026-05-01T10:00:00.000Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const iso = (ms: number) => new Date(ms).toISOString();

type VmaAnswer = VmaJobStatus | 'unknown' | Error | (() => Promise<VmaJobStatus | 'unknown'>);

/** A VMA whose answer is set per job. */
class StubVma {
  readonly answers = new Map<string, VmaAnswer>();
  readonly asked: string[] = [];
  async jobStatus(jobId: string): Promise<VmaJobStatus | 'unknown'> {
    this.asked.push(jobId);
    const answer = this.answers.get(jobId) ?? running(jobId, 50);
    if (answer instanceof Error) throw answer;
    if (typeof answer === 'function') return answer();
    return answer;
  }
}

function running(jobId: string, progressPercent: number, status = 'running'): VmaJobStatus {
  return { jobId, status, progressPercent, currentOperation: null, startTime: null, lastUpdate: null, vmPath: null };
}

const unreachable = () => new GatewayError('unreachable', 'VMA: connection refused', { requestMayHaveArrived: false });

describe('phantom scanner', () => {
  let service: TestService;
  let counter = 0;

  before(async () => {
    service = await startTestService('sqlite');
  });
  after(async () => service.dispose());

  const decide = (executionId: string, command: ExecutionCommand, atMs: number) => decideExecution(service.store, executionId, () => command, processManagerContext(new Date(atMs)));

  /**
   * An execution with one VM whose job started at `startedMs`; `progress`
   * reports (status, percent, at) follow. retry_attempts 2, delay 5 min.
   */
  async function runningJob(startedMs: number, progress: Array<{ status: string; percent: number; atMs: number }> = []): Promise<{ executionId: string; jobId: string }> {
    counter += 1;
    const executionId = `ex-phantom-${counter}`;
    const vm = `vm-${counter}`;
    const jobId = `job-${String(counter).padStart(4, '0')}`;
    const at = iso(startedMs);
    await decide(executionId, scheduleExecutionForDue({ schedule_id: 'sched-1', execution_id: executionId, due_at: at, fire_at: at, trigger: 'cron' }, { at, actor: 'test' }), startedMs);
    await decide(
      executionId,
      {
        type: 'StartExecution',
        execution_id: executionId,
        schedule: { exists: true, enabled: true, skip_if_running: false, max_concurrent_jobs: 5, retry_attempts: 2, retry_delay_minutes: 5, replication_type: 'auto' },
        running_execution_ids: [],
        plan: [{ vm_context_id: vm, vm_name: vm, group_id: 'g1', group_priority: 0, member_priority: 0 }],
        at,
        actor: 'test',
      },
      startedMs,
    );
    await decide(
      executionId,
      {
        type: 'EvaluateVm',
        execution_id: executionId,
        vm_context_id: vm,
        dispatch_id: `d-${counter}`,
        facts: clearEvaluationFacts(),
        at,
        actor: 'test',
      },
      startedMs,
    );
    await decide(
      executionId,
      { type: 'RecordDispatchResult', execution_id: executionId, vm_context_id: vm, attempt: 1, result: { kind: 'started', job_id: jobId, status: 'pending', progress_percent: 0 }, at, actor: 'test' },
      startedMs,
    );
    for (const p of progress) {
      await decide(executionId, { type: 'RecordJobStatus', execution_id: executionId, job_id: jobId, status: p.status, progress_percent: p.percent, at: iso(p.atMs), actor: 'test' }, p.atMs);
    }
    await caughtUp();
    return { executionId, jobId };
  }

  async function caughtUp(): Promise<void> {
    const head = await service.store.headPosition();
    if (head !== null) assert.ok(await service.projections.waitForPosition(head, 5000));
  }

  /** A scanner on its own clock; other tests' jobs are settled first so each test sees only its own. */
  async function scanner(nowMs: number, vma: StubVma) {
    const clock = new ManualClock(nowMs);
    return { clock, scanner: new PhantomScanner({ store: service.store, readDb: service.readDb, gateway: { discovery: vma }, clock, timers: clock }, { intervalSeconds: 300 }) };
  }

  /** Ends every job still in flight (completed), so the next test starts from an empty scan. */
  async function settleAll(): Promise<void> {
    const rows = (await service.readDb.knex('replication_jobs').select('id', 'schedule_execution_id').whereNotIn('status', ['completed', 'failed', 'replication_failed', 'cancelled'])) as Array<{
      id: string;
      schedule_execution_id: string;
    }>;
    for (const row of rows) {
      await decide(row.schedule_execution_id, { type: 'RecordJobStatus', execution_id: row.schedule_execution_id, job_id: row.id, status: 'completed', progress_percent: 100, at: iso(T0), actor: 'test' }, T0).catch(() => undefined);
    }
    await caughtUp();
  }

  async function jobFailed(executionId: string, jobId: string) {
    const events = await service.store.readStream(streamIds.execution(executionId));
    return events.find((e) => e.type === 'JobFailed' && e.data.job_id === jobId);
  }

  it('rule 1: the VMA answers 404 -> phantom vma_not_found, a failed attempt with its reason; the VM waits for its retry', async () => {
    await settleAll();
    const { executionId, jobId } = await runningJob(T0, [{ status: 'replicating', percent: 10, atMs: T0 + MIN }]);
    const vma = new StubVma();
    vma.answers.set(jobId, 'unknown');
    const { scanner: s } = await scanner(T0 + 2 * MIN, vma);
    const result = await s.scan();
    assert.deepEqual(result, { scanned: 1, phantom: 1, valid: 0, errors: 0, phantom_job_ids: [jobId] });
    const failed = await jobFailed(executionId, jobId);
    assert.equal(failed?.data.phantom_reason, 'vma_not_found');
    assert.match(String(failed?.data.error_message), /^phantom job \(vma_not_found\): the VMA answers 404/);
    assert.equal(failed?.metadata.actor, 'phantom-scanner');
    const { state } = await loadState(service.store, streamIds.execution(executionId), executionDecider);
    assert.ok(state.status === 'running');
    assert.equal(state.vms.at(0)?.phase, 'waiting_retry', 'a failed attempt with retries left: the slot is free, the retry scheduled');
    assert.equal(state.vms.at(0)?.retry_at, iso(T0 + 2 * MIN + 5 * MIN));
    // The read model follows; a second scan finds nothing to check.
    await caughtUp();
    const row = await service.readDb.knex('replication_jobs').where({ id: jobId }).first();
    assert.equal(row.phantom_reason, 'vma_not_found');
    assert.deepEqual(await s.scan(), { scanned: 0, phantom: 0, valid: 0, errors: 0, phantom_job_ids: [] });
  });

  it('rule 2: no progress for more than 2 h with the VMA unreachable (or timing out) -> phantom; exactly 2 h or a reachable VMA -> valid', async () => {
    await settleAll();
    const lastProgress = T0 + 10 * MIN;
    const a = await runningJob(T0, [{ status: 'replicating', percent: 40, atMs: lastProgress }]);
    const b = await runningJob(T0, [{ status: 'replicating', percent: 40, atMs: lastProgress }]);
    const vma = new StubVma();
    vma.answers.set(a.jobId, unreachable());
    vma.answers.set(b.jobId, new GatewayError('timeout', 'VMA: no answer within 10000 ms', { requestMayHaveArrived: true }));

    // Exactly at the threshold: "longer than" is strict.
    const atLimit = await scanner(lastProgress + 2 * HOUR, vma);
    assert.deepEqual(await atLimit.scanner.scan(), { scanned: 2, phantom: 0, valid: 2, errors: 0, phantom_job_ids: [] });

    // Past it, but the VMA answers for b: valid.
    vma.answers.set(b.jobId, running(b.jobId, 40));
    const past = await scanner(lastProgress + 2 * HOUR + 1000, vma);
    assert.deepEqual(await past.scanner.scan(), { scanned: 2, phantom: 1, valid: 1, errors: 0, phantom_job_ids: [a.jobId] });
    assert.equal((await jobFailed(a.executionId, a.jobId))?.data.phantom_reason, 'no_progress_vma_unreachable');

    // A timeout counts as unreachable too.
    vma.answers.set(b.jobId, new GatewayError('timeout', 'VMA: no answer within 10000 ms', { requestMayHaveArrived: true }));
    await caughtUp();
    assert.deepEqual(await past.scanner.scan(), { scanned: 1, phantom: 1, valid: 0, errors: 0, phantom_job_ids: [b.jobId] });
    assert.equal((await jobFailed(b.executionId, b.jobId))?.data.phantom_reason, 'no_progress_vma_unreachable');
  });

  it('rule 2 uses the last progress, not the start: progress 30 min ago keeps an old job valid', async () => {
    await settleAll();
    const now = T0 + 5 * HOUR;
    const { jobId } = await runningJob(T0, [{ status: 'replicating', percent: 70, atMs: now - 30 * MIN }]);
    const vma = new StubVma();
    vma.answers.set(jobId, unreachable());
    const { scanner: s } = await scanner(now, vma);
    assert.deepEqual(await s.scan(), { scanned: 1, phantom: 0, valid: 1, errors: 0, phantom_job_ids: [] });
  });

  it('rule 3: replicating at 0 % more than 30 min after the start -> phantom zero_progress; at 30 min -> valid', async () => {
    await settleAll();
    const { executionId, jobId } = await runningJob(T0, [{ status: 'replicating', percent: 0, atMs: T0 + MIN }]);
    const vma = new StubVma();
    vma.answers.set(jobId, running(jobId, 0));
    assert.deepEqual(await (await scanner(T0 + 30 * MIN, vma)).scanner.scan(), { scanned: 1, phantom: 0, valid: 1, errors: 0, phantom_job_ids: [] });
    assert.deepEqual(await (await scanner(T0 + 30 * MIN + 1000, vma)).scanner.scan(), { scanned: 1, phantom: 1, valid: 0, errors: 0, phantom_job_ids: [jobId] });
    const failed = await jobFailed(executionId, jobId);
    assert.equal(failed?.data.phantom_reason, 'zero_progress');
    assert.match(String(failed?.data.error_message), /replicating at 0 % 30 min after the start \(limit 30 min\)/);
  });

  it('rule 3 is not applied when the VMA reports progress', async () => {
    await settleAll();
    const { jobId } = await runningJob(T0, [{ status: 'replicating', percent: 0, atMs: T0 + MIN }]);
    const vma = new StubVma();
    vma.answers.set(jobId, running(jobId, 5));
    assert.deepEqual(await (await scanner(T0 + 2 * HOUR, vma)).scanner.scan(), { scanned: 1, phantom: 0, valid: 1, errors: 0, phantom_job_ids: [] });
  });

  it('rule 4: the VMA reports completed below 100 % -> phantom completed_below_100; at 100 % -> valid', async () => {
    await settleAll();
    const a = await runningJob(T0, [{ status: 'replicating', percent: 90, atMs: T0 + MIN }]);
    const b = await runningJob(T0, [{ status: 'replicating', percent: 90, atMs: T0 + MIN }]);
    const vma = new StubVma();
    vma.answers.set(a.jobId, running(a.jobId, 99, 'completed'));
    vma.answers.set(b.jobId, running(b.jobId, 100, 'completed'));
    assert.deepEqual(await (await scanner(T0 + 5 * MIN, vma)).scanner.scan(), { scanned: 2, phantom: 1, valid: 1, errors: 0, phantom_job_ids: [a.jobId] });
    const failed = await jobFailed(a.executionId, a.jobId);
    assert.equal(failed?.data.phantom_reason, 'completed_below_100');
    assert.match(String(failed?.data.error_message), /the VMA reports completed at 99 %/);
  });

  it('a valid job stays running and nothing is appended', async () => {
    await settleAll();
    const { executionId, jobId } = await runningJob(T0, [{ status: 'replicating', percent: 20, atMs: T0 + MIN }]);
    const before = (await service.store.readStream(streamIds.execution(executionId))).length;
    const vma = new StubVma();
    vma.answers.set(jobId, running(jobId, 25));
    assert.deepEqual(await (await scanner(T0 + 10 * MIN, vma)).scanner.scan(), { scanned: 1, phantom: 0, valid: 1, errors: 0, phantom_job_ids: [] });
    assert.equal((await service.store.readStream(streamIds.execution(executionId))).length, before);
    assert.deepEqual(vma.asked, [jobId]);
  });

  it('a check that fails for another reason (VMA HTTP 500, bad answer) counts in errors and records nothing', async () => {
    await settleAll();
    const a = await runningJob(T0);
    const b = await runningJob(T0);
    const vma = new StubVma();
    vma.answers.set(a.jobId, new GatewayError('http_error', 'VMA: HTTP 500', { status: 500, requestMayHaveArrived: true }));
    vma.answers.set(b.jobId, new GatewayError('bad_response', 'VMA: unexpected answer', { status: 200, requestMayHaveArrived: true }));
    // Far past every threshold: only an "unreachable" VMA may count for rule 2.
    assert.deepEqual(await (await scanner(T0 + 10 * HOUR, vma)).scanner.scan(), { scanned: 2, phantom: 0, valid: 0, errors: 2, phantom_job_ids: [] });
    assert.equal(await jobFailed(a.executionId, a.jobId), undefined);
  });

  it('a job that ends between the check and the record is skipped', async () => {
    await settleAll();
    const { executionId, jobId } = await runningJob(T0);
    const vma = new StubVma();
    vma.answers.set(jobId, async () => {
      // A poll records the job completed while the VMA is asked.
      await decide(executionId, { type: 'RecordJobStatus', execution_id: executionId, job_id: jobId, status: 'completed', progress_percent: 100, at: iso(T0 + MIN), actor: 'test' }, T0 + MIN);
      return 'unknown';
    });
    assert.deepEqual(await (await scanner(T0 + 2 * MIN, vma)).scanner.scan(), { scanned: 0, phantom: 0, valid: 0, errors: 0, phantom_job_ids: [] });
    assert.equal(await jobFailed(executionId, jobId), undefined);
  });

  it('start() scans every interval on the timer port; stop() ends it', async () => {
    await settleAll();
    const { jobId } = await runningJob(T0);
    const vma = new StubVma();
    vma.answers.set(jobId, running(jobId, 10));
    const { clock, scanner: s } = await scanner(T0 + MIN, vma);
    await s.start();
    clock.advance(299_000);
    await s.whenIdle();
    assert.equal(vma.asked.length, 0, 'not before the interval');
    clock.advance(1000);
    await new Promise((resolve) => setImmediate(resolve));
    await s.whenIdle();
    assert.equal(vma.asked.length, 1);
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(300_000);
    await new Promise((resolve) => setImmediate(resolve));
    await s.whenIdle();
    assert.equal(vma.asked.length, 2);
    await s.stop();
    clock.advance(3_000_000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(vma.asked.length, 2, 'no scan after stop');
  });

  it('POST /jobs/phantom-scan: 503 without a scanner; 200 with the counts (empty body or {}); operator role', async () => {
    const without = await apiClient(service.app).post('/jobs/phantom-scan', {});
    assert.equal(without.status, 503);
    assert.equal(without.body.error, 'Unavailable');
    assert.equal(typeof without.body.request_id, 'string');

    const answer = { scanned: 3, phantom: 1, valid: 1, errors: 1, phantom_job_ids: ['job-x'] };
    let calls = 0;
    const app = await buildApp({
      config: loadConfig({ DATA_DIR: '/tmp', LOG_LEVEL: 'silent', API_TOKENS: 'alice:viewer:viewer-secret-1,bob:operator:operator-secret-1' }),
      logger: service.logger,
      store: service.store,
      readDb: service.readDb,
      projections: service.projections,
      ticker: null,
      clock: new ManualClock(T0),
      phantomScanner: {
        scan: async () => {
          calls += 1;
          return answer;
        },
      },
    });
    try {
      const asOperator = apiClient(app, { token: 'operator-secret-1' });
      const withJson = await asOperator.post('/jobs/phantom-scan', {});
      assert.equal(withJson.status, 200, JSON.stringify(withJson.body));
      assert.deepEqual(withJson.body, answer);
      const empty = await app.inject({ method: 'POST', url: '/api/v1/jobs/phantom-scan', headers: { authorization: 'Bearer operator-secret-1' } });
      assert.equal(empty.statusCode, 200, empty.body);
      assert.deepEqual(JSON.parse(empty.body), answer);
      const extra = await asOperator.post('/jobs/phantom-scan', { force: true });
      assert.equal(extra.status, 400);
      const asViewer = await apiClient(app, { token: 'viewer-secret-1' }).post('/jobs/phantom-scan', {});
      assert.equal(asViewer.status, 403);
      assert.equal(calls, 2);
    } finally {
      await app.close();
    }
  });
});
