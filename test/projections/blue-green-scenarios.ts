/**
 * Blue/green rebuilds end to end, against a real event store and read-model database.
 * Run for SQLite and for MariaDB by blue-green.*.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allProjections } from '../../src/projections/all-projections.js';
import { applyBatch } from '../../src/projections/apply-batch.js';
import type { RowProjection } from '../../src/projections/projection.js';
import { RebuildAlreadyRunningError, type ProjectionRunnerOptions } from '../../src/projections/projection-runner.js';
import { loadVersions, outdatedProjections } from '../../src/projections/projection-versions.js';
import { openReadModelDb } from '../../src/projections/read-model-db.js';
import { membershipsProjection } from '../../src/projections/memberships.projection.js';
import { prepareShadowTables } from '../../src/projections/shadow-projections.js';
import { loadCheckpoints } from '../../src/projections/checkpoints.js';
import * as f from './fixtures.js';
import { projectionsWithSchedulesVersion2 } from './upgraded-projections.js';
import { readWholeLog, referenceSnapshot, rowsOf, snapshotReadModels, type Snapshot } from './read-model-snapshot.js';
import type { RunnerEnvironment } from './runner-scenarios.js';
import { useRunnerFixture } from './runner-fixture.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const WAIT_MS = 20_000;

/** Small pages and a tiny working set: the rebuild takes many steps, and queries run between them. */
const SLOW_REBUILD: ProjectionRunnerOptions = { blueGreenPageSize: 4, catchUpMaxRows: 8, catchUpFlushIntervalMs: 0 };

/** Every row of `before`'s tables still there, unchanged, in `now` (tables may hold more rows). */
function missingOrChanged(before: Snapshot, now: Snapshot): string[] {
  const problems: string[] = [];
  for (const [table, rows] of Object.entries(before)) {
    if (table === 'projection_checkpoints') continue;
    const present = new Set(rowsOf(now, table).map((row) => JSON.stringify(row)));
    for (const row of rows) if (!present.has(JSON.stringify(row))) problems.push(`${table}: ${JSON.stringify(row)}`);
  }
  return problems;
}

