/**
 * Event schema versions and the upcasters that lift data stored in an older
 * version to the current shape, on read. The log is never rewritten: an event
 * keeps the version it was appended with (metadata.schema_version, 1 when
 * absent), and every reader (deciders, projections, the audit trail) sees the
 * current shape.
 *
 * To change the shape of an event's data: add the upcaster from the last
 * version to the new one at the end of its list below. An upcaster is frozen
 * once released: it says what an old event meant, so it never follows later
 * changes of defaults elsewhere.
 */
import { EVENT_SCHEMA_VERSION, type DomainEventType } from './events.js';

type EventData = Record<string, unknown>;
type Upcaster = (data: EventData) => EventData;

/**
 * ExecutionScheduled v1 -> v2: version 1, before jitter and chain delays, had no
 * `not_before`; an execution could start at its due instant, `scheduled_at`.
 */
function executionScheduledAddsNotBefore(data: EventData): EventData {
  return 'not_before' in data ? data : { ...data, not_before: data.scheduled_at };
}

/** Per event type, the upcaster from version n to n + 1 at index n - 1. */
const UPCASTERS: ReadonlyMap<DomainEventType, readonly Upcaster[]> = new Map([['ExecutionScheduled', [executionScheduledAddsNotBefore]]]);

/** The version of `type`'s data shape that the code writes and reads. */
export function currentSchemaVersion(type: string): number {
  return EVENT_SCHEMA_VERSION + (UPCASTERS.get(type as DomainEventType)?.length ?? 0);
}

/**
 * The data of a `type` event stored in `version`, in the current shape; null when
 * it is current already (or newer: written by a later release, read as it is).
 */
export function upcastEventData(type: string, data: EventData, version: number): { data: EventData; version: number } | null {
  const steps = UPCASTERS.get(type as DomainEventType);
  if (steps === undefined) return null;
  const current = EVENT_SCHEMA_VERSION + steps.length;
  if (version >= current) return null;
  let lifted = data;
  for (let from = Math.max(version, EVENT_SCHEMA_VERSION); from < current; from++) {
    lifted = (steps[from - EVENT_SCHEMA_VERSION] as Upcaster)(lifted);
  }
  return { data: lifted, version: current };
}
