/** Domain events for the projection tests, typed by src/domain/events.ts. */
import type { EventMetadata, EventStore, NewEvent, Position, RecordedEvent } from '../../src/eventstore/event-store.js';
import { EVENT_SCHEMA_VERSION, streamIds, type DomainEvent } from '../../src/domain/events.js';
import { SCHEDULE_DEFAULTS, type ScheduleSettings } from '../../src/domain/schedule-fields.js';
import { GROUP_DEFAULTS, type GroupSettings, type VmDescription } from '../../src/domain/vm-fields.js';

export function metadataAt(timestamp: string): EventMetadata {
  return {
    actor: 'tester',
    source: 'api',
    correlation_id: 'correlation-1',
    causation_id: null,
    request_id: null,
    timestamp,
    schema_version: EVENT_SCHEMA_VERSION,
  };
}

/** A domain event as the store takes it. */
export function toNewEvent(event: DomainEvent | { type: string; data: Record<string, unknown> }, at: string): NewEvent {
  return { type: event.type, data: event.data as Record<string, unknown>, metadata: metadataAt(at) };
}

let nextPosition = 1;
/** A domain event as the store would return it (for the reducers, which need no store). */
export function recorded(event: DomainEvent | { type: string; data: Record<string, unknown> }, recordedAt = '2026-11-28T10:00:00.000Z'): RecordedEvent {
  const position = nextPosition++;
  return {
    id: `event-${position}`,
    streamId: 'test-stream',
    revision: 0,
    position: String(position),
    type: event.type,
    data: event.data as Record<string, unknown>,
    metadata: metadataAt(recordedAt),
    recordedAt,
  };
}

export const scheduleCreated = (id: string, at: string, settings: Partial<ScheduleSettings> = {}): DomainEvent => ({
  type: 'ScheduleCreated',
  data: {
    ...SCHEDULE_DEFAULTS,
    cron_expression: '0 18 * * *',
    name: `schedule ${id}`,
    ...settings,
    schedule_id: id,
    created_at: at,
    created_by: 'alice',
  },
});
export const scheduleUpdated = (id: string, at: string, changes: Partial<Omit<ScheduleSettings, 'enabled'>>): DomainEvent => ({
  type: 'ScheduleUpdated',
  data: { schedule_id: id, changes, updated_at: at },
});
export const scheduleEnabled = (id: string, at: string): DomainEvent => ({ type: 'ScheduleEnabled', data: { schedule_id: id, at } });
export const scheduleDisabled = (id: string, at: string): DomainEvent => ({ type: 'ScheduleDisabled', data: { schedule_id: id, at } });
export const scheduleDeleted = (id: string, at: string): DomainEvent => ({
  type: 'ScheduleDeleted',
  data: { schedule_id: id, name: `schedule ${id}`, at },
});

export const groupCreated = (id: string, at: string, settings: Partial<GroupSettings> = {}): DomainEvent => ({
  type: 'MachineGroupCreated',
  data: { ...GROUP_DEFAULTS, name: `group ${id}`, ...settings, group_id: id, created_at: at, created_by: 'bob' },
});
export const groupUpdated = (id: string, at: string, changes: Partial<GroupSettings>): DomainEvent => ({
  type: 'MachineGroupUpdated',
  data: { group_id: id, changes, updated_at: at },
});
export const groupDeleted = (id: string, at: string): DomainEvent => ({
  type: 'MachineGroupDeleted',
  data: { group_id: id, name: `group ${id}`, at },
});
export const seatTaken = (groupId: string, contextId: string, at: string): DomainEvent => ({
  type: 'GroupSeatTaken',
  data: { group_id: groupId, vm_context_id: contextId, at },
});

export function vmDescription(contextId: string, overrides: Partial<VmDescription> = {}): VmDescription {
  return {
    vm_name: `vm-${contextId}`,
    vmware_vm_id: `vmw-${contextId}`,
    vm_path: `/dc1/vm/vm-${contextId}`,
    vcenter_host: 'vcenter.example.test',
    datacenter: 'dc1',
    cpu_count: 4,
    memory_mb: 8192,
    os_type: 'linux',
    power_state: 'poweredOn',
    vm_tools_version: '12.1',
    ...overrides,
  };
}
export const vmRegistered = (contextId: string, at: string, overrides: Partial<VmDescription> = {}, autoAdded = false): DomainEvent => ({
  type: 'VmRegistered',
  data: { ...vmDescription(contextId, overrides), context_id: contextId, auto_added: autoAdded, created_at: at, created_by: 'discovery' },
});
export const vmAssigned = (
  contextId: string,
  groupId: string,
  membershipId: string,
  at: string,
  options: { priority?: number; enabled?: boolean; previous_group_id?: string | null; schedule_override_id?: string | null } = {},
): DomainEvent => ({
  type: 'VmAssignedToGroup',
  data: {
    context_id: contextId,
    group_id: groupId,
    membership_id: membershipId,
    previous_group_id: options.previous_group_id ?? null,
    priority: options.priority ?? 0,
    enabled: options.enabled ?? true,
    schedule_override_id: options.schedule_override_id ?? null,
    added_at: at,
    added_by: 'carol',
  },
});
export const membershipUpdated = (
  contextId: string,
  groupId: string,
  at: string,
  changes: { priority?: number; enabled?: boolean; schedule_override_id?: string | null },
): DomainEvent => ({ type: 'VmMembershipUpdated', data: { context_id: contextId, group_id: groupId, changes, at } });
export const vmUnassigned = (contextId: string, groupId: string, at: string): DomainEvent => ({
  type: 'VmUnassignedFromGroup',
  data: { context_id: contextId, group_id: groupId, at },
});
export const vmStatusReported = (contextId: string, at: string, status: 'replicating' | 'failed_over_test' | 'ready_for_failover' | 'discovered'): DomainEvent => ({
  type: 'VmStatusReported',
  data: { context_id: contextId, status, previous_status: 'discovered', reason: null, at },
});
export const vmSchedulerDisabled = (contextId: string, at: string): DomainEvent => ({ type: 'VmSchedulerDisabled', data: { context_id: contextId, at } });
export const vmSchedulerEnabled = (contextId: string, at: string): DomainEvent => ({ type: 'VmSchedulerEnabled', data: { context_id: contextId, at } });
export const nameReserved = (value: string, ownerId: string, at: string): DomainEvent => ({
  type: 'NameReserved',
  data: { kind: 'schedule-name', value, owner_id: ownerId, at },
});

