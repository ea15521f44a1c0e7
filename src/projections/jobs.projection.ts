/**
 * replication_jobs: one row per replication job the OMA created, keyed by the
 * job id it returned, from the job events of the execution streams.
 *
 * The job events carry the VM and the attempt, and the stream names the
 * execution. JobStarted also carries the execution's schedule and the VM's
 * group in the plan (the group at dispatch time); JobStarted events recorded
 * before it did leave `schedule_id` and `vm_group_id` null, and the job queries
 * then take them from the execution's row (job-attribution.ts). `scheduled_by`
 * is what the scheduler sends the OMA with every job it creates
 * (spec/integrations.md), so the two systems' rows agree.
 * A failed dispatch (JobFailed without a job id) created no job and makes no row.
 */
import type { RecordedEvent } from '../eventstore/event-store.js';
import { eventTime, stringData } from './event-data.js';
import { executionIdOf } from './executions.projection.js';
import type { Row, RowProjection } from './projection.js';

/** The OMA request's `scheduled_by` (spec/integrations.md): every job here was created by this scheduler. */
const SCHEDULED_BY = 'scheduler-service';

const JOB_EVENTS: ReadonlySet<string> = new Set(['JobStarted', 'JobStatusChanged', 'JobCompleted', 'JobFailed']);

function progressOf(event: RecordedEvent, fallback: number): number {
  const value = event.data.progress_percent;
  // decimal(5,2): rounded here, so both databases hold the same value.
  return typeof value === 'number' && Number.isFinite(value) ? Math.round(Math.min(100, Math.max(0, value)) * 100) / 100 : fallback;
}

function started(event: RecordedEvent, jobId: string): Row {
  const at = eventTime(event, 'at');
  const attempt = event.data.attempt;
  return {
    id: jobId,
    vm_context_id: stringData(event, 'vm_context_id') ?? '',
    schedule_execution_id: executionIdOf(event),
    schedule_id: stringData(event, 'schedule_id'),
    vm_group_id: stringData(event, 'group_id'),
    scheduled_by: SCHEDULED_BY,
    attempt: typeof attempt === 'number' && Number.isInteger(attempt) ? attempt : 1,
    status: stringData(event, 'status') ?? 'pending',
    progress_percent: progressOf(event, 0),
    error_message: null,
    phantom_reason: null,
    started_at: at,
    updated_at: at,
    completed_at: null,
  };
}

export const jobsProjection: RowProjection = {
  name: 'jobs',
  // 2: schedule_id, vm_group_id and scheduled_by filled (a table of version 1 has them null).
  version: 2,
  table: 'replication_jobs',
  key: 'id',

  keyOf(event) {
    if (!JOB_EVENTS.has(event.type) || executionIdOf(event) === null) return null;
    return stringData(event, 'job_id');
  },

  apply(row, event) {
    const jobId = stringData(event, 'job_id');
    if (event.type === 'JobStarted') return row ?? (jobId === null ? null : started(event, jobId));
    if (!row) return row;
    const at = eventTime(event, 'at');
    switch (event.type) {
      case 'JobStatusChanged':
        return { ...row, status: stringData(event, 'status') ?? row.status ?? 'pending', progress_percent: progressOf(event, Number(row.progress_percent)), updated_at: at };
      case 'JobCompleted':
        // Completed means all of it: a report below 100 % is a phantom (a JobFailed), never a JobCompleted.
        return { ...row, status: 'completed', progress_percent: 100, updated_at: at, completed_at: at };
      case 'JobFailed':
        return {
          ...row,
          status: stringData(event, 'job_status') ?? 'failed',
          error_message: stringData(event, 'error_message'),
          phantom_reason: stringData(event, 'phantom_reason'),
          updated_at: at,
          completed_at: at,
        };
      default:
        return row;
    }
  },
};
