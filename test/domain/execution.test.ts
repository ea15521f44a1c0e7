import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExecutionEnded, ExecutionEvent, PlanEntry } from '../../src/domain/execution-events.js';
import {
  evaluableVms,
  executionCounters,
  executionDecider,
  executionDetails,
  hasEvaluableVms,
  inFlightJob,
  inFlightJobs,
  inFlightJobsChangedSince,
  isEnded,
  nextRetryAt,
  occupiedSlots,
  orderPlan,
  reconciliationDueAt,
  requestedButUnconfirmed,
  scheduleExecutionForChain,
  scheduleExecutionForDue,
  type EvaluationFacts,
  type ExecutionCommand,
  type ExecutionState,
  type ReconciliationPolicy,
  type ScheduleFacts,
} from '../../src/domain/execution.js';
import { given } from './given-when-then.js';
import { clearEvaluationFacts } from '../support/evaluation-facts.js';

const EX = 'e1';
const T0 = Date.parse('2026-05-01T10:00:00.000Z');
/** The instant `minutes` (and `seconds`) after 10:00. */
const T = (minutes: number, seconds = 0) => new Date(T0 + minutes * 60_000 + seconds * 1000).toISOString();

const scheduledEvent = (over: Partial<Extract<ExecutionEvent, { type: 'ExecutionScheduled' }>['data']> = {}): ExecutionEvent => ({
  type: 'ExecutionScheduled',
  data: {
    execution_id: EX,
    schedule_id: 's1',
    scheduled_at: T(0),
    not_before: T(0),
    trigger: 'cron',
    triggered_by: 'scheduler',
    reason: null,
    group_id: null,
    force: false,
    parent_execution_id: null,
    at: T(0),
    ...over,
  },
});

const scheduleFacts = (over: Partial<ScheduleFacts> = {}): ScheduleFacts => ({
  exists: true,
  enabled: true,
  skip_if_running: true,
  max_concurrent_jobs: 5,
  retry_attempts: 2,
  retry_delay_minutes: 30,
  replication_type: 'auto',
  ...over,
});

const plan = (...ids: string[]): PlanEntry[] =>
  ids.map((id, i) => ({ vm_context_id: id, vm_name: `vm-${id}`, group_id: 'g1', group_priority: 0, member_priority: i }));

const startedEvent = (ids: string[], over: Partial<ScheduleFacts> = {}): ExecutionEvent => {
  const s = scheduleFacts(over);
  return {
    type: 'ExecutionStarted',
    data: {
      started_at: T(0),
      settings: {
        max_concurrent_jobs: s.max_concurrent_jobs,
        retry_attempts: s.retry_attempts,
        retry_delay_minutes: s.retry_delay_minutes,
        replication_type: s.replication_type,
      },
      plan: plan(...ids),
    },
  };
};

const start = (ids: string[], over: { schedule?: Partial<ScheduleFacts> | null; running?: string[]; at?: string } = {}): ExecutionCommand => ({
  type: 'StartExecution',
  execution_id: EX,
  schedule: over.schedule === null ? null : scheduleFacts(over.schedule),
  running_execution_ids: over.running ?? [],
  plan: plan(...ids),
  at: over.at ?? T(0),
  actor: 'pm',
});

const facts = (over: Partial<EvaluationFacts> = {}): EvaluationFacts => clearEvaluationFacts(over);

const evaluate = (vm: string, at: string, over: Partial<EvaluationFacts> = {}, dispatch_id = `d-${vm}`): ExecutionCommand => ({
  type: 'EvaluateVm',
  execution_id: EX,
  vm_context_id: vm,
  facts: facts(over),
  dispatch_id,
  at,
  actor: 'pm',
});
const dispatched = (vm: string, attempt: number, job_id: string, at: string, status = 'pending', progress_percent = 0): ExecutionCommand => ({
  type: 'RecordDispatchResult',
  execution_id: EX,
  vm_context_id: vm,
  attempt,
  result: { kind: 'started', job_id, status, progress_percent },
  at,
  actor: 'pm',
});
const dispatchFailed = (vm: string, attempt: number, kind: 'active_job' | 'rejected' | 'discovery_failed' | 'vm_not_found', message: string, at: string): ExecutionCommand => ({
  type: 'RecordDispatchResult',
  execution_id: EX,
  vm_context_id: vm,
  attempt,
  result: kind === 'active_job' ? { kind, message } : { kind, message },
  at,
  actor: 'pm',
});
const jobStatus = (job_id: string, status: string, at: string, progress_percent?: number, error_message?: string): ExecutionCommand => ({
  type: 'RecordJobStatus',
  execution_id: EX,
  job_id,
  status,
  ...(progress_percent === undefined ? {} : { progress_percent }),
  ...(error_message === undefined ? {} : { error_message }),
  at,
  actor: 'oma',
});
const phantom = (job_id: string, reason: string, at: string): ExecutionCommand => ({ type: 'RecordPhantom', execution_id: EX, job_id, reason, at, actor: 'monitor' });
const cancel = (at: string, reason: string | null = 'operator asked'): ExecutionCommand => ({ type: 'CancelExecution', execution_id: EX, reason, at, actor: 'bob' });

/** 5 s to discover, 60 s to create, 10 s backoff doubling, 3 reconciliations. */
const POLICY: ReconciliationPolicy = { unsent_grace_ms: 5000, sent_grace_ms: 60_000, backoff_ms: 10_000, max_reconciliations: 3 };
const sendDispatch = (vm: string, at: string, reconciliation = 0, attempt = 1, dispatch_id = `d-${vm}`): ExecutionCommand => ({
  type: 'SendDispatch',
  execution_id: EX,
  vm_context_id: vm,
  attempt,
  dispatch_id,
  reconciliation,
  at,
  actor: 'pm',
});
const reconcile = (vm: string, at: string, policy: ReconciliationPolicy = POLICY, attempt = 1, dispatch_id = `d-${vm}`): ExecutionCommand => ({
  type: 'ReconcileDispatch',
  execution_id: EX,
  vm_context_id: vm,
  attempt,
  dispatch_id,
  policy,
  at,
  actor: 'pm',
});

const ev = {
  sent: (vm: string, at: string, reconciliation = 0, attempt = 1, dispatch_id = `d-${vm}`): ExecutionEvent => ({
    type: 'DispatchSent',
    data: { vm_context_id: vm, attempt, dispatch_id, reconciliation, at },
  }),
  reconciling: (vm: string, reconciliation: number, at: string, attempt = 1, dispatch_id = `d-${vm}`): ExecutionEvent => ({
    type: 'DispatchReconciling',
    data: { vm_context_id: vm, attempt, dispatch_id, reconciliation, at },
  }),
  requested: (vm: string, attempt: number, at: string, dispatch_id = `d-${vm}`): ExecutionEvent => ({ type: 'JobRequested', data: { vm_context_id: vm, attempt, dispatch_id, at } }),
  jobStarted: (vm: string, attempt: number, job_id: string, at: string, status = 'pending', progress_percent = 0): ExecutionEvent => ({
    type: 'JobStarted',
    // The schedule and the VM's group of the plan, for the jobs read model.
    data: { vm_context_id: vm, attempt, job_id, status, progress_percent, at, schedule_id: 's1', group_id: 'g1' },
  }),
  completed: (vm: string, job_id: string, attempt: number, at: string): ExecutionEvent[] => [
    { type: 'JobCompleted', data: { vm_context_id: vm, job_id, attempt, at } },
    { type: 'VmFinished', data: { vm_context_id: vm, outcome: 'completed', at } },
  ],
  failed: (vm: string, job_id: string | null, attempt: number, at: string, error_message = 'job failed', job_status: string | null = 'failed', phantom_reason: string | null = null): ExecutionEvent => ({
    type: 'JobFailed',
    data: { vm_context_id: vm, job_id, attempt, error_message, phantom_reason, job_status, at },
  }),
  retry: (vm: string, next_attempt: number, retry_at: string, at: string): ExecutionEvent => ({ type: 'RetryScheduled', data: { vm_context_id: vm, next_attempt, retry_at, at } }),
  finished: (vm: string, outcome: 'completed' | 'failed' | 'cancelled', at: string): ExecutionEvent => ({ type: 'VmFinished', data: { vm_context_id: vm, outcome, at } }),
  skipped: (vm: string, conflict_type: 'schedule_disabled' | 'vm_disabled' | 'vm_in_failover' | 'active_job', reason: string, at: string): ExecutionEvent => ({
    type: 'VmSkipped',
    data: { vm_context_id: vm, conflict_type, reason, at },
  }),
  queued: (vm: string, conflict_type: 'max_concurrent' | 'group_concurrent', reason: string, at: string): ExecutionEvent => ({
    type: 'VmQueued',
    data: { vm_context_id: vm, conflict_type, reason, at },
  }),
  ended: (data: Partial<ExecutionEnded['data']> & { completed_at: string }): ExecutionEvent => ({
    type: 'ExecutionEnded',
    data: {
      status: 'completed',
      execution_duration_seconds: Math.round((Date.parse(data.completed_at) - T0) / 1000),
      vms_eligible: 0,
      jobs_created: 0,
      jobs_completed: 0,
      jobs_failed: 0,
      jobs_skipped: 0,
      error_message: null,
      ...data,
    },
  }),
};

