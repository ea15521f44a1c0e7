/**
 * The executions, jobs and VM-counter projections, fed by execution histories
 * the execution decider itself makes (so the events are the ones the service
 * records):
 * - per event, execution_details and the counters agree with the decider's
 *   executionDetails and executionCounters, and the rows hold what the API needs;
 * - on SQLite and on MariaDB (which must be reachable: these fail, never skip),
 *   the rows a live runner builds equal those of a rebuild, of a replay into
 *   fresh tables, and of the reference build in one batch.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { streamIds, type DomainEvent } from '../../src/domain/events.js';
import type { ExecutionEvent, PlanEntry } from '../../src/domain/execution-events.js';
import {
  executionCounters,
  executionDecider,
  executionDetails,
  type EvaluationFacts,
  type ExecutionCommand,
  type ExecutionState,
  type ScheduleFacts,
} from '../../src/domain/execution.js';
import type { EventStore, Position, RecordedEvent } from '../../src/eventstore/event-store.js';
import { openMariaDbEventStore, openSqliteEventStore } from '../../src/eventstore/sql-event-store.js';
import { allProjections } from '../../src/projections/all-projections.js';
import { executionsProjection, readExecutionDetails } from '../../src/projections/executions.projection.js';
import { jobsProjection } from '../../src/projections/jobs.projection.js';
import { dropReadModels, migrateReadModels } from '../../src/projections/migrations/migration-source.js';
import type { Row, RowProjection } from '../../src/projections/projection.js';
import { ProjectionRunner } from '../../src/projections/projection-runner.js';
import { openReadModelDb, type ReadModelDb } from '../../src/projections/read-model-db.js';
import { vmContextsProjection } from '../../src/projections/vm-contexts.projection.js';
import { createTestDatabase } from '../support/mariadb.js';
import * as f from './fixtures.js';
import { readWholeLog, referenceSnapshot, rowsOf, snapshotReadModels, type Snapshot } from './read-model-snapshot.js';
import { clearEvaluationFacts } from '../support/evaluation-facts.js';

// ---------------------------------------------------------------------------
// Histories
// ---------------------------------------------------------------------------

/** One append: the events one command caused on one stream, at the command's time. */
interface Append {
  streamId: string;
  events: Array<DomainEvent | ExecutionEvent>;
  at: string;
}

/** An execution driven command by command, each on the state the previous left. */
class DrivenExecution {
  state: ExecutionState = executionDecider.initialState;
  /** Each event with the decider's state right after it. */
  readonly steps: Array<{ event: ExecutionEvent; state: ExecutionState }> = [];

  constructor(
    readonly id: string,
    private readonly appends: Append[],
  ) {}

  run(command: ExecutionCommand): ExecutionEvent[] {
    const events = executionDecider.decide(command, this.state);
    for (const event of events) {
      this.state = executionDecider.evolve(this.state, event);
      this.steps.push({ event, state: this.state });
    }
    if (events.length > 0) this.appends.push({ streamId: streamIds.execution(this.id), events, at: command.at });
    return events;
  }
}

const T0 = Date.parse('2026-05-01T10:00:00.000Z');
/** The instant `minutes` after 10:00 on 2026-05-01. */
const T = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

const scheduleFacts = (over: Partial<ScheduleFacts> = {}): ScheduleFacts => ({
  exists: true,
  enabled: true,
  skip_if_running: true,
  max_concurrent_jobs: 2,
  retry_attempts: 1,
  retry_delay_minutes: 30,
  replication_type: 'auto',
  ...over,
});

const facts = (over: Partial<EvaluationFacts> = {}): EvaluationFacts => clearEvaluationFacts({ schedule_max_concurrent_jobs: 2, ...over });

interface ExecutionHistory {
  appends: Append[];
  /** Ids under the prefix. */
  id: (name: string) => string;
  /** The main execution: 3 VMs, dispatches, a failure and its retry, completions, a skip. */
  main: DrivenExecution;
  /** Skipped at its start (skip_if_running). */
  skipped: DrivenExecution;
  /** A manual trigger cancelled before it started. */
  cancelled: DrivenExecution;
  /** One VM: a failed dispatch, then a phantom job with no retry left. */
  failed: DrivenExecution;
}

