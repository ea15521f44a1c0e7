/**
 * RowStore on MariaDB: pooled mysql2 connections, multi-row statements
 * (INSERT ... ON DUPLICATE KEY UPDATE), values escaped client-side by mysql2. Times
 * are written as 'YYYY-MM-DD HH:MM:SS.mmm' in the UTC session (row-codec.ts).
 */
import type { Knex } from 'knex';
import { decodeRow, encodeRow, type Row } from './row-codec.js';
import type { RowChange, RowStore, RowStoreTransaction } from './row-store.js';
import { withPoolConnection } from './pool-connection.js';
import { chunk, groupByColumns, quoteIdentifier } from './statement-parts.js';

/** Rows per INSERT: ~2,000 rows of ~30 columns stays far below max_allowed_packet (16 MB). */
const ROWS_PER_INSERT = 2000;
const KEYS_PER_LOOKUP = 5000;

/** The callback API of a mysql2 connection, as much of it as is used here. */
interface MySqlConnection {
  query(sql: string, values: unknown[], callback: (error: Error | null, result: unknown) => void): void;
}

function query(connection: MySqlConnection, sql: string, values: unknown[] = []): Promise<unknown> {
  return new Promise((resolve, reject) => {
    connection.query(sql, values, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

class MariaDbRowStoreTransaction implements RowStoreTransaction {
  constructor(private readonly connection: MySqlConnection) {}

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
        const values = rowChunk.map((row) => group.columns.map((column) => row[column] ?? null));
        await query(this.connection, sql, [values]);
      }
    }
  }

  async deleteRows(table: string, keyColumn: string, keys: readonly string[]): Promise<void> {
    for (const keyChunk of chunk(keys, KEYS_PER_LOOKUP)) {
      await query(this.connection, `DELETE FROM ${quoteIdentifier(table)} WHERE ${quoteIdentifier(keyColumn)} IN (?)`, [keyChunk]);
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
      await query(connection, 'START TRANSACTION');
      try {
        const result = await work(new MariaDbRowStoreTransaction(connection));
        await query(connection, 'COMMIT');
        return result;
      } catch (error) {
        await query(connection, 'ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }
}
