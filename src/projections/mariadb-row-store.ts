/**
 * RowStore on MariaDB: pooled mysql2 connections, multi-row statements
 * (INSERT ... ON DUPLICATE KEY UPDATE), values escaped client-side by mysql2. Times
 * are written as 'YYYY-MM-DD HH:MM:SS.mmm' in the UTC session (row-codec.ts).
 * A transaction's statements go to the server together, as multi-statement queries
 * (the read-model pool allows them, see read-model-db.ts): a live batch, with its
 * START TRANSACTION, upserts, checkpoints and COMMIT, is one round trip, not five to eight.
 */
import type { Knex } from 'knex';
import { decodeRow, encodeRow, type Row, type RowValue } from './row-codec.js';
import type { RowChange, RowStore, RowStoreTransaction } from './row-store.js';
import { withPoolConnection } from './pool-connection.js';
import { chunk, groupByColumns, quoteIdentifier } from './statement-parts.js';

/** Rows per INSERT: ~2,000 rows of ~30 columns stays far below max_allowed_packet (16 MB). */
const ROWS_PER_INSERT = 2000;
/**
 * Statements of a transaction are sent together up to this many characters: a live
 * batch in one query. Joining strings past 128 KiB puts them in V8's large-object
 * space, about 20 times the cost per byte (see TEXT_PACKET_CHARS in mariadb-event-log.ts).
 */
const SEND_AT_CHARS = 120_000;
/**
 * A statement of this many rows or keys or more (a rebuild's) goes alone, formatted by
 * mysql2 as it is sent: formatting it here as well, to join it, made a MariaDB rebuild
 * take 8-20 % more CPU and up to 100 MB more memory.
 */
const ALONE_FROM_ITEMS = 100;
const KEYS_PER_LOOKUP = 5000;
/** Strings from this length on are quoted by longTextLiteral, not by mysql2's escaping. */
const LONG_TEXT_CHARS = 4096;
const LONG_TEXT_ESCAPES: Readonly<Record<string, string>> = { '\0': '\\0', '\x1a': '\\Z', "'": "\\'", '\\': '\\\\' };

/**
 * A long string (a running execution's ~1 MB execution_details) as a quoted literal,
 * with only the characters escaped that must be (quote, backslash) or should be
 * (NUL, Ctrl-Z) inside '...' (backslash escapes on, as mysql2 assumes). mysql2's
 * escaping also escapes every double quote, and JSON is full of them: it walked the
 * document quote by quote, building the literal from ~50,000 pieces each time
 * (~0.35 s of CPU in bench:fanout). mysql2 takes an object with toSqlString as is.
 */
function longTextLiteral(text: string): { toSqlString(): string } {
  return { toSqlString: () => `'${text.replace(/[\0\x1a'\\]/g, (c) => LONG_TEXT_ESCAPES[c]!)}'` };
}

function sqlValue(value: RowValue | undefined): RowValue | { toSqlString(): string } {
  if (value === undefined) return null;
  return typeof value === 'string' && value.length >= LONG_TEXT_CHARS ? longTextLiteral(value) : value;
}

/** The callback API of a mysql2 connection, as much of it as is used here. */
interface MySqlConnection {
  query(sql: string, values: unknown[], callback: (error: Error | null, result: unknown) => void): void;
  /** The SQL with `values` escaped into it, as `query` would send it. */
  format(sql: string, values: unknown[]): string;
}

