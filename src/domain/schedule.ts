/**
 * The schedule aggregate (stream schedule-{id}): its decider and state.
 * Rules: spec/domain.md, "Schedule". Name uniqueness is kept by reservation
 * streams, not here; chain facts (does the parent exist, what is above it)
 * are read by the command handler and handed in with the command.
 */
import { DomainError, validationError, type Decider } from './decider.js';
import type { DueTrigger, MissedRunsReason, RunsMissed, ScheduleEvent } from './events.js';
import { validateCron, isValidTimeZone, jitterOffsetSeconds } from './cron.js';
import { firstDueInstantAfter } from './due-instant-memo.js';
import { CATCHUP_LIST_LIMIT, planCatchUp } from './catchup.js';
import { executionIdFor } from './execution-ids.js';
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
import { settingsWithDefaults } from './settings-with-defaults.js';

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
      /** The newest due instant recorded: run (ExecutionDue) or counted as missed (RunsMissed). */
      last_due_at: string | null;
      /** When the schedule was last enabled, or created. */
      enabled_at: string;
      /** When cron_expression, timezone or schedule_type last changed, or creation: a new timing takes effect from then. */
      cron_changed_at: string;
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
/**
 * The ticker records a due instant. Refused without events (see dueRefusal)
 * when it was recorded already (the second of two tickers), or the schedule
 * is disabled, deleted or a chain schedule, or the instant is not due.
 */
export type RecordDue = CommandMeta & { type: 'RecordDue'; schedule_id: string; due_at: string; trigger: DueTrigger };
/** Due instants that will not run, counted; refused without events when last_due_at is recorded already. */
export type RecordMissedRuns = CommandMeta & {
  type: 'RecordMissedRuns';
  schedule_id: string;
  /** The instants (the first 100 are kept). */
  due_instants: string[];
  /** All of them, when more than listed; default: the number listed. */
  count?: number;
  count_exact?: boolean;
  /** The newest of them; default: the newest listed. */
  last_due_at?: string;
  reason: MissedRunsReason;
};
/**
 * After a restart (or a stall), the ticker asks for the catch-up up to `at`:
 * the decider plans it from its own state (planCatchUp) and records, in one
 * append, what it drops (RunsMissed per reason) and what runs (ExecutionDue,
 * trigger catchup). A second ticker doing the same finds nothing left.
 */
export type RecordCatchUp = CommandMeta & { type: 'RecordCatchUp'; schedule_id: string };
export type ScheduleCommand = CreateSchedule | UpdateSchedule | SetScheduleEnabled | DeleteSchedule | RecordDue | RecordMissedRuns | RecordCatchUp;

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
  return settingsWithDefaults(SCHEDULE_DEFAULTS, SCHEDULE_SETTING_KEYS, fields);
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

/** How far a ticker's clock may run ahead of the due instant it records. */
export const DUE_CLOCK_TOLERANCE_MS = 5_000;

export type DueRefusal = 'absent' | 'deleted' | 'disabled' | 'chain' | 'already_recorded' | 'before_enabled' | 'not_due' | 'in_the_future';

/** The instant from which due times count (ms): the later of the last enable (or creation) and the last timing change. */
export function dueFloorMs(state: LiveSchedule): number {
  const changed = Date.parse(state.cron_changed_at);
  const enabled = Date.parse(state.enabled_at);
  return changed > enabled ? changed : enabled;
}

/**
 * Why RecordDue would record nothing for `dueAt` at `at`, or null when it records it.
 * - already_recorded: at or before last_due_at (two tickers: the second finds it recorded);
 * - before_enabled: at or before the last enable, creation or timing change;
 * - not_due: not a due instant of the current expression and zone (edited since the ticker computed it);
 * - in_the_future: more than DUE_CLOCK_TOLERANCE_MS after `at`.
 */
export function dueRefusal(state: ScheduleState, dueAt: Date, at: Date): DueRefusal | null {
  if (state.status === 'absent') return 'absent';
  if (state.status === 'deleted') return 'deleted';
  if (!state.settings.enabled) return 'disabled';
  if (state.settings.schedule_type !== 'cron' || !state.settings.cron_expression) return 'chain';
  const due = dueAt.getTime();
  if (state.last_due_at !== null && due <= Date.parse(state.last_due_at)) return 'already_recorded';
  if (due <= dueFloorMs(state)) return 'before_enabled';
  if (due > at.getTime() + DUE_CLOCK_TOLERANCE_MS) return 'in_the_future';
  // Memoised: a :00 herd checks thousands of due instants of a few expressions.
  const next = firstDueInstantAfter(state.settings.cron_expression, state.settings.timezone, new Date(due - 1));
  if (next === null || next.getTime() !== due) return 'not_due';
  return null;
}

function instantArg(value: unknown, path: string): Date {
  const d = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
  if (!Number.isFinite(d.getTime())) throw validationError(path, `must be an ISO-8601 instant, got ${JSON.stringify(value)}`);
  return d;
}

function executionDue(state: LiveSchedule, due: Date, trigger: DueTrigger, at: string): ScheduleEvent {
  const offsetSeconds = jitterOffsetSeconds(state.id, due, state.settings.jitter_seconds);
  const dueAt = due.toISOString();
  // Without jitter (the default) the fire instant is the due instant: a herd formats each once.
  const fireAt = offsetSeconds === 0 ? dueAt : new Date(due.getTime() + offsetSeconds * 1000).toISOString();
  return {
    type: 'ExecutionDue',
    data: { schedule_id: state.id, execution_id: executionIdFor(state.id, due), due_at: dueAt, fire_at: fireAt, trigger, at },
  };
}

