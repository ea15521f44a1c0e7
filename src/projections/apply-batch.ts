/**
 * One batch, applied to every projection in ONE transaction with their checkpoints:
 * the rows it touches are read, folded and written back (see ProjectionWorkingSet).
 */
import type { RecordedEvent } from '../eventstore/event-store.js';
import type { Checkpoint } from './checkpoints.js';
import type { RowProjection } from './projection.js';
import { ProjectionWorkingSet, type ComparePositions } from './projection-working-set.js';
import type { ReadModelDb } from './read-model-db.js';

export type { ComparePositions } from './projection-working-set.js';

/**
 * Applies the batch and returns the checkpoints that moved. `beforeWrite` runs after
 * the fold, just before the write; when it rejects nothing is written. Each projection only sees
 * the events after its own checkpoint; one already past the whole batch is left alone.
 */
export async function applyBatch(
  db: ReadModelDb,
  projections: readonly RowProjection[],
  checkpoints: ReadonlyMap<string, Checkpoint>,
  events: readonly RecordedEvent[],
  comparePositions: ComparePositions,
  beforeWrite?: () => Promise<void>,
  onFlushed?: (flushed: { largeValueChars: number }) => void,
): Promise<Map<string, Checkpoint>> {
  const workingSet = new ProjectionWorkingSet(db, projections, checkpoints, comparePositions);
  await workingSet.fold(events);
  // Last word before the write (the runner's lease and checkpoint guard); a rejection writes nothing.
  if (beforeWrite) {
    try {
      await beforeWrite();
    } catch (error) {
      workingSet.discard();
      throw error;
    }
  }
  const committed = await workingSet.flush();
  onFlushed?.({ largeValueChars: workingSet.lastFlushLargeValueChars });
  return committed;
}
