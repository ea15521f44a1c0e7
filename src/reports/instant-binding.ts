/**
 * An instant as a value to compare with a read-model time column in SQL: the
 * ISO text SQLite stores, or the UTC timestamp literal MariaDB takes. The
 * conversion is row-codec's (the one place values change shape per database).
 */
import { encodeRow, toIsoInstant, type ReadModelKind } from '../projections/row-codec.js';

export function instantBinding(kind: ReadModelKind, instant: Date | string): string {
  // Any table's time column converts the same way; replication_jobs.completed_at is one.
  return String(encodeRow(kind, 'replication_jobs', { completed_at: toIsoInstant(instant) }).completed_at);
}
