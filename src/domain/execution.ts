/**
 * The execution aggregate (stream execution-{id}): its decider, state and the
 * read helpers the process manager and the read model use.
 * Rules: spec/domain.md, "Execution" (steps 2-6 and 8) and "Phantom jobs".
 *
 * The process manager gathers facts (schedule, VM, group, running jobs) and
 * hands them in with each command; this decider decides. Every decision that
 * leads to a call to the OMA (JobRequested) is an event appended with an
 * expected revision before the call, so two process managers cannot both make
 * it. After every command, when no VM is pending, queued, requested, running or
 * waiting for a retry, the decider appends ExecutionEnded with true counters.
 *
 * Per VM the phases are
 *   pending -> queued <-> (evaluated again) -> requested -> running
 *           -> completed | failed | skipped | cancelled, or -> waiting_retry -> (evaluated again).
 *
 * A dispatch (phase requested) is never called twice blindly: DispatchSent is
 * appended right before the OMA call, so without it the call was never made;
 * with it and no answer (a crash, a creation timeout) the dispatch is
 * reconciled: an instance claims each reconciliation (DispatchReconciling, with
 * an expected revision) once the dispatch has been quiet longer than its work
 * can take, and sends the same request under the same Idempotency-Key. After
 * max_reconciliations claims without an answer the attempt fails.
 */
import { ChunkedList } from './chunked-list.js';
import { PositionSet } from './position-set.js';
import { DomainError, type Decider } from './decider.js';
import { firstConflict, type ConflictType, type SkipConflictType, type VmCheckFacts } from './conflict-checks.js';
import type {
  ExecutionEndStatus,
  ExecutionEnded,
  ExecutionEvent,
  ExecutionScheduling,
  ExecutionSettings,
  ExecutionTrigger,
  PlanEntry,
} from './execution-events.js';
import { Problems, checkBoolean, checkOneOf, checkText, type CommandMeta } from './field-rules.js';
import { ACTIVE_JOB_STATUSES, FAILED_JOB_STATUSES, SUCCEEDED_JOB_STATUS } from './job-statuses.js';
import { completedBelowFull } from './phantom-rules.js';
import { retryAt } from './retry-backoff.js';
import type { ReplicationType } from './schedule-fields.js';

export const EXECUTION_TRIGGERS: readonly ExecutionTrigger[] = ['cron', 'catchup', 'manual', 'chain'];
export const KNOWN_JOB_STATUSES: readonly string[] = [...ACTIVE_JOB_STATUSES, SUCCEEDED_JOB_STATUS, ...FAILED_JOB_STATUSES];

