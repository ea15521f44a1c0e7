/** Reads of executions (schedule_executions) and replication jobs (replication_jobs), shaped as the API answers. */
import type { Knex } from 'knex';
import type { VmDetail } from '../domain/execution.js';
import { readExecutionDetails } from '../projections/executions.projection.js';
import type { LastExecution } from './group-queries.js';
import { pageOf, type Page } from './paging.js';
import { placeholders, preparedReadsOf, type PreparedReads } from './prepared-reads.js';
import { int, intOrNull, iso, isoOrNull, textOrNull, type Row } from './row-values.js';

export type { LastExecution } from './group-queries.js';

export interface ExecutionSummary {
  id: string;
  schedule_id: string;
  group_id: string | null;
  status: string;
  scheduled_at: string;
  started_at: string | null;
  completed_at: string | null;
  triggered_by: string;
  vms_eligible: number;
  jobs_created: number;
  jobs_completed: number;
  jobs_failed: number;
  jobs_skipped: number;
  execution_duration_seconds: number | null;
  error_message: string | null;
}

/** The outcomes spec/api.md names: a VM not yet dispatched, or waiting for its retry, is queued. */
export type ExecutionVmOutcome = 'queued' | 'dispatched' | 'completed' | 'failed' | 'skipped' | 'cancelled';

export interface ExecutionVmView {
  vm_context_id: string;
  vm_name: string;
  outcome: ExecutionVmOutcome;
  conflict_type?: string;
  reason?: string;
  job_ids: string[];
  attempts: number;
}

export interface ExecutionView extends ExecutionSummary {
  /** The reason given with a manual trigger. */
  reason: string | null;
  vms: ExecutionVmView[];
}

export interface JobView {
  id: string;
  vm_context_id: string;
  execution_id: string | null;
  schedule_id: string | null;
  group_id: string | null;
  status: string;
  progress_percent: number;
  attempt: number;
  started_at: string | null;
  updated_at: string;
  completed_at: string | null;
  error_message: string | null;
  phantom_reason: string | null;
}

export interface JobFilter {
  status?: string;
  vm_context_id?: string;
  execution_id?: string;
  limit: number;
  page: number;
}

/** Every column but execution_details, which only the detail of one execution needs. */
const SUMMARY_COLUMNS = [
  'id',
  'schedule_id',
  'group_id',
  'status',
  'scheduled_at',
  'started_at',
  'completed_at',
  'triggered_by',
  'vms_eligible',
  'jobs_created',
  'jobs_completed',
  'jobs_failed',
  'jobs_skipped',
  'execution_duration_seconds',
  'error_message',
];

function toSummary(row: Row): ExecutionSummary {
  return {
    id: String(row.id),
    schedule_id: String(row.schedule_id),
    group_id: textOrNull(row.group_id),
    status: String(row.status),
    scheduled_at: iso(row.scheduled_at),
    started_at: isoOrNull(row.started_at),
    completed_at: isoOrNull(row.completed_at),
    triggered_by: String(row.triggered_by),
    vms_eligible: int(row.vms_eligible),
    jobs_created: int(row.jobs_created),
    jobs_completed: int(row.jobs_completed),
    jobs_failed: int(row.jobs_failed),
    jobs_skipped: int(row.jobs_skipped),
    execution_duration_seconds: intOrNull(row.execution_duration_seconds),
    error_message: textOrNull(row.error_message),
  };
}

/** A VM of execution_details as the API shows it: what is waiting is queued, with why in `reason`. */
function toVmView(vm: VmDetail): ExecutionVmView {
  let outcome: ExecutionVmOutcome;
  let reason = vm.reason;
  switch (vm.outcome) {
    case 'pending':
      outcome = 'queued';
      break;
    case 'waiting_retry':
      outcome = 'queued';
      reason = `retry ${vm.attempts + 1}${vm.retry_at ? ` at ${vm.retry_at}` : ''}${vm.error_message ? ` after: ${vm.error_message}` : ''}`;
      break;
    case 'failed':
      outcome = 'failed';
      reason = reason ?? vm.error_message;
      break;
    default:
      outcome = vm.outcome;
  }
  const view: ExecutionVmView = { vm_context_id: vm.vm_context_id, vm_name: vm.vm_name, outcome, job_ids: [...vm.job_ids], attempts: vm.attempts };
  if (vm.conflict_type !== undefined) view.conflict_type = vm.conflict_type;
  if (reason !== undefined) view.reason = reason;
  return view;
}

function toJobView(row: Row): JobView {
  return {
    id: String(row.id),
    vm_context_id: String(row.vm_context_id),
    execution_id: textOrNull(row.schedule_execution_id),
    schedule_id: textOrNull(row.schedule_id),
    group_id: textOrNull(row.vm_group_id),
    status: String(row.status),
    progress_percent: Number(row.progress_percent ?? 0),
    attempt: int(row.attempt),
    started_at: isoOrNull(row.started_at),
    updated_at: iso(row.updated_at),
    completed_at: isoOrNull(row.completed_at),
    error_message: textOrNull(row.error_message),
    phantom_reason: textOrNull(row.phantom_reason),
  };
}

export class ExecutionQueries {
  private readonly reads: PreparedReads;

