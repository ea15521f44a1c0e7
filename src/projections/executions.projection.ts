/**
 * schedule_executions: one row per execution, from the events of its stream
 * (execution-{id}). ExecutionDue on the schedule stream makes no row: the
 * execution exists once ExecutionScheduled is recorded.
 *
 * `execution_details` is a JSON document folded from the events: how the
 * execution was triggered (trigger, reason, force, not_before, parent), the
 * cancel or skip when there is one, and `vms`, each VM's outcome in plan order
 * in the shape of the decider's executionDetails (src/domain/execution.ts).
 * While the execution runs, the counters follow the VMs; ExecutionEnded then
 * sets the true counters it carries.
 */
import type { ConflictType } from '../domain/conflict-checks.js';
import { ChunkedList } from '../domain/chunked-list.js';
import type { VmDetail, VmOutcome } from '../domain/execution.js';
import type { RecordedEvent } from '../eventstore/event-store.js';
import { eventTime, stringData } from './event-data.js';
import { defineLazyColumn } from './lazy-column.js';
import type { Row, RowProjection } from './projection.js';

const STREAM_PREFIX = 'execution-';

/** The execution id of an event of an execution stream; null for any other stream. */
export function executionIdOf(event: RecordedEvent): string | null {
  return event.streamId.startsWith(STREAM_PREFIX) ? event.streamId.slice(STREAM_PREFIX.length) : null;
}

export interface ExecutionDetailsDocument {
  trigger: string | null;
  reason: string | null;
  force: boolean;
  not_before: string | null;
  parent_execution_id: string | null;
  /** Set by ExecutionCancelled (the execution ends once its running jobs finish). */
  cancel?: { reason: string | null; at: string };
  /** Set by ExecutionSkipped. */
  skip?: { reason: string; blocking_execution_id: string | null };
  vms: VmDetail[];
}

const EMPTY_DOCUMENT: ExecutionDetailsDocument = { trigger: null, reason: null, force: false, not_before: null, parent_execution_id: null, vms: [] };

const OUTCOMES: ReadonlySet<string> = new Set<VmOutcome>(['queued', 'dispatched', 'completed', 'failed', 'skipped', 'cancelled', 'pending', 'waiting_retry']);

/** The document of an execution_details value; an unreadable value reads as an empty document. */
export function readExecutionDetails(value: unknown): ExecutionDetailsDocument {
  if (typeof value !== 'string') return EMPTY_DOCUMENT;
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return EMPTY_DOCUMENT;
    const doc = parsed as Partial<ExecutionDetailsDocument>;
    const vms = Array.isArray(doc.vms) ? doc.vms.filter((vm): vm is VmDetail => typeof vm?.vm_context_id === 'string' && OUTCOMES.has(vm.outcome)) : [];
    return { ...EMPTY_DOCUMENT, ...doc, vms };
  } catch {
    return EMPTY_DOCUMENT;
  }
}

// ---------------------------------------------------------------------------
// The document while folding: parsed once per row, each VM's JSON kept, so an
// event re-serialises one VM rather than the whole plan (an execution may have
// thousands of VMs and several events per VM).
// ---------------------------------------------------------------------------

interface FoldedDetails {
  head: Omit<ExecutionDetailsDocument, 'vms'>;
  /** Persistent lists: a VM event copies a chunk of each, not the plan. */
  vms: ChunkedList<VmDetail>;
  vmJson: ChunkedList<string>;
  /** Plan position of each VM; fixed once the execution has started. */
  index: ReadonlyMap<string, number>;
}

const NO_VMS = ChunkedList.from<VmDetail>([]);
const NO_JSON = ChunkedList.from<string>([]);

function foldedDetails(head: FoldedDetails['head'], vms: readonly VmDetail[]): FoldedDetails {
  return { head, vms: ChunkedList.from(vms), vmJson: ChunkedList.from(vms.map((vm) => JSON.stringify(vm))), index: new Map(vms.map((vm, i) => [vm.vm_context_id, i])) };
}

const folded = new WeakMap<Row, FoldedDetails>();

/**
 * The documents last written, by execution id: the next batch loads its row from
 * the table as a new object holding the same text, which would otherwise be parsed
 * again (an execution of 5,000 VMs: ~1 MB per batch). Only an identical text is
 * taken from here, so the result is the same as parsing it.
 */