/** A scenario: commands run one after another, each on the state the previous left. */
class Scenario {
  state: ExecutionState;
  readonly log: ExecutionEvent[] = [];
  constructor(history: ExecutionEvent[] = []) {
    this.state = history.reduce(executionDecider.evolve, executionDecider.initialState);
    this.log.push(...history);
  }
  run(command: ExecutionCommand): ExecutionEvent[] {
    const events = executionDecider.decide(command, this.state);
    this.state = events.reduce(executionDecider.evolve, this.state);
    this.log.push(...events);
    return events;
  }
  types(events: ExecutionEvent[]): string[] {
    return events.map((e) => e.type);
  }
  get ended(): ExecutionEnded['data'] | null {
    return this.state.status === 'absent' ? null : this.state.ended;
  }
}

const running = (ids: string[], over: Partial<ScheduleFacts> = {}) => [scheduledEvent(), startedEvent(ids, over)];

// ---------------------------------------------------------------------------

describe('ScheduleExecution', () => {
  const command: ExecutionCommand = {
    type: 'ScheduleExecution',
    execution_id: EX,
    schedule_id: 's1',
    scheduled_at: T(0),
    not_before: T(0),
    trigger: 'cron',
    triggered_by: 'scheduler',
    reason: null,
    group_id: null,
    force: false,
    parent_execution_id: null,
    at: T(0),
    actor: 'pm',
  };

  it('records the execution', () => {
    given(executionDecider).when(command).then([scheduledEvent()]);
  });

  it('is idempotent: the same id again records nothing', () => {
    given(executionDecider, [scheduledEvent()]).when(command).then([]);
    given(executionDecider, [scheduledEvent(), startedEvent(['a'])]).when(command).then([]);
  });

  it('keeps a manual trigger: actor, reason as data, group and force', () => {
    const manual: ExecutionCommand = { ...command, trigger: 'manual', triggered_by: 'manual:alice', reason: 'before the upgrade', group_id: 'g1', force: true };
    given(executionDecider)
      .when(manual)
      .then([scheduledEvent({ trigger: 'manual', triggered_by: 'manual:alice', reason: 'before the upgrade', group_id: 'g1', force: true })]);
  });

  it('refuses a bad trigger or instant', () => {
    given(executionDecider)
      .when({ ...command, trigger: 'hourly' as never })
      .thenThrows('ValidationError', '/trigger');
    given(executionDecider).when({ ...command, scheduled_at: 'soon' }).thenThrows('ValidationError', '/scheduled_at');
  });
});

describe('StartExecution', () => {
  it('starts with the schedule settings and the plan in the given order', () => {
    given(executionDecider, [scheduledEvent()]).when(start(['b', 'a'])).then([
      {
        type: 'ExecutionStarted',
        data: {
          started_at: T(0),
          settings: { max_concurrent_jobs: 5, retry_attempts: 2, retry_delay_minutes: 30, replication_type: 'auto' },
          plan: plan('b', 'a'),
        },
      },
    ]);
  });

  it('skip_if_running: another execution still running -> skipped', () => {
    given(executionDecider, [scheduledEvent()])
      .when(start(['a'], { running: ['e0'] }))
      .then([{ type: 'ExecutionSkipped', data: { reason: 'skip_if_running', blocking_execution_id: 'e0', at: T(0) } }]);
    given(executionDecider, [scheduledEvent()])
      .when(start(['a'], { running: ['e0'] }))
      .thenState((s) => {
        assert.equal(s.status, 'skipped');
        assert.ok(isEnded(s));
      });
  });

  it('skip_if_running: its own id does not count, and false runs alongside', () => {
    given(executionDecider, [scheduledEvent()]).when(start(['a'], { running: [EX] })).then([startedEvent(['a'])]);
    given(executionDecider, [scheduledEvent()])
      .when(start(['a'], { running: ['e0'], schedule: { skip_if_running: false } }))
      .then([startedEvent(['a'], { skip_if_running: false })]);
  });

  it('a schedule that is gone ends the execution failed', () => {
    const gone = ev.ended({ status: 'failed', completed_at: T(0), execution_duration_seconds: 0, error_message: 'schedule s1 no longer exists' });
    given(executionDecider, [scheduledEvent()]).when(start(['a'], { schedule: null })).then([gone]);
    given(executionDecider, [scheduledEvent()]).when(start(['a'], { schedule: { exists: false } })).then([gone]);
  });

  it('an empty plan starts and ends completed', () => {
    given(executionDecider, [scheduledEvent()])
      .when(start([], { at: T(0, 2) }))
      .then([{ ...startedEvent([]), data: { ...(startedEvent([]).data as object), started_at: T(0, 2) } } as ExecutionEvent, ev.ended({ completed_at: T(0, 2), execution_duration_seconds: 0 })]);
  });

  it('a schedule disabled by now skips every VM (check 1) and ends; force runs them', () => {
    given(executionDecider, [scheduledEvent()])
      .when(start(['a', 'b'], { schedule: { enabled: false } }))
      .then([
        startedEvent(['a', 'b'], { enabled: false }),
        ev.skipped('a', 'schedule_disabled', 'the schedule is disabled', T(0)),
        ev.skipped('b', 'schedule_disabled', 'the schedule is disabled', T(0)),
        ev.ended({ completed_at: T(0), jobs_skipped: 2 }),
      ]);
    given(executionDecider, [scheduledEvent({ force: true, trigger: 'manual', triggered_by: 'manual:alice' })])
      .when(start(['a', 'b'], { schedule: { enabled: false } }))
      .then([startedEvent(['a', 'b'], { enabled: false })]);
  });

  it('not before not_before; once only; never for an unknown execution', () => {
    given(executionDecider, [scheduledEvent({ not_before: T(1) })]).when(start(['a'])).thenThrows('Conflict', 'before');
    given(executionDecider, running(['a'])).when(start(['a'])).then([]);
    given(executionDecider).when(start(['a'])).thenThrows('NotFound');
  });

  it('refuses a VM planned twice', () => {
    given(executionDecider, [scheduledEvent()]).when(start(['a', 'a'])).thenThrows('ValidationError', '/plan/1/vm_context_id');
  });
});

