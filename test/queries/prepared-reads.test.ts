/**
 * Prepared reads of write answers: reads asked for together (one SQLite read
 * transaction, one MariaDB multi-statement query) give each caller the same rows as
 * a read on its own; a failing read fails alone; values are escaped, never run.
 * SQLite and MariaDB (MariaDB fails, never skips, when it cannot be reached).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openReadModelDb, type ReadModelDb } from '../../src/projections/read-model-db.js';
import { preparedReadsOf } from '../../src/queries/prepared-reads.js';
import { createTestDatabase } from '../support/mariadb.js';

interface Target {
  db: ReadModelDb;
  dispose(): Promise<void>;
}

const targets: Record<string, () => Promise<Target>> = {
  sqlite: async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'prepared-reads-'));
    const db = await openReadModelDb({ dataDir });
    return { db, dispose: async () => { await db.close(); await rm(dataDir, { recursive: true, force: true }); } };
  },
  mariadb: async () => {
    const database = await createTestDatabase('t_reads');
    const db = await openReadModelDb({ databaseUrl: database.url, dataDir: path.join(tmpdir(), 'unused-read-model-dir') });
    return { db, dispose: async () => { await db.close(); await database.drop(); } };
  },
};

const AT = new Date('2026-11-29T05:00:00.000Z');
const groupRow = (id: string, name: string, maxMembers: number | null) => ({
  id, name, description: null, schedule_id: null, max_concurrent_vms: 5, max_members: maxMembers, priority: 3, created_at: AT, updated_at: AT, created_by: 'tester',
});
const membershipRow = (id: string, groupId: string, vmId: string, enabled: boolean) => ({
  id, group_id: groupId, vm_context_id: vmId, priority: 1, enabled, schedule_override_id: null, added_at: AT, added_by: 'tester',
});

const GROUP_SQL = 'SELECT * FROM vm_machine_groups WHERE id = ? LIMIT 1';
const COUNT_SQL = 'SELECT group_id, count(*) AS vm_count, sum(CASE WHEN enabled = 1 THEN 1 ELSE 0 END) AS enabled_vm_count FROM vm_group_memberships WHERE group_id = ? GROUP BY group_id';
const NAMES_SQL = 'SELECT name FROM vm_machine_groups WHERE name = ? ORDER BY name';

for (const [kind, open] of Object.entries(targets)) {
  describe(`prepared reads on ${kind}`, () => {
    let target: Target;

    before(async () => {
      target = await open();
      const { knex } = target.db;
      await knex('vm_machine_groups').insert([groupRow('g1', "O'Brien's group", 10), groupRow('g2', 'back\\slash', null)]);
      await knex('vm_group_memberships').insert([membershipRow('m1', 'g1', 'vm1', true), membershipRow('m2', 'g1', 'vm2', false), membershipRow('m3', 'g2', 'vm3', true)]);
    });

    after(async () => target.dispose());

    it('gives each of the reads asked for together the rows it gets on its own', async () => {
      const reads = preparedReadsOf(target.db.knex);
      const alone = [
        await reads.first(GROUP_SQL, ['g1']),
        await reads.all(COUNT_SQL, ['g1']),
        await reads.first(GROUP_SQL, ['g2']),
        await reads.all(COUNT_SQL, ['g2']),
        await reads.first(GROUP_SQL, ['none']),
        await reads.all(NAMES_SQL, ["O'Brien's group"]),
      ];
      const together = await Promise.all([
        reads.first(GROUP_SQL, ['g1']),
        reads.all(COUNT_SQL, ['g1']),
        reads.first(GROUP_SQL, ['g2']),
        reads.all(COUNT_SQL, ['g2']),
        reads.first(GROUP_SQL, ['none']),
        reads.all(NAMES_SQL, ["O'Brien's group"]),
      ]);
      assert.deepEqual(together, alone);
      assert.equal(together[0]?.name, "O'Brien's group");
      assert.equal(together[2]?.name, 'back\\slash');
      assert.equal(Number((together[1] as Record<string, unknown>[])[0]?.vm_count), 2);
      assert.equal(Number((together[1] as Record<string, unknown>[])[0]?.enabled_vm_count), 1);
      assert.equal(together[4], undefined);
      assert.deepEqual(together[5], [{ name: "O'Brien's group" }]);
    });

    it('fails only the read that fails; the others asked for with it still answer', async () => {
      const reads = preparedReadsOf(target.db.knex);
      const [good, bad, later] = await Promise.allSettled([
        reads.first(GROUP_SQL, ['g1']),
        reads.all('SELECT no_such_column FROM vm_machine_groups WHERE id = ?', ['g1']),
        reads.all(COUNT_SQL, ['g2']),
      ]);
      assert.equal(good.status, 'fulfilled');
      assert.equal(good.status === 'fulfilled' ? good.value?.id : null, 'g1');
      assert.equal(bad.status, 'rejected');
      assert.match(String(bad.status === 'rejected' ? (bad.reason as Error).message : ''), /no_such_column/);
      assert.equal(later.status, 'fulfilled');
      assert.equal(later.status === 'fulfilled' ? Number(later.value[0]?.vm_count) : null, 1);
    });

    it('treats a value that reads like SQL as a value', async () => {
      const reads = preparedReadsOf(target.db.knex);
      const hostile = "x? '; DELETE FROM vm_machine_groups; SELECT '?";
      const [rows, group] = await Promise.all([reads.all(NAMES_SQL, [hostile]), reads.first(GROUP_SQL, [hostile])]);
      assert.deepEqual(rows, []);
      assert.equal(group, undefined);
      const counted = (await target.db.knex('vm_machine_groups').count({ count: '*' })) as { count: number | string }[];
      assert.equal(Number(counted[0]?.count), 2);
    });
  });
}
