/** projection_checkpoints: how far each projection has applied the log. */
import type { Knex } from 'knex';
import type { Position } from '../eventstore/event-store.js';
import type { ReadModelDb } from './read-model-db.js';
import type { Row } from './row-codec.js';

export const CHECKPOINTS_TABLE = 'projection_checkpoints';

export interface Checkpoint {
  /** Position of the last event applied; null before the first. */
  position: Position | null;
  /** Events this projection has handled (those it has a row key for), since its last reset. */
  eventsApplied: number;
}

export const NO_CHECKPOINT: Checkpoint = Object.freeze({ position: null, eventsApplied: 0 });

interface CheckpointRow {
  projection: string;
  position: string;
  events_applied: number | string | bigint;
}

export async function loadCheckpoints(knex: Knex, projectionNames: readonly string[]): Promise<Map<string, Checkpoint>> {
  const rows = await knex<CheckpointRow>(CHECKPOINTS_TABLE).select('projection', 'position', 'events_applied');
  const checkpoints = new Map<string, Checkpoint>();
  for (const name of projectionNames) checkpoints.set(name, NO_CHECKPOINT);
  for (const row of rows) {
    if (checkpoints.has(row.projection)) {
      checkpoints.set(row.projection, { position: row.position, eventsApplied: Number(row.events_applied) });
    }
  }
  return checkpoints;
}

/** The checkpoint rows to write with the batch that moved them (times as ISO strings). */
export function checkpointRows(checkpoints: ReadonlyMap<string, Checkpoint>, now: Date): Row[] {
  // The only wall-clock time in the read models: when the checkpoint was written.
  const updatedAt = now.toISOString();
  const rows: Row[] = [];
  for (const [projection, checkpoint] of checkpoints) {
    if (checkpoint.position === null) continue;
    rows.push({ projection, position: checkpoint.position, events_applied: checkpoint.eventsApplied, updated_at: updatedAt });
  }
  return rows;
}

/**
 * Empties the projections' tables and forgets their checkpoints. The checkpoints go
 * first, in their own commit: a crash in between leaves old rows without a
 * checkpoint, which a replay from the start overwrites, never a checkpoint without rows.
 */
export async function resetProjections(db: ReadModelDb, targets: ReadonlyArray<{ name: string; table: string }>): Promise<void> {
  await db.knex(CHECKPOINTS_TABLE)
    .whereIn('projection', targets.map((target) => target.name))
    .delete();
  for (const target of targets) {
    await db.knex(target.table).truncate();
  }
}

/** The projections whose stored checkpoint position differs from `expected` (another writer moved them). */
export function movedCheckpoints(expected: ReadonlyMap<string, Checkpoint>, stored: ReadonlyMap<string, Checkpoint>): string[] {
  const moved: string[] = [];
  for (const [name, checkpoint] of expected) {
    if ((stored.get(name)?.position ?? null) !== checkpoint.position) moved.push(name);
  }
  return moved;
}