describe('EvaluateVm: the six checks at dispatch time', () => {
  it('a VM that passes gets a JobRequested (attempt 1) with the dispatch id', () => {
    given(executionDecider, running(['a', 'b'])).when(evaluate('a', T(0))).then([ev.requested('a', 1, T(0))]);
  });

  it('checks run in order: a VM both disabled and failed over is vm_disabled', () => {
    given(executionDecider, running(['a', 'b']))
      .when(evaluate('a', T(0), { vm_scheduler_enabled: false, vm_status: 'failed_over_live' }))
      .then([ev.skipped('a', 'vm_disabled', 'the VM is excluded from schedules (scheduler_enabled is false)', T(0))]);
    given(executionDecider, running(['a', 'b']))
      .when(evaluate('a', T(0), { vm_status: 'failed_over_test', vm_has_active_job: true }))
      .then([ev.skipped('a', 'vm_in_failover', 'the VM is failed_over_test', T(0))]);
    given(executionDecider, running(['a', 'b']))
      .when(evaluate('a', T(0), { vm_has_active_job: true, schedule_running_jobs: 5 }))
      .then([ev.skipped('a', 'active_job', 'the VM already has an active replication job', T(0))]);
  });

  it('a disabled schedule skips the VM; force overrides that check only', () => {
    given(executionDecider, running(['a', 'b']))
      .when(evaluate('a', T(0), { schedule_enabled: false }))
      .then([ev.skipped('a', 'schedule_disabled', 'the schedule is disabled', T(0))]);
    const forced = [scheduledEvent({ force: true, trigger: 'manual', triggered_by: 'manual:alice' }), startedEvent(['a', 'b'])];
    given(executionDecider, forced).when(evaluate('a', T(0), { schedule_enabled: false })).then([ev.requested('a', 1, T(0))]);
    given(executionDecider, forced)
      .when(evaluate('a', T(0), { schedule_enabled: false, membership_enabled: false }))
      .then([ev.skipped('a', 'vm_disabled', "the VM's group membership is disabled", T(0))]);
    given(executionDecider, forced)
      .when(evaluate('a', T(0), { schedule_enabled: false, vm_status: 'cleanup_required' }))
      .then([ev.skipped('a', 'vm_in_failover', 'the VM is cleanup_required', T(0))]);
  });

  it('concurrency limits queue the VM, once; it stays queued silently', () => {
    const queued = ev.queued('a', 'max_concurrent', 'the schedule has 5 of 5 jobs running', T(0));
    given(executionDecider, running(['a', 'b'])).when(evaluate('a', T(0), { schedule_running_jobs: 5 })).then([queued]);
    given(executionDecider, [...running(['a', 'b']), queued]).when(evaluate('a', T(1), { schedule_running_jobs: 5 })).then([]);
    given(executionDecider, [...running(['a', 'b']), queued]).when(evaluate('a', T(1), { group_running_jobs: 5 })).then([]);
    given(executionDecider, running(['a', 'b']))
      .when(evaluate('a', T(0), { group_running_jobs: 2, group_max_concurrent_vms: 2 }))
      .then([ev.queued('a', 'group_concurrent', 'the group has 2 of 2 jobs running', T(0))]);
  });

  it('a queued VM is dispatched, with the checks run again, once a slot frees', () => {
    const queued = ev.queued('a', 'max_concurrent', 'the schedule has 5 of 5 jobs running', T(0));
    given(executionDecider, [...running(['a', 'b']), queued]).when(evaluate('a', T(2), { schedule_running_jobs: 4 })).then([ev.requested('a', 1, T(2))]);
    // Checked again: in failover by now.
    given(executionDecider, [...running(['a', 'b']), queued])
      .when(evaluate('a', T(2), { vm_status: 'failed_over_live' }))
      .then([ev.skipped('a', 'vm_in_failover', 'the VM is failed_over_live', T(2))]);
  });

  it("never counts fewer running jobs than its own open dispatches (two process managers racing)", () => {
    const s = new Scenario(running(['a', 'b', 'c'], { max_concurrent_jobs: 1 }));
    assert.deepEqual(s.types(s.run(evaluate('a', T(0), { schedule_max_concurrent_jobs: 1 }))), ['JobRequested']);
    // The facts were read before a's dispatch was appended: they say nothing runs.
    assert.deepEqual(s.run(evaluate('b', T(0), { schedule_max_concurrent_jobs: 1 })), [
      ev.queued('b', 'max_concurrent', 'the schedule has 1 of 1 jobs running', T(0)),
    ]);
    assert.deepEqual(s.run(evaluate('c', T(0), { group_max_concurrent_vms: 1 })), [ev.queued('c', 'group_concurrent', 'the group has 1 of 1 jobs running', T(0))]);
    assert.deepEqual(occupiedSlots(s.state), { total: 1, by_group: { g1: 1 } });
  });

  it('records nothing for a VM that is not evaluable; refuses unknown VMs and unstarted executions', () => {
    given(executionDecider, [...running(['a']), ev.requested('a', 1, T(0))]).when(evaluate('a', T(1))).then([]);
    given(executionDecider, running(['a'])).when(evaluate('zz', T(1))).thenThrows('NotFound', 'zz');
    given(executionDecider, [scheduledEvent()]).when(evaluate('a', T(0))).thenThrows('Conflict', 'not started');
  });

  it('the last VM skipped ends the execution', () => {
    given(executionDecider, running(['a']))
      .when(evaluate('a', T(1), { vm_scheduler_enabled: false }))
      .then([
        ev.skipped('a', 'vm_disabled', 'the VM is excluded from schedules (scheduler_enabled is false)', T(1)),
        ev.ended({ completed_at: T(1), jobs_skipped: 1 }),
      ]);
  });
});

describe('RecordDispatchResult', () => {
  const requested = [...running(['a', 'b']), ev.requested('a', 1, T(0))];

  it('records the job the OMA created', () => {
    given(executionDecider, requested).when(dispatched('a', 1, 'j1', T(0, 20))).then([ev.jobStarted('a', 1, 'j1', T(0, 20))]);
  });

  it('is idempotent for the same job, refuses a result nobody awaits', () => {
    given(executionDecider, [...requested, ev.jobStarted('a', 1, 'j1', T(0, 20))]).when(dispatched('a', 1, 'j1', T(1))).then([]);
    given(executionDecider, requested).when(dispatched('a', 2, 'j1', T(1))).thenThrows('Conflict', 'attempt 2');
    given(executionDecider, requested).when(dispatched('b', 1, 'j9', T(1))).thenThrows('Conflict');
  });

  it('a 409 active job from the OMA is the active_job skip, not a failure', () => {
    const s = new Scenario(requested);
    assert.deepEqual(s.run(dispatchFailed('a', 1, 'active_job', 'VM has an active replication job', T(0, 5))), [
      ev.skipped('a', 'active_job', 'the OMA reports an active job: VM has an active replication job', T(0, 5)),
    ]);
    s.run(evaluate('b', T(1)));
    s.run(dispatched('b', 1, 'j2', T(1)));
    s.run(jobStatus('j2', 'completed', T(10), 100));
    assert.deepEqual(s.ended, {
      status: 'completed',
      completed_at: T(10),
      execution_duration_seconds: 600,
      vms_eligible: 2,
      jobs_created: 1,
      jobs_completed: 1,
      jobs_failed: 0,
      jobs_skipped: 1,
      error_message: null,
    });
    assert.equal(executionDetails(s.state)[0]?.outcome, 'skipped');
    assert.equal(executionDetails(s.state)[0]?.conflict_type, 'active_job');
  });

  it('a rejected dispatch (or failed discovery, or VM not found) is a failed attempt, retried', () => {
    given(executionDecider, requested)
      .when(dispatchFailed('a', 1, 'rejected', 'HTTP 400: bad ossea_config_id', T(1)))
      .then([ev.failed('a', null, 1, T(1), 'rejected: HTTP 400: bad ossea_config_id', null), ev.retry('a', 2, T(31), T(1))]);
    given(executionDecider, requested)
      .when(dispatchFailed('a', 1, 'vm_not_found', 'no VM named vm-a', T(1)))
      .then([ev.failed('a', null, 1, T(1), 'vm_not_found: no VM named vm-a', null), ev.retry('a', 2, T(31), T(1))]);
  });

  it('a job reconciled after a crash that has already completed is followed through', () => {
    given(executionDecider, [...running(['a']), ev.requested('a', 1, T(0))])
      .when(dispatched('a', 1, 'j1', T(5), 'completed', 100))
      .then([
        ev.jobStarted('a', 1, 'j1', T(5), 'completed', 100),
        ...ev.completed('a', 'j1', 1, T(5)),
        ev.ended({ completed_at: T(5), vms_eligible: 1, jobs_created: 1, jobs_completed: 1 }),
      ]);
  });
});