export function isActiveJobStatus(status: string): boolean {
  return (ACTIVE_JOB_STATUSES as readonly string[]).includes(status);
}
export function isFailedJobStatus(status: string): boolean {
  return (FAILED_JOB_STATUSES as readonly string[]).includes(status);
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

export type VmPhase = 'pending' | 'queued' | 'requested' | 'running' | 'waiting_retry' | 'completed' | 'failed' | 'skipped' | 'cancelled';

const VM_PHASES: readonly VmPhase[] = ['pending', 'queued', 'requested', 'running', 'waiting_retry', 'completed', 'failed', 'skipped', 'cancelled'];
/** Phases in which a VM keeps the execution open. */
const OPEN_PHASES: readonly VmPhase[] = ['pending', 'queued', 'requested', 'running', 'waiting_retry'];
/** Phases from which an evaluation may move a VM (waiting_retry once its retry is due); a cancel drops them. */
const AWAITING_EVALUATION: readonly VmPhase[] = ['pending', 'queued', 'waiting_retry'];

export interface JobInFlight {
  job_id: string;
  attempt: number;
  status: string;
  progress_percent: number;
  started_at: string;
  /** Last time the progress changed; null: not since the start. */
  last_progress_at: string | null;
  updated_at: string;
}

/** A dispatch decided (JobRequested) and not answered yet. */
export interface DispatchInFlight {
  attempt: number;
  dispatch_id: string;
  requested_at: string;
  /** DispatchSent: the OMA call was (about to be) made; null: it never was. */
  sent_at: string | null;
  /** Reconciliations claimed so far (DispatchReconciling). */
  reconciliations: number;
  /** The latest of requested_at, sent_at and the last claim: the dispatch is quiet since. */
  last_activity_at: string;
}

export interface VmRun extends PlanEntry {
  phase: VmPhase;
  /** The check that skipped or queued the VM (the last one). */
  conflict_type: ConflictType | null;
  reason: string | null;
  /** JobRequested so far: the attempts used. */
  attempts: number;
  failed_attempts: number;
  /** Every job created for the VM, oldest first. */
  job_ids: string[];
  /** The open dispatch (phase requested). */
  dispatch: DispatchInFlight | null;
  /** The job in flight (phase running). */
  job: JobInFlight | null;
  retry_at: string | null;
  last_error: string | null;
}

/** VMs in open phases, and the slots held (phases requested and running) in all and per group. */
export interface VmTally {
  open: number;
  slots: number;
  slots_by_group: Readonly<Record<string, number>>;
}

const EMPTY_TALLY: VmTally = { open: 0, slots: 0, slots_by_group: {} };

/** Plan positions of the VMs in each phase. */
export type PhaseMembers = Readonly<Record<VmPhase, PositionSet>>;

const NO_VMS = ChunkedList.from<VmRun>([]);
const NO_PHASES = phasesOf([]);

function phasesOf(vms: readonly VmRun[]): PhaseMembers {
  const positions = new Map<VmPhase, number[]>(VM_PHASES.map((phase) => [phase, []]));
  vms.forEach((vm, i) => positions.get(vm.phase)!.push(i));
  return Object.fromEntries(VM_PHASES.map((phase) => [phase, PositionSet.of(vms.length, positions.get(phase))])) as Record<VmPhase, PositionSet>;
}

function tallyOf(vms: Iterable<VmRun>): VmTally {
  let tally = EMPTY_TALLY;
  for (const vm of vms) tally = retally(tally, null, vm);
  return tally;
}

/** The tally after one VM changed from `before` (null: new) to `after`. */
function retally(tally: VmTally, before: VmRun | null, after: VmRun): VmTally {
  const open = tally.open + Number(isOpen(after)) - Number(before !== null && isOpen(before));
  const held = Number(occupiesSlot(after)) - Number(before !== null && occupiesSlot(before));
  if (open === tally.open && held === 0) return tally;
  if (held === 0) return { ...tally, open };
  const group = after.group_id;
  if (group === null) return { open, slots: tally.slots + held, slots_by_group: tally.slots_by_group };
  return { open, slots: tally.slots + held, slots_by_group: { ...tally.slots_by_group, [group]: (tally.slots_by_group[group] ?? 0) + held } };
}

export type ExecutionStatus = 'scheduled' | 'running' | 'skipped' | 'completed' | 'failed' | 'cancelled';

export interface ExecutionRecord extends ExecutionScheduling {
  status: ExecutionStatus;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  settings: ExecutionSettings | null;
  /** The plan's VMs, in plan order (a persistent list: a VM event copies a chunk, not the plan). */
  vms: ChunkedList<VmRun>;
  /** Position of each VM in `vms` (set once, at the start). */
  index: ReadonlyMap<string, number>;
  /** Counts over `vms`, kept by evolve so that no decision scans every VM. */
  tally: VmTally;
  /** Positions in `vms` of each phase's VMs, kept by evolve so that listing a phase reads its VMs only. */
  phases: PhaseMembers;
  /** Jobs created (JobStarted), retries included. */
  jobs_created: number;
  /** Set by ExecutionCancelled; the execution ends once its running jobs finish. */
  cancel: { reason: string | null; at: string } | null;
  skip: { reason: 'skip_if_running'; blocking_execution_id: string } | null;
  ended: ExecutionEnded['data'] | null;
}

export type ExecutionState = { status: 'absent' } | ExecutionRecord;

const ENDED_STATUSES: readonly ExecutionStatus[] = ['skipped', 'completed', 'failed', 'cancelled'];

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

export type ScheduleExecution = CommandMeta & ExecutionScheduling & { type: 'ScheduleExecution' };

/** The schedule as the process manager read it at the start; null when it is gone. */
export interface ScheduleFacts {
  exists: boolean;
  enabled: boolean;
  skip_if_running: boolean;
  max_concurrent_jobs: number;
  retry_attempts: number;
  retry_delay_minutes: number;
  replication_type: ReplicationType;
}

export type StartExecution = CommandMeta & {
  type: 'StartExecution';
  execution_id: string;
  schedule: ScheduleFacts | null;
  /** Other executions of the schedule still running (earlier ones); this execution's own id is ignored. */
  running_execution_ids: string[];
  /** Ordered already (see orderPlan). */
  plan: PlanEntry[];
};

/**
 * Facts for the six checks, read just before the decision. `force` comes from
 * the execution itself. The running-job counts may or may not include this
 * execution's own jobs: the decider never counts fewer than its own open
 * dispatches and running jobs (so two process managers racing on one
 * execution cannot overrun a limit).
 */
export type EvaluationFacts = Omit<VmCheckFacts, 'force'>;

export type EvaluateVm = CommandMeta & {
  type: 'EvaluateVm';
  execution_id: string;
  vm_context_id: string;
  facts: EvaluationFacts;
  /** A fresh id for the OMA call this decision may lead to. */
  dispatch_id: string;
};

/**
 * Several VMs evaluated in one decision, so in one append: each as an EvaluateVm,
 * in the given order, on the state the earlier ones leave. The facts of all of
 * them are read once, before the decision, so their running-job counts lack the
 * slots the earlier evaluations of this command take: the decider adds those.
 */
export type EvaluateVms = CommandMeta & {
  type: 'EvaluateVms';
  execution_id: string;
  evaluations: ReadonlyArray<{ vm_context_id: string; facts: EvaluationFacts; dispatch_id: string }>;
};

export type DispatchResult =
  | { kind: 'started'; job_id: string; status: string; progress_percent: number }
  /** The OMA answered 409: the VM has an active job. A skip, not a failure. */
  | { kind: 'active_job'; message: string }
  | { kind: 'rejected' | 'discovery_failed' | 'vm_not_found'; message: string };

export type RecordDispatchResult = CommandMeta & {
  type: 'RecordDispatchResult';
  execution_id: string;
  vm_context_id: string;
  attempt: number;
  result: DispatchResult;
};

/**
 * Records that the OMA call of a dispatch is about to be made (DispatchSent).
 * Granted to the first sender (reconciliation 0) or to the holder of the latest
 * reconciliation claim, and only once: a refusal (Conflict) means another
 * instance holds the dispatch, so the caller must not call.
 */
export type SendDispatch = CommandMeta & {
  type: 'SendDispatch';
  execution_id: string;
  vm_context_id: string;
  attempt: number;
  dispatch_id: string;
  /** 0: the instance whose JobRequested won; n: the instance that claimed reconciliation n. */
  reconciliation: number;
};

/** How long a dispatch may stay unanswered before it is reconciled, and how often. */
export interface ReconciliationPolicy {
  /** A dispatch not sent yet: how long its discovery may take before another takes it over (a claim stops the holder from sending). */
  unsent_grace_ms: number;
  /** A sent dispatch: the creation timeout and a margin (the sender's call has surely ended by then). */
  sent_grace_ms: number;
  /** Added before the second reconciliation, doubled before each further one (capped at an hour). */
  backoff_ms: number;
  /** Reconciliations claimed without an answer before the attempt fails. */
  max_reconciliations: number;
}

/**
 * Claims the next reconciliation of a dispatch left unanswered
 * (DispatchReconciling), once it has been quiet long enough; the claimant then
 * reconciles it. Nothing when the dispatch was answered meanwhile or is not due
 * (so of two instances racing, only the one whose append wins reconciles).
 * When max_reconciliations are used up: the attempt fails (JobFailed).
 */
export type ReconcileDispatch = CommandMeta & {
  type: 'ReconcileDispatch';
  execution_id: string;
  vm_context_id: string;
  attempt: number;
  dispatch_id: string;
  policy: ReconciliationPolicy;
};

export type RecordJobStatus = CommandMeta & {
  type: 'RecordJobStatus';
  execution_id: string;
  job_id: string;
  /** The VM whose job it is, when the caller knows: spares a search of every VM (checked; searched for when it is not that VM's job). */
  vm_context_id?: string;
  status: string;
  /** Absent: unchanged (rule 4, completed below 100 %, is then not applied). */
  progress_percent?: number;
  error_message?: string | null;
};

export type RecordPhantom = CommandMeta & {
  type: 'RecordPhantom';
  execution_id: string;
  job_id: string;
  /** The VM whose job it is, when the caller knows: spares a search of every VM (checked; searched for when it is not that VM's job). */
  vm_context_id?: string;
  /** A PhantomReason ('vma_not_found', ...). */
  reason: string;
  detail?: string;
};

export type CancelExecution = CommandMeta & { type: 'CancelExecution'; execution_id: string; reason: string | null };

export type ExecutionCommand =
  | ScheduleExecution
  | StartExecution
  | EvaluateVm
  | EvaluateVms
  | RecordDispatchResult
  | SendDispatch
  | ReconcileDispatch
  | RecordJobStatus
  | RecordPhantom
  | CancelExecution;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

function toMs(value: string | Date): number {
  return value instanceof Date ? value.getTime() : Date.parse(value);
}

function isoOf(problems: Problems, path: string, value: unknown): string {
  if (typeof value !== 'string' || !Number.isFinite(Date.parse(value))) {
    problems.add(path, 'must be an ISO-8601 instant');
    return '';
  }
  return new Date(value).toISOString();
}

function record(state: ExecutionState, id: string): ExecutionRecord {
  if (state.status === 'absent') throw new DomainError('NotFound', `execution ${id} not found`);
  return state;
}

/** The VM of `vmId` in the execution's plan, found by its index; undefined when it is not in the plan. */
export function vmRunOf(state: ExecutionState, vmId: string): VmRun | undefined {
  if (state.status === 'absent') return undefined;
  const i = state.index.get(vmId);
  return i === undefined ? undefined : state.vms.at(i);
}

function vmOf(state: ExecutionRecord, vmId: string): VmRun {
  const vm = vmRunOf(state, vmId);
  if (!vm) throw new DomainError('NotFound', `VM ${vmId} is not part of execution ${state.execution_id}`);
  return vm;
}

function updateVm(state: ExecutionRecord, vmId: string, change: (vm: VmRun) => VmRun): ExecutionRecord {
  const i = state.index.get(vmId);
  const vm = i === undefined ? undefined : state.vms.at(i);
  if (i === undefined || !vm) return state;
  const changed = change(vm);
  if (changed === vm) return state;
  const phases = changed.phase === vm.phase ? state.phases : { ...state.phases, [vm.phase]: state.phases[vm.phase].without(i), [changed.phase]: state.phases[changed.phase].with(i) };
  return { ...state, vms: state.vms.with(i, changed), tally: retally(state.tally, vm, changed), phases };
}

/** The VMs in any of `phases`, in plan order. */
function vmsIn(state: ExecutionRecord, phases: readonly VmPhase[]): VmRun[] {
  return PositionSet.union(phases.map((phase) => state.phases[phase])).map((i) => state.vms.at(i)!);
}

/** The VM running the job `jobId`, if any. */
function vmRunningJob(state: ExecutionRecord, jobId: string): VmRun | undefined {
  return vmsIn(state, ['running']).find((vm) => vm.job?.job_id === jobId);
}

function isOpen(vm: VmRun): boolean {
  return OPEN_PHASES.includes(vm.phase);
}

function occupiesSlot(vm: VmRun): boolean {
  return vm.phase === 'requested' || vm.phase === 'running';
}

function checkProgress(problems: Problems, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) problems.add('/progress_percent', 'must be a number from 0 to 100');
}

