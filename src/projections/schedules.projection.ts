/** replication_schedules: one row per live schedule, from the schedule stream's events. */
import type { RecordedEvent } from '../eventstore/event-store.js';
import { SCHEDULE_DEFAULTS } from '../domain/schedule-fields.js';
import { applyChanges, eventTime, readColumns, stringData, type ColumnKinds } from './event-data.js';
import type { Row, RowProjection } from './projection.js';
import { flag } from './row-codec.js';
import { firstDueInstantAfter } from '../domain/due-instant-memo.js';

/** The user-settable columns other than `enabled` (which has events of its own). */
const SETTING_COLUMNS: ColumnKinds = {
  name: 'text',
  description: 'nullable-text',
  schedule_type: 'text',
  cron_expression: 'nullable-text',
  timezone: 'text',
  chain_parent_schedule_id: 'nullable-text',
  chain_delay_minutes: 'int',
  chain_trigger_on: 'text',
  replication_type: 'text',
  max_concurrent_jobs: 'int',
  retry_attempts: 'int',
  retry_delay_minutes: 'int',
  skip_if_running: 'flag',
  catchup_policy: 'text',
  catchup_window_minutes: 'int',
  jitter_seconds: 'int',
};

const SETTING_DEFAULTS = {
  ...SCHEDULE_DEFAULTS,
  name: '',
  skip_if_running: flag(SCHEDULE_DEFAULTS.skip_if_running),
  enabled: flag(SCHEDULE_DEFAULTS.enabled),
};

const SCHEDULE_EVENTS = new Set(['ScheduleCreated', 'ScheduleUpdated', 'ScheduleEnabled', 'ScheduleDisabled', 'ScheduleDeleted']);

/** The first due instant strictly after `after` for an enabled cron schedule; null otherwise. */
function computeNextRun(row: Row, after: string): string | null {
  if (row.enabled !== 1 || row.schedule_type !== 'cron') return null;
  const expression = row.cron_expression;
  const timezone = row.timezone;
  if (typeof expression !== 'string' || typeof timezone !== 'string') return null;
  try {
    return firstDueInstantAfter(expression, timezone, new Date(after))?.toISOString() ?? null;
  } catch {
    // An expression the log accepted but cron cannot read any more: no next run, rows still build.
    return null;
  }
}

/**
 * next_run_at after an event at `at`. When the timing fields did not change and the
 * previous next run still lies after `at`, it is still the first due instant after
 * `at` (none fell in between), so cron is not evaluated again: a cheap exact shortcut.
 */
function nextRunAfterChange(previous: Row, next: Row, at: string): string | null {
  const timingUnchanged =
    previous.enabled === next.enabled &&
    previous.schedule_type === next.schedule_type &&
    previous.cron_expression === next.cron_expression &&
    previous.timezone === next.timezone;
  const previousNextRun = previous.next_run_at;
  if (timingUnchanged && typeof previousNextRun === 'string' && previousNextRun > at) return previousNextRun;
  return computeNextRun(next, at);
}

function created(event: RecordedEvent, id: string): Row {
  const createdAt = eventTime(event, 'created_at');
  const row: Row = {
    id,
    ...readColumns(event.data, SETTING_COLUMNS, SETTING_DEFAULTS),
    enabled: typeof event.data.enabled === 'boolean' ? flag(event.data.enabled) : SETTING_DEFAULTS.enabled,
    next_run_at: null,
    last_run_at: null,
    created_at: createdAt,
    updated_at: createdAt,
    created_by: stringData(event, 'created_by') ?? 'system',
  };
  row.next_run_at = computeNextRun(row, createdAt);
  return row;
}

function withEnabled(row: Row, enabled: 0 | 1, at: string): Row {
  const next: Row = { ...row, enabled, updated_at: at };
  next.next_run_at = nextRunAfterChange(row, next, at);
  return next;
}

export const schedulesProjection: RowProjection = {
  name: 'schedules',
  version: 1,
  table: 'replication_schedules',
  key: 'id',

  keyOf(event) {
    return SCHEDULE_EVENTS.has(event.type) ? stringData(event, 'schedule_id') : null;
  },

  apply(row, event) {
    switch (event.type) {
      case 'ScheduleCreated':
        return created(event, stringData(event, 'schedule_id') ?? '');
      case 'ScheduleUpdated': {
        if (!row) return row;
        const at = eventTime(event, 'updated_at');
        const next = applyChanges(row, event.data.changes, SETTING_COLUMNS);
        next.updated_at = at;
        next.next_run_at = nextRunAfterChange(row, next, at);
        return next;
      }
      case 'ScheduleEnabled':
        return row ? withEnabled(row, 1, eventTime(event, 'at')) : row;
      case 'ScheduleDisabled':
        return row ? withEnabled(row, 0, eventTime(event, 'at')) : row;
      case 'ScheduleDeleted':
        return null;
      default:
        return row;
    }
  },
};
