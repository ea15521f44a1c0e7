/**
 * The execution process manager (spec/domain.md, Execution steps 1-7;
 * design.md, "Data flow"): follows the log and drives every open execution.
 *
 * - Input: every event of the log from a durable checkpoint (ProcessCheckpoints),
 *   handled one at a time; the checkpoint is written after each. Handlers are
 *   idempotent: every effect is an append with an expected revision, and the
 *   executions it schedules have deterministic ids.
 * - ExecutionDue -> ScheduleExecution; ExecutionEnded -> chain follow-ups;
 *   any execution event -> the execution is (re)driven. At start every
 *   execution the read model shows open is driven again.
 * - Driving one execution (one at a time per execution): fold its stream; when
 *   scheduled, wait for not_before (TimerPort), then StartExecution with the
 *   schedule's facts and the plan; when running, EvaluateVm for each evaluable
 *   VM in plan order with facts read just then; a JobRequested this instance
 *   appended is dispatched (VMA discovery, DispatchSent, OMA call under the
 *   dispatch id as Idempotency-Key) and its answer recorded; running jobs are
 *   polled every JOB_POLL_INTERVAL_SECONDS from their start; a due retry is woken by a timer.
 *   Evaluations of all executions are serialised in this process, so the
 *   schedule and group limits hold across its executions.
 * - Reconciliation: a dispatch left without an answer (a crash, a creation
 *   timeout, another instance gone) is claimed once it has been quiet longer
 *   than its holder's work can take (ReconcileDispatch: the append with the
 *   expected revision picks one claimant); the claimant makes the call if it
 *   was never made, else sends the same request under the same key and adopts
 *   the job the OMA answers. Open executions are driven at start, so a restart
 *   reconciles what it left behind.
 * - Elsewhere: the phantom scan (rules 1-4, phantom-scanner.ts).
 */
import { randomUUID } from 'node:crypto';
import { concatMap, defer, type Subscription } from 'rxjs';
import type { Clock } from '../clock.js';
import { decideExecution, processManagerContext } from '../commands/execution-process-commands.js';
import { groupState } from '../commands/group-commands.js';
import { loadState, loadStates, stateAcceptedFromCache } from '../commands/run-decider.js';
import { chainFollowUps } from '../domain/chain-rules.js';
import { DomainError } from '../domain/decider.js';
import { streamIds } from '../domain/events.js';
import type { ExecutionEnded, ExecutionEvent } from '../domain/execution-events.js';
import {
  evaluableVms,
  executionDecider,
  hasEvaluableVms,
  inFlightJob,
  inFlightJobsChangedSince,
  isEnded,
  nextRetryAt,
  occupiedSlots,
  orderPlan,
  reconciliationDueAt,
  requestedButUnconfirmed,
  vmRunOf,
  scheduleExecutionForChain,
  scheduleExecutionForDue,
  type EvaluateVms,
  type ExecutionRecord,
  type ExecutionState,
  type OpenDispatch,
  type ReconciliationPolicy,
  type ScheduleFacts,
  type VmRun,
} from '../domain/execution.js';
import { scheduleDecider } from '../domain/schedule.js';
import { vmDecider } from '../domain/vm-context.js';
import type { EventStore, Position, RecordedEvent } from '../eventstore/event-store.js';
import type { OmaReplication, VmaDiscovery } from '../integrations/replication-gateway.js';
import type { Logger } from '../logger.js';
import { dispatchReplication, resendReplication, type DispatchOutcome, type DispatchTarget } from './dispatcher.js';
import { evaluationRoom } from './evaluation-room.js';
import type { ExecutionPlanner } from './execution-planner.js';
import type { ProcessCheckpoints } from './process-checkpoints.js';
import { systemTimers, type TimerPort } from './ticker-timers.js';

export type ExecutionManagerLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface ExecutionManagerDeps {
  store: EventStore;
  clock: Clock;
  timers?: TimerPort;
  logger: ExecutionManagerLogger;
  gateway: { discovery: VmaDiscovery; replication: OmaReplication };
  planner: ExecutionPlanner;
  checkpoints: ProcessCheckpoints;
  /** Waits until the read models have applied a position (bounded); absent: no wait. */
  waitForReadModels?: (position: Position, timeoutMs: number) => Promise<boolean>;
}

export interface ExecutionManagerOptions {
  /** Seconds between two polls of a running job's state. Default 30. */
  jobPollIntervalSeconds?: number;
  /** Checkpoint name. Default 'execution-manager'. */
  name?: string;
  /** Wait before driving an execution again after an error. Default 5000 ms. */
  errorRetryMs?: number;
  /** When unanswered dispatches are reconciled: from the gateway's timeouts (reconciliationPolicy in dispatch-reconciliation.ts). */
  reconciliation: ReconciliationPolicy;
}

const EXECUTION_STREAM_PREFIX = 'execution-';
/** Events after which a slot may have freed: every open execution is evaluated again. */
const SLOT_EVENTS = new Set(['JobCompleted', 'JobFailed', 'VmFinished', 'VmSkipped', 'ExecutionCancelled', 'ExecutionEnded', 'ExecutionSkipped']);
const READ_MODEL_WAIT_MS = 5000;
const CHECKPOINT_EVERY = 1000;
/** VMs evaluated in one decision (one append); the event loop is yielded between batches. */
const EVALUATION_BATCH = 50;
/** Changes that may open a slot (a group limit raised) or decide a queued VM (a schedule disabled). */
const LIMIT_EVENTS = new Set(['MachineGroupUpdated', 'ScheduleUpdated', 'ScheduleDisabled', 'ScheduleEnabled']);