function checkStatus(problems: Problems, value: unknown): void {
  checkOneOf(problems, '/status', value, KNOWN_JOB_STATUSES);
}

/** The VM whose in-flight job is `jobId`, or a refusal naming why not. */
function vmWithJob(state: ExecutionRecord, jobId: string, vmHint?: string): VmRun {
  const candidate = vmHint === undefined ? undefined : vmRunOf(state, vmHint);
  if (candidate?.phase === 'running' && candidate.job?.job_id === jobId) return candidate;
  const vm = candidate?.job_ids.includes(jobId) ? undefined : vmRunningJob(state, jobId);
  if (vm) return vm;
  const owner = candidate?.job_ids.includes(jobId) ? candidate : state.vms.find((v) => v.job_ids.includes(jobId));
  if (owner) throw new DomainError('Conflict', `job ${jobId} of VM ${owner.vm_context_id} has already ended (a terminal status cannot change)`);
  throw new DomainError('NotFound', `job ${jobId} is not a job of execution ${state.execution_id}`);
}

// ---------------------------------------------------------------------------
// Decisions per VM
// ---------------------------------------------------------------------------

/** A check refused the VM: skipped, or failed when an earlier attempt failed and this was its retry. */
function skipEvents(vm: VmRun, conflict: SkipConflictType, reason: string, at: string): ExecutionEvent[] {
  const events: ExecutionEvent[] = [{ type: 'VmSkipped', data: { vm_context_id: vm.vm_context_id, conflict_type: conflict, reason, at } }];
  if (vm.failed_attempts > 0) events.push({ type: 'VmFinished', data: { vm_context_id: vm.vm_context_id, outcome: 'failed', at } });
  return events;
}

/** A failed attempt: JobFailed, then a retry, or the VM's end. */
function failureEvents(
  state: ExecutionRecord,
  vm: VmRun,
  failure: { job_id: string | null; attempt: number; error_message: string; phantom_reason: string | null; job_status: string | null },
  at: string,
): ExecutionEvent[] {
  const events: ExecutionEvent[] = [{ type: 'JobFailed', data: { vm_context_id: vm.vm_context_id, ...failure, at } }];
  const settings = state.settings ?? { retry_attempts: 0, retry_delay_minutes: 0 };
  const retriesLeft = vm.attempts < 1 + settings.retry_attempts;
  if (!retriesLeft) {
    events.push({ type: 'VmFinished', data: { vm_context_id: vm.vm_context_id, outcome: 'failed', at } });
  } else if (state.cancel) {
    // A cancelled execution drops pending retries.
    events.push({ type: 'VmFinished', data: { vm_context_id: vm.vm_context_id, outcome: 'cancelled', at } });
  } else {
    events.push({
      type: 'RetryScheduled',
      data: { vm_context_id: vm.vm_context_id, next_attempt: vm.attempts + 1, retry_at: retryAt(at, settings.retry_delay_minutes, vm.attempts), at },
    });
  }
  return events;
}

/** A status report for the VM's job in flight. */
function statusEvents(
  state: ExecutionRecord,
  vm: VmRun,
  report: { status: string; progress_percent: number | undefined; error_message: string | null | undefined },
  at: string,
): ExecutionEvent[] {
  const job = vm.job;
  if (!job) return [];
  const progress = report.progress_percent ?? job.progress_percent;
  if (isActiveJobStatus(report.status)) {
    if (report.status === job.status && progress === job.progress_percent) return [];
    return [{ type: 'JobStatusChanged', data: { vm_context_id: vm.vm_context_id, job_id: job.job_id, status: report.status, progress_percent: progress, at } }];
  }
  if (report.status === SUCCEEDED_JOB_STATUS) {
    if (report.progress_percent !== undefined && completedBelowFull(report.status, report.progress_percent)) {
      return failureEvents(
        state,
        vm,
        {
          job_id: job.job_id,
          attempt: job.attempt,
          error_message: `phantom job (completed_below_100): reported completed at ${report.progress_percent} %`,
          phantom_reason: 'completed_below_100',
          job_status: null,
        },
        at,
      );
    }
    return [
      { type: 'JobCompleted', data: { vm_context_id: vm.vm_context_id, job_id: job.job_id, attempt: job.attempt, at } },
      { type: 'VmFinished', data: { vm_context_id: vm.vm_context_id, outcome: 'completed', at } },
    ];
  }
  const message = report.error_message?.trim() ? report.error_message : `job ${report.status}`;
  return failureEvents(state, vm, { job_id: job.job_id, attempt: job.attempt, error_message: message, phantom_reason: null, job_status: report.status }, at);
}