const lastWritten = new Map<string, { json: string; details: FoldedDetails }>();
const LAST_WRITTEN_KEPT = 16;

function foldedOf(row: Row): FoldedDetails {
  const held = folded.get(row);
  if (held) return held;
  const written = lastWritten.get(String(row.id));
  if (written !== undefined && written.json === row.execution_details) {
    folded.set(row, written.details);
    return written.details;
  }
  const { vms, ...head } = readExecutionDetails(row.execution_details);
  const details = foldedDetails(head, vms);
  folded.set(row, details);
  return details;
}

function rememberWritten(id: string, json: string, details: FoldedDetails): void {
  lastWritten.delete(id);
  lastWritten.set(id, { json, details });
  if (lastWritten.size > LAST_WRITTEN_KEPT) lastWritten.delete(lastWritten.keys().next().value as string);
}

function serialise(details: FoldedDetails): string {
  const head = JSON.stringify(details.head);
  return `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"vms":[${details.vmJson.toArray().join(',')}]}`;
}

/** Counters of schedule_executions that follow from the VMs while the execution runs. */
interface VmCounters {
  vms_eligible: number;
  jobs_created: number;
  jobs_completed: number;
  jobs_failed: number;
  jobs_skipped: number;
}

function countersOf(vms: Iterable<VmDetail>): VmCounters {
  const counters: VmCounters = { vms_eligible: 0, jobs_created: 0, jobs_completed: 0, jobs_failed: 0, jobs_skipped: 0 };
  for (const vm of vms) addVm(counters, vm, 1);
  return counters;
}

/** Adds (sign 1) or takes away (sign -1) one VM's part of the counters. */
function addVm(counters: VmCounters, vm: VmDetail, sign: 1 | -1): void {
  if (vm.attempts > 0) counters.vms_eligible += sign;
  counters.jobs_created += sign * vm.job_ids.length;
  if (vm.outcome === 'completed') counters.jobs_completed += sign;
  else if (vm.outcome === 'failed') counters.jobs_failed += sign;
  else if (vm.outcome === 'skipped') counters.jobs_skipped += sign;
}

/**
 * The row with `details` as its execution_details and, with `counters`, those counters
 * set (they follow the VMs while the execution runs; ExecutionEnded's are kept after).
 */
function withDetails(row: Row, details: FoldedDetails, counters: VmCounters | 'keep'): Row {
  const next: Row = {};
  for (const key of Object.keys(row)) if (key !== 'execution_details') next[key] = row[key] ?? null;
  // Serialised when read (by the row store, once per batch), not per event: a batch of
  // VM events on a 5,000-VM execution would otherwise build a ~1 MB document for each.
  const id = String(row.id);
  defineLazyColumn(next, 'execution_details', () => {
    const json = serialise(details);
    rememberWritten(id, json, details);
    return json;
  });
  if (counters !== 'keep') Object.assign(next, counters);
  folded.set(next, details);
  return next;
}

/** The counters of `row` after one VM changed from `before` to `after`. */
function countersAfter(row: Row, details: FoldedDetails, before: VmDetail, after: VmDetail): VmCounters {
  const stored = (column: keyof VmCounters): number | null => (typeof row[column] === 'number' ? (row[column] as number) : null);
  const current: VmCounters = {
    vms_eligible: stored('vms_eligible') ?? NaN,
    jobs_created: stored('jobs_created') ?? NaN,
    jobs_completed: stored('jobs_completed') ?? NaN,
    jobs_failed: stored('jobs_failed') ?? NaN,
    jobs_skipped: stored('jobs_skipped') ?? NaN,
  };
  // Counted in full when the stored counters may not be those of the VMs: not running
  // (ExecutionEnded sets its own), or never set.
  if (row.status !== 'running' || Object.values(current).some((value) => Number.isNaN(value))) return countersOf(details.vms);
  addVm(current, before, -1);
  addVm(current, after, 1);
  return current;
}

/** The row with the VM of `vmId` changed; the very same row when the VM is not in the plan. */
function updateVm(row: Row, vmId: string | null, change: (vm: VmDetail) => VmDetail): Row {
  const details = foldedOf(row);
  const i = vmId === null ? undefined : details.index.get(vmId);
  const vm = i === undefined ? undefined : details.vms.at(i);
  if (i === undefined || vm === undefined) return row;
  const changed = change(vm);
  const next = { ...details, vms: details.vms.with(i, changed), vmJson: details.vmJson.with(i, JSON.stringify(changed)) };
  return withDetails(row, next, countersAfter(row, next, vm, changed));
}