describe('SendDispatch: the call is recorded right before it is made', () => {
  const requested = [...running(['a', 'b']), ev.requested('a', 1, T(0))];

  it('the instance whose JobRequested won records DispatchSent, once', () => {
    given(executionDecider, requested).when(sendDispatch('a', T(0, 2))).then([ev.sent('a', T(0, 2))]);
    given(executionDecider, [...requested, ev.sent('a', T(0, 2))]).when(sendDispatch('a', T(0, 3))).thenThrows('Conflict', 'sent already');
  });

  it('after a reconciliation claim, only the claimant may send: the first sender is refused (it must not call)', () => {
    const claimed = [...requested, ev.reconciling('a', 1, T(1))];
    given(executionDecider, claimed).when(sendDispatch('a', T(1, 1))).thenThrows('Conflict', 'reconciliation 1');
    given(executionDecider, claimed).when(sendDispatch('a', T(1, 1), 1)).then([ev.sent('a', T(1, 1), 1)]);
  });

  it('refuses a dispatch that is not open: answered, another attempt, another dispatch id, a VM not requested', () => {
    given(executionDecider, [...requested, ev.jobStarted('a', 1, 'j1', T(0, 5))]).when(sendDispatch('a', T(1))).thenThrows('Conflict');
    given(executionDecider, requested).when(sendDispatch('a', T(1), 0, 2)).thenThrows('Conflict', 'attempt 2');
    given(executionDecider, requested).when(sendDispatch('a', T(1), 0, 1, 'd-other')).thenThrows('Conflict', 'd-other');
    given(executionDecider, requested).when(sendDispatch('b', T(1))).thenThrows('Conflict');
  });
});

describe('ReconcileDispatch: a dispatch left without an answer', () => {
  const requested = [...running(['a']), ev.requested('a', 1, T(0))];
  const sent = [...requested, ev.sent('a', T(0, 1))];

  it('a dispatch never sent is claimed once its discovery grace has passed, not before', () => {
    given(executionDecider, requested).when(reconcile('a', T(0, 4))).then([]);
    given(executionDecider, requested).when(reconcile('a', T(0, 5))).then([ev.reconciling('a', 1, T(0, 5))]);
  });

  it('a sent dispatch is claimed only after the creation grace (its sender\'s call has surely ended)', () => {
    given(executionDecider, sent).when(reconcile('a', T(1))).then([]);
    given(executionDecider, sent).when(reconcile('a', T(1, 1))).then([ev.reconciling('a', 1, T(1, 1))]);
  });

  it('claims are numbered; each further one waits for the claimant\'s work and a doubling backoff', () => {
    const s = new Scenario(sent);
    assert.deepEqual(s.run(reconcile('a', T(1, 1))), [ev.reconciling('a', 1, T(1, 1))]);
    // Claim 1 at 10:01:01: discovery + creation grace (65 s) + 10 s -> due at 10:02:16.
    assert.equal(reconciliationDueAt(requestedButUnconfirmed(s.state)[0]!, POLICY), T(2, 16));
    assert.deepEqual(s.run(reconcile('a', T(2, 15))), []);
    assert.deepEqual(s.run(reconcile('a', T(2, 16))), [ev.reconciling('a', 2, T(2, 16))]);
    // Claim 2: 65 s + 20 s.
    assert.equal(reconciliationDueAt(requestedButUnconfirmed(s.state)[0]!, POLICY), T(3, 41));
  });

  it('of two instances racing, the second decides on the first one\'s claim and gets nothing', () => {
    given(executionDecider, [...sent, ev.reconciling('a', 1, T(1, 1))]).when(reconcile('a', T(1, 2))).then([]);
  });

  it('after max_reconciliations claims without an answer the attempt fails, and the retry policy applies', () => {
    const exhausted = [...sent, ev.reconciling('a', 1, T(1, 1)), ev.reconciling('a', 2, T(3)), ev.reconciling('a', 3, T(5))];
    given(executionDecider, exhausted)
      .when(reconcile('a', T(10)))
      .then([ev.failed('a', null, 1, T(10), 'creation unconfirmed after 3 reconciliations', null), ev.retry('a', 2, T(40), T(10))]);
    const noRetry = [...running(['a'], { retry_attempts: 0 }), ev.requested('a', 1, T(0)), ev.reconciling('a', 1, T(1)), ev.reconciling('a', 2, T(3)), ev.reconciling('a', 3, T(5))];
    given(executionDecider, noRetry)
      .when(reconcile('a', T(10)))
      .then([
        ev.failed('a', null, 1, T(10), 'dispatch not sent after 3 reconciliations', null),
        ev.finished('a', 'failed', T(10)),
        ev.ended({ status: 'failed', completed_at: T(10), vms_eligible: 1, jobs_failed: 1, error_message: '1 of 1 VMs failed: vm-a (dispatch not sent after 3 reconciliations)' }),
      ]);
  });

  it('an answer ends the reconciliation: the job found is adopted, nothing is left to reconcile', () => {
    const s = new Scenario([...sent, ev.reconciling('a', 1, T(1, 1))]);
    assert.deepEqual(s.types(s.run(dispatched('a', 1, 'j1', T(1, 2), 'replicating', 40))), ['JobStarted']);
    assert.deepEqual(requestedButUnconfirmed(s.state), []);
    assert.deepEqual(s.run(reconcile('a', T(30))), []);
    assert.equal(s.state.status !== 'absent' && s.state.jobs_created, 1);
  });

  it('the OMA\'s 409 naming no job on a reconciliation is the active_job skip', () => {
    given(executionDecider, [...sent, ev.reconciling('a', 1, T(1, 1))])
      .when(dispatchFailed('a', 1, 'active_job', 'VM has an active replication job', T(1, 2)))
      .then([
        ev.skipped('a', 'active_job', 'the OMA reports an active job: VM has an active replication job', T(1, 2)),
        ev.ended({ completed_at: T(1, 2), vms_eligible: 1, jobs_skipped: 1 }),
      ]);
  });

  it('refuses a bad policy', () => {
    given(executionDecider, sent).when(reconcile('a', T(2), { ...POLICY, max_reconciliations: 0 })).thenThrows('ValidationError', '/policy/max_reconciliations');
    given(executionDecider, sent).when(reconcile('a', T(2), { ...POLICY, sent_grace_ms: -1 })).thenThrows('ValidationError', '/policy/sent_grace_ms');
  });
});

