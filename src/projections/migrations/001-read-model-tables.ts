/**
 * The read-model tables of spec/readmodels.sql, column for column. On MariaDB the
 * time columns are timestamp(3); on SQLite they hold ISO-8601 strings (see
 * row-codec.ts). Enums are `enu`: native enums on MariaDB, CHECK constraints on SQLite.
 * Enum values are written out, not taken from the domain: a migration must stay as it
 * ran, and a new value needs a migration of its own.
 */
import type { Knex } from 'knex';

type TableBuilder = Knex.CreateTableBuilder;

const TABLES_IN_CREATION_ORDER = [
  'replication_schedules',
  'vm_machine_groups',
  'vm_group_memberships',
  'schedule_executions',
  'vm_replication_contexts',
  'replication_jobs',
  'projection_checkpoints',
] as const;

function isSqlite(knex: Knex): boolean {
  const client: unknown = knex.client.config.client;
  return typeof client === 'string' && client.includes('sqlite');
}

/** timestamp(3) on MariaDB, an ISO-8601 text column on SQLite. */
function instantColumn(knex: Knex, table: TableBuilder, name: string, required: boolean): void {
  const column = isSqlite(knex) ? table.string(name, 24) : table.timestamp(name, { precision: 3, useTz: false });
  if (required) column.notNullable();
  else column.nullable();
}

/**
 * A column holding an id. On MariaDB it compares byte for byte (utf8mb4_bin): ids are
 * case-sensitive (nanoid), and under the default case-insensitive collation two ids
 * differing only in case would collide on a key. Type and length are the spec's.
 */
function idColumn(knex: Knex, table: TableBuilder, name: string, length = 64): Knex.ColumnBuilder {
  const column = table.string(name, length);
  return isSqlite(knex) ? column : column.collate('utf8mb4_bin');
}

function createReplicationSchedules(knex: Knex, table: TableBuilder): void {
  idColumn(knex, table, 'id').notNullable().primary();
  table.string('name', 255).notNullable();
  table.text('description');
  table.string('cron_expression', 100);
  table.enu('schedule_type', ['cron', 'chain']).notNullable().defaultTo('cron');
  table.string('timezone', 50).notNullable().defaultTo('UTC');
  idColumn(knex, table, 'chain_parent_schedule_id');
  table.integer('chain_delay_minutes').notNullable().defaultTo(0);
  table.enu('chain_trigger_on', ['success', 'completion']).notNullable().defaultTo('success');
  table.enu('replication_type', ['full', 'incremental', 'auto']).notNullable().defaultTo('auto');
  table.integer('max_concurrent_jobs').notNullable().defaultTo(1);
  table.integer('retry_attempts').notNullable().defaultTo(3);
  table.integer('retry_delay_minutes').notNullable().defaultTo(30);
  table.boolean('enabled').notNullable().defaultTo(true);
  table.boolean('skip_if_running').notNullable().defaultTo(true);
  table.enu('catchup_policy', ['latest', 'all', 'skip']).notNullable().defaultTo('latest');
  table.integer('catchup_window_minutes').notNullable().defaultTo(60);
  table.integer('jitter_seconds').notNullable().defaultTo(0);
  instantColumn(knex, table, 'next_run_at', false);
  instantColumn(knex, table, 'last_run_at', false);
  instantColumn(knex, table, 'created_at', true);
  instantColumn(knex, table, 'updated_at', true);
  table.string('created_by', 255).notNullable().defaultTo('system');
}

function createVmMachineGroups(knex: Knex, table: TableBuilder): void {
  idColumn(knex, table, 'id').notNullable().primary();
  table.string('name', 255).notNullable();
  table.text('description');
  idColumn(knex, table, 'schedule_id');
  table.integer('max_concurrent_vms').notNullable().defaultTo(5);
  table.integer('max_members');
  table.integer('priority').notNullable().defaultTo(0);
  instantColumn(knex, table, 'created_at', true);
  instantColumn(knex, table, 'updated_at', true);
  table.string('created_by', 255).notNullable().defaultTo('system');
  table.index(['schedule_id']);
}

function createVmGroupMemberships(knex: Knex, table: TableBuilder): void {
  idColumn(knex, table, 'id').notNullable().primary();
  idColumn(knex, table, 'group_id').notNullable();
  idColumn(knex, table, 'vm_context_id').notNullable();
  table.boolean('enabled').notNullable().defaultTo(true);
  table.integer('priority').notNullable().defaultTo(0);
  idColumn(knex, table, 'schedule_override_id');
  instantColumn(knex, table, 'added_at', true);
  table.string('added_by', 255).notNullable().defaultTo('system');
  table.unique(['vm_context_id']);
  table.index(['group_id', 'priority']);
}

