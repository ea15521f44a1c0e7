/**
 * The read-model migrations, listed in code rather than found on disk, so they run
 * the same under tsx (.ts) and compiled (.js). Append new ones at the end.
 */
import type { Knex } from 'knex';
import * as createReadModelTables from './001-read-model-tables.js';
import * as createProjectionVersions from './002-projection-versions.js';
import * as createReportIndexes from './003-report-indexes.js';

interface NamedMigration {
  name: string;
  migration: Knex.Migration;
}

const MIGRATIONS: readonly NamedMigration[] = [
  { name: '001-read-model-tables', migration: createReadModelTables },
  { name: '002-projection-versions', migration: createProjectionVersions },
  { name: '003-report-indexes', migration: createReportIndexes },
];

export const readModelMigrationSource: Knex.MigrationSource<NamedMigration> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: (entry) => entry.name,
  getMigration: async (entry) => entry.migration,
};

/** Knex's bookkeeping tables for these migrations (kept apart from any other migration set). */
export const READ_MODEL_MIGRATIONS_TABLE = 'read_model_migrations';

/** How long a starting instance waits for another one that holds the migration lock. */
const MIGRATION_LOCK_WAIT_MS = 30_000;
const MIGRATION_LOCK_POLL_MS = 250;

function isMigrationLocked(error: unknown): boolean {
  return error instanceof Error && error.name === 'MigrationLocked';
}

/** `CREATE TABLE IF NOT EXISTS` for a table built with knex's schema builder. */
async function createTableIfMissing(knex: Knex, table: string, build: (builder: Knex.CreateTableBuilder) => void): Promise<void> {
  for (const { sql, bindings } of knex.schema.createTable(table, build).toSQL()) {
    await knex.raw(sql.replace(/^create table /i, 'create table if not exists '), bindings);
  }
}

/**
 * Creates knex's bookkeeping tables (as knex would) and the single lock row, each step
 * idempotent. Left to knex, two instances starting at once race: one fails on "table
 * exists", or both insert a lock row and every later run finds the table "locked".
 */
async function ensureMigrationBookkeeping(knex: Knex): Promise<void> {
  await createTableIfMissing(knex, READ_MODEL_MIGRATIONS_TABLE, (table) => {
    table.increments();
    table.string('name');
    table.integer('batch');
    table.timestamp('migration_time');
  });
  const lockTable = `${READ_MODEL_MIGRATIONS_TABLE}_lock`;
  await createTableIfMissing(knex, lockTable, (table) => {
    table.increments('index').primary();
    table.integer('is_locked');
  });
  await knex(lockTable).insert({ index: 1, is_locked: 0 }).onConflict('index').ignore();
}

/**
 * Brings the read-model tables to the latest migration. Several service instances may
 * start at once: knex lets one migrate and fails the others, which wait and try again.
 */
export async function migrateReadModels(knex: Knex): Promise<void> {
  await ensureMigrationBookkeeping(knex);
  const deadline = Date.now() + MIGRATION_LOCK_WAIT_MS;
  for (;;) {
    try {
      await knex.migrate.latest({ migrationSource: readModelMigrationSource, tableName: READ_MODEL_MIGRATIONS_TABLE });
      return;
    } catch (error) {
      if (!isMigrationLocked(error) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, MIGRATION_LOCK_POLL_MS));
    }
  }
}

/** Drops every read-model table (all migrations rolled back); migrateReadModels creates them again. */
export async function dropReadModels(knex: Knex): Promise<void> {
  await knex.migrate.rollback({ migrationSource: readModelMigrationSource, tableName: READ_MODEL_MIGRATIONS_TABLE }, true);
}
