import { randomUUID } from 'node:crypto';
import type { EventMetadata, EventSource } from '../eventstore/event-store.js';
import { currentSchemaVersion } from '../domain/event-upcasters.js';

/** Who asks, from where, and when: stamped on every event a command appends. */
export interface CommandContext {
  actor: string;
  source: EventSource;
  /** ISO-8601 instant of the command; the domain's only notion of "now". */
  at: string;
  requestId: string | null;
  correlationId: string;
  causationId: string | null;
}

export function newCommandContext(fields: { actor: string; source: EventSource; at: Date; requestId?: string | null; correlationId?: string | null; causationId?: string | null }): CommandContext {
  return {
    actor: fields.actor,
    source: fields.source,
    at: fields.at.toISOString(),
    requestId: fields.requestId ?? null,
    correlationId: fields.correlationId ?? fields.requestId ?? randomUUID(),
    causationId: fields.causationId ?? null,
  };
}

/** The metadata of one `eventType` event the command appends, with the current schema version of its data. */
export function metadataOf(context: CommandContext, eventType: string): EventMetadata {
  return {
    actor: context.actor,
    source: context.source,
    correlation_id: context.correlationId,
    causation_id: context.causationId,
    request_id: context.requestId,
    timestamp: context.at,
    schema_version: currentSchemaVersion(eventType),
  };
}
