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
 * Applies the batch and returns the checkpoints that moved. Each projection only sees
 * the events after its own checkpoint; one already past the whole batch is left alone.
 */
export async function applyBatch(
  db: ReadModelDb,
  projections: readonly RowProjection[],
  checkpoints: ReadonlyMap<string, Checkpoint>,
  events: readonly RecordedEvent[],
  comparePositions: ComparePositions,
): Promise<Map<string, Checkpoint>> {
  const workingSet = new ProjectionWorkingSet(db, projections, checkpoints, comparePositions);
  await workingSet.fold(events);
  return workingSet.flush();
}
