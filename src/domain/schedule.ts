/**
 * The schedule aggregate (stream schedule-{id}): its decider and state.
 * Rules: spec/domain.md, "Schedule". Name uniqueness is kept by reservation
 * streams, not here; chain facts (does the parent exist, what is above it)
 * are read by the command handler and handed in with the command.
 */
import { DomainError, type Decider } from './decider.js';
import type { ScheduleEvent } from './events.js';
import { validateCron, isValidTimeZone } from './cron.js';
import {
  Problems,
  changedEntries,
  checkBoolean,
  checkDescription,
  checkInteger,
  checkName,
  checkOneOf,
  checkOptionalId,
  pickDefined,
  type CommandMeta,
} from './field-rules.js';
import {
  CATCHUP_POLICIES,
  CHAIN_TRIGGERS,
  REPLICATION_TYPES,
  SCHEDULE_DEFAULTS,
  SCHEDULE_RANGES,
  SCHEDULE_TYPES,
  type ScheduleSettings,
} from './schedule-fields.js';

export { normalizeName } from './field-rules.js';

export type ScheduleState =
  | { status: 'absent' }
  | {
      status: 'active' | 'deleted';
      id: string;
      settings: ScheduleSettings;
      created_at: string;
      created_by: string;
      updated_at: string;
    };

/**
 * What the command handler found about a chain parent: `ancestor_ids` holds
 * the parent's id and every id further up its chain. A cycle is when the
 * schedule's own id is among them.
 */
export interface ChainParentFacts {
  parent_id: string;
  exists: boolean;
  ancestor_ids: string[];
}

export interface ScheduleReferences {
  group_ids: string[];
  chain_child_ids: string[];
  override_vm_ids: string[];
}

export type CreateSchedule = CommandMeta & {
  type: 'CreateSchedule';
  schedule_id: string;
  input: Partial<ScheduleSettings> & { name: string };
  /** Facts about input.chain_parent_schedule_id; null when it has none. */
  parent: ChainParentFacts | null;
};
export type UpdateSchedule = CommandMeta & {
  type: 'UpdateSchedule';
  schedule_id: string;
  changes: Partial<ScheduleSettings>;
  /** Facts about the resulting chain_parent_schedule_id; null when it has none. */
  parent: ChainParentFacts | null;
};
export type SetScheduleEnabled = CommandMeta & { type: 'SetScheduleEnabled'; schedule_id: string; enabled: boolean };
export type DeleteSchedule = CommandMeta & { type: 'DeleteSchedule'; schedule_id: string; references: ScheduleReferences };
export type ScheduleCommand = CreateSchedule | UpdateSchedule | SetScheduleEnabled | DeleteSchedule;

/** Every settable field, in the order events list them. */
export const SCHEDULE_SETTING_KEYS: readonly (keyof ScheduleSettings)[] = [
  'name',
  'description',
  'schedule_type',
  'cron_expression',
  'timezone',
  'chain_parent_schedule_id',
  'chain_delay_minutes',
  'chain_trigger_on',
  'replication_type',
  'max_concurrent_jobs',
  'retry_attempts',
  'retry_delay_minutes',
  'enabled',
  'skip_if_running',
  'catchup_policy',
  'catchup_window_minutes',
  'jitter_seconds',
];

type LiveSchedule = Exclude<ScheduleState, { status: 'absent' }>;

/** Trims the name and the cron expression; keeps every other value as given. */
function tidy(fields: Partial<ScheduleSettings>): Partial<ScheduleSettings> {
  const out = { ...fields };
  if (typeof out.name === 'string') out.name = out.name.trim();
  if (typeof out.cron_expression === 'string') out.cron_expression = out.cron_expression.trim();
  return out;
}

function settingsOf(fields: Partial<ScheduleSettings> & { name: string }): ScheduleSettings {
  const out = { ...SCHEDULE_DEFAULTS, name: fields.name } as ScheduleSettings;
  for (const key of SCHEDULE_SETTING_KEYS) {
    const value = fields[key];
    if (value !== undefined) Object.assign(out, { [key]: value });
  }
  return out;
}