function createScheduleExecutions(knex: Knex, table: TableBuilder): void {
  idColumn(knex, table, 'id').notNullable().primary();
  idColumn(knex, table, 'schedule_id').notNullable();
  idColumn(knex, table, 'group_id');
  instantColumn(knex, table, 'scheduled_at', true);
  instantColumn(knex, table, 'started_at', false);
  instantColumn(knex, table, 'completed_at', false);
  table
    .enu('status', ['scheduled', 'running', 'completed', 'failed', 'skipped', 'cancelled'])
    .notNullable()
    .defaultTo('scheduled');
  table.integer('vms_eligible').notNullable().defaultTo(0);
  table.integer('jobs_created').notNullable().defaultTo(0);
  table.integer('jobs_completed').notNullable().defaultTo(0);
  table.integer('jobs_failed').notNullable().defaultTo(0);
  table.integer('jobs_skipped').notNullable().defaultTo(0);
  table.text('execution_details', 'longtext');
  table.text('error_message');
  table.text('error_details', 'longtext');
  table.integer('execution_duration_seconds');
  instantColumn(knex, table, 'created_at', true);
  table.string('triggered_by', 255).notNullable().defaultTo('scheduler');
  table.index(['schedule_id', 'scheduled_at']);
  table.index(['status']);
}

function createVmReplicationContexts(knex: Knex, table: TableBuilder): void {
  idColumn(knex, table, 'context_id').notNullable().primary();
  table.string('vm_name', 255).notNullable();
  table.string('vmware_vm_id', 255).notNullable();
  table.string('vm_path', 500).notNullable();
  table.string('vcenter_host', 255).notNullable();
  table.string('datacenter', 255).notNullable();
  table
    .enu('current_status', [
      'discovered',
      'replicating',
      'ready_for_failover',
      'failed_over_test',
      'failed_over_live',
      'completed',
      'failed',
      'cleanup_required',
    ])
    .notNullable()
    .defaultTo('discovered');
  idColumn(knex, table, 'current_job_id', 191);
  table.integer('total_jobs_run').notNullable().defaultTo(0);
  table.integer('successful_jobs').notNullable().defaultTo(0);
  table.integer('failed_jobs').notNullable().defaultTo(0);
  idColumn(knex, table, 'last_successful_job_id', 191);
  idColumn(knex, table, 'last_scheduled_job_id', 191);
  instantColumn(knex, table, 'next_scheduled_at', false);
  table.boolean('scheduler_enabled').notNullable().defaultTo(true);
  table.boolean('auto_added').notNullable().defaultTo(false);
  table.integer('cpu_count');
  table.integer('memory_mb');
  table.string('os_type', 255);
  table.string('power_state', 50);
  table.string('vm_tools_version', 255);
  instantColumn(knex, table, 'created_at', true);
  instantColumn(knex, table, 'updated_at', true);
  instantColumn(knex, table, 'first_job_at', false);
  instantColumn(knex, table, 'last_job_at', false);
  instantColumn(knex, table, 'last_status_change', true);
  table.unique(['vcenter_host', 'vmware_vm_id']);
}

function createReplicationJobs(knex: Knex, table: TableBuilder): void {
  idColumn(knex, table, 'id', 191).notNullable().primary();
  idColumn(knex, table, 'vm_context_id').notNullable();
  idColumn(knex, table, 'schedule_execution_id');
  idColumn(knex, table, 'schedule_id');
  idColumn(knex, table, 'vm_group_id');
  table.string('scheduled_by', 255);
  table.integer('attempt').notNullable().defaultTo(1);
  table.string('status', 50).notNullable();
  table.decimal('progress_percent', 5, 2).notNullable().defaultTo(0);
  table.text('error_message');
  table.text('phantom_reason');
  instantColumn(knex, table, 'started_at', false);
  instantColumn(knex, table, 'updated_at', true);
  instantColumn(knex, table, 'completed_at', false);
  table.index(['vm_context_id', 'status']);
  table.index(['schedule_execution_id']);
}

function createProjectionCheckpoints(knex: Knex, table: TableBuilder): void {
  table.string('projection', 100).notNullable().primary();
  table.string('position', 64).notNullable();
  table.bigInteger('events_applied').notNullable().defaultTo(0);
  instantColumn(knex, table, 'updated_at', true);
}

const BUILDERS: Record<(typeof TABLES_IN_CREATION_ORDER)[number], (knex: Knex, table: TableBuilder) => void> = {
  replication_schedules: createReplicationSchedules,
  vm_machine_groups: createVmMachineGroups,
  vm_group_memberships: createVmGroupMemberships,
  schedule_executions: createScheduleExecutions,
  vm_replication_contexts: createVmReplicationContexts,
  replication_jobs: createReplicationJobs,
  projection_checkpoints: createProjectionCheckpoints,
};

export async function up(knex: Knex): Promise<void> {
  for (const name of TABLES_IN_CREATION_ORDER) {
    await knex.schema.createTable(name, (table) => {
      if (!isSqlite(knex)) {
        // As the event store's tables: utf8mb4, case-insensitive text (ids override it with utf8mb4_bin).
        table.charset('utf8mb4');
        table.collate('utf8mb4_unicode_ci');
      }
      BUILDERS[name](knex, table);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const name of [...TABLES_IN_CREATION_ORDER].reverse()) {
    await knex.schema.dropTableIfExists(name);
  }
}