function without<K extends keyof VmDetail>(vm: VmDetail, ...keys: K[]): VmDetail {
  const copy = { ...vm };
  for (const key of keys) delete copy[key];
  return copy;
}

// ---------------------------------------------------------------------------
// Event data
// ---------------------------------------------------------------------------

function intData(event: RecordedEvent, field: string, fallback: number): number {
  const value = event.data[field];
  return typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : fallback;
}

function nullableString(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function planOf(event: RecordedEvent): VmDetail[] {
  const plan = event.data.plan;
  if (!Array.isArray(plan)) return [];
  const vms: VmDetail[] = [];
  for (const entry of plan as unknown[]) {
    if (entry === null || typeof entry !== 'object') continue;
    const e = entry as Record<string, unknown>;
    if (typeof e.vm_context_id !== 'string') continue;
    vms.push({
      vm_context_id: e.vm_context_id,
      vm_name: typeof e.vm_name === 'string' ? e.vm_name : '',
      group_id: nullableString(e.group_id),
      outcome: 'pending',
      job_ids: [],
      attempts: 0,
    });
  }
  return vms;
}

function scheduled(event: RecordedEvent, id: string): Row {
  const data = event.data;
  const createdAt = eventTime(event, 'at');
  const details: FoldedDetails = {
    head: {
      trigger: nullableString(data.trigger),
      reason: nullableString(data.reason),
      force: data.force === true,
      not_before: nullableString(data.not_before),
      parent_execution_id: nullableString(data.parent_execution_id),
    },
    vms: NO_VMS,
    vmJson: NO_JSON,
    index: new Map(),
  };
  const row: Row = {
    id,
    schedule_id: stringData(event, 'schedule_id') ?? '',
    group_id: stringData(event, 'group_id'),
    scheduled_at: eventTime(event, 'scheduled_at'),
    started_at: null,
    completed_at: null,
    status: 'scheduled',
    vms_eligible: 0,
    jobs_created: 0,
    jobs_completed: 0,
    jobs_failed: 0,
    jobs_skipped: 0,
    execution_details: null,
    error_message: null,
    error_details: null,
    execution_duration_seconds: null,
    created_at: createdAt,
    triggered_by: stringData(event, 'triggered_by') ?? 'scheduler',
  };
  return withDetails(row, details, 'keep');
}

function started(row: Row, event: RecordedEvent): Row {
  const vms = planOf(event);
  const details: FoldedDetails = foldedDetails(foldedOf(row).head, vms);
  return withDetails({ ...row, status: 'running', started_at: eventTime(event, 'started_at') }, details, countersOf(vms));
}

function skippedExecution(row: Row, event: RecordedEvent): Row {
  const blocking = stringData(event, 'blocking_execution_id');
  const reason = stringData(event, 'reason') ?? 'skip_if_running';
  const details = foldedOf(row);
  const error_message = `skipped (${reason}): execution ${blocking ?? '?'} of the schedule is still running`;
  const next: Row = { ...row, status: 'skipped', completed_at: eventTime(event, 'at'), error_message };
  return withDetails(next, { ...details, head: { ...details.head, skip: { reason, blocking_execution_id: blocking } } }, 'keep');
}

function cancelled(row: Row, event: RecordedEvent): Row {
  const dropped = new Set(Array.isArray(event.data.dropped_vm_ids) ? event.data.dropped_vm_ids.filter((id): id is string => typeof id === 'string') : []);
  const details = foldedOf(row);
  const vms = details.vms.map((vm) => (dropped.has(vm.vm_context_id) ? without({ ...vm, outcome: 'cancelled' }, 'retry_at') : vm));
  const head = { ...details.head, cancel: { reason: stringData(event, 'reason'), at: eventTime(event, 'at') } };
  const vmJson = vms.map((vm, i) => (vm === details.vms.at(i) ? details.vmJson.at(i) : undefined) ?? JSON.stringify(vm));
  return withDetails(row, { ...details, head, vms: ChunkedList.from(vms), vmJson: ChunkedList.from(vmJson) }, countersOf(vms));
}

function ended(row: Row, event: RecordedEvent): Row {
  const status = stringData(event, 'status');
  return {
    ...row,
    status: status === 'completed' || status === 'failed' || status === 'cancelled' ? status : row.status ?? null,
    completed_at: eventTime(event, 'completed_at'),
    execution_duration_seconds: intData(event, 'execution_duration_seconds', 0),
    vms_eligible: intData(event, 'vms_eligible', Number(row.vms_eligible)),
    jobs_created: intData(event, 'jobs_created', Number(row.jobs_created)),
    jobs_completed: intData(event, 'jobs_completed', Number(row.jobs_completed)),
    jobs_failed: intData(event, 'jobs_failed', Number(row.jobs_failed)),
    jobs_skipped: intData(event, 'jobs_skipped', Number(row.jobs_skipped)),
    error_message: nullableString(event.data.error_message),
  };
}

/** The VM events: each VM's outcome as the decider's evolve moves its phase. */
function vmEvent(row: Row, event: RecordedEvent): Row {
  const vmId = stringData(event, 'vm_context_id');
  switch (event.type) {
    case 'VmSkipped':
    case 'VmQueued': {
      const conflict = stringData(event, 'conflict_type');
      const reason = stringData(event, 'reason');
      const outcome: VmOutcome = event.type === 'VmSkipped' ? 'skipped' : 'queued';
      return updateVm(row, vmId, (vm) => {
        const next = without({ ...vm, outcome }, 'retry_at');
        if (conflict !== null) next.conflict_type = conflict as ConflictType;
        if (reason !== null) next.reason = reason;
        return next;
      });
    }
    case 'JobRequested':
      return updateVm(row, vmId, (vm) => without({ ...vm, outcome: 'dispatched', attempts: intData(event, 'attempt', vm.attempts + 1) }, 'conflict_type', 'reason', 'retry_at'));
    case 'JobStarted': {
      const jobId = stringData(event, 'job_id');
      return updateVm(row, vmId, (vm) => ({ ...vm, outcome: 'dispatched', job_ids: jobId === null ? vm.job_ids : [...vm.job_ids, jobId] }));
    }
    case 'JobCompleted':
      return updateVm(row, vmId, (vm) => without(vm, 'error_message'));
    case 'JobFailed': {
      const message = stringData(event, 'error_message');
      return updateVm(row, vmId, (vm) => (message === null ? { ...vm, outcome: 'failed' } : { ...vm, outcome: 'failed', error_message: message }));
    }
    case 'RetryScheduled': {
      const retryAt = stringData(event, 'retry_at');
      return updateVm(row, vmId, (vm) => (retryAt === null ? { ...vm, outcome: 'waiting_retry' } : { ...vm, outcome: 'waiting_retry', retry_at: retryAt }));
    }
    case 'VmFinished': {
      const outcome = stringData(event, 'outcome');
      if (outcome !== 'completed' && outcome !== 'failed' && outcome !== 'cancelled') return row;
      return updateVm(row, vmId, (vm) => without({ ...vm, outcome }, 'retry_at'));
    }
    default:
      return row;
  }
}

const VM_EVENTS: ReadonlySet<string> = new Set(['VmSkipped', 'VmQueued', 'JobRequested', 'JobStarted', 'JobCompleted', 'JobFailed', 'RetryScheduled', 'VmFinished']);
const EXECUTION_EVENTS: ReadonlySet<string> = new Set(['ExecutionScheduled', 'ExecutionSkipped', 'ExecutionStarted', 'ExecutionCancelled', 'ExecutionEnded', ...VM_EVENTS]);

export const executionsProjection: RowProjection = {
  name: 'executions',
  version: 1,
  table: 'schedule_executions',
  key: 'id',

  keyOf(event) {
    return EXECUTION_EVENTS.has(event.type) ? executionIdOf(event) : null;
  },

  apply(row, event) {
    if (event.type === 'ExecutionScheduled') return row ?? scheduled(event, executionIdOf(event) ?? '');
    if (!row) return row;
    switch (event.type) {
      case 'ExecutionStarted':
        return started(row, event);
      case 'ExecutionSkipped':
        return skippedExecution(row, event);
      case 'ExecutionCancelled':
        return cancelled(row, event);
      case 'ExecutionEnded':
        return ended(row, event);
      default:
        return VM_EVENTS.has(event.type) ? vmEvent(row, event) : row;
    }
  },
};
