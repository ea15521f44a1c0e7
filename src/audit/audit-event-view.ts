/** An event as the audit trail shows it, in the API and in the CLI's JSON output alike. */
import type { EventMetadata, Position, RecordedEvent } from '../eventstore/event-store.js';

export interface AuditEventView {
  id: string;
  position: Position;
  stream: string;
  revision: number;
  type: string;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  recorded_at: string;
}

export function auditEventView(event: RecordedEvent): AuditEventView {
  return {
    id: event.id,
    position: event.position,
    stream: event.streamId,
    revision: event.revision,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    recorded_at: event.recordedAt,
  };
}
