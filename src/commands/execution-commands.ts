/**
 * Command handlers of the Execution aggregate that the API drives: a manual
 * trigger, a cancel, and a job status report (the OMA's webhook). Running an
 * execution (start, checks, dispatch, retries) is the process manager's.
 */
import { DomainError, validationError } from '../domain/decider.js';
import { streamIds } from '../domain/events.js';
import { executionDecider, type ExecutionCommand, type ExecutionState } from '../domain/execution.js';
import type { ExecutionEvent } from '../domain/execution-events.js';
import { scheduleDecider } from '../domain/schedule.js';
import type { EventStore } from '../eventstore/event-store.js';
import type { CommandContext } from './command-context.js';
import { groupState } from './group-commands.js';
import { assumeNewStream } from './aggregate-cache.js';
import { newId } from './ids.js';
import { loadState, runDecider, type DecisionResult } from './run-decider.js';
import type { CommandOutcome } from './schedule-commands.js';

export interface TriggerRequest {
  scheduleId: string;
  reason?: string | null;
  /** Restricts the run to one of the schedule's groups. */
  groupId?: string | null;
  /** Runs a disabled schedule. */
  force?: boolean;
}

export interface JobStatusReport {
  status: string;
  progress_percent?: number;
  error_message?: string | null;
}

export interface JobCommandDeps {
  store: EventStore;
  /**
   * The execution a job belongs to and its VM (from the jobs read model); null for an
   * unknown job. The VM spares the decider a search of the execution's VMs.
   */
  executionOfJob(jobId: string): Promise<{ executionId: string; vmContextId: string | null } | null>;
}

function decideOnExecution(store: EventStore, id: string, command: ExecutionCommand, context: CommandContext): Promise<DecisionResult<ExecutionEvent, ExecutionState>> {
  return runDecider(store, streamIds.execution(id), executionDecider, () => command, context);
}

/** Blank text is no reason. */
function reasonOf(reason: string | null | undefined): string | null {
  return reason?.trim() ? reason : null;
}

/**
 * A manual run of a schedule now: one execution, triggered_by manual:<actor>,
 * the reason kept as data. A disabled schedule needs `force`; a chain schedule
 * may be triggered like any other. The process manager starts it.
 */
export async function triggerExecution(store: EventStore, request: TriggerRequest, context: CommandContext): Promise<CommandOutcome> {
  const { scheduleId } = request;
  const schedule = (await loadState(store, streamIds.schedule(scheduleId), scheduleDecider)).state;
  if (schedule.status !== 'active') throw new DomainError('NotFound', `schedule ${scheduleId} not found`);
  const force = request.force ?? false;
  if (!schedule.settings.enabled && !force) throw new DomainError('Conflict', `schedule ${scheduleId} is disabled; use force to run it anyway`);
  const groupId = request.groupId ?? null;
  if (groupId !== null) {
    const group = await groupState(store, groupId);
    if (group.status !== 'active') throw validationError('/group_id', `machine group ${groupId} not found`);
    if (group.settings.schedule_id !== scheduleId) throw new DomainError('Conflict', `machine group ${groupId} is not a group of schedule ${scheduleId}`, [{ path: '/group_id', message: 'not a group of this schedule' }]);
  }
  const id = newId();
  assumeNewStream(store, streamIds.execution(id), executionDecider);
  const result = await decideOnExecution(
    store,
    id,
    {
      type: 'ScheduleExecution',
      execution_id: id,
      schedule_id: scheduleId,
      scheduled_at: context.at,
      not_before: context.at,
      trigger: 'manual',
      triggered_by: `manual:${context.actor}`,
      reason: reasonOf(request.reason),
      group_id: groupId,
      force,
      parent_execution_id: null,
      at: context.at,
      actor: context.actor,
    },
    context,
  );
  return { id, position: result.position };
}

/** Cancels an execution: 404 unknown, 409 ended; running jobs are left to finish. */
export async function cancelExecution(store: EventStore, id: string, reason: string | null | undefined, context: CommandContext): Promise<CommandOutcome> {
  const result = await decideOnExecution(store, id, { type: 'CancelExecution', execution_id: id, reason: reasonOf(reason), at: context.at, actor: context.actor }, context);
  return { id, position: result.position };
}

/** A job's status as the OMA reports it: 404 unknown job, 409 when the job has ended already. */
export async function recordJobStatus(deps: JobCommandDeps, jobId: string, report: JobStatusReport, context: CommandContext): Promise<CommandOutcome> {
  const owner = await deps.executionOfJob(jobId);
  if (owner === null) throw new DomainError('NotFound', `job ${jobId} not found`);
  const executionId = owner.executionId;
  const command: ExecutionCommand = {
    type: 'RecordJobStatus',
    execution_id: executionId,
    job_id: jobId,
    ...(owner.vmContextId === null ? {} : { vm_context_id: owner.vmContextId }),
    status: report.status,
    ...(report.progress_percent === undefined ? {} : { progress_percent: report.progress_percent }),
    ...(report.error_message === undefined ? {} : { error_message: report.error_message }),
    at: context.at,
    actor: context.actor,
  };
  const result = await decideOnExecution(deps.store, executionId, command, context);
  return { id: jobId, position: result.position };
}
