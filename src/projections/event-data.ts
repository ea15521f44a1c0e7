/**
 * Reading event data into row values. Event data is untyped JSON from the log, so
 * every field is checked: a value of the wrong type falls back (to the default on
 * creation, to the current value on an update) instead of breaking the projection.
 */
import type { RecordedEvent } from '../eventstore/event-store.js';
import { flag, toIsoInstantOrNull, toIsoInstant, type Row, type RowValue } from './row-codec.js';

export type ColumnKind = 'text' | 'nullable-text' | 'int' | 'nullable-int' | 'flag';

export type ColumnKinds = Readonly<Record<string, ColumnKind>>;

/** The row value of an event field of the given kind, or `fallback` when it does not fit. */
export function readColumn(kind: ColumnKind, value: unknown, fallback: RowValue): RowValue {
  switch (kind) {
    case 'text':
      return typeof value === 'string' ? value : fallback;
    case 'nullable-text':
      return typeof value === 'string' || value === null ? value : fallback;
    case 'int':
      return typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : fallback;
    case 'nullable-int':
      if (value === null) return null;
      return typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : fallback;
    case 'flag':
      return typeof value === 'boolean' || value === 0 || value === 1 ? flag(value) : fallback;
  }
}

/** Columns read from creation data, with the defaults for absent fields. */
export function readColumns(data: Record<string, unknown>, kinds: ColumnKinds, defaults: Readonly<Record<string, RowValue>>): Row {
  const row: Row = {};
  for (const [column, kind] of Object.entries(kinds)) {
    row[column] = readColumn(kind, data[column], defaults[column] ?? null);
  }
  return row;
}

/**
 * The row with the known columns of a `changes` object applied (unknown fields are
 * ignored; a field present with null sets null where the column allows it).
 */
export function applyChanges(row: Row, changes: unknown, kinds: ColumnKinds): Row {
  const next: Row = { ...row };
  if (typeof changes !== 'object' || changes === null) return next;
  for (const [field, value] of Object.entries(changes)) {
    const kind = kinds[field];
    if (kind !== undefined) next[field] = readColumn(kind, value, row[field] ?? null);
  }
  return next;
}

/** The instant an event names in `field`, or when the store recorded it (never the wall clock). */
export function eventTime(event: RecordedEvent, field: string): string {
  return toIsoInstantOrNull(event.data[field]) ?? toIsoInstant(event.recordedAt);
}

/** A string field of event data, or null. */
export function stringData(event: RecordedEvent, field: string): string | null {
  const value = event.data[field];
  return typeof value === 'string' ? value : null;
}