function runsMissed(
  id: string,
  reason: MissedRunsReason,
  listed: Date[],
  count: number,
  exact: boolean,
  newest: Date | null,
  at: string,
): RunsMissed[] {
  if (count === 0 || newest === null) return [];
  return [
    {
      type: 'RunsMissed',
      data: {
        schedule_id: id,
        due_instants: listed.slice(0, CATCHUP_LIST_LIMIT).map((d) => d.toISOString()),
        count,
        count_exact: exact,
        last_due_at: newest.toISOString(),
        reason,
        at,
      },
    },
  ];
}

const DUE_TRIGGERS: readonly DueTrigger[] = ['cron', 'catchup'];

function decideTicks(command: RecordDue | RecordMissedRuns | RecordCatchUp, state: ScheduleState): ScheduleEvent[] {
  const at = instantArg(command.at, '/at');
  switch (command.type) {
    case 'RecordDue': {
      const due = instantArg(command.due_at, '/due_at');
      const p = new Problems();
      checkOneOf(p, '/trigger', command.trigger, DUE_TRIGGERS);
      p.throwIfAny('request');
      if (dueRefusal(state, due, at) !== null) return [];
      return [executionDue(state as LiveSchedule, due, command.trigger, command.at)];
    }
    case 'RecordMissedRuns': {
      const p = new Problems();
      checkOneOf(p, '/reason', command.reason, ['outside_catchup_window', 'catchup_policy_skip', 'catchup_limit']);
      if (!Array.isArray(command.due_instants)) p.add('/due_instants', 'must be a list of instants');
      p.throwIfAny('request');
      const listed = command.due_instants.map((d, i) => instantArg(d, `/due_instants/${i}`)).sort((a, b) => a.getTime() - b.getTime());
      const newest = command.last_due_at !== undefined ? instantArg(command.last_due_at, '/last_due_at') : (listed[listed.length - 1] ?? null);
      if (state.status !== 'active' || !state.settings.enabled || state.settings.schedule_type !== 'cron' || newest === null) return [];
      if (state.last_due_at !== null && newest.getTime() <= Date.parse(state.last_due_at)) return [];
      const count = Math.max(command.count ?? listed.length, listed.length);
      return runsMissed(state.id, command.reason, listed, count, command.count_exact ?? true, newest, command.at);
    }
    case 'RecordCatchUp': {
      if (state.status !== 'active' || !state.settings.enabled || state.settings.schedule_type !== 'cron' || !state.settings.cron_expression) return [];
      const s = state.settings;
      const plan = planCatchUp({
        expression: s.cron_expression as string,
        timezone: s.timezone,
        lastDueAt: state.last_due_at === null ? null : new Date(state.last_due_at),
        enabledAt: new Date(dueFloorMs(state)),
        now: at,
        policy: s.catchup_policy,
        windowMinutes: s.catchup_window_minutes,
      });
      return [
        ...runsMissed(state.id, 'outside_catchup_window', plan.missedOutsideWindow, plan.counts.missedOutsideWindow, plan.countsExact, plan.newest.missedOutsideWindow, command.at),
        ...runsMissed(state.id, 'catchup_policy_skip', plan.skippedByPolicy, plan.counts.skippedByPolicy, plan.countsExact, plan.newest.skippedByPolicy, command.at),
        ...runsMissed(state.id, 'catchup_limit', plan.truncated, plan.counts.truncated, plan.countsExact, plan.newest.truncated, command.at),
        ...plan.run.map((due) => executionDue(state, due, 'catchup', command.at)),
      ];
    }
  }
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
    case 'RecordDue':
    case 'RecordMissedRuns':
    case 'RecordCatchUp':
      return decideTicks(command, state);
  }
}

function laterOf(a: string | null, b: string): string {
  return a === null || Date.parse(b) > Date.parse(a) ? b : a;
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
        last_due_at: null,
        enabled_at: created_at,
        cron_changed_at: created_at,
      };
    }
    case 'ScheduleUpdated': {
      if (state.status === 'absent') return state;
      const c = event.data.changes;
      const timing = c.cron_expression !== undefined || c.timezone !== undefined || c.schedule_type !== undefined;
      return {
        ...state,
        settings: { ...state.settings, ...c },
        updated_at: event.data.updated_at,
        cron_changed_at: timing ? event.data.updated_at : state.cron_changed_at,
      };
    }
    case 'ScheduleEnabled':
    case 'ScheduleDisabled':
      if (state.status === 'absent') return state;
      return {
        ...state,
        settings: { ...state.settings, enabled: event.type === 'ScheduleEnabled' },
        updated_at: event.data.at,
        enabled_at: event.type === 'ScheduleEnabled' ? event.data.at : state.enabled_at,
      };
    case 'ExecutionDue':
      if (state.status === 'absent') return state;
      return { ...state, last_due_at: laterOf(state.last_due_at, event.data.due_at) };
    case 'RunsMissed':
      if (state.status === 'absent') return state;
      return { ...state, last_due_at: laterOf(state.last_due_at, event.data.last_due_at) };
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