  constructor(private readonly knex: Knex) {
    this.reads = preparedReadsOf(knex);
  }

  async get(id: string): Promise<ExecutionView | null> {
    const row = await this.reads.first('SELECT * FROM schedule_executions WHERE id = ? LIMIT 1', [id]);
    if (!row) return null;
    const details = readExecutionDetails(row.execution_details);
    return { ...toSummary(row), reason: details.reason, vms: details.vms.map(toVmView) };
  }

  /** A schedule's executions, newest due instant first. */
  async listForSchedule(scheduleId: string, filter: { status?: string; limit: number; page: number }): Promise<Page<ExecutionSummary>> {
    const query = this.knex('schedule_executions').select(SUMMARY_COLUMNS).where({ schedule_id: scheduleId });
    if (filter.status) query.where({ status: filter.status });
    const page = await pageOf(query, [{ column: 'scheduled_at', order: 'desc' }, { column: 'id', order: 'desc' }], filter.limit, filter.page);
    return { ...page, items: page.items.map(toSummary) };
  }

  /** Whether the schedule has any execution (a deleted schedule keeps its executions). */
  async anyOf(scheduleId: string): Promise<boolean> {
    return (await this.knex('schedule_executions').select('id').where({ schedule_id: scheduleId }).first()) !== undefined;
  }

  /** The latest execution of each schedule, by due instant. */
  async lastOf(scheduleIds: readonly string[]): Promise<Map<string, LastExecution>> {
    const latest = new Map<string, LastExecution>();
    if (scheduleIds.length === 0) return latest;
    const rows = await this.reads.all(
      'SELECT e.id, e.schedule_id, e.status, e.scheduled_at, e.completed_at FROM schedule_executions e INNER JOIN ' +
        `(SELECT schedule_id, max(scheduled_at) AS scheduled_at FROM schedule_executions WHERE schedule_id IN (${placeholders(scheduleIds.length)}) GROUP BY schedule_id) n ` +
        'ON e.schedule_id = n.schedule_id AND e.scheduled_at = n.scheduled_at ORDER BY e.schedule_id, e.id DESC',
      scheduleIds,
    );
    for (const row of rows) {
      const scheduleId = String(row.schedule_id);
      if (!latest.has(scheduleId)) latest.set(scheduleId, { id: String(row.id), status: String(row.status), scheduled_at: iso(row.scheduled_at), completed_at: isoOrNull(row.completed_at) });
    }
    return latest;
  }
}

export class JobQueries {
  private readonly reads: PreparedReads;

  constructor(private readonly knex: Knex) {
    this.reads = preparedReadsOf(knex);
  }

  async get(id: string): Promise<JobView | null> {
    const row = await this.reads.first('SELECT * FROM replication_jobs WHERE id = ? LIMIT 1', [id]);
    return row ? ((await this.withExecutionFacts([toJobView(row)]))[0] ?? null) : null;
  }

  async list(filter: JobFilter): Promise<Page<JobView>> {
    const query = this.knex('replication_jobs');
    if (filter.status) query.where({ status: filter.status });
    if (filter.vm_context_id) query.where({ vm_context_id: filter.vm_context_id });
    if (filter.execution_id) query.where({ schedule_execution_id: filter.execution_id });
    const page = await pageOf(query, [{ column: 'started_at', order: 'desc' }, { column: 'id', order: 'desc' }], filter.limit, filter.page);
    return { ...page, items: await this.withExecutionFacts(page.items.map(toJobView)) };
  }

  /** The execution a job belongs to; null for a job the read model does not know. */
  /** The execution and the VM of a job; null for a job not (yet) in the read model. */
  async executionOf(jobId: string): Promise<{ executionId: string; vmContextId: string | null } | null> {
    const row = await this.reads.first('SELECT schedule_execution_id, vm_context_id FROM replication_jobs WHERE id = ? LIMIT 1', [jobId]);
    const executionId = row ? textOrNull(row.schedule_execution_id) : null;
    return executionId === null ? null : { executionId, vmContextId: textOrNull(row?.vm_context_id) || null };
  }

  /**
   * Schedule and group from the job's execution, for job rows that lack them (jobs
   * started before JobStarted carried them). The group is the VM's in the execution's plan.
   */
  private async withExecutionFacts(jobs: JobView[]): Promise<JobView[]> {
    const executionIds = [...new Set(jobs.filter((job) => job.schedule_id === null || job.group_id === null).flatMap((job) => (job.execution_id === null ? [] : [job.execution_id])))];
    if (executionIds.length === 0) return jobs;
    const rows = (await this.knex('schedule_executions').select('id', 'schedule_id', 'execution_details').whereIn('id', executionIds)) as Row[];
    const executions = new Map(
      rows.map((row) => {
        const groups = new Map(readExecutionDetails(row.execution_details).vms.map((vm) => [vm.vm_context_id, vm.group_id]));
        return [String(row.id), { schedule_id: String(row.schedule_id), groups }] as const;
      }),
    );
    return jobs.map((job) => {
      const execution = job.execution_id === null ? undefined : executions.get(job.execution_id);
      if (!execution) return job;
      return { ...job, schedule_id: job.schedule_id ?? execution.schedule_id, group_id: job.group_id ?? execution.groups.get(job.vm_context_id) ?? null };
    });
  }
}