// ---------------------------------------------------------------------------
// The end and the counters
// ---------------------------------------------------------------------------

export interface ExecutionCounters {
  /** VMs that passed the six checks at least once (got a JobRequested). */
  vms_eligible: number;
  /** Replication jobs created (JobStarted), retries included. */
  jobs_created: number;
  /** VMs by final outcome. */
  jobs_completed: number;
  jobs_failed: number;
  /** VMs skipped by a check (and not failed before it). */
  jobs_skipped: number;
}

export function executionCounters(state: ExecutionState): ExecutionCounters {
  if (state.status === 'absent') return { vms_eligible: 0, jobs_created: 0, jobs_completed: 0, jobs_failed: 0, jobs_skipped: 0 };
  const count = (phase: VmPhase) => state.phases[phase].size;
  return {
    vms_eligible: state.vms.filter((v) => v.attempts > 0).length,
    jobs_created: state.jobs_created,
    jobs_completed: count('completed'),
    jobs_failed: count('failed'),
    jobs_skipped: count('skipped'),
  };
}

const FAILED_NAMES_SHOWN = 5;

function endedEvent(state: ExecutionRecord, at: string, override?: { status: ExecutionEndStatus; error_message: string }): ExecutionEnded {
  const counters = executionCounters(state);
  const failed = vmsIn(state, ['failed']);
  const status: ExecutionEndStatus = override?.status ?? (state.cancel ? 'cancelled' : failed.length > 0 ? 'failed' : 'completed');
  let error_message: string | null = override?.error_message ?? null;
  if (error_message === null && failed.length > 0) {
    const shown = failed.slice(0, FAILED_NAMES_SHOWN).map((v) => `${v.vm_name}${v.last_error ? ` (${v.last_error})` : ''}`);
    const more = failed.length > FAILED_NAMES_SHOWN ? ` and ${failed.length - FAILED_NAMES_SHOWN} more` : '';
    error_message = `${failed.length} of ${state.vms.length} VMs failed: ${shown.join('; ')}${more}`;
  }
  const duration = state.started_at === null ? 0 : Math.max(0, Math.round((toMs(at) - toMs(state.started_at)) / 1000));
  return { type: 'ExecutionEnded', data: { status, completed_at: at, execution_duration_seconds: duration, ...counters, error_message } };
}

/** The command's events, plus ExecutionEnded when they leave nothing open; `folded`: the state after them, when known. */
function withEnding(state: ExecutionRecord, events: ExecutionEvent[], at: string, folded?: ExecutionState): ExecutionEvent[] {
  if (events.length === 0) return events;
  const after = folded ?? events.reduce(evolve, state as ExecutionState);
  if (after.status === 'absent' || ENDED_STATUSES.includes(after.status)) return events;
  if (after.status === 'scheduled' && !after.cancel) return events;
  if (after.tally.open > 0) return events;
  return [...events, endedEvent(after, at)];
}

// ---------------------------------------------------------------------------
// decide
// ---------------------------------------------------------------------------

function scheduleExecution(command: ScheduleExecution, state: ExecutionState): ExecutionEvent[] {
  if (state.status !== 'absent') return []; // the same execution again: already recorded
  const p = new Problems();
  checkText(p, '/execution_id', command.execution_id, 64);
  checkText(p, '/schedule_id', command.schedule_id, 64);
  const scheduled_at = isoOf(p, '/scheduled_at', command.scheduled_at);
  const not_before = isoOf(p, '/not_before', command.not_before);
  const at = isoOf(p, '/at', command.at);
  checkOneOf(p, '/trigger', command.trigger, EXECUTION_TRIGGERS);
  checkText(p, '/triggered_by', command.triggered_by, 255);
  checkBoolean(p, '/force', command.force);
  p.throwIfAny('execution');
  return [
    {
      type: 'ExecutionScheduled',
      data: {
        execution_id: command.execution_id,
        schedule_id: command.schedule_id,
        scheduled_at,
        not_before,
        trigger: command.trigger,
        triggered_by: command.triggered_by,
        reason: command.reason ?? null,
        group_id: command.group_id ?? null,
        force: command.force,
        parent_execution_id: command.parent_execution_id ?? null,
        at,
      },
    },
  ];
}

function startExecution(command: StartExecution, state: ExecutionRecord): ExecutionEvent[] {
  if (state.status !== 'scheduled') return []; // started, skipped or ended already
  const at = command.at;
  if (toMs(at) < toMs(state.not_before)) {
    throw new DomainError('Conflict', `execution ${state.execution_id} may not start before ${state.not_before}`);
  }
  const schedule = command.schedule;
  if (schedule === null || !schedule.exists) {
    return [endedEvent(state, at, { status: 'failed', error_message: `schedule ${state.schedule_id} no longer exists` })];
  }
  const blocking = command.running_execution_ids.filter((id) => id !== state.execution_id);
  if (schedule.skip_if_running && blocking.length > 0) {
    return [{ type: 'ExecutionSkipped', data: { reason: 'skip_if_running', blocking_execution_id: blocking[0] as string, at } }];
  }
  const p = new Problems();
  const seen = new Set<string>();
  command.plan.forEach((entry, i) => {
    checkText(p, `/plan/${i}/vm_context_id`, entry.vm_context_id, 64);
    if (seen.has(entry.vm_context_id)) p.add(`/plan/${i}/vm_context_id`, `VM ${entry.vm_context_id} is planned twice`);
    seen.add(entry.vm_context_id);
  });
  p.throwIfAny('plan');
  const plan = command.plan.map((e) => ({
    vm_context_id: e.vm_context_id,
    vm_name: e.vm_name,
    group_id: e.group_id,
    group_priority: e.group_priority,
    member_priority: e.member_priority,
  }));
  const events: ExecutionEvent[] = [
    {
      type: 'ExecutionStarted',
      data: {
        started_at: at,
        settings: {
          max_concurrent_jobs: schedule.max_concurrent_jobs,
          retry_attempts: schedule.retry_attempts,
          retry_delay_minutes: schedule.retry_delay_minutes,
          replication_type: schedule.replication_type,
        },
        plan,
      },
    },
  ];
  // Check 1 holds for every VM alike: a disabled schedule skips them all now.
  if (!schedule.enabled && !state.force) {
    for (const entry of plan) {
      events.push({ type: 'VmSkipped', data: { vm_context_id: entry.vm_context_id, conflict_type: 'schedule_disabled', reason: 'the schedule is disabled', at } });
    }
  }
  return withEnding(state, events, at);
}

function evaluateVm(command: EvaluateVm, state: ExecutionRecord): ExecutionEvent[] {
  if (state.status === 'scheduled') throw new DomainError('Conflict', `execution ${state.execution_id} has not started`);
  return withEnding(state, vmEvaluation(command, state), command.at);
}