/**
 * The history, in append order: a schedule and its group, four VMs, an
 * ExecutionDue (which makes no execution row), and four executions.
 */
function executionHistory(prefix: string): ExecutionHistory {
  const id = (name: string) => `${prefix}-${name}`;
  const appends: Append[] = [];
  const put = (streamId: string, at: string, ...events: DomainEvent[]) => appends.push({ streamId, events, at });
  const pm = (at: string) => ({ at, actor: 'process-manager' });
  const planOf = (...names: string[]): PlanEntry[] =>
    names.map((name, i) => ({ vm_context_id: id(name), vm_name: `vm-${id(name)}`, group_id: id('g1'), group_priority: 0, member_priority: i }));

  put(streamIds.schedule(id('s1')), T(-60), f.scheduleCreated(id('s1'), T(-60), { name: id('nightly'), cron_expression: '0 10 * * *' }));
  put(streamIds.group(id('g1')), T(-59), f.groupCreated(id('g1'), T(-59), { schedule_id: id('s1') }));
  for (const [i, name] of ['a', 'b', 'c', 'd'].entries()) {
    put(streamIds.vm(id(name)), T(-50 + i), f.vmRegistered(id(name), T(-50 + i)), f.vmAssigned(id(name), id('g1'), id(`m-${name}`), T(-50 + i), { priority: i }));
  }
  put(streamIds.schedule(id('s1')), T(0), {
    type: 'ExecutionDue',
    data: { schedule_id: id('s1'), execution_id: id('e1'), due_at: T(0), fire_at: T(0), trigger: 'cron', at: T(0) },
  });

  const schedule = (execution: string, at: string, over: Partial<Extract<ExecutionCommand, { type: 'ScheduleExecution' }>> = {}): ExecutionCommand => ({
    type: 'ScheduleExecution',
    execution_id: id(execution),
    schedule_id: id('s1'),
    scheduled_at: at,
    not_before: at,
    trigger: 'cron',
    triggered_by: 'scheduler',
    reason: null,
    group_id: null,
    force: false,
    parent_execution_id: null,
    ...pm(at),
    ...over,
  });
  const start = (execution: string, names: string[], at: string, over: { running?: string[]; schedule?: Partial<ScheduleFacts> } = {}): ExecutionCommand => ({
    type: 'StartExecution',
    execution_id: id(execution),
    schedule: scheduleFacts(over.schedule),
    running_execution_ids: over.running ?? [],
    plan: planOf(...names),
    ...pm(at),
  });
  const evaluate = (execution: string, vm: string, at: string, over: Partial<EvaluationFacts> = {}): ExecutionCommand => ({
    type: 'EvaluateVm',
    execution_id: id(execution),
    vm_context_id: id(vm),
    facts: facts(over),
    dispatch_id: `dispatch-${id(vm)}-${at}`,
    ...pm(at),
  });
  const dispatched = (execution: string, vm: string, attempt: number, jobId: string, at: string): ExecutionCommand => ({
    type: 'RecordDispatchResult',
    execution_id: id(execution),
    vm_context_id: id(vm),
    attempt,
    result: { kind: 'started', job_id: id(jobId), status: 'pending', progress_percent: 0 },
    ...pm(at),
  });
  const jobStatus = (execution: string, jobId: string, status: string, at: string, progress_percent?: number, error_message?: string): ExecutionCommand => ({
    type: 'RecordJobStatus',
    execution_id: id(execution),
    job_id: id(jobId),
    status,
    ...(progress_percent === undefined ? {} : { progress_percent }),
    ...(error_message === undefined ? {} : { error_message }),
    at,
    actor: 'oma',
  });

  const main = new DrivenExecution(id('e1'), appends);
  main.run(schedule('e1', T(0)));
  main.run(start('e1', ['a', 'b', 'c'], T(0)));
  main.run(evaluate('e1', 'a', T(1)));
  main.run(dispatched('e1', 'a', 1, 'ja1', T(1)));
  main.run(evaluate('e1', 'b', T(1)));
  main.run(dispatched('e1', 'b', 1, 'jb1', T(1)));
  main.run(evaluate('e1', 'c', T(1), { schedule_running_jobs: 2 }));
  main.run(jobStatus('e1', 'ja1', 'replicating', T(5), 42.125));
  main.run(jobStatus('e1', 'jb1', 'failed', T(6), 10, 'disk error'));
  main.run(evaluate('e1', 'c', T(7), { schedule_running_jobs: 1, vm_has_active_job: true }));
  main.run(jobStatus('e1', 'ja1', 'completed', T(20), 100));
  main.run(evaluate('e1', 'b', T(36)));
  main.run(dispatched('e1', 'b', 2, 'jb2', T(36)));
  main.run(jobStatus('e1', 'jb2', 'replicating', T(40), 50));
  main.run(jobStatus('e1', 'jb2', 'completed', T(50)));

  // Due while e1 was still running: skipped.
  const skipped = new DrivenExecution(id('e2'), appends);
  skipped.run(schedule('e2', T(30)));
  skipped.run(start('e2', ['a', 'b', 'c'], T(30), { running: [id('e1')] }));

  const cancelled = new DrivenExecution(id('e3'), appends);
  cancelled.run(schedule('e3', T(60), { trigger: 'manual', triggered_by: 'manual:alice', reason: 'before the upgrade', group_id: id('g1'), force: true }));
  cancelled.run({ type: 'CancelExecution', execution_id: id('e3'), reason: 'not today', at: T(61), actor: 'alice' });

  const failed = new DrivenExecution(id('e4'), appends);
  failed.run(schedule('e4', T(120)));
  failed.run(start('e4', ['d'], T(120)));
  failed.run(evaluate('e4', 'd', T(121)));
  failed.run({ type: 'RecordDispatchResult', execution_id: id('e4'), vm_context_id: id('d'), attempt: 1, result: { kind: 'rejected', message: 'HTTP 400' }, ...pm(T(121)) });
  failed.run(evaluate('e4', 'd', T(151)));
  failed.run(dispatched('e4', 'd', 2, 'jd2', T(151)));
  failed.run({ type: 'RecordPhantom', execution_id: id('e4'), job_id: id('jd2'), reason: 'vma_not_found', ...pm(T(160)) });

  return { appends, id, main, skipped, cancelled, failed };
}

