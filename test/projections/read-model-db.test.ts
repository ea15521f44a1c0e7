import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openReadModelDb, type ReadModelDb } from '../../src/projections/read-model-db.js';
import { rowStoreFor } from '../../src/projections/row-store.js';
import { createTestDatabase, type TestDatabase } from '../support/mariadb.js';

const READ_MODEL_TABLES = [
  'replication_schedules',
  'vm_machine_groups',
  'vm_group_memberships',
  'schedule_executions',
  'vm_replication_contexts',
  'replication_jobs',
  'projection_checkpoints',
];

const scheduleRow = {
  id: 'Sched-AbC',
  name: 'nightly',
  description: null,
  schedule_type: 'cron',
  cron_expression: '0 18 * * *',
  timezone: 'UTC',
  chain_parent_schedule_id: null,
  chain_delay_minutes: 0,
  chain_trigger_on: 'success',
  replication_type: 'auto',
  max_concurrent_jobs: 1,
  retry_attempts: 3,
  retry_delay_minutes: 30,
  enabled: 0,
  skip_if_running: 1,
  catchup_policy: 'latest',
  catchup_window_minutes: 60,
  jitter_seconds: 0,
  next_run_at: '2026-11-28T18:00:00.123Z',
  last_run_at: null,
  created_at: '2026-03-29T00:59:59.999Z',
  updated_at: '2026-10-25T01:30:00.000Z',
  created_by: 'alice',
};

/** The same checks for both databases: tables, the row codec, concurrent opening. */
function describeReadModelDb(label: string, open: () => Promise<{ open(): Promise<ReadModelDb>; dispose(): Promise<void> }>) {
  describe(`read-model database on ${label}`, () => {
    let target: { open(): Promise<ReadModelDb>; dispose(): Promise<void> };
    before(async () => {
      target = await open();
    });
    after(async () => {
      await target?.dispose();
    });

    it('two instances opening at once both find every table (migrations run once)', async () => {
      const [first, second] = await Promise.all([target.open(), target.open()]);
      try {
        for (const table of READ_MODEL_TABLES) assert.equal(await first.knex.schema.hasTable(table), true, table);
        await first.ping();
        await second.ping();
      } finally {
        await first.close();
        await second.close();
      }
    });

    it('gives back times as ISO strings with milliseconds, ints as numbers, flags as 0/1, case-sensitive ids', async () => {
      const db = await target.open();
      try {
        const store = rowStoreFor(db);
        const otherCase = { ...scheduleRow, id: 'sched-abc', name: 'other case', enabled: 1 };
        await store.inTransaction((trx) => trx.upsertRows('replication_schedules', 'id', [scheduleRow, otherCase]));
        const rows = await store.loadRows('replication_schedules', 'id', [scheduleRow.id, otherCase.id, 'absent']);
        assert.deepEqual(rows.get(scheduleRow.id), scheduleRow);
        assert.deepEqual(rows.get(otherCase.id), otherCase);
        assert.equal(rows.size, 2);
        const viaKnex = await db.knex('replication_schedules').where({ id: scheduleRow.id }).first('enabled', 'jitter_seconds');
        assert.deepEqual({ ...viaKnex }, { enabled: 0, jitter_seconds: 0 });
      } finally {
        await db.close();
      }
    });

    it('indexes the time columns that reports and exports select ranges by', async () => {
      const db = await target.open();
      try {
        const wanted: Array<[string, string[]]> = [
          ['replication_jobs', ['completed_at']],
          ['replication_jobs', ['started_at']],
          ['schedule_executions', ['scheduled_at']],
          ['schedule_executions', ['group_id', 'scheduled_at']],
        ];
        for (const [table, columns] of wanted) {
          const indexed = await indexedColumnLists(db, table);
          assert.ok(indexed.some((list) => list.join(',') === columns.join(',')), `${table} (${columns.join(', ')}) among ${JSON.stringify(indexed)}`);
        }
        if (db.kind === 'sqlite') {
          const plan = (await db.knex.raw(
            "EXPLAIN QUERY PLAN SELECT * FROM replication_jobs WHERE completed_at >= '2026-01-01' AND completed_at < '2026-02-01'",
          )) as Array<{ detail: string }>;
          assert.match(plan.map((step) => step.detail).join('; '), /USING INDEX replication_jobs_completed_at_idx/);
        }
      } finally {
        await db.close();
      }
    });

    it('keeps long and short texts exactly: quotes, backslashes, NUL, Ctrl-Z, newlines, placeholders, non-ASCII', async () => {
      const db = await target.open();
      try {
        const store = rowStoreFor(db);
        const tricky = `it's "quoted" \\ back\\slash \\' \0 nul \x1a ctrl-z \n\r\t ? ?? é 漢 🙂 {"a":"b\\"c"}`;
        const long = JSON.stringify({ vms: Array.from({ length: 200 }, (_, i) => ({ i, name: `vm-${i}`, note: tricky })) });
        assert.ok(long.length > 10_000);
        const rows = [
          { ...scheduleRow, id: 'text-long', description: long },
          { ...scheduleRow, id: 'text-short', description: tricky },
          { ...scheduleRow, id: 'text-long-raw', description: tricky.repeat(400) },
        ];
        await store.inTransaction((trx) => trx.upsertRows('replication_schedules', 'id', rows));
        const loaded = await store.loadRows('replication_schedules', 'id', rows.map((row) => row.id));
        for (const row of rows) assert.equal(loaded.get(row.id)?.description, row.description, row.id);
      } finally {
        await db.close();
      }
    });

    it('writes nothing of a transaction one of whose statements fails', async () => {
      const db = await target.open();
      try {
        const store = rowStoreFor(db);
        await assert.rejects(
          store.inTransaction(async (trx) => {
            await trx.upsertRows('replication_schedules', 'id', [{ ...scheduleRow, id: 'kept-out-1' }]);
            await trx.deleteRows('replication_schedules', 'id', ['Sched-AbC']);
            await trx.upsertRows('replication_schedules', 'id', [{ ...scheduleRow, id: 'kept-out-2', catchup_policy: 'sometimes' }]);
          }),
        );
        const ids = (await db.knex('replication_schedules').select('id').whereIn('id', ['kept-out-1', 'kept-out-2', 'Sched-AbC'])) as Array<{ id: string }>;
        assert.deepEqual(ids.map((row) => row.id), ['Sched-AbC']);
        // The connection is usable afterwards, with no transaction left open on it.
        await store.inTransaction((trx) => trx.upsertRows('replication_schedules', 'id', [{ ...scheduleRow, id: 'after-failure', name: 'after' }]));
        assert.equal((await store.loadRows('replication_schedules', 'id', ['after-failure'])).size, 1);
      } finally {
        await db.close();
      }
    });

    it('commits a transaction too large for one query whole', async () => {
      const db = await target.open();
      try {
        const store = rowStoreFor(db);
        // ~6 MB of rows: several round trips on MariaDB, one transaction all the same.
        const description = 'why? '.repeat(400); // a '?' in a value is data, not a placeholder
        const rows = Array.from({ length: 3000 }, (_, i) => ({ ...scheduleRow, id: `bulk-${i}`, name: `bulk ${i}`, description }));
        await store.inTransaction(async (trx) => {
          for (let start = 0; start < rows.length; start += 500) await trx.upsertRows('replication_schedules', 'id', rows.slice(start, start + 500));
        });
        const loaded = await store.loadRows('replication_schedules', 'id', rows.map((row) => row.id));
        assert.equal(loaded.size, rows.length);
        assert.equal(loaded.get('bulk-2999')?.description, description);
        await assert.rejects(
          store.inTransaction(async (trx) => {
            await trx.deleteRows('replication_schedules', 'id', rows.map((row) => row.id));
            await trx.upsertRows('replication_schedules', 'id', [{ ...scheduleRow, id: 'bad-late', schedule_type: 'hourly' }]);
          }),
        );
        assert.equal((await store.loadRows('replication_schedules', 'id', rows.map((row) => row.id))).size, rows.length);
      } finally {
        await db.close();
      }
    });

    it('rejects a value outside an enum', async () => {
      const db = await target.open();
      try {
        await assert.rejects(
          rowStoreFor(db).inTransaction((trx) => trx.upsertRows('replication_schedules', 'id', [{ ...scheduleRow, id: 'bad', schedule_type: 'hourly' }])),
        );
      } finally {
        await db.close();
      }
    });
  });
}