describe('RecordJobStatus', () => {
  const inFlight = [...running(['a', 'b']), ev.requested('a', 1, T(0)), ev.jobStarted('a', 1, 'j1', T(0))];

  it('records changes only', () => {
    given(executionDecider, inFlight)
      .when(jobStatus('j1', 'replicating', T(1), 5))
      .then([{ type: 'JobStatusChanged', data: { vm_context_id: 'a', job_id: 'j1', status: 'replicating', progress_percent: 5, at: T(1) } }]);
    given(executionDecider, inFlight).when(jobStatus('j1', 'pending', T(1), 0)).then([]);
    given(executionDecider, inFlight).when(jobStatus('j1', 'pending', T(1))).then([]);
    given(executionDecider, inFlight)
      .when(jobStatus('j1', 'pending', T(1), 1))
      .then([{ type: 'JobStatusChanged', data: { vm_context_id: 'a', job_id: 'j1', status: 'pending', progress_percent: 1, at: T(1) } }]);
  });

  it('completed -> JobCompleted and the VM finished', () => {
    given(executionDecider, inFlight).when(jobStatus('j1', 'completed', T(9), 100)).then(ev.completed('a', 'j1', 1, T(9)));
  });

  it('the VM named with the job spares a search; a VM that is not the job\'s is not taken for it', () => {
    const withVm = (vm: string): ExecutionCommand => ({ ...jobStatus('j1', 'completed', T(9), 100), vm_context_id: vm } as ExecutionCommand);
    given(executionDecider, inFlight).when(withVm('a')).then(ev.completed('a', 'j1', 1, T(9)));
    given(executionDecider, inFlight).when(withVm('b')).then(ev.completed('a', 'j1', 1, T(9)));
    given(executionDecider, inFlight).when(withVm('nosuchvm')).then(ev.completed('a', 'j1', 1, T(9)));
    given(executionDecider, inFlight)
      .when({ ...phantom('j1', 'oma_not_found', T(9)), vm_context_id: 'b' } as ExecutionCommand)
      .then(executionDecider.decide(phantom('j1', 'oma_not_found', T(9)), given(executionDecider, inFlight).state));
  });

  it('completed below 100 % is a phantom: a failed attempt', () => {
    given(executionDecider, inFlight)
      .when(jobStatus('j1', 'completed', T(9), 60))
      .then([
        ev.failed('a', 'j1', 1, T(9), 'phantom job (completed_below_100): reported completed at 60 %', null, 'completed_below_100'),
        ev.retry('a', 2, T(39), T(9)),
      ]);
  });

  it('each failed status is a failed attempt, retried after retry_delay_minutes', () => {
    for (const status of ['failed', 'replication_failed', 'cancelled']) {
      given(executionDecider, inFlight)
        .when(jobStatus('j1', status, T(5), 30, 'disk error'))
        .then([ev.failed('a', 'j1', 1, T(5), 'disk error', status), ev.retry('a', 2, T(35), T(5))]);
    }
    given(executionDecider, inFlight).when(jobStatus('j1', 'failed', T(5))).then([ev.failed('a', 'j1', 1, T(5), 'job failed', 'failed'), ev.retry('a', 2, T(35), T(5))]);
  });

  it('a terminal job cannot change: Conflict (409); unknown job: NotFound; unknown status: ValidationError', () => {
    const done = [...inFlight, ...ev.completed('a', 'j1', 1, T(9))];
    given(executionDecider, done).when(jobStatus('j1', 'replicating', T(10), 50)).thenThrows('Conflict', 'j1');
    given(executionDecider, done).when(jobStatus('j1', 'completed', T(10), 100)).thenThrows('Conflict', 'j1');
    const failedOnce = [...inFlight, ev.failed('a', 'j1', 1, T(5)), ev.retry('a', 2, T(35), T(5))];
    given(executionDecider, failedOnce).when(jobStatus('j1', 'completed', T(6), 100)).thenThrows('Conflict', 'j1');
    given(executionDecider, inFlight).when(jobStatus('nope', 'replicating', T(1), 1)).thenThrows('NotFound', 'nope');
    given(executionDecider, inFlight).when(jobStatus('j1', 'exploded', T(1), 1)).thenThrows('ValidationError', '/status');
    given(executionDecider, inFlight).when(jobStatus('j1', 'replicating', T(1), 140)).thenThrows('ValidationError', '/progress_percent');
  });
});

describe('retries', () => {
  it('backoff doubles: the second failure waits twice as long', () => {
    const s = new Scenario(running(['a'], { retry_attempts: 3, retry_delay_minutes: 30 }));
    s.run(evaluate('a', T(0)));
    s.run(dispatched('a', 1, 'j1', T(0)));
    assert.deepEqual(s.run(jobStatus('j1', 'failed', T(10))).at(-1), ev.retry('a', 2, T(40), T(10)));
    assert.deepEqual(s.run(evaluate('a', T(40))), [ev.requested('a', 2, T(40))]);
    s.run(dispatched('a', 2, 'j2', T(40)));
    assert.deepEqual(s.run(jobStatus('j2', 'failed', T(50))).at(-1), ev.retry('a', 3, T(110), T(50)));
    s.run(evaluate('a', T(110)));
    s.run(dispatched('a', 3, 'j3', T(110)));
    assert.deepEqual(s.run(jobStatus('j3', 'failed', T(120))).at(-1), ev.retry('a', 4, T(240), T(120)));
  });

  it('backoff is capped at 24 h', () => {
    const s = new Scenario(running(['a'], { retry_attempts: 3, retry_delay_minutes: 1000 }));
    s.run(evaluate('a', T(0)));
    s.run(dispatched('a', 1, 'j1', T(0)));
    assert.deepEqual(s.run(jobStatus('j1', 'failed', T(0))).at(-1), ev.retry('a', 2, T(1000), T(0)));
    s.run(evaluate('a', T(1000)));
    s.run(dispatched('a', 2, 'j2', T(1000)));
    assert.deepEqual(s.run(jobStatus('j2', 'failed', T(1000))).at(-1), ev.retry('a', 3, T(1000 + 1440), T(1000)));
  });

  it('a VM waiting for its retry is evaluable only from retry_at', () => {
    const waiting = [...running(['a']), ev.requested('a', 1, T(0)), ev.jobStarted('a', 1, 'j1', T(0)), ev.failed('a', 'j1', 1, T(5)), ev.retry('a', 2, T(35), T(5))];
    given(executionDecider, waiting).when(evaluate('a', T(34, 59))).then([]);
    given(executionDecider, waiting).when(evaluate('a', T(35), {}, 'd2')).then([ev.requested('a', 2, T(35), 'd2')]);
    const state = waiting.reduce(executionDecider.evolve, executionDecider.initialState);
    assert.deepEqual(evaluableVms(state, T(34)), []);
    assert.deepEqual(evaluableVms(state, T(35)).map((v) => v.vm_context_id), ['a']);
    assert.deepEqual([hasEvaluableVms(state, T(34)), hasEvaluableVms(state, T(35))], [false, true]);
    assert.equal(nextRetryAt(state), T(35));
    assert.equal(executionDetails(state)[0]?.outcome, 'waiting_retry');
    assert.equal(executionDetails(state)[0]?.retry_at, T(35));
  });

  it('retries exhausted: the VM fails, and the execution with it', () => {
    const s = new Scenario(running(['a'], { retry_attempts: 1 }));
    s.run(evaluate('a', T(0)));
    s.run(dispatched('a', 1, 'j1', T(0)));
    s.run(jobStatus('j1', 'failed', T(5), 10, 'disk error'));
    s.run(evaluate('a', T(35)));
    s.run(dispatched('a', 2, 'j2', T(35)));
    assert.deepEqual(s.run(jobStatus('j2', 'replication_failed', T(40), 10, 'disk error again')), [
      ev.failed('a', 'j2', 2, T(40), 'disk error again', 'replication_failed'),
      ev.finished('a', 'failed', T(40)),
      ev.ended({
        status: 'failed',
        completed_at: T(40),
        vms_eligible: 1,
        jobs_created: 2,
        jobs_failed: 1,
        error_message: '1 of 1 VMs failed: vm-a (disk error again)',
      }),
    ]);
    assert.deepEqual(executionDetails(s.state), [
      { vm_context_id: 'a', vm_name: 'vm-a', group_id: 'g1', outcome: 'failed', job_ids: ['j1', 'j2'], attempts: 2, error_message: 'disk error again' },
    ]);
  });

  it('retry_attempts 0: the first failure is final', () => {
    given(executionDecider, [...running(['a'], { retry_attempts: 0 }), ev.requested('a', 1, T(0)), ev.jobStarted('a', 1, 'j1', T(0))])
      .when(jobStatus('j1', 'failed', T(5)))
      .then([
        ev.failed('a', 'j1', 1, T(5), 'job failed', 'failed'),
        ev.finished('a', 'failed', T(5)),
        ev.ended({ status: 'failed', completed_at: T(5), vms_eligible: 1, jobs_created: 1, jobs_failed: 1, error_message: '1 of 1 VMs failed: vm-a (job failed)' }),
      ]);
  });

  it('only the failed VMs are retried', () => {
    const s = new Scenario(running(['a', 'b']));
    s.run(evaluate('a', T(0)));
    s.run(evaluate('b', T(0)));
    s.run(dispatched('a', 1, 'ja', T(0)));
    s.run(dispatched('b', 1, 'jb', T(0)));
    s.run(jobStatus('ja', 'completed', T(5), 100));
    s.run(jobStatus('jb', 'failed', T(5)));
    assert.deepEqual(evaluableVms(s.state, T(60)).map((v) => v.vm_context_id), ['b']);
    assert.deepEqual(s.run(evaluate('a', T(60))), []);
  });

  it('a retry refused by a check ends the VM failed, not skipped', () => {
    const waiting = [...running(['a']), ev.requested('a', 1, T(0)), ev.jobStarted('a', 1, 'j1', T(0)), ev.failed('a', 'j1', 1, T(5)), ev.retry('a', 2, T(35), T(5))];
    given(executionDecider, waiting)
      .when(evaluate('a', T(35), { vm_status: 'failed_over_test' }))
      .then([
        ev.skipped('a', 'vm_in_failover', 'the VM is failed_over_test', T(35)),
        ev.finished('a', 'failed', T(35)),
        ev.ended({ status: 'failed', completed_at: T(35), vms_eligible: 1, jobs_created: 1, jobs_failed: 1, error_message: '1 of 1 VMs failed: vm-a (job failed)' }),
      ]);
  });
});

