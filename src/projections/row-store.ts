/**
 * The narrow port the projections' working set reads and writes through: load
 * committed rows by key; in one transaction, write changed rows, upsert and delete.
 * One adapter per database, each on the raw driver connection taken from the knex
 * pool: knex compiles a multi-row SQLite insert into a UNION ALL capped at 500 rows,
 * and its per-statement building shows at a million events; prepared statements
 * (SQLite) and multi-row statements (MariaDB) keep a rebuild fast.
 */
import type { ReadModelDb } from './read-model-db.js';
import type { Row } from './row-codec.js';
import { MariaDbRowStore } from './mariadb-row-store.js';
import { SqliteRowStore } from './sqlite-row-store.js';

/** A row to write, and what is known of its stored version. */
export interface RowChange {
  /** The row as it must become. */
  next: Row;
  /** Whether the database holds the row (by key) now. */
  exists: boolean;
  /** The columns that differ from the stored row; null when unknown (all are written). */
  changedColumns: ReadonlySet<string> | null;
}

export interface RowStoreTransaction {
  /**
   * Inserts the rows that do not exist and updates the others (an adapter may write
   * only their changed columns).
   */
  writeChanges(table: string, keyColumn: string, changes: readonly RowChange[]): Promise<void>;
  /** Inserts the rows or, when the key exists, replaces every given column. */
  upsertRows(table: string, keyColumn: string, rows: readonly Row[]): Promise<void>;
  deleteRows(table: string, keyColumn: string, keys: readonly string[]): Promise<void>;
}

export interface RowStore {
  /** The committed rows whose key column holds one of `keys`, by key (absent keys are missing). */
  loadRows(table: string, keyColumn: string, keys: readonly string[]): Promise<Map<string, Row>>;
  /** Runs `work` in one transaction: commits when it resolves, rolls back when it rejects. */
  inTransaction<T>(work: (trx: RowStoreTransaction) => Promise<T>): Promise<T>;
}

export function rowStoreFor(db: ReadModelDb): RowStore {
  return db.kind === 'sqlite' ? new SqliteRowStore(db.knex) : new MariaDbRowStore(db.knex);
}
