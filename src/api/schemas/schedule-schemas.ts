/** JSON schemas of the schedule routes, derived from the domain's ranges and enumerations. */
import { CATCHUP_POLICIES, CHAIN_TRIGGERS, DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH, REPLICATION_TYPES, SCHEDULE_RANGES, SCHEDULE_TYPES } from '../../domain/schedule-fields.js';
import { idParam, nullable } from './common.js';

const range = (key: keyof typeof SCHEDULE_RANGES) => ({ type: 'integer', minimum: SCHEDULE_RANGES[key][0], maximum: SCHEDULE_RANGES[key][1] }) as const;

export const scheduleFieldSchemas = {
  name: { type: 'string', minLength: 1, maxLength: NAME_MAX_LENGTH },
  description: nullable({ type: 'string', maxLength: DESCRIPTION_MAX_LENGTH }),
  schedule_type: { type: 'string', enum: [...SCHEDULE_TYPES] },
  cron_expression: nullable({ type: 'string', minLength: 1, maxLength: 100 }),
  timezone: { type: 'string', minLength: 1, maxLength: 50 },
  chain_parent_schedule_id: nullable(idParam),
  chain_delay_minutes: range('chain_delay_minutes'),
  chain_trigger_on: { type: 'string', enum: [...CHAIN_TRIGGERS] },
  replication_type: { type: 'string', enum: [...REPLICATION_TYPES] },
  max_concurrent_jobs: range('max_concurrent_jobs'),
  retry_attempts: range('retry_attempts'),
  retry_delay_minutes: range('retry_delay_minutes'),
  enabled: { type: 'boolean' },
  skip_if_running: { type: 'boolean' },
  catchup_policy: { type: 'string', enum: [...CATCHUP_POLICIES] },
  catchup_window_minutes: range('catchup_window_minutes'),
  jitter_seconds: range('jitter_seconds'),
} as const;

export const createScheduleBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: scheduleFieldSchemas,
} as const;

export const updateScheduleBody = {
  type: 'object',
  minProperties: 1,
  additionalProperties: false,
  properties: scheduleFieldSchemas,
} as const;

export const enableBody = {
  type: 'object',
  required: ['enabled'],
  additionalProperties: false,
  properties: { enabled: { type: 'boolean' } },
} as const;

export const previewBody = {
  type: 'object',
  required: ['cron_expression'],
  additionalProperties: false,
  properties: {
    cron_expression: { type: 'string', minLength: 1, maxLength: 100 },
    timezone: { type: 'string', minLength: 1, maxLength: 50, default: 'UTC' },
    count: { type: 'integer', minimum: 1, maximum: 100 },
  },
} as const;

const runSchema = { type: 'object', properties: { at: { type: 'string' }, local_time: { type: 'string' } } } as const;

export const scheduleResponse = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    ...scheduleFieldSchemas,
    next_run_at: nullable({ type: 'string' }),
    last_run_at: nullable({ type: 'string' }),
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    created_by: { type: 'string' },
    next_runs: { type: 'array', items: runSchema },
  },
} as const;

export const runsResponse = { type: 'array', items: runSchema } as const;
