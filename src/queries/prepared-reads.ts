/**
 * Read-model queries as prepared statements on the raw driver connection of knex's
 * pool, for the reads every write answer makes: better-sqlite3 statements prepared
 * once per connection; on MariaDB mysql2's `execute` (prepared on the server, cached
 * per connection by mysql2), or several reads as one multi-statement query. knex
 * builds each query's SQL again and, on SQLite, prepares it again on every run: that
 * was about a quarter of the service's CPU in bench:commands.
 *
 * The SQL must read the same on both databases: plain identifiers, `?` parameters,
 * no dialect functions. Rows come back as the driver gives them, as knex does
 * (row-values.ts makes the two shapes one).
 */
import type { Database, Statement } from 'better-sqlite3';
import type { Knex } from 'knex';
import { withPoolConnection } from '../projections/pool-connection.js';
import type { Row } from './row-values.js';

export type SqlParam = string | number | null;

export interface PreparedReads {
  all(sql: string, params: readonly SqlParam[]): Promise<Row[]>;
  /** The first row, or undefined; the SQL says LIMIT 1 when more may match. */
  first(sql: string, params: readonly SqlParam[]): Promise<Row | undefined>;
}

/** `?, ?, ?` for an IN list of `count` values (count >= 1). */
export function placeholders(count: number): string {
  return count === 1 ? '?' : new Array<string>(count).fill('?').join(', ');
}

/**
 * A LIMIT count to write into the SQL text: a bound LIMIT is refused by some servers'
 * prepared statements (mysql2 sends numbers as DOUBLE).
 */
export function sqlLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, not ${limit}`);
  return limit;
}

/** Statements live as long as their connection (the pool may replace it). */
const sqliteStatements = new WeakMap<Database, Map<string, Statement>>();

function sqliteStatement(connection: Database, sql: string): Statement {
  let statements = sqliteStatements.get(connection);
  if (!statements) {
    statements = new Map();
    sqliteStatements.set(connection, statements);
  }
  let statement = statements.get(sql);
  if (!statement) {
    statement = connection.prepare(sql);
    statements.set(sql, statement);
  }
  return statement;
}

interface QueuedRead {
  sql: string;
  params: readonly SqlParam[];
  first: boolean;
  resolve(result: Row[] | Row | undefined): void;
  reject(error: unknown): void;
}

/**
 * Reads asked for in the same microtask (an answer's reads, started together with
 * Promise.all, and the answers of writes one projection batch released) are handed to
 * `runTogether` at once, which settles each of them.
 */
class QueuedReads implements PreparedReads {
  private queued: QueuedRead[] = [];

  constructor(private readonly runTogether: (reads: QueuedRead[]) => Promise<void>) {}

  all(sql: string, params: readonly SqlParam[]): Promise<Row[]> {
    return this.enqueue(sql, params, false) as Promise<Row[]>;
  }

  first(sql: string, params: readonly SqlParam[]): Promise<Row | undefined> {
    return this.enqueue(sql, params, true) as Promise<Row | undefined>;
  }

  private enqueue(sql: string, params: readonly SqlParam[], first: boolean): Promise<Row[] | Row | undefined> {
    return new Promise((resolve, reject) => {
      if (this.queued.length === 0) queueMicrotask(() => void this.runQueued());
      this.queued.push({ sql, params, first, resolve, reject });
    });
  }

  private async runQueued(): Promise<void> {
    const reads = this.queued;
    this.queued = [];
    try {
      await this.runTogether(reads);
    } catch (error) {
      // The connection could not be had (or the read transaction not ended): whatever is unsettled fails.
      for (const read of reads) read.reject(error);
    }
  }
}

/**
 * On SQLite the reads run together on one pool connection and, for two or more, in one
 * read transaction. Each autocommit read takes and drops the WAL read lock (file locking
 * system calls), which cost more than a key lookup itself; together they also read one
 * snapshot.
 */
function sqliteReadsTogether(knex: Knex) {
  return (reads: QueuedRead[]) =>
    withPoolConnection<Database, void>(knex, async (connection) => {
      const together = reads.length > 1 && !connection.inTransaction;
      if (together) sqliteStatement(connection, 'BEGIN').run();
      try {
        for (const read of reads) {
          try {
            const statement = sqliteStatement(connection, read.sql);
            read.resolve(read.first ? (statement.get(read.params) as Row | undefined) : (statement.all(read.params) as Row[]));
          } catch (error) {
            read.reject(error);
          }
        }
      } finally {
        if (together) sqliteStatement(connection, 'COMMIT').run();
      }
    });
}

/** The callback API of a mysql2 connection, as much of it as is used here. */
interface MySqlConnection {
  execute(sql: string, values: readonly SqlParam[], callback: (error: Error | null, rows: unknown) => void): void;
  query(sql: string, callback: (error: Error | null, results: unknown) => void): void;
  /** The SQL with `values` escaped into it, as `query` would send it. */
  format(sql: string, values: readonly SqlParam[]): string;
}

function executeOn(connection: MySqlConnection, read: QueuedRead): Promise<void> {
  return new Promise((resolve) => {
    connection.execute(read.sql, read.params, (error, rows) => {
      if (error) read.reject(error);
      else read.resolve(read.first ? (rows as Row[])[0] : (rows as Row[]));
      resolve();
    });
  });
}

/**
 * On MariaDB the reads go to the server as one multi-statement query: one round trip
 * instead of one each. A round trip costs the service a socket write and a wake-up of
 * the server (tens of microseconds on loopback in a VM) besides its parsing, and
 * bench:commands made about two reads per answer. A single read stays a prepared
 * statement. The values are escaped by mysql2, as for every knex query (the read-model
 * pool allows multiple statements for this, see read-model-db.ts).
 */
function mariaDbReadsTogether(knex: Knex) {
  return (reads: QueuedRead[]) =>
    withPoolConnection<MySqlConnection, void>(knex, async (connection) => {
      if (reads.length === 1) return executeOn(connection, reads[0]!);
      const results = await new Promise<unknown[] | Error>((resolve) => {
        const sql = reads.map((read) => connection.format(read.sql, read.params)).join(';\n');
        connection.query(sql, (error, sets) => resolve(error ?? (sets as unknown[])));
      });
      if (results instanceof Error) {
        // The server runs none after a failed statement: each read on its own, so each
        // gets its own answer or error.
        for (const read of reads) await executeOn(connection, read);
        return;
      }
      reads.forEach((read, i) => {
        const rows = (results[i] ?? []) as Row[];
        read.resolve(read.first ? rows[0] : rows);
      });
    });
}

const readsByKnex = new WeakMap<Knex, PreparedReads>();

/** The prepared reads of this knex instance's database (one per instance). */
export function preparedReadsOf(knex: Knex): PreparedReads {
  let reads = readsByKnex.get(knex);
  if (!reads) {
    const driver = (knex.client as { driverName?: string }).driverName;
    if (driver === 'better-sqlite3') reads = new QueuedReads(sqliteReadsTogether(knex));
    else if (driver === 'mysql2') reads = new QueuedReads(mariaDbReadsTogether(knex));
    else throw new Error(`prepared reads: no support for the ${String(driver)} driver`);
    readsByKnex.set(knex, reads);
  }
  return reads;
}