/** Appends the history in order; returns the position of the last event. */
async function appendHistory(store: EventStore, appends: readonly Append[]): Promise<Position> {
  let last: Position = '';
  for (const append of appends) {
    last = await f.appendAll(
      store,
      append.streamId,
      append.events.map((event) => ({ event, at: append.at })),
    );
  }
  return last;
}

// ---------------------------------------------------------------------------
// Folding without a database
// ---------------------------------------------------------------------------

/** The appends' events as the store returns them, positions in append order. */
function recordedHistory(appends: readonly Append[]): RecordedEvent[] {
  let position = 0;
  return appends.flatMap((append) =>
    append.events.map((event, revision): RecordedEvent => {
      position += 1;
      return {
        id: `event-${position}`,
        streamId: append.streamId,
        revision,
        position: String(position),
        type: event.type,
        data: event.data as Record<string, unknown>,
        metadata: f.metadataAt(append.at),
        recordedAt: append.at,
      };
    }),
  );
}

/** Every row of the projection, folded by key in event order as the runner does. */
function foldAll(projection: RowProjection, events: readonly RecordedEvent[]): Map<string, Row> {
  const rows = new Map<string, Row | null>();
  for (const event of events) {
    const key = projection.keyOf(event);
    if (key === null) continue;
    rows.set(key, projection.apply(rows.get(key) ?? null, event));
  }
  return new Map([...rows].flatMap(([key, row]) => (row === null ? [] : [[key, row] as const])));
}

function rowOf(rows: Map<string, Row>, key: string): Row {
  const row = rows.get(key);
  assert.ok(row, `no row ${key}`);
  return row;
}

