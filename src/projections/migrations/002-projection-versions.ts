/**
 * projection_versions: the version of its definition each projection's table was
 * built with (a changed version makes the service rebuild it, blue/green).
 * projection_swaps: the journal of a MariaDB blue/green swap in progress (RENAME
 * TABLE commits on its own, so the checkpoint that goes with the renamed tables is
 * written down first and completed after; see blue-green-swap.ts).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  const isSqlite = String(knex.client.config.client).includes('sqlite');
  const utf8 = (table: Knex.CreateTableBuilder) => {
    if (isSqlite) return;
    table.charset('utf8mb4');
    table.collate('utf8mb4_unicode_ci');
  };
  await knex.schema.createTable('projection_versions', (table) => {
    utf8(table);
    table.string('projection', 100).notNullable().primary();
    table.integer('version').notNullable();
  });
  await knex.schema.createTable('projection_swaps', (table) => {
    utf8(table);
    table.string('projection', 100).notNullable().primary();
    table.string('shadow_table', 100).notNullable();
    table.string('position', 64).notNullable();
    table.bigInteger('events_applied').notNullable();
    table.integer('version').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('projection_swaps');
  await knex.schema.dropTableIfExists('projection_versions');
}