/** Field problems of a complete settings object (chain facts aside). */
function fieldProblems(s: ScheduleSettings): Problems {
  const p = new Problems();
  checkName(p, '/name', s.name);
  checkDescription(p, '/description', s.description);
  checkOneOf(p, '/schedule_type', s.schedule_type, SCHEDULE_TYPES);
  checkOneOf(p, '/chain_trigger_on', s.chain_trigger_on, CHAIN_TRIGGERS);
  checkOneOf(p, '/replication_type', s.replication_type, REPLICATION_TYPES);
  checkOneOf(p, '/catchup_policy', s.catchup_policy, CATCHUP_POLICIES);
  for (const [key, range] of Object.entries(SCHEDULE_RANGES)) {
    checkInteger(p, `/${key}`, s[key as keyof typeof SCHEDULE_RANGES], range);
  }
  checkBoolean(p, '/enabled', s.enabled);
  checkBoolean(p, '/skip_if_running', s.skip_if_running);
  if (typeof s.timezone !== 'string' || !isValidTimeZone(s.timezone)) {
    p.add('/timezone', `must be an IANA time zone such as UTC or Europe/London, got ${JSON.stringify(s.timezone)}`);
  }
  checkOptionalId(p, '/chain_parent_schedule_id', s.chain_parent_schedule_id);

  if (s.schedule_type === 'cron') {
    if (s.cron_expression === null || s.cron_expression === undefined || s.cron_expression === '') {
      p.add('/cron_expression', 'is required for a cron schedule');
    } else if (typeof s.cron_expression !== 'string') {
      p.add('/cron_expression', 'must be a string');
    } else {
      const reason = validateCron(s.cron_expression);
      if (reason) p.add('/cron_expression', reason);
    }
    if (s.chain_parent_schedule_id !== null && s.chain_parent_schedule_id !== undefined) {
      p.add('/chain_parent_schedule_id', 'only a chain schedule has a chain parent');
    }
  } else if (s.schedule_type === 'chain') {
    if (s.cron_expression !== null && s.cron_expression !== undefined) {
      p.add('/cron_expression', 'a chain schedule has no cron expression (set it to null)');
    }
    if (s.chain_parent_schedule_id === null || s.chain_parent_schedule_id === undefined) {
      p.add('/chain_parent_schedule_id', 'is required for a chain schedule');
    }
  }
  return p;
}

/** Chain rules that need the handler's facts; adds problems, throws Conflict on a cycle. */
function checkChain(p: Problems, scheduleId: string, s: ScheduleSettings, parent: ChainParentFacts | null): void {
  if (s.schedule_type !== 'chain' || typeof s.chain_parent_schedule_id !== 'string' || s.chain_parent_schedule_id === '') return;
  const parentId = s.chain_parent_schedule_id;
  if (parentId === scheduleId) {
    // Following itself is the shortest chain cycle: a 409 like every other cycle.
    p.throwIfAny('schedule');
    const message = `chain cycle: a schedule cannot follow itself (${scheduleId})`;
    throw new DomainError('Conflict', message, [{ path: '/chain_parent_schedule_id', message }]);
  }
  if (parent === null || parent.parent_id !== parentId) {
    throw new Error(`schedule ${scheduleId}: chain parent facts for ${parentId} are missing (got ${parent?.parent_id ?? 'null'})`);
  }
  if (!parent.exists) {
    p.add('/chain_parent_schedule_id', `unknown schedule ${parentId}`);
    return;
  }
  if (parent.ancestor_ids.includes(scheduleId)) {
    p.throwIfAny('schedule');
    const message = `chain cycle: ${parentId} already follows ${scheduleId} (chain ${[scheduleId, ...parent.ancestor_ids].join(' <- ')})`;
    throw new DomainError('Conflict', message, [{ path: '/chain_parent_schedule_id', message }]);
  }
}

/**
 * Validates complete settings. The chain facts are checked when `chainChanged`
 * (always on create): an unchanged link was checked when it was made, and a
 * parent cannot be deleted while a chain follows it.
 */
function validate(scheduleId: string, s: ScheduleSettings, parent: ChainParentFacts | null, chainChanged: boolean): void {
  const p = fieldProblems(s);
  if (chainChanged) checkChain(p, scheduleId, s, parent);
  p.throwIfAny('schedule');
}

function live(state: ScheduleState, id: string): LiveSchedule {
  if (state.status !== 'active') throw new DomainError('NotFound', `schedule ${id} not found`);
  return state;
}