/** The read models a fresh replay of the whole log by `projections` builds (in a fresh SQLite database). */
async function replaySnapshot(env: RunnerEnvironment, projections: readonly RowProjection[]): Promise<Snapshot> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'blue-green-reference-'));
  const db = await openReadModelDb({ dataDir });
  try {
    await applyBatch(db, projections, new Map(), await readWholeLog(env.store), (a, b) => env.store.comparePositions(a, b));
    return await snapshotReadModels(db);
  } finally {
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export function describeBlueGreenScenarios(label: string, openEnvironment: () => Promise<RunnerEnvironment>): void {
  describe(`blue/green rebuild on ${label}`, () => {
    const fixture = useRunnerFixture(openEnvironment, 'bg');
    const { newRunner, newPrefix, emptyReadModels } = fixture;

    it('answers queries from whole tables throughout, applies what is appended meanwhile, and ends equal to a fresh replay', async () => {
      await emptyReadModels();
      const clock = f.minuteClock();
      let last = await f.appendRealisticHistory(fixture.env.store, newPrefix(), clock);
      last = await f.appendRealisticHistory(fixture.env.store, newPrefix(), clock);
      const runner = newRunner(allProjections, SLOW_REBUILD);
      await runner.start();
      assert.equal(await runner.waitForPosition(last, WAIT_MS), true);
      const before = await snapshotReadModels(fixture.env.db);
      const logLength = (await readWholeLog(fixture.env.store)).length;

      const rebuilt = runner.rebuildBlueGreen();
      let finished = false;
      void rebuilt.finally(() => {
        finished = true;
      });
      await assert.rejects(runner.rebuildBlueGreen(), RebuildAlreadyRunningError);
      // Queries while the rebuild runs; a new history (new ids) is appended in the middle.
      let queries = 0;
      let appended = false;
      const problems: string[] = [];
      while (!finished) {
        problems.push(...missingOrChanged(before, await snapshotReadModels(fixture.env.db)));
        queries += 1;
        const report = runner.rebuildReport;
        if (!appended && report !== null && report.events_done > 0) {
          last = await f.appendRealisticHistory(fixture.env.store, newPrefix(), clock);
          appended = true;
        }
      }
      const result = await rebuilt;
      assert.deepEqual(problems, [], 'every query saw every row of the live tables, unchanged');
      assert.ok(queries >= 3, `queries answered during the rebuild: ${queries}`);
      assert.equal(appended, true);
      assert.ok(result.events >= logLength, 'the rebuild read the whole log');

      // The events appended during the rebuild are in, once: rows and checkpoints equal a fresh replay.
      assert.equal(await runner.waitForPosition(last, WAIT_MS), true);
      const rebuiltSnapshot = await snapshotReadModels(fixture.env.db);
      assert.deepEqual(rebuiltSnapshot, await referenceSnapshot(fixture.env.store));
      assert.equal(runner.rebuildReport?.status, 'done');
      assert.equal(runner.rebuildReport?.mode, 'blue_green');
      // And the runner goes on from the swapped tables' checkpoints.
      last = await f.appendRealisticHistory(fixture.env.store, newPrefix(), clock);
      assert.equal(await runner.waitForPosition(last, WAIT_MS), true);
      assert.deepEqual(await snapshotReadModels(fixture.env.db), await referenceSnapshot(fixture.env.store));
      for (const table of ['replication_schedules__rebuild', 'replication_jobs__rebuild', 'replication_jobs__retired']) {
        assert.equal(await fixture.env.db.knex.schema.hasTable(table), false, `${table} is gone`);
      }
    });

    it('rebuilds one projection from a stopped runner (the CLI) and a second rebuild works the same', async () => {
      await emptyReadModels();
      const last = await f.appendRealisticHistory(fixture.env.store, newPrefix(), f.minuteClock());
      const live = newRunner();
      await live.start();
      assert.equal(await live.waitForPosition(last, WAIT_MS), true);
      await live.stop();
      const before = await snapshotReadModels(fixture.env.db);
      const cli = newRunner();
      await cli.rebuildBlueGreen({ projections: ['memberships'] });
      assert.deepEqual(await snapshotReadModels(fixture.env.db), before);
      await cli.rebuildBlueGreen({ projections: ['memberships', 'jobs'] });
      assert.deepEqual(await snapshotReadModels(fixture.env.db), before);
      await assert.rejects(cli.rebuildBlueGreen({ projections: ['nope'] }), /unknown projection/);
      // A runner without a lease (the only writer by configuration) rebuilds the same.
      await newRunner(allProjections, { lease: false }).rebuildBlueGreen({ projections: ['vm-contexts'] });
      assert.deepEqual(await snapshotReadModels(fixture.env.db), before);
    });

    it('rebuilds on start the projections whose version changed, and records the new version', async () => {
      await emptyReadModels();
      const clock = f.minuteClock();
      const last = await f.appendRealisticHistory(fixture.env.store, newPrefix(), clock);
      const first = newRunner(allProjections, { rebuildOutdated: true });
      await first.start();
      assert.equal(await first.waitForPosition(last, WAIT_MS), true);
      await first.stop();
      assert.equal((await loadVersions(fixture.env.db.knex, ['schedules'])).get('schedules'), 1);
      const descriptions = rowsOf(await snapshotReadModels(fixture.env.db), 'replication_schedules').map((row) => row.description);
      assert.ok(descriptions.some((description) => typeof description === 'string' && /[a-z]/.test(description)));

      const upgraded = newRunner(projectionsWithSchedulesVersion2, { rebuildOutdated: true });
      await upgraded.start();
      const deadline = Date.now() + WAIT_MS;
      while (upgraded.rebuildReport?.status !== 'done' && Date.now() < deadline) {
        assert.notEqual(upgraded.rebuildReport?.status, 'failed', upgraded.rebuildReport?.error ?? '');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.deepEqual(upgraded.rebuildReport?.projections, ['schedules']);
      assert.equal(upgraded.rebuildReport?.mode, 'blue_green');
      assert.equal(await upgraded.waitForPosition(last, WAIT_MS), true);
      assert.deepEqual(await snapshotReadModels(fixture.env.db), await replaySnapshot(fixture.env, projectionsWithSchedulesVersion2));
      assert.equal((await loadVersions(fixture.env.db.knex, ['schedules'])).get('schedules'), 2);
      assert.deepEqual(await outdatedProjections(fixture.env.db.knex, projectionsWithSchedulesVersion2), []);
    });

    it('after a crash in the middle of a MariaDB swap, the next start finishes it or forgets it', async (t) => {
      if (fixture.env.db.kind !== 'mariadb') {
        t.skip('SQLite swaps in one transaction: there is no middle to crash in');
        return;
      }
      await emptyReadModels();
      const last = await f.appendRealisticHistory(fixture.env.store, newPrefix(), f.minuteClock());
      const live = newRunner();
      await live.start();
      assert.equal(await live.waitForPosition(last, WAIT_MS), true);
      await live.stop();
      const before = await snapshotReadModels(fixture.env.db);
      const { knex } = fixture.env.db;
      const checkpoint = (await loadCheckpoints(knex, ['memberships'])).get('memberships');
      assert.ok(checkpoint?.position);
      const journal = { projection: 'memberships', shadow_table: 'vm_group_memberships__rebuild', position: checkpoint.position, events_applied: checkpoint.eventsApplied, version: 1 };

      // 1. Crashed after the journal, before the rename: the swap is forgotten, the live tables stay.
      await prepareShadowTables(fixture.env.db, [membershipsProjection], 'rebuild');
      await knex('projection_swaps').insert(journal);
      const first = newRunner();
      await first.start();
      assert.equal(await first.waitForPosition(last, WAIT_MS), true);
      await first.stop();
      assert.deepEqual(await knex('projection_swaps').select('*'), []);
      assert.deepEqual(await snapshotReadModels(fixture.env.db), before);

      // 2. Crashed after the rename, before the checkpoints: the checkpoint is taken from the journal.
      await prepareShadowTables(fixture.env.db, [membershipsProjection], 'rebuild');
      await knex.raw('INSERT INTO vm_group_memberships__rebuild SELECT * FROM vm_group_memberships');
      await knex('projection_swaps').insert(journal);
      await knex.raw('RENAME TABLE vm_group_memberships TO vm_group_memberships__retired, vm_group_memberships__rebuild TO vm_group_memberships');
      // The old checkpoint row is gone: without the journal, the next start would apply the whole log again.
      await knex('projection_checkpoints').where('projection', 'memberships').delete();
      const second = newRunner();
      await second.start();
      assert.equal(await second.waitForPosition(last, WAIT_MS), true);
      await second.stop();
      assert.deepEqual(await knex('projection_swaps').select('*'), []);
      assert.equal(await knex.schema.hasTable('vm_group_memberships__retired'), false);
      assert.deepEqual(await snapshotReadModels(fixture.env.db), before);
    });
  });
}
