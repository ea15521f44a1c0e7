/** JSON schemas of the audit routes (spec/api.md, Audit). */
import { isoInstant } from './common.js';

/** Stream ids as the service makes them (schedule-, group-, vm-, execution-, reservation- streams). */
const streamId = { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9._:-]+$' } as const;
const eventType = { type: 'string', minLength: 1, maxLength: 1000, pattern: '^[A-Za-z0-9_, ]+$' } as const;

export const auditEventsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    stream: { ...streamId, pattern: '^[A-Za-z0-9._:-]+\\*?$', description: 'a stream id, or a prefix followed by * (execution-*)' },
    type: { anyOf: [eventType, { type: 'array', maxItems: 50, items: eventType }], description: 'event types: repeated, or a comma list' },
    actor: { type: 'string', minLength: 1, maxLength: 255 },
    from: { ...isoInstant, description: 'metadata.timestamp at or after (inclusive)' },
    to: { ...isoInstant, description: 'metadata.timestamp before (exclusive)' },
    after_position: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[0-9/]+$', description: 'events after this global position (exclusive): next_after_position of the previous page' },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  },
} as const;

export const auditStreamParams = {
  type: 'object',
  required: ['stream'],
  additionalProperties: false,
  properties: { stream: streamId },
} as const;

export const auditStreamQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    as_of: { ...isoInstant, description: 'the instant (inclusive); default: now' },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 500, description: 'at most this many of the events folded, the newest' },
  },
} as const;

const auditEvent = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    position: { type: 'string' },
    stream: { type: 'string' },
    revision: { type: 'integer' },
    type: { type: 'string' },
    data: { type: 'object', additionalProperties: true },
    metadata: { type: 'object', additionalProperties: true },
    recorded_at: { type: 'string' },
  },
} as const;

export const auditEventsAnswer = {
  type: 'object',
  required: ['events', 'page_size', 'has_more', 'next_after_position'],
  properties: {
    events: { type: 'array', items: auditEvent },
    page_size: { type: 'integer' },
    has_more: { type: 'boolean' },
    next_after_position: { anyOf: [{ type: 'string' }, { type: 'null' }] },
  },
} as const;

export const auditStreamAnswer = {
  type: 'object',
  required: ['stream', 'aggregate', 'as_of', 'revision', 'event_count', 'state', 'events'],
  properties: {
    stream: { type: 'string' },
    aggregate: { type: 'string' },
    as_of: { type: 'string' },
    revision: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
    event_count: { type: 'integer' },
    state: { type: 'object', additionalProperties: true },
    events: { type: 'array', items: auditEvent },
  },
} as const;
