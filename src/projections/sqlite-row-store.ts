/**
 * RowStore on SQLite: the pool's better-sqlite3 connection with cached prepared
 * statements. A transaction is BEGIN IMMEDIATE ... COMMIT on that one connection,
 * held throughout (knex's SQLite pool has one connection, so nothing interleaves).
 * Values are stored as they come (times are already ISO strings, flags 0/1).
 */
import type { Database, Statement } from 'better-sqlite3';
import type { Knex } from 'knex';
import type { Row, RowValue } from './row-codec.js';
import type { RowChange, RowStore, RowStoreTransaction } from './row-store.js';
import { withPoolConnection } from './pool-connection.js';
import { chunk, groupByColumns, quoteIdentifier } from './statement-parts.js';

/** Keys per lookup statement; shorter chunks are padded by repeating a key (IN ignores repeats). */
const KEYS_PER_LOOKUP = 500;
/**
 * Lookup statement sizes: a live batch touches a handful of keys, and binding and
 * searching 500 placeholders for them cost more than the rest of the batch.
 */
const LOOKUP_SIZES = [1, 8, 64, KEYS_PER_LOOKUP] as const;

function lookupSizeFor(keys: number): number {
  return LOOKUP_SIZES.find((size) => size >= keys) ?? KEYS_PER_LOOKUP;
}

class SqliteStatements {
  private readonly bySql = new Map<string, Statement>();
  private readonly updates = new Map<string, Statement>();

  constructor(private readonly connection: Database) {}

  get(sql: string): Statement {
    let statement = this.bySql.get(sql);
    if (!statement) {
      statement = this.connection.prepare(sql);
      this.bySql.set(sql, statement);
    }
    return statement;
  }

  private readonly lookups = new Map<string, { statement: Statement; columns: string[] }>();

  /**
   * SELECT * by KEYS_PER_LOOKUP keys, in raw mode (rows as arrays): building the row
   * objects here costs about a third less than better-sqlite3's own, per row.
   */
  lookup(table: string, keyColumn: string, size: number): { statement: Statement; columns: string[] } {
    const signature = `${table}\u0000${keyColumn}\u0000${size}`;
    let lookup = this.lookups.get(signature);
    if (!lookup) {
      const placeholders = new Array<string>(size).fill('?').join(',');
      const statement = this.connection
        .prepare(`SELECT * FROM ${quoteIdentifier(table)} WHERE ${quoteIdentifier(keyColumn)} IN (${placeholders})`)
        .raw(true);
      lookup = { statement, columns: statement.columns().map((column) => column.name) };
      this.lookups.set(signature, lookup);
    }
    return lookup;
  }

  /** UPDATE of `columns` by key, found by a cheap signature (it is asked for once per changed row). */
  update(table: string, keyColumn: string, columns: readonly string[]): Statement {
    const signature = `${table}\u0000${keyColumn}\u0000${columns.join('\u0000')}`;
    let statement = this.updates.get(signature);
    if (!statement) {
      const assignments = columns.map((column) => `${quoteIdentifier(column)} = ?`).join(', ');
      statement = this.get(`UPDATE ${quoteIdentifier(table)} SET ${assignments} WHERE ${quoteIdentifier(keyColumn)} = ?`);
      this.updates.set(signature, statement);
    }
    return statement;
  }
}

/** Statements live as long as their connection (the pool may replace it). */
const statementsByConnection = new WeakMap<Database, SqliteStatements>();

function statementsFor(connection: Database): SqliteStatements {
  let statements = statementsByConnection.get(connection);
  if (!statements) {
    statements = new SqliteStatements(connection);
    statementsByConnection.set(connection, statements);
  }
  return statements;
}

class SqliteRowStoreTransaction implements RowStoreTransaction {
  constructor(private readonly statements: SqliteStatements) {}

  /**
   * Absent rows are inserted; present ones get an UPDATE of their changed columns only
   * (a status report rewrites 3 columns of vm_replication_contexts, not 26, and SQLite
   * leaves alone the indexes whose columns are not set).
   */
  async writeChanges(table: string, keyColumn: string, changes: readonly RowChange[]): Promise<void> {
    const fullRows: Row[] = [];
    for (const { next, exists, changedColumns } of changes) {
      if (!exists || changedColumns === null) {
        fullRows.push(next);
        continue;
      }
      if (changedColumns.size === 0) continue;
      const columns = [...changedColumns];
      const values = columns.map((column) => next[column] ?? null);
      values.push(next[keyColumn] ?? null);
      this.statements.update(table, keyColumn, columns).run(values);
    }
    if (fullRows.length > 0) await this.upsertRows(table, keyColumn, fullRows);
  }

  async upsertRows(table: string, keyColumn: string, rows: readonly Row[]): Promise<void> {
    for (const group of groupByColumns(rows)) {
      const columns = group.columns.map(quoteIdentifier);
      const updates = group.columns
        .filter((column) => column !== keyColumn)
        .map((column) => `${quoteIdentifier(column)} = excluded.${quoteIdentifier(column)}`);
      const upsert = this.statements.get(
        `INSERT INTO ${quoteIdentifier(table)} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ` +
          `ON CONFLICT (${quoteIdentifier(keyColumn)}) DO UPDATE SET ${updates.join(', ')}`,
      );
      const values = new Array<unknown>(group.columns.length);
      for (const row of group.rows) {
        for (let index = 0; index < group.columns.length; index += 1) values[index] = row[group.columns[index] ?? ''] ?? null;
        upsert.run(values);
      }
    }
  }

  async deleteRows(table: string, keyColumn: string, keys: readonly string[]): Promise<void> {
    const remove = this.statements.get(`DELETE FROM ${quoteIdentifier(table)} WHERE ${quoteIdentifier(keyColumn)} = ?`);
    for (const key of keys) remove.run(key);
  }
}

export class SqliteRowStore implements RowStore {
  constructor(private readonly knex: Knex) {}

  private withConnection<T>(work: (connection: Database) => Promise<T>): Promise<T> {
    return withPoolConnection<Database, T>(this.knex, work);
  }

  loadRows(table: string, keyColumn: string, keys: readonly string[]): Promise<Map<string, Row>> {
    return this.withConnection(async (connection) => {
      const rows = new Map<string, Row>();
      for (const keyChunk of chunk(keys, KEYS_PER_LOOKUP)) {
        const size = lookupSizeFor(keyChunk.length);
        const { statement, columns } = statementsFor(connection).lookup(table, keyColumn, size);
        const keyIndex = columns.indexOf(keyColumn);
        const padding = keyChunk[0] ?? '';
        while (keyChunk.length < size) keyChunk.push(padding);
        // better-sqlite3 gives text, numbers and null: the row shape as is, nothing to decode.
        for (const values of statement.all(keyChunk) as RowValue[][]) {
          const row: Row = {};
          for (let index = 0; index < columns.length; index += 1) row[columns[index] ?? ''] = values[index] ?? null;
          const key = values[keyIndex];
          if (typeof key === 'string') rows.set(key, row);
        }
      }
      return rows;
    });
  }

  inTransaction<T>(work: (trx: RowStoreTransaction) => Promise<T>): Promise<T> {
    return this.withConnection(async (connection) => {
      const statements = statementsFor(connection);
      statements.get('BEGIN IMMEDIATE').run();
      try {
        const result = await work(new SqliteRowStoreTransaction(statements));
        statements.get('COMMIT').run();
        return result;
      } catch (error) {
        if (connection.inTransaction) statements.get('ROLLBACK').run();
        throw error;
      }
    });
  }
}
