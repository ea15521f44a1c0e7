/** Event store test fixtures: events to append, and the whole log read back. */
import { randomUUID } from 'node:crypto';
import type { EventMetadata, EventStore, NewEvent, Position, RecordedEvent } from '../../src/eventstore/event-store.js';

/** Every event of the log after `after` (null: from the start), read page by page. */
export async function readAllAfter(store: EventStore, after: Position | null): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let cursor = after;
  for (;;) {
    const page = await store.readAll({ after: cursor, maxCount: 500 });
    if (page.length === 0) return events;
    events.push(...page);
    cursor = page[page.length - 1]!.position;
  }
}

/** An event to append, with the metadata every event carries. */
export function newEvent(type: string, data: Record<string, unknown> = {}, id: string = randomUUID()): NewEvent {
  return { id, type, data, metadata: metadataFixture() };
}

function metadataFixture(): EventMetadata {
  return {
    actor: 'user:alice',
    source: 'api',
    correlation_id: randomUUID(),
    causation_id: null,
    request_id: 'req-1',
    timestamp: '2025-01-02T03:04:05.678Z',
    schema_version: 1,
  };
}
