/**
 * The moment of a blue/green rebuild: the shadow tables become the live ones, and
 * the projections' checkpoints and versions become those the shadows were built to,
 * all at once. The live runner is paused meanwhile (it holds the lease and writes
 * nothing), so no event is applied to the old tables after their checkpoint was read.
 *
 * SQLite: DROP + ALTER TABLE RENAME and the checkpoint rows in one transaction.
 * MariaDB: RENAME TABLE renames several tables atomically, but commits on its own;
 * so the checkpoints to take over are first written to projection_swaps (the
 * journal), then the tables are renamed, then checkpoints and versions are written
 * and the journal row removed in one transaction. After a crash in between,
 * completeInterruptedSwaps (run before any runner reads its checkpoints) finishes
 * what was renamed and forgets what was not: whether the shadow table still exists
 * says which.
 */
import type { Knex } from 'knex';
import { checkpointRows, CHECKPOINTS_TABLE, type Checkpoint } from './checkpoints.js';
import type { RowProjection } from './projection.js';
import { recordVersions } from './projection-versions.js';
import type { ReadModelDb } from './read-model-db.js';
import { encodeRow, type ReadModelKind } from './row-codec.js';
import { baseTableOf, dropTableIfExists, retiredTableName, shadowProjectionName, tableExists } from './shadow-tables.js';
import { quoteIdentifier } from './statement-parts.js';

const SWAPS_TABLE = 'projection_swaps';

export interface ShadowSwap {
  /** The live projection (its name, table and version). */
  live: RowProjection;
  /** The projection as it built the shadow (its table is the shadow table; its checkpoint row is the shadow's). */
  shadow: RowProjection;
  /** How far the shadow has applied the log. */
  checkpoint: Checkpoint;
}

interface CheckpointTakeover {
  projection: string;
  version: number;
  checkpoint: Checkpoint;
}

/** The live checkpoint rows become the shadows'; the shadows' own rows go. */
async function takeOverCheckpoints(trx: Knex, kind: ReadModelKind, takeovers: readonly CheckpointTakeover[]): Promise<void> {
  const moved = new Map(takeovers.map((takeover) => [takeover.projection, takeover.checkpoint] as const));
  const rows = checkpointRows(moved, new Date()).map((row) => encodeRow(kind, CHECKPOINTS_TABLE, row));
  const emptied = takeovers.filter((takeover) => takeover.checkpoint.position === null).map((takeover) => takeover.projection);
  if (rows.length > 0) await trx(CHECKPOINTS_TABLE).insert(rows).onConflict('projection').merge();
  if (emptied.length > 0) await trx(CHECKPOINTS_TABLE).whereIn('projection', emptied).delete();
  const shadowNames = takeovers.map((takeover) => shadowProjectionName(takeover.projection, 'rebuild'));
  await trx(CHECKPOINTS_TABLE).whereIn('projection', shadowNames).delete();
  await recordVersions(trx, takeovers.map((takeover) => ({ name: takeover.projection, version: takeover.version })));
}

function takeoverOf(swap: ShadowSwap): CheckpointTakeover {
  return { projection: swap.live.name, version: swap.live.version, checkpoint: swap.checkpoint };
}

export async function swapInShadowTables(db: ReadModelDb, swaps: readonly ShadowSwap[]): Promise<void> {
  if (swaps.length === 0) return;
  if (db.kind === 'sqlite') {
    await db.knex.transaction(async (trx) => {
      for (const { live, shadow } of swaps) {
        await trx.raw(`DROP TABLE ${quoteIdentifier(live.table)}`);
        await trx.raw(`ALTER TABLE ${quoteIdentifier(shadow.table)} RENAME TO ${quoteIdentifier(live.table)}`);
      }
      await takeOverCheckpoints(trx, db.kind, swaps.map(takeoverOf));
    });
    return;
  }
  await db.knex(SWAPS_TABLE).insert(
    swaps.map(({ live, shadow, checkpoint }) => ({
      projection: live.name,
      shadow_table: shadow.table,
      position: checkpoint.position ?? '',
      events_applied: checkpoint.eventsApplied,
      version: live.version,
    })),
  );
  const renames = swaps.flatMap(({ live, shadow }) => [
    `${quoteIdentifier(live.table)} TO ${quoteIdentifier(retiredTableName(live.table))}`,
    `${quoteIdentifier(shadow.table)} TO ${quoteIdentifier(live.table)}`,
  ]);
  try {
    await db.knex.raw(`RENAME TABLE ${renames.join(', ')}`);
  } catch (error) {
    await db.knex(SWAPS_TABLE).whereIn('projection', swaps.map((swap) => swap.live.name)).delete();
    throw error;
  }
  await db.knex.transaction(async (trx) => {
    await takeOverCheckpoints(trx, db.kind, swaps.map(takeoverOf));
    await trx(SWAPS_TABLE).whereIn('projection', swaps.map((swap) => swap.live.name)).delete();
  });
  for (const { live } of swaps) await dropTableIfExists(db.knex, retiredTableName(live.table));
}

interface SwapRow {
  projection: string;
  shadow_table: string;
  position: string;
  events_applied: number | string;
  version: number;
}

/** Finishes (or forgets) MariaDB swaps a crash interrupted; nothing to do on SQLite. */
export async function completeInterruptedSwaps(db: ReadModelDb): Promise<void> {
  if (db.kind === 'sqlite') return;
  const pending: SwapRow[] = await db.knex(SWAPS_TABLE).select('*');
  for (const row of pending) {
    const renamed = !(await tableExists(db.knex, row.shadow_table));
    await db.knex.transaction(async (trx) => {
      // Whoever locks the journal row first completes it; the others find it gone.
      const still: SwapRow | undefined = await trx(SWAPS_TABLE).where('projection', row.projection).forUpdate().first();
      if (still === undefined) return;
      if (renamed) {
        const checkpoint: Checkpoint = { position: row.position === '' ? null : row.position, eventsApplied: Number(row.events_applied) };
        await takeOverCheckpoints(trx, db.kind, [{ projection: row.projection, version: Number(row.version), checkpoint }]);
      }
      await trx(SWAPS_TABLE).where('projection', row.projection).delete();
    });
    if (renamed) {
      await dropTableIfExists(db.knex, retiredTableName(baseTableOf(row.shadow_table)));
    }
  }
}