function query(connection: MySqlConnection, sql: string, values: unknown[] = []): Promise<unknown> {
  return new Promise((resolve, reject) => {
    connection.query(sql, values, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

class MariaDbRowStoreTransaction implements RowStoreTransaction {
  /** Statements written but not sent yet, with values in them. */
  private unsent: string[] = [];
  private unsentChars = 0;
  private begun = false;

  constructor(private readonly connection: MySqlConnection) {}

  /** Sends what is unsent (behind START TRANSACTION the first time; with COMMIT at the end). */
  async send(commit: boolean): Promise<void> {
    const statements = this.unsent;
    this.unsent = [];
    this.unsentChars = 0;
    if (statements.length === 0 && !this.begun) return; // nothing was written: nothing to commit
    if (!this.begun) statements.unshift('START TRANSACTION');
    this.begun = true;
    if (commit) statements.push('COMMIT');
    if (statements.length === 0) return;
    await query(this.connection, statements.join(';\n'));
  }

  /** Whether anything may have reached the server (then a failure needs a ROLLBACK). */
  get started(): boolean {
    return this.begun;
  }

  /** `items`: the rows or keys the statement carries. */
  private async write(sql: string, values: unknown[], items: number): Promise<void> {
    if (items >= ALONE_FROM_ITEMS) {
      await this.send(false);
      if (!this.begun) await query(this.connection, 'START TRANSACTION');
      this.begun = true;
      await query(this.connection, sql, values);
      return;
    }
    const statement = this.connection.format(sql, values);
    this.unsent.push(statement);
    this.unsentChars += statement.length;
    if (this.unsentChars >= SEND_AT_CHARS) await this.send(false);
  }

  /** One multi-row upsert of the changed rows: fewer round trips beat narrower updates here. */
  async writeChanges(table: string, keyColumn: string, changes: readonly RowChange[]): Promise<void> {
    const rows = changes.filter((change) => change.changedColumns === null || change.changedColumns.size > 0).map(({ next }) => next);
    if (rows.length > 0) await this.upsertRows(table, keyColumn, rows);
  }

  /** MariaDB resolves a conflict on any unique key, so the key column needs no naming here. */
  async upsertRows(table: string, _keyColumn: string, rows: readonly Row[]): Promise<void> {
    const encoded = rows.map((row) => encodeRow('mariadb', table, row));
    for (const group of groupByColumns(encoded)) {
      const columns = group.columns.map(quoteIdentifier);
      const updates = columns.map((column) => `${column} = VALUES(${column})`);
      const sql = `INSERT INTO ${quoteIdentifier(table)} (${columns.join(', ')}) VALUES ? ON DUPLICATE KEY UPDATE ${updates.join(', ')}`;
      for (const rowChunk of chunk(group.rows, ROWS_PER_INSERT)) {
        // mysql2 expands `VALUES ?` with an array of arrays into (...), (...).
        const values = rowChunk.map((row) => group.columns.map((column) => sqlValue(row[column])));
        await this.write(sql, [values], values.length);
      }
    }
  }

  async deleteRows(table: string, keyColumn: string, keys: readonly string[]): Promise<void> {
    for (const keyChunk of chunk(keys, KEYS_PER_LOOKUP)) {
      await this.write(`DELETE FROM ${quoteIdentifier(table)} WHERE ${quoteIdentifier(keyColumn)} IN (?)`, [keyChunk], keyChunk.length);
    }
  }
}

export class MariaDbRowStore implements RowStore {
  constructor(private readonly knex: Knex) {}

  private withConnection<T>(work: (connection: MySqlConnection) => Promise<T>): Promise<T> {
    return withPoolConnection<MySqlConnection, T>(this.knex, work);
  }

  loadRows(table: string, keyColumn: string, keys: readonly string[]): Promise<Map<string, Row>> {
    return this.withConnection(async (connection) => {
      const rows = new Map<string, Row>();
      for (const keyChunk of chunk(keys, KEYS_PER_LOOKUP)) {
        const found = (await query(
          connection,
          `SELECT * FROM ${quoteIdentifier(table)} WHERE ${quoteIdentifier(keyColumn)} IN (?)`,
          [keyChunk],
        )) as Array<Record<string, unknown>>;
        for (const raw of found) {
          const row = decodeRow(raw);
          const key = row[keyColumn];
          if (typeof key === 'string') rows.set(key, row);
        }
      }
      return rows;
    });
  }

  inTransaction<T>(work: (trx: RowStoreTransaction) => Promise<T>): Promise<T> {
    return this.withConnection(async (connection) => {
      const trx = new MariaDbRowStoreTransaction(connection);
      try {
        const result = await work(trx);
        await trx.send(true);
        return result;
      } catch (error) {
        // A failed statement stops the rest of its query: the transaction is still open.
        if (trx.started) await query(connection, 'ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }
}
