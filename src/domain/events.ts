/**
 * The domain's events: their `type` and `data` shape as stored in the log.
 * Data is snake_case, like the API, so the audit trail reads as the API speaks.
 * Times are ISO-8601 UTC strings taken from the command, never from a clock here.
 */
import type { ScheduleSettings } from './schedule-fields.js';
import type { GroupSettings, MembershipSettings, VmDescription, VmStatus } from './vm-fields.js';
import type { ExecutionEvent } from './execution-events.js';

export type * from './execution-events.js';

type Event<T extends string, D> = { type: T; data: D };

// --- Schedule (stream schedule-{id}) ---
export type ScheduleCreated = Event<'ScheduleCreated', ScheduleSettings & { schedule_id: string; created_at: string; created_by: string }>;
/** Only the fields that changed, with their new values. */
export type ScheduleUpdated = Event<'ScheduleUpdated', { schedule_id: string; changes: Partial<Omit<ScheduleSettings, 'enabled'>>; updated_at: string }>;
export type ScheduleEnabled = Event<'ScheduleEnabled', { schedule_id: string; at: string }>;
export type ScheduleDisabled = Event<'ScheduleDisabled', { schedule_id: string; at: string }>;
export type ScheduleDeleted = Event<'ScheduleDeleted', { schedule_id: string; name: string; at: string }>;
/**
 * A due instant of the schedule was recorded (by the ticker, or by catch-up):
 * the execution `execution_id` (deterministic from schedule id and due instant)
 * is to run at `fire_at` = due_at + the schedule's jitter offset.
 */
export type ExecutionDue = Event<
  'ExecutionDue',
  { schedule_id: string; execution_id: string; due_at: string; fire_at: string; trigger: DueTrigger; at: string }
>;
export type DueTrigger = 'cron' | 'catchup';
export type MissedRunsReason = 'outside_catchup_window' | 'catchup_policy_skip' | 'catchup_limit';
/**
 * Due instants that will not run, counted. `due_instants` lists at most 100
 * (the oldest); `count` counts them all (estimated when `count_exact` is false,
 * for a downtime of more than 10,000 due instants of one kind); `last_due_at`
 * is the newest of them, listed or not.
 */
export type RunsMissed = Event<
  'RunsMissed',
  {
    schedule_id: string;
    due_instants: string[];
    count: number;
    count_exact: boolean;
    last_due_at: string;
    reason: MissedRunsReason;
    at: string;
  }
>;
export type ScheduleEvent = ScheduleCreated | ScheduleUpdated | ScheduleEnabled | ScheduleDisabled | ScheduleDeleted | ExecutionDue | RunsMissed;

// --- Machine group (stream group-{id}) ---
export type MachineGroupCreated = Event<'MachineGroupCreated', GroupSettings & { group_id: string; created_at: string; created_by: string }>;
export type MachineGroupUpdated = Event<'MachineGroupUpdated', { group_id: string; changes: Partial<GroupSettings>; updated_at: string }>;
export type MachineGroupDeleted = Event<'MachineGroupDeleted', { group_id: string; name: string; at: string }>;
/** The group's seat ledger, so max_members holds under concurrent assignment. */
export type GroupSeatTaken = Event<'GroupSeatTaken', { group_id: string; vm_context_id: string; at: string }>;
export type GroupSeatReleased = Event<'GroupSeatReleased', { group_id: string; vm_context_id: string; at: string }>;
export type GroupEvent = MachineGroupCreated | MachineGroupUpdated | MachineGroupDeleted | GroupSeatTaken | GroupSeatReleased;

// --- VM context (stream vm-{contextId}); membership lives here: one group per VM ---
export type VmRegistered = Event<'VmRegistered', VmDescription & { context_id: string; auto_added: boolean; created_at: string; created_by: string }>;
export type VmAssignedToGroup = Event<
  'VmAssignedToGroup',
  MembershipSettings & { context_id: string; group_id: string; membership_id: string; previous_group_id: string | null; added_at: string; added_by: string }
>;
export type VmMembershipUpdated = Event<'VmMembershipUpdated', { context_id: string; group_id: string; changes: Partial<MembershipSettings>; at: string }>;
export type VmUnassignedFromGroup = Event<'VmUnassignedFromGroup', { context_id: string; group_id: string; at: string }>;
export type VmStatusReported = Event<'VmStatusReported', { context_id: string; status: VmStatus; previous_status: VmStatus; reason: string | null; at: string }>;
export type VmSchedulerEnabled = Event<'VmSchedulerEnabled', { context_id: string; at: string }>;
export type VmSchedulerDisabled = Event<'VmSchedulerDisabled', { context_id: string; at: string }>;
export type VmEvent = VmRegistered | VmAssignedToGroup | VmMembershipUpdated | VmUnassignedFromGroup | VmStatusReported | VmSchedulerEnabled | VmSchedulerDisabled;

// --- Uniqueness reservations (streams reservation-{kind}-{key}) ---
export type NameReserved = Event<'NameReserved', { kind: ReservationKind; value: string; owner_id: string; at: string }>;
export type NameReleased = Event<'NameReleased', { kind: ReservationKind; value: string; owner_id: string; at: string }>;
export type ReservationEvent = NameReserved | NameReleased;
export type ReservationKind = 'schedule-name' | 'group-name' | 'vm-identity';

export type DomainEvent = ScheduleEvent | GroupEvent | VmEvent | ReservationEvent | ExecutionEvent;
export type DomainEventType = DomainEvent['type'];

/**
 * The first schema version of every event's data, and the version of an event
 * stored without one. The current version per type is in event-upcasters.ts.
 */
export const EVENT_SCHEMA_VERSION = 1;

export const streamIds = {
  schedule: (id: string) => `schedule-${id}`,
  group: (id: string) => `group-${id}`,
  vm: (contextId: string) => `vm-${contextId}`,
  execution: (id: string) => `execution-${id}`,
} as const;