interface Driven {
  id: string;
  busy: boolean;
  again: boolean;
  wake: { at: number; cancel: () => void } | null;
  /** The state whose running jobs were last given polls (see followJobs); null: none yet. */
  followed: ExecutionState | null;
  /** Jobs whose poll ended since: polled again at `dueAt` while they run. */
  repoll: Map<string, { vmId: string; dueAt: number }>;
}

export class ExecutionManager {
  private readonly store: EventStore;
  private readonly clock: Clock;
  private readonly timers: TimerPort;
  private readonly logger: ExecutionManagerLogger;
  private readonly gateway: ExecutionManagerDeps['gateway'];
  private readonly planner: ExecutionPlanner;
  private readonly checkpoints: ProcessCheckpoints;
  private readonly waitForReadModels: NonNullable<ExecutionManagerDeps['waitForReadModels']>;
  private readonly pollMs: number;
  private readonly name: string;
  private readonly errorRetryMs: number;
  private readonly reconciliation: ReconciliationPolicy;

  private readonly driven = new Map<string, Driven>();
  private readonly polls = new Map<string, () => void>();
  private readonly dispatching = new Set<string>();
  private readonly pending = new Set<Promise<unknown>>();
  private evaluationQueue: Promise<void> = Promise.resolve();
  /** Evaluations queued or running. */
  private evaluationsQueued = 0;
  private subscription: Subscription | null = null;
  private resubscribe: (() => void) | null = null;
  private lastHandled: Position | null = null;
  /** Events handled since the checkpoint was last written. */
  private unsaved = 0;
  /**
   * A checkpoint exists in the database. Until one does, the first event handled
   * writes it: a restart without one would start from the log's head and skip
   * every event since this start (an ExecutionDue among them).
   */
  private checkpointStored = false;
  private phase: 'new' | 'running' | 'stopped' = 'new';