function evaluateVms(command: EvaluateVms, state: ExecutionRecord): ExecutionEvent[] {
  if (state.status === 'scheduled') throw new DomainError('Conflict', `execution ${state.execution_id} has not started`);
  const events: ExecutionEvent[] = [];
  let current = state;
  for (const evaluation of command.evaluations) {
    const { facts, vm_context_id } = evaluation;
    const groupId = vmOf(state, vm_context_id).group_id;
    const groupSlots = (tally: VmTally) => (groupId === null ? 0 : (tally.slots_by_group[groupId] ?? 0));
    const taken = {
      schedule_running_jobs: facts.schedule_running_jobs + current.tally.slots - state.tally.slots,
      group_running_jobs: facts.group_running_jobs + groupSlots(current.tally) - groupSlots(state.tally),
    };
    const decided = vmEvaluation({ ...command, type: 'EvaluateVm', ...evaluation, facts: { ...facts, ...taken } }, current);
    for (const event of decided) {
      events.push(event);
      current = evolve(current, event) as ExecutionRecord;
    }
  }
  return withEnding(state, events, command.at, current);
}

/** One VM's evaluation: the six checks, then JobRequested, VmQueued or the skip (no ending). */
function vmEvaluation(command: EvaluateVm, state: ExecutionRecord): ExecutionEvent[] {
  if (state.status !== 'running' || state.cancel) return [];
  const vm = vmOf(state, command.vm_context_id);
  if (!evaluable(vm, command.at)) return []; // dispatched, ended, or its retry is not due yet
  const p = new Problems();
  checkText(p, '/dispatch_id', command.dispatch_id, 255);
  p.throwIfAny('request');

  const ownInGroup = vm.group_id === null ? 0 : (state.tally.slots_by_group[vm.group_id] ?? 0);
  const conflict = firstConflict({
    ...command.facts,
    force: state.force,
    schedule_running_jobs: Math.max(command.facts.schedule_running_jobs, state.tally.slots),
    group_running_jobs: Math.max(command.facts.group_running_jobs, ownInGroup),
  });
  let events: ExecutionEvent[];
  if (conflict === null) {
    events = [{ type: 'JobRequested', data: { vm_context_id: vm.vm_context_id, attempt: vm.attempts + 1, dispatch_id: command.dispatch_id, at: command.at } }];
  } else if (conflict.outcome === 'queue') {
    // Queued once; a VM already queued stays queued silently.
    events =
      vm.phase === 'queued'
        ? []
        : [{ type: 'VmQueued', data: { vm_context_id: vm.vm_context_id, conflict_type: conflict.type, reason: conflict.reason, at: command.at } }];
  } else {
    events = skipEvents(vm, conflict.type, conflict.reason, command.at);
  }
  return events;
}

function recordDispatchResult(command: RecordDispatchResult, state: ExecutionRecord): ExecutionEvent[] {
  const vm = vmOf(state, command.vm_context_id);
  const { result, at } = command;
  if (vm.phase !== 'requested' || vm.dispatch?.attempt !== command.attempt) {
    if (result.kind === 'started' && vm.job_ids.includes(result.job_id)) return []; // recorded already
    throw new DomainError('Conflict', `VM ${vm.vm_context_id} has no dispatch of attempt ${command.attempt} awaiting its result`);
  }
  let events: ExecutionEvent[];
  switch (result.kind) {
    case 'started': {
      const p = new Problems();
      checkText(p, '/result/job_id', result.job_id, 191);
      checkStatus(p, result.status);
      checkProgress(p, result.progress_percent);
      p.throwIfAny('dispatch result');
      events = [
        {
          type: 'JobStarted',
          data: {
            vm_context_id: vm.vm_context_id,
            attempt: command.attempt,
            job_id: result.job_id,
            status: result.status,
            progress_percent: result.progress_percent,
            at,
            schedule_id: state.schedule_id,
            group_id: vm.group_id,
          },
        },
      ];
      // A job found already ended (reconciled after a crash) is followed through at once.
      if (!isActiveJobStatus(result.status)) {
        const after = evolve(state, events[0] as ExecutionEvent) as ExecutionRecord;
        const report = { status: result.status, progress_percent: result.progress_percent, error_message: null };
        events.push(...statusEvents(after, vmOf(after, vm.vm_context_id), report, at));
      }
      break;
    }
    case 'active_job':
      events = skipEvents(vm, 'active_job', result.message?.trim() ? `the OMA reports an active job: ${result.message}` : 'the OMA reports an active job', at);
      break;
    case 'rejected':
    case 'discovery_failed':
    case 'vm_not_found':
      events = failureEvents(
        state,
        vm,
        { job_id: null, attempt: command.attempt, error_message: `${result.kind}: ${result.message}`, phantom_reason: null, job_status: null },
        at,
      );
      break;
    default:
      throw new DomainError('ValidationError', 'unknown dispatch result', [{ path: '/result/kind', message: 'must be started, active_job, rejected, discovery_failed or vm_not_found' }]);
  }
  return withEnding(state, events, at);
}

/** The VM's open dispatch when it is the one the command names; null otherwise. */
function openDispatchOf(vm: VmRun, attempt: number, dispatchId: string): DispatchInFlight | null {
  const d = vm.dispatch;
  return vm.phase === 'requested' && d !== null && d.attempt === attempt && d.dispatch_id === dispatchId ? d : null;
}

function sendDispatch(command: SendDispatch, state: ExecutionRecord): ExecutionEvent[] {
  const vm = vmOf(state, command.vm_context_id);
  const d = openDispatchOf(vm, command.attempt, command.dispatch_id);
  if (d === null) throw new DomainError('Conflict', `VM ${vm.vm_context_id} has no open dispatch ${command.dispatch_id} (attempt ${command.attempt})`);
  if (d.sent_at !== null) throw new DomainError('Conflict', `dispatch ${d.dispatch_id} was sent already at ${d.sent_at}`);
  if (d.reconciliations !== command.reconciliation) {
    throw new DomainError('Conflict', `dispatch ${d.dispatch_id} is held by reconciliation ${d.reconciliations}, not ${command.reconciliation}`);
  }
  return [
    {
      type: 'DispatchSent',
      data: { vm_context_id: vm.vm_context_id, attempt: d.attempt, dispatch_id: d.dispatch_id, reconciliation: d.reconciliations, at: command.at },
    },
  ];
}

function checkPolicy(policy: ReconciliationPolicy): void {
  const p = new Problems();
  for (const field of ['unsent_grace_ms', 'sent_grace_ms', 'backoff_ms'] as const) {
    const value = policy[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) p.add(`/policy/${field}`, 'must be a number of milliseconds >= 0');
  }
  if (!Number.isInteger(policy.max_reconciliations) || policy.max_reconciliations < 1) p.add('/policy/max_reconciliations', 'must be a whole number >= 1');
  p.throwIfAny('reconciliation policy');
}

