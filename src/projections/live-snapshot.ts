/**
 * A consistent, read-only view of the live read models as of one instant, held
 * while verify builds its shadow tables: the live runner moves on meanwhile, but
 * the snapshot keeps showing the rows together with the checkpoints they were
 * written with. MariaDB: a REPEATABLE READ transaction (the snapshot is taken at its
 * first read). SQLite: a read transaction on a connection of its own (WAL keeps the
 * snapshot while others write).
 */
import Database from 'better-sqlite3';
import type { Knex } from 'knex';
import { loadCheckpoints, type Checkpoint } from './checkpoints.js';
import type { ReadModelDb } from './read-model-db.js';
import { decodeRow, type Row } from './row-codec.js';
import { quoteIdentifier } from './statement-parts.js';

export interface LiveSnapshot {
  checkpoints(projectionNames: readonly string[]): Promise<Map<string, Checkpoint>>;
  /** Up to `limit` rows of `table` with key > `afterKey` (null: from the first), in key order. */
  page(table: string, keyColumn: string, afterKey: string | null, limit: number): Promise<Row[]>;
  close(): Promise<void>;
}

function sqliteFilename(knex: Knex): string {
  const connection: unknown = knex.client.config.connection;
  const filename = typeof connection === 'object' && connection !== null ? (connection as { filename?: unknown }).filename : undefined;
  if (typeof filename !== 'string') throw new Error('read models: no SQLite file to take a snapshot of');
  return filename;
}

function openSqliteSnapshot(db: ReadModelDb): LiveSnapshot {
  const connection = new Database(sqliteFilename(db.knex), { readonly: true, fileMustExist: true });
  connection.pragma('busy_timeout = 5000');
  connection.exec('BEGIN');
  return {
    async checkpoints(names) {
      const rows = connection.prepare('SELECT projection, position, events_applied FROM projection_checkpoints').all() as Array<{
        projection: string;
        position: string;
        events_applied: number;
      }>;
      const checkpoints = new Map<string, Checkpoint>(names.map((name) => [name, { position: null, eventsApplied: 0 }]));
      for (const row of rows) {
        if (checkpoints.has(row.projection)) checkpoints.set(row.projection, { position: row.position, eventsApplied: Number(row.events_applied) });
      }
      return checkpoints;
    },
    async page(table, keyColumn, afterKey, limit) {
      const key = quoteIdentifier(keyColumn);
      const rows = connection
        .prepare(`SELECT * FROM ${quoteIdentifier(table)} WHERE ? IS NULL OR ${key} > ? ORDER BY ${key} LIMIT ?`)
        .all(afterKey, afterKey, limit) as Array<Record<string, unknown>>;
      return rows.map(decodeRow);
    },
    async close() {
      if (connection.inTransaction) connection.exec('COMMIT');
      connection.close();
    },
  };
}

async function openMariaDbSnapshot(db: ReadModelDb): Promise<LiveSnapshot> {
  const trx = await db.knex.transaction({ isolationLevel: 'repeatable read' });
  return {
    checkpoints: (names) => loadCheckpoints(trx, names),
    async page(table, keyColumn, afterKey, limit) {
      const query = trx(table).select('*').orderBy(keyColumn).limit(limit);
      if (afterKey !== null) query.where(keyColumn, '>', afterKey);
      const rows: Array<Record<string, unknown>> = await query;
      return rows.map(decodeRow);
    },
    async close() {
      await trx.commit().catch(() => undefined); // read only: nothing to keep or undo
    },
  };
}

export async function openLiveSnapshot(db: ReadModelDb): Promise<LiveSnapshot> {
  return db.kind === 'sqlite' ? openSqliteSnapshot(db) : openMariaDbSnapshot(db);
}
