/**
 * The read-model database: MariaDB when a mysql:// URL is configured, otherwise the
 * embedded SQLite file `${dataDir}/readmodels.sqlite`. Opening it runs the
 * read-model migrations, so callers always find every table.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import mysql, { type SqlValue, type Timezone } from 'mysql2';
import { migrateReadModels } from './migrations/migration-source.js';
import type { ReadModelKind } from './row-codec.js';
import { BACKSTOP_AUTOCHECKPOINT_PAGES, startWalCheckpointer, type WalCheckpointer } from '../sqlite/wal-checkpointer.js';

export interface ReadModelDb {
  kind: ReadModelKind;
  knex: Knex;
  close(): Promise<void>;
  ping(): Promise<void>;
}

export interface ReadModelDbConfig {
  /** mysql://user:password@host:port/database; absent or null: the embedded SQLite file. */
  databaseUrl?: string | null;
  dataDir: string;
}

/** How long a SQLite writer waits on a lock held by another connection (ms). */
const SQLITE_BUSY_TIMEOUT_MS = 5000;
/**
 * SQLite page cache of the read-model connection, in KiB (negative cache_size). The
 * default 2 MB makes every lookup of a large table a file read; 64 MB holds the hot
 * pages of ~100k VMs and memberships.
 */
const SQLITE_CACHE_KIB = 65536;

interface MySqlSessionConnection {
  query(sql: string, callback: (error: Error | null) => void): void;
}

interface SqliteConnection {
  pragma(statement: string): unknown;
}

/**
 * mysql2's query formatting, except that SQL without values is sent as written: the
 * default scans all of it for placeholders even then, and the row store sends its
 * statements formatted already (a live batch's, a running execution's ~1 MB
 * execution_details): ~300 ms of CPU in bench:fanout's 5,000-VM execution.
 */
function sentAsWritten(sql: string, values: SqlValue | SqlValue[] | undefined, timezone: Timezone): string {
  if (values === undefined || values === null || (Array.isArray(values) && values.length === 0)) return sql;
  return mysql.format(sql, values, false, timezone);
}

function openMariaDb(databaseUrl: string): Knex {
  return knexFactory({
    client: 'mysql2',
    connection: {
      uri: databaseUrl,
      // Instants travel as UTC both ways; timestamps come back as Dates, decimals as numbers.
      timezone: 'Z',
      dateStrings: false,
      decimalNumbers: true,
      charset: 'utf8mb4',
      // The reads of write answers go as one multi-statement query (prepared-reads.ts).
      // No SQL here is built from request text: values are escaped by mysql2 or bound.
      multipleStatements: true,
      queryFormat: sentAsWritten,
    } as Knex.MySql2ConnectionConfig,
    pool: {
      min: 0,
      max: 10,
      // timestamp columns convert from the session time zone: pin it to UTC.
      afterCreate: (connection: MySqlSessionConnection, done: (error: Error | null, connection: unknown) => void) => {
        connection.query("SET time_zone = '+00:00'", (error) => done(error, connection));
      },
    },
  });
}

function openSqlite(filename: string): Knex {
  return knexFactory({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: {
      afterCreate: (connection: SqliteConnection, done: (error: Error | null, connection: unknown) => void) => {
        try {
          // busy_timeout first: switching to WAL needs a lock another process may hold.
          connection.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
          connection.pragma('journal_mode = WAL');
          connection.pragma('synchronous = NORMAL');
          connection.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
          // A worker checkpoints (wal-checkpointer.ts): the commits of the projections do not.
          connection.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
          done(null, connection);
        } catch (error) {
          done(error instanceof Error ? error : new Error(String(error)), connection);
        }
      },
    },
  });
}

export function isMariaDbUrl(databaseUrl: string | null | undefined): databaseUrl is string {
  return typeof databaseUrl === 'string' && /^(mysql|mariadb):\/\//i.test(databaseUrl);
}

export async function openReadModelDb(config: ReadModelDbConfig): Promise<ReadModelDb> {
  let kind: ReadModelKind;
  let knex: Knex;
  let sqliteFile: string | null = null;
  if (config.databaseUrl) {
    if (!isMariaDbUrl(config.databaseUrl)) throw new Error('read models: DATABASE_URL must be a mysql:// URL');
    kind = 'mariadb';
    // mysql2 only knows the mysql:// scheme.
    knex = openMariaDb(config.databaseUrl.replace(/^mariadb:/i, 'mysql:'));
  } else {
    kind = 'sqlite';
    await mkdir(config.dataDir, { recursive: true });
    sqliteFile = path.join(config.dataDir, 'readmodels.sqlite');
    knex = openSqlite(sqliteFile);
  }
  try {
    await migrateReadModels(knex);
  } catch (error) {
    await knex.destroy();
    throw error;
  }
  // After the migrations: the file exists, in WAL mode.
  const checkpointer: WalCheckpointer | null = sqliteFile === null ? null : startWalCheckpointer(sqliteFile);
  return {
    kind,
    knex,
    close: async () => {
      await checkpointer?.stop();
      await knex.destroy();
    },
    ping: async () => {
      await knex.raw('select 1');
    },
  };
}
