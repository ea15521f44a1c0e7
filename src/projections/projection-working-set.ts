/**
 * The rows a run of batches is working on, held in memory between flushes.
 *
 * fold() applies events to the rows they touch (reading from the database only the
 * rows it does not hold yet); flush() writes every changed row and the checkpoints
 * in ONE transaction, so a checkpoint never gets ahead of its rows. Live batches fold
 * and flush once each. Catch-up and rebuild fold several pages per flush: a row
 * changed by many events is read once and written once, and commits are few.
 *
 * The database keeps the rows as of the last flush; a held row knows whether it exists
 * there and which columns folding changed since (so SQLite updates only those), not
 * the stored copy itself (memory). Only the projections write their tables, so after
 * a flush the held rows can stand in for a read (up to `maxRows`). A failed flush
 * drops them all.
 */
import type { Position, RecordedEvent } from '../eventstore/event-store.js';
import { checkpointRows, CHECKPOINTS_TABLE, NO_CHECKPOINT, type Checkpoint } from './checkpoints.js';
import { lazyColumnOf } from './lazy-column.js';
import type { RowProjection } from './projection.js';
import type { ReadModelDb } from './read-model-db.js';
import type { Row } from './row-codec.js';
import { rowStoreFor, type RowChange, type RowStore } from './row-store.js';

export type ComparePositions = (a: Position, b: Position) => number;

/** What a flush took from the working set, written by commit(). */
export interface PendingFlush {
  /** Writes it in one transaction; the checkpoints it committed. */
  commit(): Promise<Map<string, Checkpoint>>;
}

interface HeldRow {
  /** Whether the database holds the row (as of the last flush). */
  exists: boolean;
  /** After the events folded so far (null: deleted or never created). */
  current: Row | null;
  /**
   * Columns changed since the last flush: undefined while none, null when the row was
   * created or deleted meanwhile (then it is written whole).
   */
  changedColumns: Set<string> | null | undefined;
}

interface ProjectionProgress {
  projection: RowProjection;
  rows: Map<string, HeldRow>;
  /** Keys whose current row was changed since the last flush began. */
  changed: Set<string>;
  committed: Checkpoint;
  /** The checkpoint the folded events have reached; committed by the next flush. */
  folded: Checkpoint;
}

/** The events of the batch after `checkpoint` (the batch is in position order). */
export function eventsAfter(
  events: readonly RecordedEvent[],
  checkpoint: Position | null,
  comparePositions: ComparePositions,
): readonly RecordedEvent[] {
  const first = events[0];
  const last = events[events.length - 1];
  if (first === undefined || last === undefined || checkpoint === null) return events;
  if (comparePositions(first.position, checkpoint) > 0) return events;
  if (comparePositions(last.position, checkpoint) <= 0) return [];
  const start = events.findIndex((event) => comparePositions(event.position, checkpoint) > 0);
  return events.slice(start);
}

/** Notes in `held` which columns the step from `previous` to `next` changed. */
function noteChange(held: HeldRow, previous: Row | null, next: Row | null): void {
  if (held.changedColumns === null) return;
  if (previous === null || next === null) {
    held.changedColumns = null;
    return;
  }
  const changed = (held.changedColumns ??= new Set());
  // A column computed on read is taken as changed: comparing would compute it.
  const lazyBefore = lazyColumnOf(previous);
  const lazyAfter = lazyColumnOf(next);
  for (const column in next) {
    if (column === lazyAfter || column === lazyBefore || previous[column] !== next[column]) changed.add(column);
  }
}

function groupByKey(projection: RowProjection, events: readonly RecordedEvent[]): Map<string, RecordedEvent[]> {
  const eventsByKey = new Map<string, RecordedEvent[]>();
  for (const event of events) {
    const key = projection.keyOf(event);
    if (key === null) continue;
    const keyed = eventsByKey.get(key);
    if (keyed) keyed.push(event);
    else eventsByKey.set(key, [event]);
  }
  return eventsByKey;
}

export class ProjectionWorkingSet {
  private readonly progress: ProjectionProgress[];
  private readonly store: RowStore;

  /**
   * @param checkpoints the committed checkpoints; each projection folds only the events after its own.
   * @param maxRows rows kept in memory after a flush, to spare reads (0: none).
   */
  constructor(
    db: ReadModelDb,
    projections: readonly RowProjection[],
    checkpoints: ReadonlyMap<string, Checkpoint>,
    private readonly comparePositions: ComparePositions,
    private readonly maxRows = 0,
  ) {
    this.store = rowStoreFor(db);
    this.flushesOverlapFolding = db.kind !== 'sqlite';
    this.progress = projections.map((projection) => {
      const committed = checkpoints.get(projection.name) ?? NO_CHECKPOINT;
      return { projection, rows: new Map(), changed: new Set(), committed, folded: committed };
    });
  }

  /** Characters of lazily built values (large documents) the last flush wrote. */
  lastFlushLargeValueChars = 0;
  /** Whether a flush's writes leave this process free to fold (false: SQLite writes synchronously). */
  readonly flushesOverlapFolding: boolean;
  /** A fold is under way: a flush committing meanwhile leaves the eviction to it. */
  private folding = false;
  private evictionDue = false;

  /** Rows held in memory, changed or not. */
  get size(): number {
    return this.progress.reduce((total, entry) => total + entry.rows.size, 0);
  }

  /**
   * Applies the events (in position order) to the rows in memory. On failure (a read,
   * a reducer) everything held is dropped, as by a failed flush.
   */
  async fold(events: readonly RecordedEvent[]): Promise<void> {
    this.folding = true;
    try {
      for (const entry of this.progress) await this.foldProjection(entry, events);
    } catch (error) {
      this.discard();
      throw error;
    } finally {
      this.folding = false;
      if (this.evictionDue) this.evictBeyondLimit();
    }
  }