function reconcileDispatch(command: ReconcileDispatch, state: ExecutionRecord): ExecutionEvent[] {
  checkPolicy(command.policy);
  const vm = vmOf(state, command.vm_context_id);
  const d = openDispatchOf(vm, command.attempt, command.dispatch_id);
  if (d === null) return []; // answered meanwhile
  if (toMs(command.at) < toMs(reconciliationDueAt(d, command.policy))) return []; // its sender may still be at work
  if (d.reconciliations >= command.policy.max_reconciliations) {
    const what = d.sent_at === null ? 'dispatch not sent' : 'creation unconfirmed';
    const events = failureEvents(
      state,
      vm,
      { job_id: null, attempt: d.attempt, error_message: `${what} after ${d.reconciliations} reconciliations`, phantom_reason: null, job_status: null },
      command.at,
    );
    return withEnding(state, events, command.at);
  }
  return [
    {
      type: 'DispatchReconciling',
      data: { vm_context_id: vm.vm_context_id, attempt: d.attempt, dispatch_id: d.dispatch_id, reconciliation: d.reconciliations + 1, at: command.at },
    },
  ];
}

function recordJobStatus(command: RecordJobStatus, state: ExecutionRecord): ExecutionEvent[] {
  const p = new Problems();
  checkStatus(p, command.status);
  if (command.progress_percent !== undefined) checkProgress(p, command.progress_percent);
  p.throwIfAny('job status');
  const vm = vmWithJob(state, command.job_id, command.vm_context_id);
  const events = statusEvents(state, vm, { status: command.status, progress_percent: command.progress_percent, error_message: command.error_message }, command.at);
  return withEnding(state, events, command.at);
}

function recordPhantom(command: RecordPhantom, state: ExecutionRecord): ExecutionEvent[] {
  const p = new Problems();
  checkText(p, '/reason', command.reason, 255);
  p.throwIfAny('phantom');
  const vm = vmWithJob(state, command.job_id, command.vm_context_id);
  const job = vm.job as JobInFlight;
  const detail = command.detail?.trim() ? `: ${command.detail}` : '';
  const events = failureEvents(
    state,
    vm,
    { job_id: job.job_id, attempt: job.attempt, error_message: `phantom job (${command.reason})${detail}`, phantom_reason: command.reason, job_status: null },
    command.at,
  );
  return withEnding(state, events, command.at);
}

function cancelExecution(command: CancelExecution, state: ExecutionRecord): ExecutionEvent[] {
  if (ENDED_STATUSES.includes(state.status)) throw new DomainError('Conflict', `execution ${state.execution_id} has already ended (${state.status})`);
  if (state.cancel) return []; // cancelled already; its running jobs are finishing
  const dropped = vmsIn(state, AWAITING_EVALUATION).map((v) => v.vm_context_id);
  const events: ExecutionEvent[] = [{ type: 'ExecutionCancelled', data: { reason: command.reason ?? null, dropped_vm_ids: dropped, at: command.at } }];
  return withEnding(state, events, command.at);
}

function decide(command: ExecutionCommand, state: ExecutionState): ExecutionEvent[] {
  if (command.type === 'ScheduleExecution') return scheduleExecution(command, state);
  const current = record(state, command.execution_id);
  if (!Number.isFinite(Date.parse(command.at))) throw new DomainError('ValidationError', 'at must be an ISO-8601 instant', [{ path: '/at', message: 'must be an ISO-8601 instant' }]);
  switch (command.type) {
    case 'StartExecution':
      return startExecution(command, current);
    case 'EvaluateVm':
      return evaluateVm(command, current);
    case 'EvaluateVms':
      return evaluateVms(command, current);
    case 'RecordDispatchResult':
      return recordDispatchResult(command, current);
    case 'SendDispatch':
      return sendDispatch(command, current);
    case 'ReconcileDispatch':
      return reconcileDispatch(command, current);
    case 'RecordJobStatus':
      return recordJobStatus(command, current);
    case 'RecordPhantom':
      return recordPhantom(command, current);
    case 'CancelExecution':
      return cancelExecution(command, current);
  }
}

// ---------------------------------------------------------------------------
// evolve
// ---------------------------------------------------------------------------

function newVm(entry: PlanEntry): VmRun {
  return {
    ...entry,
    phase: 'pending',
    conflict_type: null,
    reason: null,
    attempts: 0,
    failed_attempts: 0,
    job_ids: [],
    dispatch: null,
    job: null,
    retry_at: null,
    last_error: null,
  };
}

