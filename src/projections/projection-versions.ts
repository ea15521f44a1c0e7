/**
 * projection_versions: the version of its definition each projection's table was
 * built with. A projection whose code version differs from the recorded one needs a
 * rebuild; the runner does it blue/green on start-up (projection-runner.ts).
 */
import type { Knex } from 'knex';
import { CHECKPOINTS_TABLE } from './checkpoints.js';
import type { RowProjection } from './projection.js';

export const VERSIONS_TABLE = 'projection_versions';

/**
 * Tables built before versions were recorded hold a checkpoint but no version row:
 * they were built by the first version, the only one there was then.
 */
const VERSION_BEFORE_RECORDING = 1;

interface VersionRow {
  projection: string;
  version: number;
}

/** The version each projection's table was built with; absent when none is recorded. */
export async function loadVersions(knex: Knex, names: readonly string[]): Promise<Map<string, number>> {
  const rows: VersionRow[] = await knex(VERSIONS_TABLE).select('projection', 'version').whereIn('projection', [...names]);
  return new Map(rows.map((row) => [row.projection, Number(row.version)]));
}

/** Records that these projections' tables are built with their current version (in `knex`, maybe a transaction). */
export async function recordVersions(knex: Knex, projections: ReadonlyArray<Pick<RowProjection, 'name' | 'version'>>): Promise<void> {
  if (projections.length === 0) return;
  await knex(VERSIONS_TABLE)
    .insert(projections.map((projection) => ({ projection: projection.name, version: projection.version })))
    .onConflict('projection')
    .merge(['version']);
}

/**
 * The projections whose tables were built with another version than their code's.
 * A projection seen for the first time gets its version recorded: its current one when
 * it has built nothing yet (no checkpoint), else the version before recording began.
 */
export async function outdatedProjections(knex: Knex, projections: readonly RowProjection[]): Promise<RowProjection[]> {
  const names = projections.map((projection) => projection.name);
  const recorded = await loadVersions(knex, names);
  const unrecorded = projections.filter((projection) => !recorded.has(projection.name));
  if (unrecorded.length > 0) {
    const built = new Set(
      (await knex(CHECKPOINTS_TABLE).select('projection').whereIn('projection', unrecorded.map((projection) => projection.name))).map(
        (row: { projection: string }) => row.projection,
      ),
    );
    const first = unrecorded.map((projection) => ({
      name: projection.name,
      version: built.has(projection.name) ? VERSION_BEFORE_RECORDING : projection.version,
    }));
    await knex(VERSIONS_TABLE)
      .insert(first.map((entry) => ({ projection: entry.name, version: entry.version })))
      .onConflict('projection')
      .ignore();
    for (const entry of first) recorded.set(entry.name, entry.version);
  }
  return projections.filter((projection) => recorded.get(projection.name) !== projection.version);
}
