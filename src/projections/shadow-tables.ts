/**
 * Tables built beside the live read models: a blue/green rebuild fills
 * `<table>__rebuild` and swaps it in; verify fills `<table>__verify` and compares.
 * A shadow table is created as a copy of the live table's definition (columns,
 * keys, indexes), so the same projection code writes it unchanged.
 */
import { customAlphabet } from 'nanoid';
import type { Knex } from 'knex';
import type { ReadModelDb } from './read-model-db.js';
import { quoteIdentifier } from './statement-parts.js';

export type ShadowPurpose = 'rebuild' | 'verify';

const SHADOW_SUFFIX = /__(rebuild|verify|retired)$/;

/** `<table>__rebuild` or `<table>__verify`. */
export function shadowTableName(table: string, purpose: ShadowPurpose): string {
  return `${table}__${purpose}`;
}

/** The checkpoint name of a projection building a shadow table. */
export function shadowProjectionName(projection: string, purpose: ShadowPurpose): string {
  return `${projection}__${purpose}`;
}

/** Where the live table goes for the moment of a MariaDB swap (dropped right after). */
export function retiredTableName(table: string): string {
  return `${table}__retired`;
}

/** The live table a shadow table stands for (the table itself when it is none). */
export function baseTableOf(table: string): string {
  return table.replace(SHADOW_SUFFIX, '');
}

/** SQLite index names are global: a shadow's indexes get fresh ones (they keep them after the swap). */
const indexSuffix = customAlphabet('abcdefghijklmnopqrstuvwxyz0123456789', 8);

interface SqliteSchemaRow {
  type: 'table' | 'index';
  name: string;
  sql: string | null;
}

/** An empty table shaped like `table`, named `shadow` (an old one of that name is dropped first). */
export async function createShadowTable(db: ReadModelDb, table: string, shadow: string): Promise<void> {
  await dropTableIfExists(db.knex, shadow);
  if (db.kind === 'mariadb') {
    await db.knex.raw(`CREATE TABLE ${quoteIdentifier(shadow)} LIKE ${quoteIdentifier(table)}`);
    return;
  }
  const schema: SqliteSchemaRow[] = await db.knex('sqlite_master').select('type', 'name', 'sql').where('tbl_name', table);
  const tableSql = schema.find((entry) => entry.type === 'table')?.sql;
  if (!tableSql) throw new Error(`read models: no table ${table} to copy`);
  const tableName = new RegExp(`^(CREATE TABLE\\s+)(["\`]?)${table}\\2`, 'i');
  if (!tableName.test(tableSql)) throw new Error(`read models: cannot read the definition of ${table}`);
  await db.knex.transaction(async (trx) => {
    await trx.raw(tableSql.replace(tableName, `$1${quoteIdentifier(shadow)}`));
    // Automatic indexes (primary keys, UNIQUE in the table definition) have no SQL: they come with the table.
    const suffix = indexSuffix();
    const indexes = schema.filter((entry) => entry.type === 'index' && entry.sql !== null);
    for (const [position, index] of indexes.entries()) {
      const onTable = new RegExp(`^(CREATE (?:UNIQUE )?INDEX\\s+)(["\`]?)${index.name}\\2(\\s+on\\s+)(["\`]?)${table}\\4`, 'i');
      const sql = index.sql ?? '';
      if (!onTable.test(sql)) throw new Error(`read models: cannot read the definition of index ${index.name}`);
      const indexName = `${baseTableOf(table)}_ix${position}_${suffix}`;
      await trx.raw(sql.replace(onTable, `$1${quoteIdentifier(indexName)}$3${quoteIdentifier(shadow)}`));
    }
  });
}

export async function dropTableIfExists(knex: Knex, table: string): Promise<void> {
  await knex.raw(`DROP TABLE IF EXISTS ${quoteIdentifier(table)}`);
}

export async function tableExists(knex: Knex, table: string): Promise<boolean> {
  return knex.schema.hasTable(table);
}