function evolve(state: ExecutionState, event: ExecutionEvent): ExecutionState {
  if (event.type === 'ExecutionScheduled') {
    if (state.status !== 'absent') return state;
    const d = event.data;
    return {
      status: 'scheduled',
      execution_id: d.execution_id,
      schedule_id: d.schedule_id,
      scheduled_at: d.scheduled_at,
      not_before: d.not_before,
      trigger: d.trigger,
      triggered_by: d.triggered_by,
      reason: d.reason,
      group_id: d.group_id,
      force: d.force,
      parent_execution_id: d.parent_execution_id,
      created_at: d.at,
      started_at: null,
      completed_at: null,
      settings: null,
      vms: NO_VMS,
      index: new Map(),
      tally: EMPTY_TALLY,
      phases: NO_PHASES,
      jobs_created: 0,
      cancel: null,
      skip: null,
      ended: null,
    };
  }
  if (state.status === 'absent') return state;
  switch (event.type) {
    case 'ExecutionSkipped':
      return { ...state, status: 'skipped', completed_at: event.data.at, skip: { reason: event.data.reason, blocking_execution_id: event.data.blocking_execution_id } };
    case 'ExecutionStarted': {
      const vms = event.data.plan.map(newVm);
      return {
        ...state,
        status: 'running',
        started_at: event.data.started_at,
        settings: event.data.settings,
        vms: ChunkedList.from(vms),
        index: new Map(vms.map((v, i) => [v.vm_context_id, i])),
        tally: tallyOf(vms),
        phases: phasesOf(vms),
      };
    }
    case 'VmSkipped':
      return updateVm(state, event.data.vm_context_id, (vm) => ({
        ...vm,
        phase: 'skipped',
        conflict_type: event.data.conflict_type,
        reason: event.data.reason,
        dispatch: null,
        retry_at: null,
      }));
    case 'VmQueued':
      return updateVm(state, event.data.vm_context_id, (vm) => ({ ...vm, phase: 'queued', conflict_type: event.data.conflict_type, reason: event.data.reason }));
    case 'JobRequested':
      return updateVm(state, event.data.vm_context_id, (vm) => ({
        ...vm,
        phase: 'requested',
        conflict_type: null,
        reason: null,
        attempts: event.data.attempt,
        dispatch: {
          attempt: event.data.attempt,
          dispatch_id: event.data.dispatch_id,
          requested_at: event.data.at,
          sent_at: null,
          reconciliations: 0,
          last_activity_at: event.data.at,
        },
        retry_at: null,
      }));
    case 'DispatchSent': {
      const d = event.data;
      return updateVm(state, d.vm_context_id, (vm) =>
        vm.dispatch?.dispatch_id === d.dispatch_id ? { ...vm, dispatch: { ...vm.dispatch, sent_at: d.at, last_activity_at: d.at } } : vm,
      );
    }
    case 'DispatchReconciling': {
      const d = event.data;
      return updateVm(state, d.vm_context_id, (vm) =>
        vm.dispatch?.dispatch_id === d.dispatch_id ? { ...vm, dispatch: { ...vm.dispatch, reconciliations: d.reconciliation, last_activity_at: d.at } } : vm,
      );
    }
    case 'JobStarted': {
      const d = event.data;
      const next = updateVm(state, d.vm_context_id, (vm) => ({
        ...vm,
        phase: 'running',
        job_ids: [...vm.job_ids, d.job_id],
        dispatch: null,
        job: { job_id: d.job_id, attempt: d.attempt, status: d.status, progress_percent: d.progress_percent, started_at: d.at, last_progress_at: null, updated_at: d.at },
      }));
      return { ...next, jobs_created: next.jobs_created + 1 };
    }
    case 'JobStatusChanged': {
      const d = event.data;
      return updateVm(state, d.vm_context_id, (vm) => {
        if (!vm.job || vm.job.job_id !== d.job_id) return vm;
        const progressed = d.progress_percent !== vm.job.progress_percent;
        return {
          ...vm,
          job: { ...vm.job, status: d.status, progress_percent: d.progress_percent, last_progress_at: progressed ? d.at : vm.job.last_progress_at, updated_at: d.at },
        };
      });
    }
    case 'JobCompleted':
      return updateVm(state, event.data.vm_context_id, (vm) => ({ ...vm, job: null, last_error: null }));
    case 'JobFailed':
      return updateVm(state, event.data.vm_context_id, (vm) => ({
        ...vm,
        phase: 'failed',
        job: null,
        dispatch: null,
        failed_attempts: vm.failed_attempts + 1,
        last_error: event.data.error_message,
      }));
    case 'RetryScheduled':
      return updateVm(state, event.data.vm_context_id, (vm) => ({ ...vm, phase: 'waiting_retry', retry_at: event.data.retry_at }));
    case 'VmFinished':
      return updateVm(state, event.data.vm_context_id, (vm) => ({ ...vm, phase: event.data.outcome, job: null, dispatch: null, retry_at: null }));
    case 'ExecutionCancelled': {
      const dropped = new Set(event.data.dropped_vm_ids);
      const vms = state.vms.map((vm) => (dropped.has(vm.vm_context_id) ? { ...vm, phase: 'cancelled' as const, retry_at: null } : vm));
      return { ...state, vms: ChunkedList.from(vms), tally: tallyOf(vms), phases: phasesOf(vms), cancel: { reason: event.data.reason, at: event.data.at } };
    }
    case 'ExecutionEnded':
      return { ...state, status: event.data.status, completed_at: event.data.completed_at, ended: event.data };
  }
}

export const executionDecider: Decider<ExecutionCommand, ExecutionEvent, ExecutionState> = {
  initialState: { status: 'absent' },
  evolve,
  decide,
};

// ---------------------------------------------------------------------------
// Read helpers
// ---------------------------------------------------------------------------

/** The execution has ended: skipped, completed, failed or cancelled. */
export function isEnded(state: ExecutionState): boolean {
  return state.status !== 'absent' && ENDED_STATUSES.includes(state.status);
}

function evaluable(vm: VmRun, at: string | Date): boolean {
  if (vm.phase === 'pending' || vm.phase === 'queued') return true;
  return vm.phase === 'waiting_retry' && vm.retry_at !== null && toMs(at) >= toMs(vm.retry_at);
}

/** VMs an EvaluateVm may move at `at`, in plan order: pending, queued, and waiting for a retry that is due. */
export function evaluableVms(state: ExecutionState, at: string | Date): VmRun[] {
  if (state.status !== 'running' || state.cancel) return [];
  return vmsIn(state, AWAITING_EVALUATION).filter((vm) => evaluable(vm, at));
}

/** Whether evaluableVms lists any VM at `at`, without listing them. */
export function hasEvaluableVms(state: ExecutionState, at: string | Date): boolean {
  if (state.status !== 'running' || state.cancel) return false;
  if (state.phases.pending.size > 0 || state.phases.queued.size > 0) return true;
  const retry = nextRetryAt(state);
  return retry !== null && toMs(at) >= toMs(retry);
}

export interface InFlightJob extends JobInFlight {
  vm_context_id: string;
  vm_name: string;
  group_id: string | null;
}

function inFlightJobOf(vm: VmRun): InFlightJob | null {
  if (vm.phase !== 'running' || vm.job === null) return null;
  return { ...vm.job, vm_context_id: vm.vm_context_id, vm_name: vm.vm_name, group_id: vm.group_id };
}

/** Jobs running now (for status polling and the phantom scan), in plan order. */
export function inFlightJobs(state: ExecutionState): InFlightJob[] {
  if (state.status === 'absent') return [];
  return vmsIn(state, ['running']).flatMap((vm) => inFlightJobOf(vm) ?? []);
}

/**
 * The job `jobId` when it is running now. `vmId`: the VM whose job it is, when the
 * caller knows (a job is one VM's): then only that VM is read, not every running one.
 */
export function inFlightJob(state: ExecutionState, jobId: string, vmId?: string): InFlightJob | undefined {
  if (state.status === 'absent') return undefined;
  const vm = vmId === undefined ? vmRunningJob(state, jobId) : vmRunOf(state, vmId);
  const job = vm === undefined ? null : inFlightJobOf(vm);
  return job?.job_id === jobId ? job : undefined;
}

/**
 * Jobs running now in VMs that changed since `earlier` (an earlier state of the
 * execution; null: every running job), in plan order: the jobs new to whoever
 * saw `earlier`. Reads the changed VMs only.
 */
export function inFlightJobsChangedSince(state: ExecutionState, earlier: ExecutionState | null): InFlightJob[] {
  if (state.status === 'absent') return [];
  if (earlier === null || earlier.status === 'absent') return inFlightJobs(state);
  return state.vms.indexesChangedSince(earlier.vms).flatMap((i) => inFlightJobOf(state.vms.at(i)!) ?? []);
}

export interface OpenDispatch extends DispatchInFlight {
  vm_context_id: string;
  vm_name: string;
}

