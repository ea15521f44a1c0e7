/**
 * Events of the execution aggregate (stream execution-{id}): one run of one
 * schedule at one due instant, a manual trigger, a chain follow-up or a
 * catch-up. Data is snake_case; times are ISO-8601 instants from the commands.
 * Rules: spec/domain.md, "Execution".
 */
import type { QueueConflictType, SkipConflictType } from './conflict-checks.js';
import type { PhantomReason } from './phantom-rules.js';
import type { ReplicationType } from './schedule-fields.js';

type Event<T extends string, D> = { type: T; data: D };

export type ExecutionTrigger = 'cron' | 'catchup' | 'manual' | 'chain';
export type VmOutcomeOnFinish = 'completed' | 'failed' | 'cancelled';
export type ExecutionEndStatus = 'completed' | 'failed' | 'cancelled';

/** Schedule settings an execution runs with, fixed when it starts. */
export interface ExecutionSettings {
  max_concurrent_jobs: number;
  retry_attempts: number;
  retry_delay_minutes: number;
  replication_type: ReplicationType;
}

/**
 * One VM of the execution's plan. Plan order: groups by ascending priority,
 * then members by ascending priority then added time, then override members.
 */
export interface PlanEntry {
  vm_context_id: string;
  vm_name: string;
  /** The VM's group; null for a VM that follows the schedule through an override only. */
  group_id: string | null;
  group_priority: number;
  member_priority: number;
}

/** What an execution is when it is recorded: shared by the event, the command and the state. */
export interface ExecutionScheduling {
  execution_id: string;
  schedule_id: string;
  /** The due instant (for a manual trigger: the trigger time; for a chain: parent completion + delay). */
  scheduled_at: string;
  /** Not started before this instant (due instant + jitter, chain delay). */
  not_before: string;
  trigger: ExecutionTrigger;
  /** 'scheduler' | 'manual:<actor>' | 'chain:<parent execution id>'. */
  triggered_by: string;
  reason: string | null;
  /** A manual trigger restricted to one group. */
  group_id: string | null;
  force: boolean;
  parent_execution_id: string | null;
}

export type ExecutionScheduled = Event<
  'ExecutionScheduled',
  ExecutionScheduling & {
    /** When the execution was recorded. */
    at: string;
  }
>;
export type ExecutionSkipped = Event<'ExecutionSkipped', { reason: 'skip_if_running'; blocking_execution_id: string; at: string }>;
export type ExecutionStarted = Event<'ExecutionStarted', { started_at: string; settings: ExecutionSettings; plan: PlanEntry[] }>;
export type VmSkipped = Event<'VmSkipped', { vm_context_id: string; conflict_type: SkipConflictType; reason: string; at: string }>;
export type VmQueued = Event<'VmQueued', { vm_context_id: string; conflict_type: QueueConflictType; reason: string; at: string }>;
/** The decision to call the OMA, appended with an expected revision before the call. */
export type JobRequested = Event<'JobRequested', { vm_context_id: string; attempt: number; dispatch_id: string; at: string }>;
/**
 * The OMA call of a dispatch is about to be made (discovery succeeded), appended
 * with an expected revision right before the POST. Without it a crash or a
 * timeout proves the call was never made; with it the job may exist, so the
 * dispatch is reconciled by sending the same request again under the same
 * Idempotency-Key (the dispatch id). `reconciliation`: 0 for the first sender,
 * else the number of the reconciliation (DispatchReconciling) that sent it.
 */
export type DispatchSent = Event<'DispatchSent', { vm_context_id: string; attempt: number; dispatch_id: string; reconciliation: number; at: string }>;
/**
 * One instance claims the next reconciliation of a dispatch left without an
 * answer (a crash, a creation timeout): appended with an expected revision, so
 * only the instance whose append wins reconciles. Numbered from 1.
 */
export type DispatchReconciling = Event<'DispatchReconciling', { vm_context_id: string; attempt: number; dispatch_id: string; reconciliation: number; at: string }>;
/**
 * `schedule_id` and `group_id` (the VM's group in the plan) attribute the job in
 * the jobs read model; events recorded before they were added lack them.
 */
export type JobStarted = Event<
  'JobStarted',
  { vm_context_id: string; attempt: number; job_id: string; status: string; progress_percent: number; at: string; schedule_id?: string; group_id?: string | null }
>;
export type JobStatusChanged = Event<'JobStatusChanged', { vm_context_id: string; job_id: string; status: string; progress_percent: number; at: string }>;
export type JobCompleted = Event<'JobCompleted', { vm_context_id: string; job_id: string; attempt: number; at: string }>;
export type JobFailed = Event<
  'JobFailed',
  {
    vm_context_id: string;
    /** Null when no job was created (the dispatch failed). */
    job_id: string | null;
    attempt: number;
    error_message: string;
    phantom_reason: PhantomReason | string | null;
    /** The job's terminal status as reported (failed, replication_failed, cancelled); null for a dispatch failure or a phantom. */
    job_status: string | null;
    at: string;
  }
>;
export type RetryScheduled = Event<'RetryScheduled', { vm_context_id: string; next_attempt: number; retry_at: string; at: string }>;
export type VmFinished = Event<'VmFinished', { vm_context_id: string; outcome: VmOutcomeOnFinish; at: string }>;
export type ExecutionCancelled = Event<'ExecutionCancelled', { reason: string | null; dropped_vm_ids: string[]; at: string }>;
export type ExecutionEnded = Event<
  'ExecutionEnded',
  {
    status: ExecutionEndStatus;
    completed_at: string;
    execution_duration_seconds: number;
    vms_eligible: number;
    jobs_created: number;
    jobs_completed: number;
    jobs_failed: number;
    jobs_skipped: number;
    error_message: string | null;
  }
>;

export type ExecutionEvent =
  | ExecutionScheduled
  | ExecutionSkipped
  | ExecutionStarted
  | VmSkipped
  | VmQueued
  | JobRequested
  | DispatchSent
  | DispatchReconciling
  | JobStarted
  | JobStatusChanged
  | JobCompleted
  | JobFailed
  | RetryScheduled
  | VmFinished
  | ExecutionCancelled
  | ExecutionEnded;

export const EXECUTION_EVENT_TYPES: readonly ExecutionEvent['type'][] = [
  'ExecutionScheduled',
  'ExecutionSkipped',
  'ExecutionStarted',
  'VmSkipped',
  'VmQueued',
  'JobRequested',
  'DispatchSent',
  'DispatchReconciling',
  'JobStarted',
  'JobStatusChanged',
  'JobCompleted',
  'JobFailed',
  'RetryScheduled',
  'VmFinished',
  'ExecutionCancelled',
  'ExecutionEnded',
];