describe('RecordPhantom', () => {
  const inFlight = [...running(['a', 'b'], { max_concurrent_jobs: 1 }), ev.requested('a', 1, T(0)), ev.jobStarted('a', 1, 'j1', T(0))];

  it('a phantom is a failed attempt with its reason, and frees the slot', () => {
    const s = new Scenario(inFlight);
    assert.deepEqual(occupiedSlots(s.state).total, 1);
    assert.deepEqual(s.run(phantom('j1', 'vma_not_found', T(10))), [
      ev.failed('a', 'j1', 1, T(10), 'phantom job (vma_not_found)', null, 'vma_not_found'),
      ev.retry('a', 2, T(40), T(10)),
    ]);
    assert.deepEqual(occupiedSlots(s.state).total, 0);
    assert.deepEqual(inFlightJobs(s.state), []);
    assert.deepEqual(s.types(s.run(evaluate('b', T(11), { schedule_max_concurrent_jobs: 1 }))), ['JobRequested']);
  });

  it('a job already ended cannot be a phantom', () => {
    given(executionDecider, [...inFlight, ...ev.completed('a', 'j1', 1, T(5))]).when(phantom('j1', 'vma_not_found', T(10))).thenThrows('Conflict');
  });
});

describe('CancelExecution', () => {
  it('drops queued, pending and retry-waiting VMs; running jobs finish and are recorded; then cancelled', () => {
    const s = new Scenario(running(['run', 'queued', 'waiting', 'pending'], { max_concurrent_jobs: 2 }));
    s.run(evaluate('run', T(0)));
    s.run(dispatched('run', 1, 'j-run', T(0)));
    s.run(evaluate('waiting', T(0)));
    s.run(dispatched('waiting', 1, 'j-w', T(0)));
    s.run(evaluate('queued', T(0), { schedule_max_concurrent_jobs: 2 }));
    s.run(jobStatus('j-w', 'failed', T(3)));
    assert.deepEqual(
      executionDetails(s.state).map((d) => d.outcome),
      ['dispatched', 'queued', 'waiting_retry', 'pending'],
    );
    assert.deepEqual(s.run(cancel(T(4))), [{ type: 'ExecutionCancelled', data: { reason: 'operator asked', dropped_vm_ids: ['queued', 'waiting', 'pending'], at: T(4) } }]);
    assert.equal(s.state.status, 'running');
    assert.equal(isEnded(s.state), false);
    assert.deepEqual(evaluableVms(s.state, T(60)), []);
    assert.deepEqual(s.run(evaluate('queued', T(5))), []);
    assert.deepEqual(s.run(cancel(T(5))), []); // cancelled already
    assert.deepEqual(s.run(jobStatus('j-run', 'replicating', T(6), 50)).map((e) => e.type), ['JobStatusChanged']);
    assert.deepEqual(s.run(jobStatus('j-run', 'completed', T(8), 100)), [
      ...ev.completed('run', 'j-run', 1, T(8)),
      ev.ended({ status: 'cancelled', completed_at: T(8), vms_eligible: 2, jobs_created: 2, jobs_completed: 1, error_message: null }),
    ]);
    assert.deepEqual(
      executionDetails(s.state).map((d) => d.outcome),
      ['completed', 'cancelled', 'cancelled', 'cancelled'],
    );
    given(executionDecider, s.log).when(cancel(T(9))).thenThrows('Conflict', 'ended');
  });

  it('a running job failing after the cancel is not retried', () => {
    const s = new Scenario([...running(['a', 'b']), ev.requested('a', 1, T(0)), ev.jobStarted('a', 1, 'j1', T(0))]);
    s.run(cancel(T(1)));
    assert.deepEqual(s.run(jobStatus('j1', 'failed', T(2))), [
      ev.failed('a', 'j1', 1, T(2), 'job failed', 'failed'),
      ev.finished('a', 'cancelled', T(2)),
      ev.ended({ status: 'cancelled', completed_at: T(2), vms_eligible: 1, jobs_created: 1 }),
    ]);
  });

  it('a dispatch awaiting its answer is left to finish', () => {
    const s = new Scenario([...running(['a']), ev.requested('a', 1, T(0))]);
    assert.deepEqual(s.types(s.run(cancel(T(1)))), ['ExecutionCancelled']);
    assert.deepEqual(requestedButUnconfirmed(s.state).map((d) => d.vm_context_id), ['a']);
    assert.deepEqual(s.types(s.run(dispatched('a', 1, 'j1', T(2)))), ['JobStarted']);
    assert.deepEqual(s.types(s.run(jobStatus('j1', 'completed', T(3), 100))), ['JobCompleted', 'VmFinished', 'ExecutionEnded']);
    assert.equal(s.ended?.status, 'cancelled');
  });

  it('with nothing running it ends at once; a scheduled execution too', () => {
    given(executionDecider, running(['a']))
      .when(cancel(T(1), null))
      .then([
        { type: 'ExecutionCancelled', data: { reason: null, dropped_vm_ids: ['a'], at: T(1) } },
        ev.ended({ status: 'cancelled', completed_at: T(1) }),
      ]);
    given(executionDecider, [scheduledEvent()])
      .when(cancel(T(1)))
      .then([
        { type: 'ExecutionCancelled', data: { reason: 'operator asked', dropped_vm_ids: [], at: T(1) } },
        ev.ended({ status: 'cancelled', completed_at: T(1), execution_duration_seconds: 0 }),
      ]);
  });

  it('refuses an ended or unknown execution', () => {
    given(executionDecider, [scheduledEvent(), { type: 'ExecutionSkipped', data: { reason: 'skip_if_running', blocking_execution_id: 'e0', at: T(0) } }])
      .when(cancel(T(1)))
      .thenThrows('Conflict');
    given(executionDecider).when(cancel(T(1))).thenThrows('NotFound');
  });
});

