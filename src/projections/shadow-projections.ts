/**
 * A projection writing a shadow table: the same reducers, under the shadow's table
 * and checkpoint name (see shadow-tables.ts), so the runner's working set builds it
 * exactly as it builds the live table.
 */
import type { Knex } from 'knex';
import { CHECKPOINTS_TABLE } from './checkpoints.js';
import type { RowProjection } from './projection.js';
import type { ReadModelDb } from './read-model-db.js';
import { createShadowTable, dropTableIfExists, shadowProjectionName, shadowTableName, type ShadowPurpose } from './shadow-tables.js';

export function shadowProjection(live: RowProjection, purpose: ShadowPurpose): RowProjection {
  return { ...live, name: shadowProjectionName(live.name, purpose), table: shadowTableName(live.table, purpose) };
}

async function forgetShadowCheckpoints(knex: Knex, shadows: readonly RowProjection[]): Promise<void> {
  await knex(CHECKPOINTS_TABLE).whereIn('projection', shadows.map((shadow) => shadow.name)).delete();
}

/** Empty shadow tables (leftovers of an interrupted run are dropped) and no shadow checkpoints. */
export async function prepareShadowTables(db: ReadModelDb, lives: readonly RowProjection[], purpose: ShadowPurpose): Promise<RowProjection[]> {
  const shadows = lives.map((live) => shadowProjection(live, purpose));
  await forgetShadowCheckpoints(db.knex, shadows);
  for (const [index, live] of lives.entries()) {
    const shadow = shadows[index];
    if (shadow) await createShadowTable(db, live.table, shadow.table);
  }
  return shadows;
}

export async function dropShadowTables(db: ReadModelDb, shadows: readonly RowProjection[]): Promise<void> {
  await forgetShadowCheckpoints(db.knex, shadows);
  for (const shadow of shadows) await dropTableIfExists(db.knex, shadow.table);
}
