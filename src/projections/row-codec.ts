/**
 * The one place where read-model values change shape between the code and the
 * database. Above this layer every row is a plain `Row`:
 * - times are ISO-8601 UTC strings with milliseconds ('2026-11-28T18:00:00.000Z');
 * - integers (and decimals) are numbers;
 * - tinyint(1) flags stay 0/1 numbers: the API layer turns them into booleans
 *   (better-sqlite3 cannot bind booleans, and 0/1 reads the same on both databases).
 *
 * On SQLite the ISO string is stored as is (it sorts as text in instant order).
 * On MariaDB a timestamp(3) column takes 'YYYY-MM-DD HH:MM:SS.mmm' (the session
 * time zone is +00:00) and comes back as a Date (mysql2, dateStrings off).
 */
import { baseTableOf } from './shadow-tables.js';

export type RowValue = string | number | null;
export type Row = Record<string, RowValue>;

export type ReadModelKind = 'sqlite' | 'mariadb';

/** The timestamp(3) columns of each read-model table (spec/readmodels.sql). */
export const TIME_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  replication_schedules: ['next_run_at', 'last_run_at', 'created_at', 'updated_at'],
  vm_machine_groups: ['created_at', 'updated_at'],
  vm_group_memberships: ['added_at'],
  schedule_executions: ['scheduled_at', 'started_at', 'completed_at', 'created_at'],
  vm_replication_contexts: ['next_scheduled_at', 'created_at', 'updated_at', 'first_job_at', 'last_job_at', 'last_status_change'],
  replication_jobs: ['started_at', 'updated_at', 'completed_at'],
  projection_checkpoints: ['updated_at'],
};

const CANONICAL_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * An instant as the canonical ISO string (UTC, milliseconds), so rows compare and
 * sort the same whatever format an event carried. Throws on a value that is no instant.
 */
export function toIsoInstant(value: string | Date): string {
  if (typeof value === 'string' && CANONICAL_ISO.test(value)) return value;
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) throw new RangeError(`not an instant: ${String(value)}`);
  return date.toISOString();
}

/** Like toIsoInstant, but null for null, undefined or an unreadable value. */
export function toIsoInstantOrNull(value: unknown): string | null {
  if (typeof value !== 'string' && !(value instanceof Date)) return null;
  try {
    return toIsoInstant(value);
  } catch {
    return null;
  }
}

/** '2026-11-28T18:00:00.000Z' -> '2026-11-28 18:00:00.000' (MariaDB timestamp(3) literal, UTC session). */
function isoToMariaDbTimestamp(iso: string): string {
  const canonical = toIsoInstant(iso);
  return `${canonical.slice(0, 10)} ${canonical.slice(11, 23)}`;
}

/** A row as the database takes it. Returns the same object on SQLite (nothing to convert). */
export function encodeRow(kind: ReadModelKind, table: string, row: Row): Row {
  if (kind === 'sqlite') return row;
  const timeColumns = TIME_COLUMNS[baseTableOf(table)] ?? [];
  if (timeColumns.length === 0) return row;
  const encoded: Row = { ...row };
  for (const column of timeColumns) {
    const value = encoded[column];
    if (typeof value === 'string') encoded[column] = isoToMariaDbTimestamp(value);
  }
  return encoded;
}

/**
 * A row as read from either database, in the shape above this layer: Dates (MariaDB
 * timestamps) become ISO strings, bigint becomes number; everything else is kept.
 */
export function decodeRow(raw: Record<string, unknown>): Row {
  const row: Row = {};
  for (const [column, value] of Object.entries(raw)) {
    if (value instanceof Date) row[column] = value.toISOString();
    else if (typeof value === 'bigint') row[column] = Number(value);
    else if (typeof value === 'string' || typeof value === 'number' || value === null) row[column] = value;
    else if (typeof value === 'boolean') row[column] = value ? 1 : 0;
    else if (value === undefined) row[column] = null;
    else row[column] = String(value);
  }
  return row;
}

/** 0/1 (or boolean) for a tinyint(1) column. */
export function flag(value: unknown): 0 | 1 {
  return value === true || value === 1 || value === '1' ? 1 : 0;
}
