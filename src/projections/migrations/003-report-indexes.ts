/**
 * Indexes for the reports and exports, which select by time range: success rates
 * by replication_jobs.completed_at, the jobs export by started_at, the executions
 * export by scheduled_at, and a group's recent executions by group and scheduled_at.
 * Without them each of these reads every row of its table. Blue/green shadow tables
 * copy a table's indexes, so a rebuilt table keeps them.
 */
import type { Knex } from 'knex';

const INDEXES: ReadonlyArray<{ table: string; columns: string[]; name: string }> = [
  { table: 'replication_jobs', columns: ['completed_at'], name: 'replication_jobs_completed_at_idx' },
  { table: 'replication_jobs', columns: ['started_at'], name: 'replication_jobs_started_at_idx' },
  { table: 'schedule_executions', columns: ['scheduled_at'], name: 'schedule_executions_scheduled_at_idx' },
  { table: 'schedule_executions', columns: ['group_id', 'scheduled_at'], name: 'schedule_executions_group_scheduled_idx' },
];

export async function up(knex: Knex): Promise<void> {
  for (const { table, columns, name } of INDEXES) {
    await knex.schema.alterTable(table, (builder) => {
      builder.index(columns, name);
    });
  }
}

/**
 * Tolerates an index that is gone: on SQLite a blue/green swap gives a rebuilt table's
 * indexes new names (they go with the table when 001 drops it).
 */
export async function down(knex: Knex): Promise<void> {
  const isSqlite = String(knex.client.config.client).includes('sqlite');
  for (const { table, name } of INDEXES) {
    if (isSqlite) await knex.raw(`DROP INDEX IF EXISTS \`${name}\``);
    else await knex.raw(`ALTER TABLE \`${table}\` DROP INDEX IF EXISTS \`${name}\``);
  }
}