describe('the end: true counters in a mixed run', () => {
  it('completed, retried, failed, skipped by a check and by the OMA', () => {
    // ok: completes at once; flaky: fails once then completes; broken: fails twice (retry_attempts 1);
    // off: scheduler disabled; busy: the OMA answers 409; moved: failed over; later: queued, then completes.
    const s = new Scenario(running(['ok', 'flaky', 'broken', 'off', 'busy', 'moved', 'later'], { retry_attempts: 1, retry_delay_minutes: 10, max_concurrent_jobs: 4 }));
    const lim = { schedule_max_concurrent_jobs: 4 };
    for (const vm of ['ok', 'flaky', 'broken']) s.run(evaluate(vm, T(0), lim));
    s.run(evaluate('off', T(0), { ...lim, vm_scheduler_enabled: false }));
    s.run(evaluate('busy', T(0), lim));
    s.run(evaluate('moved', T(0), { ...lim, vm_status: 'failed_over_live' }));
    s.run(evaluate('later', T(0), lim));
    assert.deepEqual(
      executionDetails(s.state).map((d) => `${d.vm_context_id}:${d.outcome}`),
      ['ok:dispatched', 'flaky:dispatched', 'broken:dispatched', 'off:skipped', 'busy:dispatched', 'moved:skipped', 'later:queued'],
    );
    s.run(dispatched('ok', 1, 'j-ok', T(1)));
    s.run(dispatched('flaky', 1, 'j-f1', T(1)));
    s.run(dispatched('broken', 1, 'j-b1', T(1)));
    s.run(dispatchFailed('busy', 1, 'active_job', 'already replicating', T(1)));
    s.run(jobStatus('j-ok', 'completed', T(5), 100));
    s.run(evaluate('later', T(5), lim));
    s.run(dispatched('later', 1, 'j-l', T(5)));
    s.run(jobStatus('j-f1', 'failed', T(6)));
    s.run(jobStatus('j-b1', 'failed', T(6)));
    assert.equal(nextRetryAt(s.state), T(16));
    s.run(evaluate('flaky', T(16), lim, 'd-f2'));
    s.run(evaluate('broken', T(16), lim, 'd-b2'));
    s.run(dispatched('flaky', 2, 'j-f2', T(16)));
    s.run(dispatched('broken', 2, 'j-b2', T(16)));
    assert.deepEqual(inFlightJobs(s.state).map((j) => `${j.vm_context_id}:${j.job_id}:${j.attempt}`), ['flaky:j-f2:2', 'broken:j-b2:2', 'later:j-l:1']);
    s.run(jobStatus('j-l', 'completed', T(20), 100));
    s.run(jobStatus('j-f2', 'completed', T(25), 100));
    assert.equal(isEnded(s.state), false);
    const last = s.run(jobStatus('j-b2', 'failed', T(30), 0, 'target full'));
    assert.deepEqual(s.types(last), ['JobFailed', 'VmFinished', 'ExecutionEnded']);
    assert.deepEqual(s.ended, {
      status: 'failed',
      completed_at: T(30),
      execution_duration_seconds: 1800,
      vms_eligible: 5, // ok, flaky, broken, busy, later passed the checks
      jobs_created: 6, // ok, flaky x2, broken x2, later
      jobs_completed: 3, // ok, flaky, later
      jobs_failed: 1, // broken
      jobs_skipped: 3, // off, busy, moved
      error_message: '1 of 7 VMs failed: vm-broken (target full)',
    });
    assert.deepEqual(executionCounters(s.state), {
      vms_eligible: 5,
      jobs_created: 6,
      jobs_completed: 3,
      jobs_failed: 1,
      jobs_skipped: 3,
    });
    assert.equal(s.state.status, 'failed');
    assert.ok(isEnded(s.state));
    assert.deepEqual(executionDetails(s.state), [
      { vm_context_id: 'ok', vm_name: 'vm-ok', group_id: 'g1', outcome: 'completed', job_ids: ['j-ok'], attempts: 1 },
      { vm_context_id: 'flaky', vm_name: 'vm-flaky', group_id: 'g1', outcome: 'completed', job_ids: ['j-f1', 'j-f2'], attempts: 2 },
      { vm_context_id: 'broken', vm_name: 'vm-broken', group_id: 'g1', outcome: 'failed', job_ids: ['j-b1', 'j-b2'], attempts: 2, error_message: 'target full' },
      {
        vm_context_id: 'off',
        vm_name: 'vm-off',
        group_id: 'g1',
        outcome: 'skipped',
        conflict_type: 'vm_disabled',
        reason: 'the VM is excluded from schedules (scheduler_enabled is false)',
        job_ids: [],
        attempts: 0,
      },
      {
        vm_context_id: 'busy',
        vm_name: 'vm-busy',
        group_id: 'g1',
        outcome: 'skipped',
        conflict_type: 'active_job',
        reason: 'the OMA reports an active job: already replicating',
        job_ids: [],
        attempts: 1,
      },
      { vm_context_id: 'moved', vm_name: 'vm-moved', group_id: 'g1', outcome: 'skipped', conflict_type: 'vm_in_failover', reason: 'the VM is failed_over_live', job_ids: [], attempts: 0 },
      { vm_context_id: 'later', vm_name: 'vm-later', group_id: 'g1', outcome: 'completed', job_ids: ['j-l'], attempts: 1 },
    ]);
    // Nothing changes an ended execution.
    assert.deepEqual(s.run(evaluate('ok', T(31))), []);
    assert.deepEqual(s.run(start(['ok'])), []);
  });
});

describe('commands for the process manager', () => {
  it('a recorded due instant becomes a cron execution not before its fire time', () => {
    const command = scheduleExecutionForDue(
      { schedule_id: 's1', execution_id: 's1-20260501T100000Z', due_at: T(0), fire_at: T(0, 17), trigger: 'cron' },
      { at: T(0, 1), actor: 'pm' },
    );
    const [event] = given(executionDecider).when(command).then([
      scheduledEvent({ execution_id: 's1-20260501T100000Z', not_before: T(0, 17), at: T(0, 1) }),
    ]);
    assert.ok(event);
  });

  it('a chain follow-up becomes a chain execution due at parent completion + delay', () => {
    const command = scheduleExecutionForChain(
      { schedule_id: 'c1', execution_id: 'c1-after-x', not_before: T(15), triggered_by: 'chain:e0', parent_execution_id: 'e0' },
      { at: T(5), actor: 'pm' },
    );
    given(executionDecider)
      .when(command)
      .then([
        scheduledEvent({
          execution_id: 'c1-after-x',
          schedule_id: 'c1',
          scheduled_at: T(15),
          not_before: T(15),
          trigger: 'chain',
          triggered_by: 'chain:e0',
          parent_execution_id: 'e0',
          at: T(5),
        }),
      ]);
  });
});

describe('read helpers', () => {
  it('requestedButUnconfirmed lists dispatches decided but not answered (reconcile after a crash)', () => {
    const s = new Scenario(running(['a', 'b']));
    s.run(evaluate('a', T(0)));
    s.run(evaluate('b', T(0)));
    s.run(dispatched('b', 1, 'jb', T(1)));
    assert.deepEqual(requestedButUnconfirmed(s.state), [
      { vm_context_id: 'a', vm_name: 'vm-a', attempt: 1, dispatch_id: 'd-a', requested_at: T(0), sent_at: null, reconciliations: 0, last_activity_at: T(0) },
    ]);
    assert.deepEqual(inFlightJobs(s.state), [
      { vm_context_id: 'b', vm_name: 'vm-b', group_id: 'g1', job_id: 'jb', attempt: 1, status: 'pending', progress_percent: 0, started_at: T(1), last_progress_at: null, updated_at: T(1) },
    ]);
    s.run(jobStatus('jb', 'replicating', T(2), 0));
    s.run(jobStatus('jb', 'replicating', T(3), 10));
    const [job] = inFlightJobs(s.state);
    assert.equal(job?.last_progress_at, T(3));
    assert.equal(job?.updated_at, T(3));
  });

  it('inFlightJob finds a running job, by the VM named with it or by search; not a job ended or of another VM', () => {
    const s = new Scenario(running(['a', 'b']));
    s.run(evaluate('a', T(0)));
    s.run(dispatched('a', 1, 'ja', T(1)));
    assert.equal(inFlightJob(s.state, 'ja')?.vm_context_id, 'a');
    assert.equal(inFlightJob(s.state, 'ja', 'a')?.job_id, 'ja');
    assert.equal(inFlightJob(s.state, 'ja', 'b'), undefined, 'b runs no job ja');
    s.run(jobStatus('ja', 'completed', T(2), 100));
    assert.deepEqual([inFlightJob(s.state, 'ja'), inFlightJob(s.state, 'ja', 'a')], [undefined, undefined]);
  });

  it('inFlightJobsChangedSince lists the running jobs of the VMs changed since an earlier state: the jobs new to its reader', () => {
    const s = new Scenario(running(['a', 'b', 'c']));
    s.run(evaluate('a', T(0)));
    s.run(evaluate('b', T(0)));
    s.run(dispatched('a', 1, 'ja', T(1)));
    const seen = s.state;
    assert.deepEqual(inFlightJobsChangedSince(seen, null).map((j) => j.job_id), ['ja'], 'nothing seen: every running job');
    assert.deepEqual(inFlightJobsChangedSince(seen, seen), []);
    s.run(dispatched('b', 1, 'jb', T(2)));
    s.run(jobStatus('ja', 'replicating', T(3), 10));
    assert.deepEqual(inFlightJobsChangedSince(s.state, seen).map((j) => j.job_id), ['ja', 'jb'], 'ja changed (progress), jb is new');
    const before = s.state;
    s.run(cancel(T(4)));
    assert.deepEqual(inFlightJobsChangedSince(s.state, before), [], 'the cancel dropped c only: its running jobs are not new');
  });

  it('evaluableVms keeps plan order and is empty before the start', () => {
    const s = new Scenario(running(['c', 'a', 'b']));
    assert.deepEqual(evaluableVms(s.state, T(0)).map((v) => v.vm_context_id), ['c', 'a', 'b']);
    assert.deepEqual(evaluableVms(new Scenario([scheduledEvent()]).state, T(0)), []);
  });

  it('orderPlan: groups by priority, members by priority then added time, then override members', () => {
    const c = (id: string, group_id: string | null, group_priority: number, member_priority: number, added_at: string, via_override = false) => ({
      vm_context_id: id,
      vm_name: id,
      group_id,
      group_priority,
      member_priority,
      added_at,
      via_override,
    });
    const ordered = orderPlan([
      c('override1', 'gx', -5, 0, '2026-01-01T00:00:00Z', true),
      c('g2-late', 'g2', 10, 0, '2026-01-02T00:00:00Z'),
      c('g1-p1', 'g1', 1, 1, '2026-01-01T00:00:00Z'),
      c('g2-early', 'g2', 10, 0, '2026-01-01T00:00:00Z'),
      c('g1-p0', 'g1', 1, 0, '2026-03-01T00:00:00Z'),
      c('g0', 'g0', -1, 7, '2026-01-01T00:00:00Z'),
      c('g1-p0', 'g1', 1, 0, '2026-03-01T00:00:00Z'),
    ]);
    assert.deepEqual(
      ordered.map((e) => e.vm_context_id),
      ['g0', 'g1-p0', 'g1-p1', 'g2-early', 'g2-late', 'override1'],
    );
    assert.deepEqual(Object.keys(ordered[0] as object).sort(), ['group_id', 'group_priority', 'member_priority', 'vm_context_id', 'vm_name']);
  });
});