const counters = (row: Row) => ({
  vms_eligible: row.vms_eligible,
  jobs_created: row.jobs_created,
  jobs_completed: row.jobs_completed,
  jobs_failed: row.jobs_failed,
  jobs_skipped: row.jobs_skipped,
});

describe('executions projection, event by event', () => {
  const history = executionHistory('p');
  const { id } = history;

  it('keeps execution_details and the counters equal to the decider’s, after every event', () => {
    for (const execution of [history.main, history.skipped, history.cancelled, history.failed]) {
      let row: Row | null = null;
      let revision = 0;
      for (const { event, state } of execution.steps) {
        const recorded: RecordedEvent = {
          id: `${execution.id}-${revision}`,
          streamId: streamIds.execution(execution.id),
          revision,
          position: String(revision),
          type: event.type,
          data: event.data as Record<string, unknown>,
          metadata: f.metadataAt(T(0)),
          recordedAt: T(0),
        };
        revision += 1;
        // A progress report changes no execution column: the row is not even loaded for it.
        assert.equal(executionsProjection.keyOf(recorded), event.type === 'JobStatusChanged' ? null : execution.id);
        if (event.type !== 'JobStatusChanged') row = executionsProjection.apply(row, recorded);
        assert.ok(row, `${execution.id}: a row after ${event.type}`);
        assert.deepEqual(readExecutionDetails(row.execution_details).vms, executionDetails(state), `${execution.id} after ${event.type} #${revision}`);
        assert.deepEqual(counters(row), executionCounters(state), `${execution.id} counters after ${event.type} #${revision}`);
      }
    }
  });

  it('records each execution as the API shows it; ExecutionDue makes no row', () => {
    const rows = foldAll(executionsProjection, recordedHistory(history.appends));
    assert.deepEqual([...rows.keys()].sort(), [id('e1'), id('e2'), id('e3'), id('e4')]);

    const e1 = rowOf(rows, id('e1'));
    assert.deepEqual(
      { ...e1, execution_details: undefined },
      {
        id: id('e1'),
        schedule_id: id('s1'),
        group_id: null,
        scheduled_at: T(0),
        started_at: T(0),
        completed_at: T(50),
        status: 'completed',
        vms_eligible: 2,
        jobs_created: 3,
        jobs_completed: 2,
        jobs_failed: 0,
        jobs_skipped: 1,
        execution_details: undefined,
        error_message: null,
        error_details: null,
        execution_duration_seconds: 3000,
        created_at: T(0),
        triggered_by: 'scheduler',
      },
    );
    const details = readExecutionDetails(e1.execution_details);
    assert.deepEqual(
      details.vms.map((vm) => [vm.vm_context_id, vm.outcome, vm.attempts, vm.job_ids, vm.conflict_type ?? null]),
      [
        [id('a'), 'completed', 1, [id('ja1')], null],
        [id('b'), 'completed', 2, [id('jb1'), id('jb2')], null],
        [id('c'), 'skipped', 0, [], 'active_job'],
      ],
    );
    assert.deepEqual([details.trigger, details.reason, details.force], ['cron', null, false]);

    const e2 = rowOf(rows, id('e2'));
    assert.deepEqual([e2.status, e2.started_at, e2.completed_at], ['skipped', null, T(30)]);
    assert.match(String(e2.error_message), new RegExp(`skip_if_running.*${id('e1')}`));
    assert.deepEqual(readExecutionDetails(e2.execution_details).skip, { reason: 'skip_if_running', blocking_execution_id: id('e1') });

    const e3 = rowOf(rows, id('e3'));
    assert.deepEqual([e3.status, e3.triggered_by, e3.group_id, e3.completed_at, e3.started_at], ['cancelled', 'manual:alice', id('g1'), T(61), null]);
    const e3Details = readExecutionDetails(e3.execution_details);
    assert.deepEqual([e3Details.trigger, e3Details.reason, e3Details.force, e3Details.cancel], ['manual', 'before the upgrade', true, { reason: 'not today', at: T(61) }]);

    const e4 = rowOf(rows, id('e4'));
    assert.deepEqual([e4.status, ...Object.values(counters(e4))], ['failed', 1, 1, 0, 1, 0]);
    assert.match(String(e4.error_message), /phantom job \(vma_not_found\)/);
  });

  it('records every job the OMA created, not a failed dispatch', () => {
    const rows = foldAll(jobsProjection, recordedHistory(history.appends));
    assert.deepEqual([...rows.keys()].sort(), [id('ja1'), id('jb1'), id('jb2'), id('jd2')]);
    assert.deepEqual(rowOf(rows, id('ja1')), {
      id: id('ja1'),
      vm_context_id: id('a'),
      schedule_execution_id: id('e1'),
      // From JobStarted: the execution's schedule and the VM's group in its plan.
      schedule_id: id('s1'),
      vm_group_id: id('g1'),
      scheduled_by: 'scheduler-service',
      attempt: 1,
      status: 'completed',
      progress_percent: 100,
      error_message: null,
      phantom_reason: null,
      started_at: T(1),
      updated_at: T(20),
      completed_at: T(20),
    });
    const jb1 = rowOf(rows, id('jb1'));
    // A failure report's progress is not in JobFailed: the last progress recorded stays.
    assert.deepEqual([jb1.status, jb1.progress_percent, jb1.error_message, jb1.completed_at, jb1.attempt], ['failed', 0, 'disk error', T(6), 1]);
    const jb2 = rowOf(rows, id('jb2'));
    assert.deepEqual([jb2.status, jb2.attempt, jb2.started_at, jb2.completed_at], ['completed', 2, T(36), T(50)]);
    const jd2 = rowOf(rows, id('jd2'));
    assert.deepEqual([jd2.status, jd2.phantom_reason, jd2.schedule_execution_id, jd2.completed_at], ['failed', 'vma_not_found', id('e4'), T(160)]);

    // Progress is kept to the column's two decimals.
    const untilReplicating = recordedHistory(history.appends).filter((event) => event.type !== 'JobCompleted' && event.type !== 'VmFinished' && event.type !== 'ExecutionEnded');
    assert.equal(rowOf(foldAll(jobsProjection, untilReplicating), id('ja1')).progress_percent, 42.13);
  });

  it('counts each VM’s jobs and moves it between replicating and the result', () => {
    const events = recordedHistory(history.appends);
    const vms = foldAll(vmContextsProjection, events);
    const view = (name: string) => {
      const row = rowOf(vms, id(name));
      return {
        current_status: row.current_status,
        current_job_id: row.current_job_id,
        total_jobs_run: row.total_jobs_run,
        successful_jobs: row.successful_jobs,
        failed_jobs: row.failed_jobs,
        last_successful_job_id: row.last_successful_job_id,
        last_scheduled_job_id: row.last_scheduled_job_id,
        first_job_at: row.first_job_at,
        last_job_at: row.last_job_at,
      };
    };
    assert.deepEqual(view('a'), {
      current_status: 'ready_for_failover',
      current_job_id: null,
      total_jobs_run: 1,
      successful_jobs: 1,
      failed_jobs: 0,
      last_successful_job_id: id('ja1'),
      last_scheduled_job_id: id('ja1'),
      first_job_at: T(1),
      last_job_at: T(1),
    });
    assert.deepEqual(view('b'), {
      current_status: 'ready_for_failover',
      current_job_id: null,
      total_jobs_run: 2,
      successful_jobs: 1,
      failed_jobs: 1,
      last_successful_job_id: id('jb2'),
      last_scheduled_job_id: id('jb2'),
      first_job_at: T(1),
      last_job_at: T(36),
    });
    assert.deepEqual(view('c'), {
      current_status: 'discovered',
      current_job_id: null,
      total_jobs_run: 0,
      successful_jobs: 0,
      failed_jobs: 0,
      last_successful_job_id: null,
      last_scheduled_job_id: null,
      first_job_at: null,
      last_job_at: null,
    });
    // The failed dispatch made no job; the phantom is a failed one.
    assert.deepEqual([view('d').current_status, view('d').total_jobs_run, view('d').failed_jobs, view('d').current_job_id], ['failed', 1, 1, null]);
    assert.equal(rowOf(vms, id('d')).last_status_change, T(160));

    // While jb2 runs, b is replicating it.
    const jb2Started = events.findIndex((event) => event.type === 'JobStarted' && event.data.job_id === id('jb2'));
    const midway = rowOf(foldAll(vmContextsProjection, events.slice(0, jb2Started + 1)), id('b'));
    assert.deepEqual([midway.current_status, midway.current_job_id, midway.last_status_change], ['replicating', id('jb2'), T(36)]);
  });

  it('leaves the failover engine’s statuses alone, and ignores job events of unknown VMs and other streams', () => {
    const events = recordedHistory(history.appends);
    const status = recordedHistory([{ streamId: streamIds.vm(id('a')), events: [f.vmStatusReported(id('a'), T(0), 'failed_over_test')], at: T(0) }])[0];
    assert.ok(status);
    const registered = events.filter((event) => event.type === 'VmRegistered' && event.data.context_id === id('a'));
    const jobsOfA = events.filter((event) => event.streamId.startsWith('execution-') && event.data.vm_context_id === id('a'));
    const row = rowOf(foldAll(vmContextsProjection, [...registered, status, ...jobsOfA]), id('a'));
    assert.deepEqual([row.current_status, row.total_jobs_run, row.successful_jobs, row.current_job_id], ['failed_over_test', 1, 1, null]);

    const jobsOnly = foldAll(vmContextsProjection, jobsOfA);
    assert.equal(jobsOnly.size, 0, 'a job never creates a VM');

    const elsewhere = { ...jobsOfA.find((event) => event.type === 'JobStarted')!, streamId: 'schedule-x' };
    for (const projection of [executionsProjection, jobsProjection, vmContextsProjection]) assert.equal(projection.keyOf(elsewhere), null, projection.name);
    const due = events.find((event) => event.type === 'ExecutionDue');
    assert.ok(due);
    for (const projection of [executionsProjection, jobsProjection, vmContextsProjection]) assert.equal(projection.keyOf(due), null, projection.name);
  });

  it('an ExecutionScheduled seen again changes nothing', () => {
    const scheduled = recordedHistory(history.appends).find((event) => event.type === 'ExecutionScheduled');
    assert.ok(scheduled);
    const row = executionsProjection.apply(null, scheduled);
    assert.equal(executionsProjection.apply(row, scheduled), row);
  });
});