/** A clock for event data: each call is one minute after the previous one. */
export function minuteClock(start = '2026-11-28T10:00:00.000Z'): () => string {
  let ms = Date.parse(start);
  return () => {
    const at = new Date(ms).toISOString();
    ms += 60_000;
    return at;
  };
}

/** Appends the events to the stream (any revision) and returns the position of the last one. */
export async function appendAll(store: EventStore, streamId: string, events: Array<{ event: DomainEvent | { type: string; data: Record<string, unknown> }; at: string }>): Promise<Position> {
  const result = await store.append(
    streamId,
    events.map(({ event, at }) => toNewEvent(event, at)),
    'any',
  );
  return result.position;
}

/**
 * A realistic history under `prefix`: schedules (cron, chain, disabled, one deleted),
 * groups (one deleted), VMs with assignments, moves, updates and unassignments, status
 * reports, reservations and an event type no projection knows. Returns the last position.
 */
export async function appendRealisticHistory(store: EventStore, prefix: string, clock: () => string): Promise<Position> {
  const id = (name: string) => `${prefix}-${name}`;
  let last: Position = '';
  let now = '';
  /** The next command time; the events' metadata carries the time of their command. */
  const at = () => (now = clock());
  const put = async (stream: string, ...events: DomainEvent[]) => {
    last = await appendAll(
      store,
      stream,
      events.map((event) => ({ event, at: now })),
    );
  };

  await put(`reservation-schedule-name-${id('nightly')}`, nameReserved(id('nightly'), id('s1'), at()));
  await put(streamIds.schedule(id('s1')), scheduleCreated(id('s1'), at(), { name: id('nightly'), timezone: 'Europe/London', cron_expression: '0 30 1 * * *' }));
  await put(streamIds.schedule(id('s2')), scheduleCreated(id('s2'), at(), { name: id('disabled'), enabled: false, skip_if_running: false }));
  await put(
    streamIds.schedule(id('s3')),
    scheduleCreated(id('s3'), at(), { name: id('chain'), schedule_type: 'chain', cron_expression: null, chain_parent_schedule_id: id('s1'), chain_delay_minutes: 15 }),
  );
  await put(streamIds.schedule(id('s4')), scheduleCreated(id('s4'), at(), { name: id('doomed') }), scheduleDeleted(id('s4'), at()));
  await put(streamIds.schedule(id('s1')), scheduleUpdated(id('s1'), at(), { description: 'nightly run', jitter_seconds: 30 }));
  await put(streamIds.schedule(id('s2')), scheduleEnabled(id('s2'), at()));
  await put(streamIds.schedule(id('s2')), scheduleDisabled(id('s2'), at()));

  await put(streamIds.group(id('g1')), groupCreated(id('g1'), at(), { schedule_id: id('s1'), priority: 2 }));
  await put(streamIds.group(id('g2')), groupCreated(id('g2'), at(), { schedule_id: id('s1'), max_members: 50 }));
  await put(streamIds.group(id('g3')), groupCreated(id('g3'), at()), groupDeleted(id('g3'), at()));
  await put(streamIds.group(id('g2')), groupUpdated(id('g2'), at(), { max_members: null, description: 'second' }));

  for (let n = 1; n <= 6; n += 1) {
    const vm = id(`vm${n}`);
    await put(streamIds.vm(vm), vmRegistered(vm, at(), { cpu_count: n % 2 === 0 ? null : n }, n === 6));
    await put(streamIds.group(id('g1')), seatTaken(id('g1'), vm, at()));
    await put(streamIds.vm(vm), vmAssigned(vm, id('g1'), id(`m${n}`), at(), { priority: n }));
  }
  await put(streamIds.vm(id('vm2')), vmAssigned(id('vm2'), id('g2'), id('m2b'), at(), { previous_group_id: id('g1'), enabled: false }));
  await put(streamIds.vm(id('vm3')), membershipUpdated(id('vm3'), id('g1'), at(), { priority: 9, schedule_override_id: id('s2') }));
  await put(streamIds.vm(id('vm4')), vmUnassigned(id('vm4'), id('g1'), at()));
  await put(streamIds.vm(id('vm5')), vmStatusReported(id('vm5'), at(), 'replicating'), vmSchedulerDisabled(id('vm5'), at()));
  await put(streamIds.vm(id('vm6')), vmSchedulerDisabled(id('vm6'), at()), vmSchedulerEnabled(id('vm6'), at()));
  last = await appendAll(store, `future-${prefix}`, [{ event: { type: 'SomethingFromTheFuture', data: { context_id: id('vm1'), schedule_id: id('s1') } }, at: at() }]);
  return last;
}