/**
 * Dispatches decided (JobRequested) with no result recorded: after a crash or a
 * creation timeout these are reconciled (ReconcileDispatch), never called again blindly.
 */
export function requestedButUnconfirmed(state: ExecutionState): OpenDispatch[] {
  if (state.status === 'absent') return [];
  return vmsIn(state, ['requested']).flatMap((vm) => (vm.dispatch === null ? [] : [{ vm_context_id: vm.vm_context_id, vm_name: vm.vm_name, ...vm.dispatch }]));
}

const MAX_RECONCILIATION_BACKOFF_MS = 3600_000;

/**
 * When a dispatch may be reconciled next: once it has been quiet for as long as
 * the work of whoever holds it can take (its discovery, its call; a claimant
 * does both), plus a doubling backoff between reconciliations.
 */
export function reconciliationDueAt(dispatch: DispatchInFlight, policy: ReconciliationPolicy): string {
  const grace =
    dispatch.reconciliations > 0 ? policy.unsent_grace_ms + policy.sent_grace_ms : dispatch.sent_at === null ? policy.unsent_grace_ms : policy.sent_grace_ms;
  const backoff = dispatch.reconciliations === 0 ? 0 : Math.min(MAX_RECONCILIATION_BACKOFF_MS, policy.backoff_ms * 2 ** (dispatch.reconciliations - 1));
  return new Date(toMs(dispatch.last_activity_at) + grace + backoff).toISOString();
}

/** The earliest retry instant among VMs waiting for one; null when none waits. */
export function nextRetryAt(state: ExecutionState): string | null {
  if (state.status !== 'running' || state.cancel) return null;
  let best: string | null = null;
  for (const vm of vmsIn(state, ['waiting_retry'])) {
    if (vm.retry_at !== null && (best === null || toMs(vm.retry_at) < toMs(best))) best = vm.retry_at;
  }
  return best;
}

/** Concurrency slots this execution holds (open dispatches and running jobs), in all and per group. */
export function occupiedSlots(state: ExecutionState): { total: number; by_group: Record<string, number> } {
  if (state.status === 'absent') return { total: 0, by_group: {} };
  return { total: state.tally.slots, by_group: { ...state.tally.slots_by_group } };
}

export type VmOutcome = 'queued' | 'dispatched' | 'completed' | 'failed' | 'skipped' | 'cancelled' | 'pending' | 'waiting_retry';

export interface VmDetail {
  vm_context_id: string;
  vm_name: string;
  group_id: string | null;
  outcome: VmOutcome;
  conflict_type?: ConflictType;
  reason?: string;
  job_ids: string[];
  attempts: number;
  retry_at?: string;
  error_message?: string;
}

const OUTCOME_OF_PHASE: Record<VmPhase, VmOutcome> = {
  pending: 'pending',
  queued: 'queued',
  requested: 'dispatched',
  running: 'dispatched',
  waiting_retry: 'waiting_retry',
  completed: 'completed',
  failed: 'failed',
  skipped: 'skipped',
  cancelled: 'cancelled',
};

/** Each VM's outcome, conflict, job ids and attempts, in plan order (execution_details of the read model). */
export function executionDetails(state: ExecutionState): VmDetail[] {
  if (state.status === 'absent') return [];
  return state.vms.map((vm) => {
    const detail: VmDetail = {
      vm_context_id: vm.vm_context_id,
      vm_name: vm.vm_name,
      group_id: vm.group_id,
      outcome: OUTCOME_OF_PHASE[vm.phase],
      job_ids: [...vm.job_ids],
      attempts: vm.attempts,
    };
    if (vm.conflict_type !== null) detail.conflict_type = vm.conflict_type;
    if (vm.reason !== null) detail.reason = vm.reason;
    if (vm.phase === 'waiting_retry' && vm.retry_at !== null) detail.retry_at = vm.retry_at;
    if (vm.last_error !== null && vm.phase !== 'completed') detail.error_message = vm.last_error;
    return detail;
  });
}

/** A plan candidate as the process manager reads it from groups, memberships and overrides. */
export interface PlanCandidate extends PlanEntry {
  /** When the VM joined its group (ISO): orders members of equal priority. */
  added_at: string;
  /** The VM follows this schedule through its membership's schedule_override_id. */
  via_override: boolean;
}

/**
 * The plan order of spec/domain.md: the schedule's groups by ascending
 * priority, then their members by ascending priority and added time, then
 * the VMs whose override points here (in the same order among themselves).
 * Ties keep the given order. A VM listed twice is kept once (its first place).
 */
export function orderPlan(candidates: readonly PlanCandidate[]): PlanEntry[] {
  const keyed = candidates.map((c, i) => ({ c, i, added: toMs(c.added_at) }));
  keyed.sort(
    (a, b) =>
      Number(a.c.via_override) - Number(b.c.via_override) ||
      a.c.group_priority - b.c.group_priority ||
      (a.c.group_id ?? '').localeCompare(b.c.group_id ?? '') ||
      a.c.member_priority - b.c.member_priority ||
      (a.added - b.added || 0) ||
      a.i - b.i,
  );
  const seen = new Set<string>();
  const out: PlanEntry[] = [];
  for (const { c } of keyed) {
    if (seen.has(c.vm_context_id)) continue;
    seen.add(c.vm_context_id);
    out.push({ vm_context_id: c.vm_context_id, vm_name: c.vm_name, group_id: c.group_id, group_priority: c.group_priority, member_priority: c.member_priority });
  }
  return out;
}

/** The ScheduleExecution for a recorded due instant (ExecutionDue on the schedule stream). */
export function scheduleExecutionForDue(
  due: { schedule_id: string; execution_id: string; due_at: string; fire_at: string; trigger: 'cron' | 'catchup' },
  meta: CommandMeta,
): ScheduleExecution {
  return {
    type: 'ScheduleExecution',
    execution_id: due.execution_id,
    schedule_id: due.schedule_id,
    scheduled_at: due.due_at,
    not_before: due.fire_at,
    trigger: due.trigger,
    triggered_by: 'scheduler',
    reason: null,
    group_id: null,
    force: false,
    parent_execution_id: null,
    ...meta,
  };
}

/** The ScheduleExecution for a chain follow-up (see chainFollowUps): due at parent completion + delay. */
export function scheduleExecutionForChain(
  followUp: { schedule_id: string; execution_id: string; not_before: string; triggered_by: string; parent_execution_id: string },
  meta: CommandMeta,
): ScheduleExecution {
  return {
    type: 'ScheduleExecution',
    execution_id: followUp.execution_id,
    schedule_id: followUp.schedule_id,
    scheduled_at: followUp.not_before,
    not_before: followUp.not_before,
    trigger: 'chain',
    triggered_by: followUp.triggered_by,
    reason: null,
    group_id: null,
    force: false,
    parent_execution_id: followUp.parent_execution_id,
    ...meta,
  };
}
