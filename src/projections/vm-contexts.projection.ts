/** vm_replication_contexts: one row per registered VM, its status and scheduler switch. */
import type { RecordedEvent } from '../eventstore/event-store.js';
import { VM_STATUSES } from '../domain/vm-fields.js';
import { eventTime, readColumns, stringData, type ColumnKinds } from './event-data.js';
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

export const vmContextsProjection: RowProjection = {
  name: 'vm-contexts',
  version: 1,
  table: 'vm_replication_contexts',
  key: 'context_id',

  keyOf(event) {
    return VM_CONTEXT_EVENTS.has(event.type) ? stringData(event, 'context_id') : null;
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
      default:
        return row;
    }
  },
};
