/** JSON schemas of the execution and job routes (and the schedule trigger). */
import { KNOWN_JOB_STATUSES } from '../../domain/execution.js';
import { idParam, nullable, pagingQuery } from './common.js';

const EXECUTION_STATUSES = ['scheduled', 'running', 'completed', 'failed', 'skipped', 'cancelled'] as const;

const reason = nullable({ type: 'string', maxLength: 4000 });

export const triggerBody = {
  type: 'object',
  additionalProperties: false,
  properties: { reason, group_id: nullable(idParam), force: { type: 'boolean' } },
} as const;

export const cancelBody = {
  type: 'object',
  additionalProperties: false,
  properties: { reason },
} as const;

export const executionListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { status: { type: 'string', enum: [...EXECUTION_STATUSES] }, ...pagingQuery },
} as const;

/** Job ids are the OMA's (e.g. job-20250920-060853.973-55eb76), up to the read model's 191 characters. */
export const jobIdParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 191, pattern: '^[A-Za-z0-9._:-]+$' } },
} as const;

export const jobListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: [...KNOWN_JOB_STATUSES] },
    vm_context_id: idParam,
    execution_id: idParam,
    ...pagingQuery,
  },
} as const;

export const jobStatusBody = {
  type: 'object',
  required: ['status'],
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: [...KNOWN_JOB_STATUSES] },
    progress_percent: { type: 'number', minimum: 0, maximum: 100 },
    error_message: nullable({ type: 'string', maxLength: 4000 }),
  },
} as const;