describe('the counts and phase members evolve keeps (no decision or per-drive query scans every VM)', () => {
  /** What the tally must equal: a scan of the VMs. */
  const scanned = (state: ExecutionState) => {
    if (state.status === 'absent') return null;
    const held = state.vms.filter((v) => v.phase === 'requested' || v.phase === 'running');
    const by_group: Record<string, number> = {};
    for (const v of held) if (v.group_id !== null) by_group[v.group_id] = (by_group[v.group_id] ?? 0) + 1;
    return { open: state.vms.filter((v) => ['pending', 'queued', 'requested', 'running', 'waiting_retry'].includes(v.phase)).length, total: held.length, by_group };
  };
  const nonZero = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));

  it('agree with a scan of the VMs after every event, cancellation included, and leave earlier states untouched', () => {
    const log: ExecutionEvent[] = [
      ...running(['a', 'b', 'c', 'd']),
      ev.requested('a', 1, T(0)),
      ev.requested('b', 1, T(0)),
      ev.sent('a', T(0, 1)),
      ev.jobStarted('a', 1, 'j1', T(0, 2)),
      ev.queued('c', 'max_concurrent', 'the schedule has 2 of 2 jobs running', T(0, 3)),
      ev.failed('b', null, 1, T(0, 4), 'rejected: no'),
      ev.retry('b', 2, T(30), T(0, 4)),
      ...ev.completed('a', 'j1', 1, T(1)),
      ev.requested('c', 1, T(1)),
      ev.skipped('d', 'vm_disabled', 'the VM is disabled', T(1)),
      { type: 'ExecutionCancelled', data: { reason: 'stop', dropped_vm_ids: ['b'], at: T(2) } },
    ];
    let state: ExecutionState = executionDecider.initialState;
    const seen: Array<{ state: ExecutionState; snapshot: string }> = [];
    for (const event of log) {
      state = executionDecider.evolve(state, event);
      seen.push({ state, snapshot: JSON.stringify(state) });
      const expected = scanned(state);
      if (expected === null || state.status === 'absent') continue;
      assert.equal(state.tally.open, expected.open, `open after ${event.type}`);
      const slots = occupiedSlots(state);
      assert.deepEqual([slots.total, nonZero(slots.by_group)], [expected.total, expected.by_group], `slots after ${event.type}`);
      const vms = state.vms.toArray();
      for (const phase of ['pending', 'queued', 'requested', 'running', 'waiting_retry', 'completed', 'failed', 'skipped', 'cancelled'] as const) {
        const positions = vms.flatMap((v, i) => (v.phase === phase ? [i] : []));
        assert.deepEqual([state.phases[phase].toArray(), state.phases[phase].size], [positions, positions.length], `${phase} VMs after ${event.type}`);
      }
      assert.deepEqual(inFlightJobs(state).map((j) => j.job_id), vms.flatMap((v) => (v.phase === 'running' && v.job ? [v.job.job_id] : [])), `jobs after ${event.type}`);
      assert.deepEqual(requestedButUnconfirmed(state).map((d) => d.dispatch_id), vms.flatMap((v) => (v.phase === 'requested' && v.dispatch ? [v.dispatch.dispatch_id] : [])));
      assert.deepEqual(evaluableVms(state, T(60)).map((v) => v.vm_context_id), state.cancel ? [] : vms.filter((v) => ['pending', 'queued', 'waiting_retry'].includes(v.phase)).map((v) => v.vm_context_id));
      for (const at of [T(0), T(60)]) assert.equal(hasEvaluableVms(state, at), evaluableVms(state, at).length > 0, `evaluable at ${at} after ${event.type}`);
    }
    assert.deepEqual([state.status === 'absent' ? null : state.tally.open, occupiedSlots(state).total], [1, 1]);
    for (const { state: earlier, snapshot } of seen) assert.equal(JSON.stringify(earlier), snapshot, 'evolve changed an earlier state');
  });
});

describe('EvaluateVms: several VMs in one decision', () => {
  const batch = (ids: string[], at: string, over: Partial<EvaluationFacts> = {}): ExecutionCommand => ({
    type: 'EvaluateVms',
    execution_id: EX,
    evaluations: ids.map((vm) => ({ vm_context_id: vm, facts: facts(over), dispatch_id: `d-${vm}` })),
    at,
    actor: 'pm',
  });

  it('decides as the same EvaluateVm one after another would, counting the slots its earlier VMs take', () => {
    // Facts read once: another execution holds 1 of the schedule's 3 slots.
    const over = { schedule_running_jobs: 1, schedule_max_concurrent_jobs: 3 };
    const one = new Scenario(running(['a', 'b', 'c']));
    const sequential = [...one.run(evaluate('a', T(1), over)), ...one.run(evaluate('b', T(1), { ...over, schedule_running_jobs: 2 })), ...one.run(evaluate('c', T(1), { ...over, schedule_running_jobs: 3 }))];
    const many = new Scenario(running(['a', 'b', 'c']));
    const together = many.run(batch(['a', 'b', 'c'], T(1), over));
    assert.deepEqual(together, sequential);
    assert.deepEqual(many.types(together), ['JobRequested', 'JobRequested', 'VmQueued']);
    assert.deepEqual(occupiedSlots(many.state), { total: 2, by_group: { g1: 2 } });
  });

  it('holds the group limit within the batch and ends the execution once, after the last VM', () => {
    const s = new Scenario(running(['a', 'b', 'c']));
    assert.deepEqual(s.types(s.run(batch(['a', 'b', 'c'], T(1), { group_max_concurrent_vms: 1 }))), ['JobRequested', 'VmQueued', 'VmQueued']);
    const skipped = new Scenario(running(['a', 'b']));
    assert.deepEqual(skipped.types(skipped.run(batch(['a', 'b'], T(1), { vm_scheduler_enabled: false }))), ['VmSkipped', 'VmSkipped', 'ExecutionEnded']);
    given(executionDecider, running(['a'])).when(batch(['a', 'zz'], T(1))).thenThrows('NotFound', 'zz');
  });
});