function describeReferences(r: ScheduleReferences): string[] {
  const parts: string[] = [];
  if (r.group_ids.length > 0) parts.push(`machine groups ${r.group_ids.join(', ')}`);
  if (r.chain_child_ids.length > 0) parts.push(`chain schedules ${r.chain_child_ids.join(', ')}`);
  if (r.override_vm_ids.length > 0) parts.push(`schedule overrides of VMs ${r.override_vm_ids.join(', ')}`);
  return parts;
}

function decide(command: ScheduleCommand, state: ScheduleState): ScheduleEvent[] {
  switch (command.type) {
    case 'CreateSchedule': {
      if (state.status !== 'absent') throw new DomainError('Conflict', `schedule ${command.schedule_id} already exists`);
      const settings = settingsOf(tidy(command.input) as Partial<ScheduleSettings> & { name: string });
      validate(command.schedule_id, settings, command.parent, true);
      return [
        {
          type: 'ScheduleCreated',
          data: { schedule_id: command.schedule_id, ...settings, created_at: command.at, created_by: command.actor },
        },
      ];
    }
    case 'UpdateSchedule': {
      const current = live(state, command.schedule_id);
      const changes = tidy(pickDefined(command.changes, SCHEDULE_SETTING_KEYS));
      const next: ScheduleSettings = { ...current.settings, ...changes };
      const changed = changedEntries(current.settings, next, SCHEDULE_SETTING_KEYS);
      if (Object.keys(changed).length === 0) return [];
      const chainChanged = changed.schedule_type !== undefined || changed.chain_parent_schedule_id !== undefined;
      validate(command.schedule_id, next, command.parent, chainChanged);
      const events: ScheduleEvent[] = [];
      const { enabled, ...updated } = changed;
      if (Object.keys(updated).length > 0) {
        events.push({ type: 'ScheduleUpdated', data: { schedule_id: command.schedule_id, changes: updated, updated_at: command.at } });
      }
      if (enabled !== undefined) {
        events.push({ type: enabled ? 'ScheduleEnabled' : 'ScheduleDisabled', data: { schedule_id: command.schedule_id, at: command.at } });
      }
      return events;
    }
    case 'SetScheduleEnabled': {
      const current = live(state, command.schedule_id);
      const p = new Problems();
      checkBoolean(p, '/enabled', command.enabled);
      p.throwIfAny('request');
      if (current.settings.enabled === command.enabled) return [];
      return [{ type: command.enabled ? 'ScheduleEnabled' : 'ScheduleDisabled', data: { schedule_id: command.schedule_id, at: command.at } }];
    }
    case 'DeleteSchedule': {
      const current = live(state, command.schedule_id);
      const refs = describeReferences(command.references);
      if (refs.length > 0) {
        throw new DomainError('Conflict', `schedule ${command.schedule_id} is still referenced by ${refs.join('; ')}`);
      }
      return [{ type: 'ScheduleDeleted', data: { schedule_id: command.schedule_id, name: current.settings.name, at: command.at } }];
    }
  }
}

function evolve(state: ScheduleState, event: ScheduleEvent): ScheduleState {
  switch (event.type) {
    case 'ScheduleCreated': {
      const { schedule_id, created_at, created_by, ...rest } = event.data;
      return {
        status: 'active',
        id: schedule_id,
        settings: settingsOf(rest),
        created_at,
        created_by,
        updated_at: created_at,
      };
    }
    case 'ScheduleUpdated':
      if (state.status === 'absent') return state;
      return { ...state, settings: { ...state.settings, ...event.data.changes }, updated_at: event.data.updated_at };
    case 'ScheduleEnabled':
    case 'ScheduleDisabled':
      if (state.status === 'absent') return state;
      return { ...state, settings: { ...state.settings, enabled: event.type === 'ScheduleEnabled' }, updated_at: event.data.at };
    case 'ScheduleDeleted':
      if (state.status === 'absent') return state;
      return { ...state, status: 'deleted', updated_at: event.data.at };
  }
}

export const scheduleDecider: Decider<ScheduleCommand, ScheduleEvent, ScheduleState> = {
  initialState: { status: 'absent' },
  evolve,
  decide,
};