  private async foldProjection(entry: ProjectionProgress, events: readonly RecordedEvent[]): Promise<void> {
    const pending = eventsAfter(events, entry.folded.position, this.comparePositions);
    const last = pending[pending.length - 1];
    if (last === undefined) return;
    const eventsByKey = groupByKey(entry.projection, pending);
    await this.holdRows(entry, [...eventsByKey.keys()]);
    let handled = 0;
    for (const [key, keyedEvents] of eventsByKey) {
      const held = entry.rows.get(key);
      if (!held) throw new Error(`working set: row ${key} of ${entry.projection.table} was not loaded`);
      let row = held.current;
      for (const event of keyedEvents) {
        const next = entry.projection.apply(row, event);
        if (next !== row) noteChange(held, row, next);
        row = next;
      }
      handled += keyedEvents.length;
      if (row !== held.current) {
        held.current = row;
        entry.changed.add(key);
      }
    }
    entry.folded = { position: last.position, eventsApplied: entry.folded.eventsApplied + handled };
  }

  /** Reads the rows of `keys` not held yet (absent ones are held as null). */
  private async holdRows(entry: ProjectionProgress, keys: readonly string[]): Promise<void> {
    const missing = keys.filter((key) => !entry.rows.has(key));
    if (missing.length === 0) return;
    const { table, key: keyColumn } = entry.projection;
    const loaded = await this.store.loadRows(table, keyColumn, missing);
    for (const key of missing) {
      const row = loaded.get(key) ?? null;
      entry.rows.set(key, { exists: row !== null, current: row, changedColumns: undefined });
    }
  }

  /**
   * Writes the changed rows and the checkpoints of everything folded, in one
   * transaction. Returns the checkpoints it committed (empty when nothing was folded).
   * On failure everything held is dropped: the caller starts again from its checkpoints.
   */
  flush(): Promise<Map<string, Checkpoint>> {
    return this.beginFlush().commit();
  }

  /**
   * flush() in two steps: what is folded now is taken at once (every projection at the
   * same event), and written by commit(). Folding may go on meanwhile (a catch-up
   * overlaps its fold with the database's work); what it folds goes to the next flush.
   * Flushes must not overlap. Rows are evicted only once their writes are committed
   * (a row read back before that would be stale), and never in the middle of a fold.
   */
  beginFlush(): PendingFlush {
    this.lastFlushLargeValueChars = 0;
    const moved = this.progress.filter((entry) => entry.folded.position !== entry.committed.position);
    const committed = new Map(moved.map((entry) => [entry.projection.name, entry.folded] as const));
    if (moved.length === 0) return { commit: async () => committed };
    const snapshot = this.progress.map((entry) => this.takeChanges(entry));
    return {
      commit: async () => {
        try {
          await this.store.inTransaction(async (trx) => {
            for (const { entry, deletes, writes } of snapshot) {
              const { table, key: keyColumn } = entry.projection;
              // Deletes first: a key deleted and another created in the same flush cannot collide.
              if (deletes.length > 0) await trx.deleteRows(table, keyColumn, deletes);
              if (writes.length > 0) await trx.writeChanges(table, keyColumn, writes);
            }
            await trx.upsertRows(CHECKPOINTS_TABLE, 'projection', checkpointRows(committed, new Date()));
          });
        } catch (error) {
          this.discard();
          throw error;
        }
        for (const { entry, folded } of snapshot) entry.committed = folded;
        if (this.folding) this.evictionDue = true;
        else this.evictBeyondLimit();
        return committed;
      },
    };
  }

  /**
   * The changes of `entry` since the last flush, as they are now; its held rows then
   * count as written (a failed flush drops them all).
   */
  private takeChanges(entry: ProjectionProgress): { entry: ProjectionProgress; folded: Checkpoint; deletes: string[]; writes: RowChange[] } {
    const deletes: string[] = [];
    const writes: RowChange[] = [];
    for (const key of entry.changed) {
      const held = entry.rows.get(key);
      if (!held) continue;
      // undefined (nothing noted) cannot happen for a changed key; null means "write it whole".
      const changedColumns = held.changedColumns === undefined ? new Set<string>() : held.changedColumns;
      if (held.current !== null) {
        writes.push({ next: held.current, exists: held.exists, changedColumns });
        const lazy = lazyColumnOf(held.current);
        if (lazy !== undefined) this.lastFlushLargeValueChars += String(held.current[lazy] ?? '').length;
      } else if (held.exists) deletes.push(key);
      held.exists = held.current !== null;
      held.changedColumns = undefined;
    }
    entry.changed = new Set();
    return { entry, folded: entry.folded, deletes, writes };
  }

  /** Forgets everything folded since the last flush, and every held row. */
  discard(): void {
    for (const entry of this.progress) {
      entry.rows.clear();
      entry.changed.clear();
      entry.folded = entry.committed;
    }
  }

  /**
   * After a flush. Beyond maxRows, the set is cut to half of it (room to fold several
   * pages before the next flush), the oldest rows first, from each table in
   * proportion; rows changed since the flush began stay.
   */
  private evictBeyondLimit(): void {
    this.evictionDue = false;
    const total = this.size;
    if (total < this.maxRows) return;
    const target = Math.floor(this.maxRows / 2);
    for (const entry of this.progress) {
      const keep = Math.floor((entry.rows.size * target) / total);
      let excess = entry.rows.size - keep;
      for (const key of entry.rows.keys()) {
        if (excess <= 0) break;
        if (entry.changed.has(key)) continue;
        entry.rows.delete(key);
        excess -= 1;
      }
    }
  }
}