// ---------------------------------------------------------------------------
// Live, rebuilt and replayed, on each read-model database
// ---------------------------------------------------------------------------

interface Environment {
  store: EventStore;
  db: ReadModelDb;
  dispose(): Promise<void>;
}

const WAIT_MS = 10_000;

/** MariaDB answers decimal(5,2) as text ('42.13'): compared as numbers with SQLite's. */
function comparable(snapshot: Snapshot): Snapshot {
  return {
    ...snapshot,
    replication_jobs: rowsOf(snapshot, 'replication_jobs').map((row) => ({ ...row, progress_percent: Number(row.progress_percent) })),
  };
}

async function withClosers(closers: Array<() => Promise<void>>, open: () => Promise<Omit<Environment, 'dispose'>>, cleanup: () => Promise<void>): Promise<Environment> {
  const dispose = async () => {
    for (const close of closers.reverse()) await close();
    await cleanup();
  };
  try {
    return { ...(await open()), dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

async function openSqlite(): Promise<Environment> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'execution-projections-'));
  const closers: Array<() => Promise<void>> = [];
  return withClosers(
    closers,
    async () => {
      const store = await openSqliteEventStore({ filename: path.join(dataDir, 'events.sqlite'), pollIntervalMs: 20 });
      closers.push(() => store.close());
      const db = await openReadModelDb({ dataDir });
      closers.push(() => db.close());
      return { store, db };
    },
    () => rm(dataDir, { recursive: true, force: true }),
  );
}

