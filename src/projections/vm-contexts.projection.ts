/**
 * vm_replication_contexts: one row per registered VM, its status and scheduler
 * switch, and its job counters from the job events of the execution streams.
 */
import type { RecordedEvent } from '../eventstore/event-store.js';
import { FAILOVER_STATUSES } from '../domain/conflict-checks.js';
import { VM_STATUSES } from '../domain/vm-fields.js';
import { eventTime, readColumns, stringData, type ColumnKinds } from './event-data.js';
import { executionIdOf } from './executions.projection.js';
import type { Row, RowProjection } from './projection.js';
import { flag } from './row-codec.js';

const DESCRIPTION_COLUMNS: ColumnKinds = {
  vm_name: 'text',
  vmware_vm_id: 'text',
  vm_path: 'text',
  vcenter_host: 'text',
  datacenter: 'text',
  cpu_count: 'nullable-int',
  memory_mb: 'nullable-int',
  os_type: 'nullable-text',
  power_state: 'nullable-text',
  vm_tools_version: 'nullable-text',
};

const DESCRIPTION_DEFAULTS = { vm_name: '', vmware_vm_id: '', vm_path: '', vcenter_host: '', datacenter: '' };

const KNOWN_STATUSES: ReadonlySet<string> = new Set(VM_STATUSES);

const VM_CONTEXT_EVENTS = new Set(['VmRegistered', 'VmStatusReported', 'VmSchedulerEnabled', 'VmSchedulerDisabled']);
/** Events of the execution streams that name a VM's job (a JobFailed without a job id created none). */
const JOB_EVENTS = new Set(['JobStarted', 'JobCompleted', 'JobFailed']);
const FAILOVER: ReadonlySet<string> = new Set(FAILOVER_STATUSES);

function registered(event: RecordedEvent, contextId: string): Row {
  const createdAt = eventTime(event, 'created_at');
  const description = readColumns(event.data, DESCRIPTION_COLUMNS, DESCRIPTION_DEFAULTS);
  return {
    context_id: contextId,
    vm_name: description.vm_name ?? '',
    vmware_vm_id: description.vmware_vm_id ?? '',
    vm_path: description.vm_path ?? '',
    vcenter_host: description.vcenter_host ?? '',
    datacenter: description.datacenter ?? '',
    current_status: 'discovered',
    current_job_id: null,
    total_jobs_run: 0,
    successful_jobs: 0,
    failed_jobs: 0,
    last_successful_job_id: null,
    last_scheduled_job_id: null,
    next_scheduled_at: null,
    scheduler_enabled: 1,
    auto_added: flag(event.data.auto_added),
    cpu_count: description.cpu_count ?? null,
    memory_mb: description.memory_mb ?? null,
    os_type: description.os_type ?? null,
    power_state: description.power_state ?? null,
    vm_tools_version: description.vm_tools_version ?? null,
    created_at: createdAt,
    updated_at: createdAt,
    first_job_at: null,
    last_job_at: null,
    last_status_change: createdAt,
  };
}

function statusReported(row: Row, event: RecordedEvent): Row {
  const status = stringData(event, 'status');
  if (status === null || !KNOWN_STATUSES.has(status)) return row;
  const at = eventTime(event, 'at');
  return { ...row, current_status: status, last_status_change: at, updated_at: at };
}

function count(value: unknown): number {
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

/** The row with `status` as current status (last_status_change moves only when it changes). */
function withStatus(row: Row, status: string, at: string): Row {
  return row.current_status === status ? { ...row, updated_at: at } : { ...row, current_status: status, last_status_change: at, updated_at: at };
}

/**
 * A job started: the VM is replicating. The failover engine's statuses
 * (failed_over_test, failed_over_live, cleanup_required) are its own and stay.
 */
function jobStarted(row: Row, event: RecordedEvent, jobId: string): Row {
  const at = eventTime(event, 'at');
  const status = typeof row.current_status === 'string' && FAILOVER.has(row.current_status) ? row.current_status : 'replicating';
  return {
    ...withStatus(row, status, at),
    current_job_id: jobId,
    last_scheduled_job_id: jobId,
    total_jobs_run: count(row.total_jobs_run) + 1,
    first_job_at: row.first_job_at ?? at,
    last_job_at: at,
  };
}

/**
 * A job ended: counted, and the VM moves from `replicating` to the result:
 * ready_for_failover after a successful replication (what a replicated VM is
 * for the failover engine), failed after a failed one. A status the failover
 * engine reported meanwhile is left as it is.
 */
function jobEnded(row: Row, event: RecordedEvent, jobId: string, succeeded: boolean): Row {
  const at = eventTime(event, 'at');
  const base = row.current_status === 'replicating' ? withStatus(row, succeeded ? 'ready_for_failover' : 'failed', at) : { ...row, updated_at: at };
  const next: Row = { ...base, current_job_id: row.current_job_id === jobId ? null : (row.current_job_id ?? null) };
  if (succeeded) {
    next.successful_jobs = count(row.successful_jobs) + 1;
    next.last_successful_job_id = jobId;
  } else {
    next.failed_jobs = count(row.failed_jobs) + 1;
  }
  return next;
}

function jobEvent(row: Row, event: RecordedEvent): Row {
  const jobId = stringData(event, 'job_id');
  if (jobId === null) return row;
  switch (event.type) {
    case 'JobStarted':
      return jobStarted(row, event, jobId);
    case 'JobCompleted':
      return jobEnded(row, event, jobId, true);
    case 'JobFailed':
      return jobEnded(row, event, jobId, false);
    default:
      return row;
  }
}

export const vmContextsProjection: RowProjection = {
  name: 'vm-contexts',
  version: 1,
  table: 'vm_replication_contexts',
  key: 'context_id',

  keyOf(event) {
    if (VM_CONTEXT_EVENTS.has(event.type)) return stringData(event, 'context_id');
    if (JOB_EVENTS.has(event.type) && executionIdOf(event) !== null && stringData(event, 'job_id') !== null) return stringData(event, 'vm_context_id');
    return null;
  },

  apply(row, event) {
    switch (event.type) {
      case 'VmRegistered':
        return registered(event, stringData(event, 'context_id') ?? '');
      case 'VmStatusReported':
        return row ? statusReported(row, event) : row;
      case 'VmSchedulerEnabled':
        return row ? { ...row, scheduler_enabled: 1, updated_at: eventTime(event, 'at') } : row;
      case 'VmSchedulerDisabled':
        return row ? { ...row, scheduler_enabled: 0, updated_at: eventTime(event, 'at') } : row;
      case 'JobStarted':
      case 'JobCompleted':
      case 'JobFailed':
        // A job never creates a VM: events for an unknown VM change nothing.
        return row ? jobEvent(row, event) : row;
      default:
        return row;
    }
  },
};