  constructor(deps: ExecutionManagerDeps, options: ExecutionManagerOptions) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.timers = deps.timers ?? systemTimers;
    this.logger = deps.logger;
    this.gateway = deps.gateway;
    this.planner = deps.planner;
    this.checkpoints = deps.checkpoints;
    this.waitForReadModels = deps.waitForReadModels ?? (async () => true);
    this.pollMs = (options.jobPollIntervalSeconds ?? 30) * 1000;
    this.name = options.name ?? 'execution-manager';
    this.errorRetryMs = options.errorRetryMs ?? 5000;
    this.reconciliation = options.reconciliation;
  }

  /** Loads the checkpoint, resumes every open execution, then follows the log. */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new Error('ExecutionManager.start: starts once');
    await this.checkpoints.ensureTable();
    this.lastHandled = await this.checkpoints.load(this.name);
    this.checkpointStored = this.lastHandled !== null;
    if (this.lastHandled === null) {
      // First start on this database: the log's past dues are the ticker's business
      // (catch-up), not executions to start now; open executions are resumed below.
      this.lastHandled = await this.store.headPosition();
      if (this.lastHandled !== null) {
        await this.checkpoints.save(this.name, this.lastHandled, this.clock.now());
        this.checkpointStored = true;
      }
      this.logger.info({ position: this.lastHandled }, 'execution process manager: no checkpoint, following the log from its head');
    }
    // The open executions are read from the read model: it must have seen what was handled.
    if (this.lastHandled !== null && !(await this.waitForReadModels(this.lastHandled, 30_000))) {
      this.logger.warn({ position: this.lastHandled }, 'execution process manager: read models behind the checkpoint; open executions may be resumed late');
    }
    this.phase = 'running';
    const open = await this.planner.openExecutionIds();
    for (const id of open) this.kick(id);
    this.subscribe();
    this.logger.info({ resumed: open.length, checkpoint: this.lastHandled }, 'execution process manager started');
  }

  /** Stops following the log and every timer; work in flight is finished first. */
  async stop(): Promise<void> {
    if (this.phase === 'stopped') return;
    this.phase = 'stopped';
    this.subscription?.unsubscribe();
    this.subscription = null;
    this.resubscribe?.();
    for (const d of this.driven.values()) d.wake?.cancel();
    for (const cancel of this.polls.values()) cancel();
    this.polls.clear();
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    if (this.lastHandled !== null && this.unsaved > 0) await this.checkpoints.save(this.name, this.lastHandled, this.clock.now()).catch(() => undefined);
  }

  /** Resolves when the log is handled to its head and no work is in flight (tests drive a manual clock with it). */
  async whenIdle(): Promise<void> {
    for (;;) {
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
      if (this.phase !== 'running') return;
      const head = await this.store.headPosition();
      const reached = head === null || (this.lastHandled !== null && this.store.comparePositions(this.lastHandled, head) >= 0);
      if (reached && this.pending.size === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        const again = await this.store.headPosition();
        if (again === head && this.pending.size === 0) return;
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  /** Executions this instance drives now. */
  drivenExecutionIds(): string[] {
    return [...this.driven.keys()];
  }

  // --- the log ---------------------------------------------------------------

  private subscribe(): void {
    this.subscription = this.store
      .subscribeToAll({ after: this.lastHandled })
      .pipe(concatMap((event) => defer(() => this.track(this.handle(event)))))
      .subscribe({
        error: (error: unknown) => {
          this.logger.error({ err: error }, 'execution process manager: subscription failed; resubscribing');
          this.subscription = null;
          if (this.phase !== 'running') return;
          this.resubscribe = this.timers.setTimeout(() => {
            this.resubscribe = null;
            if (this.phase === 'running' && this.subscription === null) this.subscribe();
          }, this.errorRetryMs);
        },
      });
  }

  private async handle(event: RecordedEvent): Promise<void> {
    if (this.phase !== 'running') return;
    try {
      if (event.type === 'ExecutionDue') {
        await this.scheduleDue(event);
      } else if (event.streamId.startsWith(EXECUTION_STREAM_PREFIX)) {
        const id = event.streamId.slice(EXECUTION_STREAM_PREFIX.length);
        if (event.type === 'ExecutionEnded') await this.followChain(id, event);
        if (event.type === 'ExecutionEnded' || event.type === 'ExecutionSkipped') this.forget(id);
        else this.kick(id);
        if (SLOT_EVENTS.has(event.type)) this.kickAll();
      } else if (LIMIT_EVENTS.has(event.type)) {
        this.kickAll();
      }
    } catch (error) {
      // Idempotent handlers: a failure is logged; the execution is driven again from its stream.
      this.logger.error({ err: error, event_type: event.type, stream: event.streamId }, 'execution process manager: handling an event failed');
    }
    this.lastHandled = event.position;
    this.unsaved += 1;
    // Written after every event whose handling appended something; other events are
    // handled again harmlessly after a crash, so their checkpoint is written in batches.
    if (this.checkpointStored && event.type !== 'ExecutionDue' && event.type !== 'ExecutionEnded' && this.unsaved < CHECKPOINT_EVERY) return;
    try {
      await this.checkpoints.save(this.name, event.position, this.clock.now());
      this.unsaved = 0;
      this.checkpointStored = true;
    } catch (error) {
      this.logger.warn({ err: error }, 'execution process manager: checkpoint not saved');
    }
  }

  /** ExecutionDue on a schedule stream -> the execution (deterministic id; a second time is a no-op). */
  private async scheduleDue(event: RecordedEvent): Promise<void> {
    const d = event.data as { schedule_id: string; execution_id: string; due_at: string; fire_at: string; trigger: 'cron' | 'catchup' };
    const at = this.clock.now();
    const context = processManagerContext(at, event.metadata.correlation_id, event.id);
    await decideExecution(this.store, d.execution_id, () => scheduleExecutionForDue(d, { at: at.toISOString(), actor: 'process-manager' }), context);
  }

  /** An ended execution -> the chain schedules that follow it (step 7). */
  private async followChain(id: string, event: RecordedEvent): Promise<void> {
    const ended = event.data as ExecutionEnded['data'];
    const { state } = await loadState(this.store, streamIds.execution(id), executionDecider);
    if (state.status === 'absent') return;
    await this.waitForReadModels(event.position, READ_MODEL_WAIT_MS);
    const children = await this.planner.chainChildren(state.schedule_id);
    if (children.length === 0) return;
    const followUps = chainFollowUps({ execution_id: id, schedule_id: state.schedule_id, status: ended.status, completed_at: ended.completed_at }, children);
    const at = this.clock.now();
    const context = processManagerContext(at, event.metadata.correlation_id, event.id);
    for (const followUp of followUps) {
      await decideExecution(this.store, followUp.execution_id, () => scheduleExecutionForChain(followUp, { at: at.toISOString(), actor: 'process-manager' }), context);
      this.logger.info({ parent_execution_id: id, execution_id: followUp.execution_id, schedule_id: followUp.schedule_id, not_before: followUp.not_before }, 'chain follow-up scheduled');
    }
  }

  // --- driving executions ------------------------------------------------------

  private track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    const done = () => this.pending.delete(work);
    work.then(done, done);
    return work;
  }

  private forget(id: string): void {
    const d = this.driven.get(id);
    if (!d) return;
    d.wake?.cancel();
    d.wake = null;
    if (!d.busy) this.driven.delete(id);
  }

  private kickAll(): void {
    for (const id of this.driven.keys()) this.kick(id);
  }

  /** Drives the execution now, or once more after the drive in progress. */
  private kick(id: string): void {
    if (this.phase !== 'running') return;
    let d = this.driven.get(id);
    if (!d) {
      d = { id, busy: false, again: false, wake: null, followed: null, repoll: new Map() };
      this.driven.set(id, d);
    }
    if (d.busy) {
      d.again = true;
      return;
    }
    d.busy = true;
    const driven = d;
    void this.track(
      (async () => {
        do {
          driven.again = false;
          try {
            await this.drive(driven);
          } catch (error) {
            this.logger.error({ err: error, execution_id: id }, 'execution process manager: driving an execution failed; trying again later');
            this.setWake(driven, this.clock.now().getTime() + this.errorRetryMs);
          }
        } while (driven.again && this.phase === 'running');
        driven.busy = false;
      })(),
    );
  }

  private setWake(d: Driven, atMs: number): void {
    if (d.wake && d.wake.at === atMs) return;
    d.wake?.cancel();
    const cancel = this.timers.setTimeout(() => {
      if (d.wake?.cancel === cancel) d.wake = null;
      this.kick(d.id);
    }, atMs - this.clock.now().getTime());
    d.wake = { at: atMs, cancel };
  }

  private async drive(d: Driven): Promise<void> {
    const { state } = await loadState(this.store, streamIds.execution(d.id), executionDecider);
    if (state.status === 'absent') {
      this.forgetIdle(d);
      return;
    }
    if (isEnded(state)) {
      this.forgetIdle(d);
      return;
    }
    const now = this.clock.now();
    if (state.status === 'scheduled') {
      const notBefore = Date.parse(state.not_before);
      if (now.getTime() < notBefore) {
        this.setWake(d, notBefore);
        return;
      }
      await this.startExecution(d.id, now);
      d.again = true;
      return;
    }
    const after = await this.evaluate(d.id, state);
    if (after.status !== 'running') return; // ended: the ExecutionEnded event forgets it
    this.followJobs(d.id, after);
    const nowMs = this.clock.now().getTime();
    const wakes: number[] = [];
    const retry = nextRetryAt(after);
    if (retry !== null && Date.parse(retry) > nowMs) wakes.push(Date.parse(retry));
    else if (retry !== null) d.again = true;
    for (const open of requestedButUnconfirmed(after)) {
      if (this.dispatching.has(dispatchKey(d.id, open.vm_context_id, open.attempt))) continue; // this process is at it
      const due = Date.parse(reconciliationDueAt(open, this.reconciliation));
      if (due <= nowMs) this.launchReconciliation(d.id, after, open);
      else wakes.push(due);
    }
    if (wakes.length > 0) this.setWake(d, Math.min(...wakes));
  }

  private forgetIdle(d: Driven): void {
    d.wake?.cancel();
    d.wake = null;
    this.driven.delete(d.id);
  }

  /** Step 2: the schedule's facts, the other running executions and the plan. */
  private async startExecution(id: string, now: Date): Promise<void> {
    const context = processManagerContext(now);
    await decideExecution(
      this.store,
      id,
      async (state) => {
        const meta = { execution_id: id, at: now.toISOString(), actor: 'process-manager' };
        if (state.status !== 'scheduled') return { type: 'StartExecution', ...meta, schedule: null, running_execution_ids: [], plan: [] };
        return {
          type: 'StartExecution',
          ...meta,
          schedule: await this.scheduleFacts(state.schedule_id),
          running_execution_ids: await this.runningExecutionsOf(state.schedule_id, id),
          plan: orderPlan(await this.planner.planCandidates(state.schedule_id, state.group_id)),
        };
      },
      context,
    );
  }

  private async scheduleFacts(scheduleId: string): Promise<ScheduleFacts | null> {
    const { state } = await loadState(this.store, streamIds.schedule(scheduleId), scheduleDecider);
    if (state.status !== 'active') return null;
    const s = state.settings;
    return {
      exists: true,
      enabled: s.enabled,
      skip_if_running: s.skip_if_running,
      max_concurrent_jobs: s.max_concurrent_jobs,
      retry_attempts: s.retry_attempts,
      retry_delay_minutes: s.retry_delay_minutes,
      replication_type: s.replication_type,
    };
  }

  private async runningExecutionsOf(scheduleId: string, except: string): Promise<string[]> {
    const ids = new Set<string>();
    for (const [id, state] of await this.drivenStates(except)) {
      if (state.schedule_id === scheduleId && state.status === 'running') ids.add(id);
    }
    for (const id of await this.planner.runningExecutionIds(scheduleId)) {
      if (id === except || this.driven.has(id)) continue; // the stream is fresher than the read model for the ones driven here
      ids.add(id);
    }
    return [...ids];
  }

  /** The states of the executions driven here, but `except` (its caller has its own). */
  private async drivenStates(except: string | null = null): Promise<Map<string, ExecutionRecord>> {
    const states = new Map<string, ExecutionRecord>();
    for (const id of [...this.driven.keys()]) {
      if (id === except) continue;
      const { state } = await loadState(this.store, streamIds.execution(id), executionDecider);
      if (state.status !== 'absent') states.set(id, state);
    }
    return states;
  }

  /**
   * Step 3: each evaluable VM, in plan order, under the process-wide evaluation lock.
   * Resolves to the latest state read or decided on (the stream need not be read again:
   * any event appended since drives the execution again).
   */
  private evaluate(id: string, justRead: ExecutionState): Promise<ExecutionState> {
    // With no evaluation queued before it, this one starts at once: the state its caller
    // just read is as fresh as a read now would be (a MariaDB round trip per drive spared).
    const known = this.evaluationsQueued === 0 ? justRead : null;
    this.evaluationsQueued += 1;
    const run = this.evaluationQueue.then(() => this.evaluateNow(id, known));
    this.evaluationQueue = run.then(
      () => undefined,
      () => undefined,
    );
    void this.evaluationQueue.then(() => (this.evaluationsQueued -= 1));
    return run;
  }

  private async evaluateNow(id: string, known: ExecutionState | null): Promise<ExecutionState> {
    const before = known ?? (await loadState(this.store, streamIds.execution(id), executionDecider)).state;
    // The read models are waited for only for the facts of an evaluation.
    if (!hasEvaluableVms(before, this.clock.now())) return before;
    // Not read again: each batch below decides on the stream's current state anyway.
    const state = before;
    const vms = evaluableVms(state, this.clock.now());
    if (vms.length === 0 || state.status === 'absent') return state;
    // Other executions change their slots only here (serialised) or by freeing them: read once per round.
    const others = await this.drivenStates(id);
    // VMs queued before are taken only as far as the free slots go (evaluation-room.ts):
    // a drive after every poll must not read and evaluate queued VMs only to queue them
    // again, and a wave of freed slots is filled in one batch.
    const queuedGroups = new Set<string | null>();
    let notQueuedLeft = 0;
    for (const vm of vms) {
      if (vm.phase === 'queued') queuedGroups.add(vm.group_id);
      else notQueuedLeft += 1;
    }
    const limits = queuedGroups.size > 0 ? await this.limitFacts(state.schedule_id, [...queuedGroups].filter((g) => g !== null)) : null;
    const roomIn = (current: ExecutionRecord) => (limits === null ? null : evaluationRoom(current, others, { scheduleEnabled: limits.schedule.enabled, groupLimits: limits.groupLimits }));
    if (notQueuedLeft === 0 && roomIn(state)?.fitsAny(queuedGroups) === false) return state; // every VM waits for a slot
    const head = await this.store.headPosition();
    let readModelsCaughtUp = head === null;
    // Once a limit is found reached in this round, VMs already queued behind it wait
    // for a freed slot instead of being evaluated again and again meanwhile; VMs not
    // evaluated yet still are, so each is recorded as queued (or skipped) once.
    let scheduleFull = false;
    const fullGroups = new Set<string | null>();
    let next = 0;
    let latest: ExecutionState = state;
    while (next < vms.length) {
      if (this.phase !== 'running') return latest;
      // Let dispatches and polls already under way send and read their HTTP calls:
      // a long round must not starve them into their timeouts.
      await new Promise((resolve) => setImmediate(resolve));
      const room = latest.status === 'absent' ? null : roomIn(latest);
      const batch: VmRun[] = [];
      for (; next < vms.length && batch.length < EVALUATION_BATCH; next += 1) {
        const vm = vms[next]!;
        if (vm.phase !== 'queued') {
          notQueuedLeft -= 1;
        } else if (scheduleFull || fullGroups.has(vm.group_id) || room?.fits(vm) === false) {
          // Waits for a freed slot; when every VM left does, the round is over.
          if (notQueuedLeft === 0 && (scheduleFull || room?.fitsAny([...queuedGroups].filter((g) => !fullGroups.has(g))) === false)) next = vms.length;
          continue;
        }
        batch.push(vm);
        room?.take(vm);
      }
      if (batch.length === 0) continue;
      if (!readModelsCaughtUp && (await this.readModelShowsJobsElsewhere(id, batch, others))) {
        // The jobs read model may still show a job that has ended since (a lagging
        // projection): wait until it has caught up with the head before the checks. It
        // is not waited for otherwise: a job it does not show yet is either one of the
        // executions driven here (their states are checked) or another instance's,
        // which could start right after the checks anyway (the OMA's 409 is the guard).
        await this.waitForReadModels(head!, READ_MODEL_WAIT_MS);
        readModelsCaughtUp = true;
      }
      const dispatchIds = new Map(batch.map((vm) => [vm.vm_context_id, randomUUID()]));
      const at = this.clock.now();
      const result = await decideExecution(
        this.store,
        id,
        async (current) => ({
          type: 'EvaluateVms',
          execution_id: id,
          evaluations: await this.evaluations(current, batch, dispatchIds, others),
          at: at.toISOString(),
          actor: 'process-manager',
        }),
        processManagerContext(at),
      );
      latest = result.state;
      for (const event of result.events) {
        if (event.type === 'JobRequested' && dispatchIds.get(event.data.vm_context_id) === event.data.dispatch_id && result.state.status !== 'absent') {
          this.launchDispatch(id, result.state, event.data.vm_context_id, event.data.attempt, event.data.dispatch_id);
        }
      }
      // Jobs started meanwhile are polled from now on, not only after the round: a
      // round over thousands of VMs would otherwise hold back the completions that free slots.
      this.followJobs(id, result.state);
      for (const vm of batch) {
        const queued = queuedBy(result.state, vm.vm_context_id);
        if (queued === 'max_concurrent') scheduleFull = true;
        if (queued === 'group_concurrent') fullGroups.add(vm.group_id);
      }
    }
    return latest;
  }

  /** Whether the jobs read model shows a VM of `batch` with a job of an execution not driven here. */
  private async readModelShowsJobsElsewhere(id: string, batch: readonly VmRun[], others: ReadonlyMap<string, ExecutionRecord>): Promise<boolean> {
    const activeJobs = await this.planner.activeJobsOfVms(batch.map((vm) => vm.vm_context_id));
    const drivenHere = new Set([id, ...others.keys()]);
    for (const jobs of activeJobs.values()) if (jobs.some((job) => isJobElsewhere(job, drivenHere))) return true;
    return false;
  }

  /** The schedule's switch and limit and the groups' max_concurrent_vms (null: no limit applies), read now. */
  private async limitFacts(scheduleId: string, groupIds: Iterable<string>): Promise<{ schedule: { enabled: boolean; max_concurrent_jobs: number }; groupLimits: Map<string, number | null> }> {
    const schedule = (await loadState(this.store, streamIds.schedule(scheduleId), scheduleDecider)).state;
    const groupLimits = new Map<string, number | null>();
    for (const groupId of new Set(groupIds)) {
      const group = await groupState(this.store, groupId);
      groupLimits.set(groupId, group.status === 'active' ? group.settings.max_concurrent_vms : null);
    }
    return {
      schedule: schedule.status === 'active' ? { enabled: schedule.settings.enabled, max_concurrent_jobs: schedule.settings.max_concurrent_jobs } : { enabled: false, max_concurrent_jobs: 1 },
      groupLimits,
    };
  }

  /** The six checks' facts of each VM of a batch, read at dispatch time (never once up front); the schedule and groups are read once. */
  private async evaluations(
    current: ExecutionState,
    batch: readonly VmRun[],
    dispatchIds: ReadonlyMap<string, string>,
    others: ReadonlyMap<string, ExecutionRecord>,
  ): Promise<EvaluateVms['evaluations']> {
    if (current.status === 'absent') throw new DomainError('NotFound', 'execution vanished');
    const { schedule: scheduleNow, groupLimits } = await this.limitFacts(current.schedule_id, batch.flatMap((vm) => (vm.group_id === null ? [] : [vm.group_id])));
    const states = new Map(others);
    states.set(current.execution_id, current);
    let scheduleRunning = 0;
    const groupRunning = new Map<string, number>();
    for (const state of states.values()) {
      const slots = occupiedSlots(state);
      if (state.schedule_id === current.schedule_id) scheduleRunning += slots.total;
      for (const groupId of groupLimits.keys()) groupRunning.set(groupId, (groupRunning.get(groupId) ?? 0) + (slots.by_group[groupId] ?? 0));
    }
    // Jobs of executions not driven here (ended, or another instance's) come from the read model.
    const activeJobs = await this.planner.activeJobsOfVms(batch.map((vm) => vm.vm_context_id));
    const settings = current.status === 'running' ? current.settings : null;
    // Read together, in one round trip where the store can: on MariaDB a wave of 1,000
    // VMs read one after another took ~1 s before its first dispatch.
    const vmStates = await loadStates(this.store, batch.map((planned) => streamIds.vm(planned.vm_context_id)), vmDecider);
    const evaluations: EvaluateVms['evaluations'][number][] = [];
    for (const [index, planned] of batch.entries()) {
      const vmId = planned.vm_context_id;
      const vm = vmStates[index]!.state;
      let activeHere = false;
      for (const [otherId, state] of states) {
        if (otherId === current.execution_id) continue;
        const phase = vmRunOf(state, vmId)?.phase;
        if (phase === 'running' || phase === 'requested') activeHere = true;
      }
      const activeElsewhere = (activeJobs.get(vmId) ?? []).some((job) => isJobElsewhere(job, states));
      const groupId = planned.group_id;
      evaluations.push({
        vm_context_id: vmId,
        dispatch_id: dispatchIds.get(vmId)!,
        facts: {
          schedule_enabled: scheduleNow.enabled,
          vm_scheduler_enabled: vm.status === 'registered' && vm.scheduler_enabled,
          // A VM unassigned since the plan was made counts as a disabled membership.
          membership_enabled: vm.status === 'registered' && vm.membership !== null && vm.membership.enabled,
          vm_status: vm.status === 'registered' ? vm.current_status : 'discovered',
          vm_has_active_job: activeHere || activeElsewhere,
          schedule_running_jobs: scheduleRunning,
          schedule_max_concurrent_jobs: settings?.max_concurrent_jobs ?? scheduleNow.max_concurrent_jobs,
          group_running_jobs: groupId === null ? 0 : (groupRunning.get(groupId) ?? 0),
          group_max_concurrent_vms: groupId === null ? null : (groupLimits.get(groupId) ?? null),
        },
      });
    }
    return evaluations;
  }

  // --- dispatch ----------------------------------------------------------------

  /** Step 4, after this instance's JobRequested won: discovery, DispatchSent, the OMA call, its answer recorded. */
  private launchDispatch(id: string, state: ExecutionRecord, vmId: string, attempt: number, dispatchId: string): void {
    this.holdDispatch(id, vmId, attempt, async () => {
      // The evaluation that requested this job read the VM's stream just before.
      const target = await this.dispatchTarget(id, state, vmId, dispatchId, 'just-read');
      const outcome = 'kind' in target ? target : await dispatchReplication(this.gateway, target, () => this.markSent(id, vmId, attempt, dispatchId, 0));
      await this.recordOutcome(id, vmId, attempt, dispatchId, outcome);
    });
  }

  /**
   * A dispatch left without an answer and due for reconciliation: claim it
   * (only the instance whose claim is appended goes on), then make the call if
   * it was never made, else send the same request again under the same key.
   */
  private launchReconciliation(id: string, state: ExecutionRecord, open: OpenDispatch): void {
    const { vm_context_id: vmId, attempt, dispatch_id: dispatchId } = open;
    this.holdDispatch(id, vmId, attempt, async () => {
      const at = this.clock.now();
      const result = await decideExecution(
        this.store,
        id,
        () => ({ type: 'ReconcileDispatch', execution_id: id, vm_context_id: vmId, attempt, dispatch_id: dispatchId, policy: this.reconciliation, at: at.toISOString(), actor: 'process-manager' }),
        processManagerContext(at),
      );
      const claim = result.events.find((e): e is Extract<ExecutionEvent, { type: 'DispatchReconciling' }> => e.type === 'DispatchReconciling');
      const failed = result.events.find((e): e is Extract<ExecutionEvent, { type: 'JobFailed' }> => e.type === 'JobFailed');
      if (failed) this.logger.warn({ execution_id: id, vm_context_id: vmId, attempt, dispatch_id: dispatchId, error: failed.data.error_message }, 'dispatch never confirmed: attempt failed');
      if (!claim || result.state.status === 'absent') return; // answered meanwhile, not due, or another instance claimed it
      const sentAt = vmRunOf(result.state, vmId)?.dispatch?.sent_at ?? null;
      const n = claim.data.reconciliation;
      this.logger.info({ execution_id: id, vm_context_id: vmId, attempt, dispatch_id: dispatchId, reconciliation: n, sent: sentAt !== null }, 'reconciling an unanswered dispatch');
      const target = await this.dispatchTarget(id, state, vmId, dispatchId, 'read');
      let outcome: DispatchOutcome;
      if ('kind' in target) outcome = target;
      // Never sent: this is the attempt's first and only call.
      else if (sentAt === null) outcome = await dispatchReplication(this.gateway, target, () => this.markSent(id, vmId, attempt, dispatchId, n));
      else outcome = await resendReplication(this.gateway, target);
      await this.recordOutcome(id, vmId, attempt, dispatchId, outcome);
    });
  }

  /** Runs the work of one dispatch, at most one at a time per dispatch in this process, then drives the execution again. */
  private holdDispatch(id: string, vmId: string, attempt: number, work: () => Promise<void>): void {
    const key = dispatchKey(id, vmId, attempt);
    if (this.dispatching.has(key)) return;
    this.dispatching.add(key);
    void this.track(
      (async () => {
        try {
          await work();
        } catch (error) {
          this.logger.error({ err: error, execution_id: id, vm_context_id: vmId, attempt }, 'dispatch failed');
        } finally {
          this.dispatching.delete(key);
          this.kick(id);
        }
      })(),
    );
  }

  /** What the OMA call needs to know of the VM, or the result when the VM is no longer registered. */
  /**
   * The VM's name and place for the call. 'just-read': its stream was read moments ago
   * (by the evaluation that requested the job), so a registered VM in the command
   * layer's cache is taken as is, sparing a read per dispatch (5,000 round trips to
   * MariaDB in a 5,000-VM execution); anything else is read again.
   */
  private async dispatchTarget(
    id: string,
    state: ExecutionRecord,
    vmId: string,
    dispatchId: string,
    vmState: 'just-read' | 'read',
  ): Promise<DispatchTarget | DispatchOutcome> {
    const streamId = streamIds.vm(vmId);
    const { state: vm } =
      vmState === 'just-read'
        ? await stateAcceptedFromCache(this.store, streamId, vmDecider, (cached) => cached.status === 'registered')
        : await loadState(this.store, streamId, vmDecider);
    if (vm.status !== 'registered') return { kind: 'vm_not_found', message: `VM context ${vmId} is not registered` };
    return {
      vmName: vm.description.vm_name,
      vcenterHost: vm.description.vcenter_host,
      datacenter: vm.description.datacenter,
      replicationType: state.settings?.replication_type ?? 'auto',
      executionId: id,
      groupId: vmRunOf(state, vmId)?.group_id ?? null,
      dispatchId,
    };
  }

  /** DispatchSent, right before the call; false when another instance holds the dispatch (then no call is made). */
  private async markSent(id: string, vmId: string, attempt: number, dispatchId: string, reconciliation: number): Promise<boolean> {
    const at = this.clock.now();
    try {
      await decideExecution(
        this.store,
        id,
        () => ({ type: 'SendDispatch', execution_id: id, vm_context_id: vmId, attempt, dispatch_id: dispatchId, reconciliation, at: at.toISOString(), actor: 'process-manager' }),
        processManagerContext(at),
      );
      return true;
    } catch (error) {
      if (error instanceof DomainError && error.kind === 'Conflict') {
        this.logger.info({ execution_id: id, vm_context_id: vmId, attempt, dispatch_id: dispatchId, reason: error.message }, 'dispatch taken over meanwhile: not calling');
        return false;
      }
      throw error;
    }
  }

  private async recordOutcome(id: string, vmId: string, attempt: number, dispatchId: string, outcome: DispatchOutcome): Promise<void> {
    const where = { execution_id: id, vm_context_id: vmId, attempt, dispatch_id: dispatchId };
    if (outcome.kind === 'not_sent') return;
    if (outcome.kind === 'unconfirmed') {
      // Not a failure until reconciled: the drive after this one schedules the reconciliation.
      this.logger.warn({ ...where, reason: outcome.message }, 'replication call unconfirmed: left for reconciliation');
      return;
    }
    const at = this.clock.now();
    try {
      await decideExecution(
        this.store,
        id,
        () => ({ type: 'RecordDispatchResult', execution_id: id, vm_context_id: vmId, attempt, result: outcome, at: at.toISOString(), actor: 'process-manager' }),
        processManagerContext(at),
      );
    } catch (error) {
      // Another instance's reconciliation recorded the answer first.
      if (error instanceof DomainError && error.kind === 'Conflict') {
        this.logger.info({ ...where, reason: error.message }, 'dispatch answered meanwhile');
        return;
      }
      throw error;
    }
    this.logger.info({ ...where, result: outcome.kind, ...(outcome.kind === 'started' ? { job_id: outcome.job_id } : { message: outcome.message }) }, 'dispatch recorded');
  }

  // --- following jobs ------------------------------------------------------------

  /**
   * Step 5: a poll timer per running job. Every job running in the state followed
   * last has one, or is in `repoll` once its poll ended: so only the VMs changed since
   * and those jobs are read, not every running job at every drive.
   * The polls of a job keep their pace from its start (fixed rate): the next is due
   * one interval after the last answer, not after that answer was recorded and the
   * execution driven, which under load would stretch every interval.
   */
  private followJobs(id: string, state: ExecutionState): void {
    const d = this.driven.get(id);
    const nowMs = this.clock.now().getTime();
    if (d) {
      for (const [jobId, { vmId, dueAt }] of d.repoll) {
        if (inFlightJob(state, jobId, vmId)) this.pollLater(id, jobId, vmId, dueAt, nowMs);
      }
      d.repoll.clear();
    }
    // A new job's first poll is due one interval after its start (at once for a job
    // that started longer ago, as after a restart); jobs polled already have a timer.
    for (const job of inFlightJobsChangedSince(state, d?.followed ?? null)) {
      this.pollLater(id, job.job_id, job.vm_context_id, Date.parse(job.started_at) + this.pollMs, nowMs);
    }
    if (d) d.followed = state;
  }

  private pollLater(id: string, jobId: string, vmId: string, dueAt: number, nowMs: number): void {
    if (this.polls.has(jobId)) return;
    const delay = Math.min(this.pollMs, Math.max(0, dueAt - nowMs));
    const cancel = this.timers.setTimeout(() => void this.track(this.pollJob(id, jobId, vmId)), delay);
    this.polls.set(jobId, cancel);
  }

  private async pollJob(id: string, jobId: string, vmId: string): Promise<void> {
    // Held while the poll is under way: a drive meanwhile (the job still running in its
    // state) must not plan a second poll, which would only meet the job ended.
    const underWay = () => undefined;
    this.polls.set(jobId, underWay);
    if (this.phase !== 'running') return;
    let answeredAt: number | null = null;
    try {
      const answer = await this.gateway.replication.jobState(jobId);
      const at = this.clock.now();
      answeredAt = at.getTime();
      const meta = { execution_id: id, job_id: jobId, vm_context_id: vmId, at: at.toISOString(), actor: 'process-manager' };
      if (answer === 'unknown') {
        this.logger.warn({ execution_id: id, job_id: jobId }, 'phantom job: the OMA does not know it');
        await decideExecution(this.store, id, () => ({ type: 'RecordPhantom', ...meta, reason: 'oma_not_found', detail: 'OMA does not know the job' }), processManagerContext(at));
      } else {
        await decideExecution(
          this.store,
          id,
          () => ({ type: 'RecordJobStatus', ...meta, status: answer.status, progress_percent: answer.progressPercent, error_message: answer.errorMessage }),
          processManagerContext(at),
        );
      }
    } catch (error) {
      // A job that ended meanwhile (a webhook) is a Conflict: nothing to record.
      if (!(error instanceof DomainError && error.kind === 'Conflict')) this.logger.warn({ err: error, execution_id: id, job_id: jobId }, 'job poll failed');
    } finally {
      if (this.polls.get(jobId) === underWay) this.polls.delete(jobId);
      this.driven.get(id)?.repoll.set(jobId, { vmId, dueAt: (answeredAt ?? this.clock.now().getTime()) + this.pollMs });
      this.kick(id);
    }
  }
}

/** A job of the read model that is not of an execution driven here (ended, another instance's, or of none): the states cannot speak for it. */
function isJobElsewhere(job: { execution_id: string | null }, drivenHere: { has(id: string): boolean }): boolean {
  return job.execution_id === null || !drivenHere.has(job.execution_id);
}

function dispatchKey(executionId: string, vmId: string, attempt: number): string {
  return `${executionId}/${vmId}/${attempt}`;
}

/** The limit a VM was just queued by in this state, if it is waiting in the queue. */
function queuedBy(state: ExecutionState, vmId: string): 'max_concurrent' | 'group_concurrent' | null {
  const vm = vmRunOf(state, vmId);
  if (vm?.phase !== 'queued') return null;
  return vm.conflict_type === 'max_concurrent' || vm.conflict_type === 'group_concurrent' ? vm.conflict_type : null;
}