/** The column lists of a table's indexes, in index order. */
async function indexedColumnLists(db: ReadModelDb, table: string): Promise<string[][]> {
  if (db.kind === 'sqlite') {
    const indexes = (await db.knex.raw(`PRAGMA index_list(${table})`)) as Array<{ name: string }>;
    const lists: string[][] = [];
    for (const { name } of indexes) {
      const columns = (await db.knex.raw(`PRAGMA index_info(${name})`)) as Array<{ seqno: number; name: string }>;
      lists.push(columns.sort((a, b) => a.seqno - b.seqno).map((column) => column.name));
    }
    return lists;
  }
  const [rows] = (await db.knex.raw(`SHOW INDEX FROM ${table}`)) as [Array<{ Key_name: string; Seq_in_index: number; Column_name: string }>];
  const byIndex = new Map<string, Array<{ seq: number; column: string }>>();
  for (const row of rows) byIndex.set(row.Key_name, [...(byIndex.get(row.Key_name) ?? []), { seq: row.Seq_in_index, column: row.Column_name }]);
  return [...byIndex.values()].map((columns) => columns.sort((a, b) => a.seq - b.seq).map((entry) => entry.column));
}

describeReadModelDb('SQLite', async () => {
  const parent = await mkdtemp(path.join(tmpdir(), 'read-model-db-'));
  const dataDir = path.join(parent, 'not', 'yet', 'there');
  return {
    open: async () => {
      const db = await openReadModelDb({ dataDir });
      assert.ok((await stat(path.join(dataDir, 'readmodels.sqlite'))).isFile());
      const [mode] = (await db.knex.raw('pragma journal_mode')) as Array<{ journal_mode: string }>;
      assert.equal(mode?.journal_mode, 'wal');
      return db;
    },
    dispose: () => rm(parent, { recursive: true, force: true }),
  };
});

describeReadModelDb('MariaDB', async () => {
  const database: TestDatabase = await createTestDatabase('t_readmodel_db');
  return {
    open: () => openReadModelDb({ databaseUrl: database.url, dataDir: path.join(tmpdir(), 'unused-read-model-dir') }),
    dispose: () => database.drop(),
  };
});
