/**
 * Tables of the SQL event store, for SQLite and MariaDB.
 *
 * DDL is written per dialect (run on the raw drivers, better-sqlite3 and mysql2) because
 * the details matter here: AUTOINCREMENT (positions never reused), DATETIME(3),
 * a binary collation for stream ids, InnoDB/utf8mb4, and `IF NOT EXISTS` so that two
 * service instances starting at once do not race each other.
 */

export type SqlDialect = 'sqlite' | 'mariadb';

export const EVENTS_TABLE = 'events';
/** MariaDB only: its single row is locked `FOR UPDATE` by every append (see sql-event-store.ts). */
export const APPEND_LOCK_TABLE = 'event_append_lock';
export const APPEND_LOCK_ROW_ID = 1;

/** Name of the unique index on event ids: tells a duplicate id from a revision race. */
export const EVENT_ID_UNIQUE_INDEX = 'events_event_id_unique';

/** One row of the events table as the drivers return it. */
export interface EventRow {
  /** better-sqlite3 returns a number; mysql2 (bigNumberStrings) a string. */
  position: number | string;
  event_id: string;
  stream_id: string;
  revision: number;
  type: string;
  data: string;
  metadata: string;
  /** As written: the ISO string (SQLite) or the DATETIME(3) value (MariaDB); reads give the ISO string (EventColumns). */
  recorded_at: string | Date;
}

/** A row as inserted: the position is assigned by the database. */
export type NewEventRow = Omit<EventRow, 'position'>;

const SQLITE_DDL = [
  `CREATE TABLE IF NOT EXISTS ${EVENTS_TABLE} (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id CHAR(36) NOT NULL,
    stream_id VARCHAR(255) NOT NULL,
    revision INTEGER NOT NULL,
    type VARCHAR(255) NOT NULL,
    data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    recorded_at TEXT NOT NULL
  )`,
  `CREATE UNIQUE INDEX IF NOT EXISTS ${EVENT_ID_UNIQUE_INDEX} ON ${EVENTS_TABLE} (event_id)`,
  `CREATE UNIQUE INDEX IF NOT EXISTS events_stream_revision_unique ON ${EVENTS_TABLE} (stream_id, revision)`,
];

const MARIADB_DDL = [
  // stream_id uses a binary collation: 'Schedule-1' and 'schedule-1' are two streams,
  // as they are in EventStoreDB and SQLite. data/metadata are LONGTEXT checked as JSON
  // (MariaDB's JSON type is the same thing; MySQL's would reorder keys and change mysql2's
  // return type).
  `CREATE TABLE IF NOT EXISTS ${EVENTS_TABLE} (
    position BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    event_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    stream_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    revision INT NOT NULL,
    type VARCHAR(255) NOT NULL,
    data LONGTEXT NOT NULL,
    metadata LONGTEXT NOT NULL,
    recorded_at DATETIME(3) NOT NULL,
    PRIMARY KEY (position),
    UNIQUE KEY ${EVENT_ID_UNIQUE_INDEX} (event_id),
    UNIQUE KEY events_stream_revision_unique (stream_id, revision),
    CONSTRAINT events_data_is_json CHECK (JSON_VALID(data)),
    CONSTRAINT events_metadata_is_json CHECK (JSON_VALID(metadata))
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
  `CREATE TABLE IF NOT EXISTS ${APPEND_LOCK_TABLE} (
    id TINYINT UNSIGNED NOT NULL,
    PRIMARY KEY (id)
  ) ENGINE=InnoDB`,
  // INSERT IGNORE: idempotent when several instances start together.
  `INSERT IGNORE INTO ${APPEND_LOCK_TABLE} (id) VALUES (${APPEND_LOCK_ROW_ID})`,
];

/** Columns of an events row, in the order the adapters select and insert them. */
export const EVENT_COLUMNS = 'position, event_id, stream_id, revision, type, data, metadata, recorded_at';
export const INSERT_COLUMNS = 'event_id, stream_id, revision, type, data, metadata, recorded_at';

/**
 * Creates the event store tables when missing; safe to run concurrently from several processes.
 * `execute` runs one DDL statement on the dialect's driver.
 */
export async function ensureEventTables(
  execute: (statement: string) => unknown,
  dialect: SqlDialect,
): Promise<void> {
  for (const statement of dialect === 'sqlite' ? SQLITE_DDL : MARIADB_DDL) {
    await execute(statement);
  }
}