// MariaDB is part of the product: these fail (never skip) when it cannot be reached.
async function openMariaDb(): Promise<Environment> {
  const database = await createTestDatabase('t_exec_projections');
  const closers: Array<() => Promise<void>> = [];
  return withClosers(
    closers,
    async () => {
      const store = await openMariaDbEventStore({ url: database.url, pollIntervalMs: 20 });
      closers.push(() => store.close());
      const db = await openReadModelDb({ databaseUrl: database.url, dataDir: path.join(tmpdir(), 'unused-read-model-dir') });
      closers.push(() => db.close());
      return { store, db };
    },
    () => database.drop(),
  );
}

for (const [label, open] of [
  ['SQLite', openSqlite],
  ['MariaDB', openMariaDb],
] as const) {
  describe(`execution read models on ${label}`, () => {
    let env: Environment;
    const runners: ProjectionRunner[] = [];
    const newRunner = (options: ConstructorParameters<typeof ProjectionRunner>[3] = {}) => {
      const runner = new ProjectionRunner(env.store, env.db, [...allProjections], { retryInitialDelayMs: 20, ...options });
      runners.push(runner);
      return runner;
    };
    before(async () => {
      env = await open();
    });
    after(async () => {
      for (const runner of runners) await runner.stop();
      await env?.dispose();
    });

    it('builds live what a rebuild, a replay into fresh tables and the one-batch reference build', async () => {
      // Before the runner starts (caught up), then while it runs (live, in many small appends).
      const early = executionHistory('early');
      await appendHistory(env.store, early.appends);
      const runner = newRunner({ batchSize: 3, catchUpPageSize: 5 });
      await runner.start();
      const late = executionHistory('late');
      const last = await appendHistory(env.store, late.appends);
      assert.equal(await runner.waitForPosition(last, WAIT_MS), true);

      const live = await snapshotReadModels(env.db);
      const executions = new Map(rowsOf(live, 'schedule_executions').map((row) => [row.id, row]));
      assert.equal(executions.size, 8);
      assert.deepEqual(
        [late.id('e1'), late.id('e2'), late.id('e3'), late.id('e4')].map((key) => executions.get(key)?.status),
        ['completed', 'skipped', 'cancelled', 'failed'],
      );
      const e1 = executions.get(late.id('e1'));
      assert.deepEqual([e1?.scheduled_at, e1?.completed_at, e1?.jobs_created, e1?.execution_duration_seconds], [T(0), T(50), 3, 3000]);
      assert.deepEqual(readExecutionDetails(e1?.execution_details).vms, executionDetails(late.main.state));
      const jobs = new Map(rowsOf(live, 'replication_jobs').map((row) => [row.id, row]));
      assert.equal(jobs.size, 8);
      assert.deepEqual([jobs.get(late.id('jb1'))?.status, Number(jobs.get(late.id('jb1'))?.progress_percent), jobs.get(late.id('jb1'))?.completed_at], ['failed', 0, T(6)]);
      const b = rowsOf(live, 'vm_replication_contexts').find((row) => row.context_id === late.id('b'));
      assert.deepEqual([b?.current_status, b?.total_jobs_run, b?.successful_jobs, b?.failed_jobs, b?.last_successful_job_id], ['ready_for_failover', 2, 1, 1, late.id('jb2')]);

      // 1. rebuild(): truncate and replay through the runner.
      const rebuilt = await runner.rebuild();
      assert.equal(rebuilt.events, (await readWholeLog(env.store)).length);
      assert.deepEqual(await snapshotReadModels(env.db), live);

      // 2. Fresh tables, a fresh runner, small pages through a tiny working set.
      await runner.stop();
      await dropReadModels(env.db.knex);
      await migrateReadModels(env.db.knex);
      const replayer = newRunner({ catchUpPageSize: 4, catchUpMaxRows: 3, catchUpFlushIntervalMs: 0 });
      await replayer.start();
      assert.equal(await replayer.waitForPosition(last, WAIT_MS), true);
      assert.deepEqual(await snapshotReadModels(env.db), live);

      // 3. The same rows as one batch into a fresh SQLite database.
      assert.deepEqual(comparable(await referenceSnapshot(env.store)), comparable(live));
    });
  });
}
