/**
 * A projection is a keyed row reducer: each event it knows names one row of its
 * table (by key) and turns that row's current value into the next one. The runner
 * loads the rows a batch touches in one query, folds the batch in memory and writes
 * the changed rows back in bulk, so the reducers themselves do no I/O.
 *
 * Reducers must be pure and deterministic: every time they write comes from the
 * event (data or recordedAt), never from a clock, so a replay gives the same rows.
 */
import type { RecordedEvent } from '../eventstore/event-store.js';
import type { Row } from './row-codec.js';

export type { Row, RowValue } from './row-codec.js';

export interface RowProjection {
  /** Checkpoint name; unique among projections. */
  readonly name: string;
  /** Bump when the rows it builds change shape or meaning: the table then needs a rebuild. */
  readonly version: number;
  /** The table it owns; nothing else writes it. */
  readonly table: string;
  /** The table's key column (primary or unique key) the rows are upserted on. */
  readonly key: string;
  /** The key of the row the event changes, or null for an event this projection ignores. */
  keyOf(event: RecordedEvent): string | null;
  /**
   * The row after the event: `row` is its current value (null when absent). Returns
   * the very same object when nothing changed, a new object for a changed row, and
   * null to delete it. Never mutates `row`.
   */
  apply(row: Row | null, event: RecordedEvent): Row | null;
}
