/**
 * The projection runner end to end, against a real event store and read-model
 * database. Run for SQLite and for MariaDB by runner.*.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventStore, Position } from '../../src/eventstore/event-store.js';
import { allProjections } from '../../src/projections/all-projections.js';
import { applyBatch } from '../../src/projections/apply-batch.js';
import { dropReadModels, migrateReadModels } from '../../src/projections/migrations/migration-source.js';
import { membershipsProjection } from '../../src/projections/memberships.projection.js';
import type { RowProjection } from '../../src/projections/projection.js';
import { ProjectionWorkingSet } from '../../src/projections/projection-working-set.js';
import type { ReadModelDb } from '../../src/projections/read-model-db.js';
import * as f from './fixtures.js';
import { useRunnerFixture } from './runner-fixture.js';
import { readWholeLog, referenceSnapshot, rowsOf, snapshotReadModels } from './read-model-snapshot.js';

export interface RunnerEnvironment {
  store: EventStore;
  db: ReadModelDb;
  /** Closes both and deletes what was created. */
  dispose(): Promise<void>;
}

const WAIT_MS = 10_000;

export function describeRunnerScenarios(label: string, openEnvironment: () => Promise<RunnerEnvironment>): void {
  describe(`projection runner on ${label}`, () => {
    const fixture = useRunnerFixture(openEnvironment, 't');
    const { newRunner, newPrefix, emptyReadModels } = fixture;

    it('builds every read model from a realistic log, then follows it live', async () => {
      await emptyReadModels();
      const prefix = newPrefix();
      const id = (name: string) => `${prefix}-${name}`;
      const last = await f.appendRealisticHistory(fixture.env.store, prefix, f.minuteClock());
      const runner = newRunner();
      await runner.start();
      assert.equal(await runner.waitForPosition(last, WAIT_MS), true);

      const snapshot = await snapshotReadModels(fixture.env.db);
      const schedules = new Map(rowsOf(snapshot, 'replication_schedules').map((row) => [row.id, row]));
      assert.deepEqual([...schedules.keys()].sort(), [id('s1'), id('s2'), id('s3')]);
      assert.equal(schedules.get(id('s2'))?.enabled, 0, 'enabled:false is stored as 0');
      assert.equal(schedules.get(id('s2'))?.skip_if_running, 0);
      assert.equal(schedules.get(id('s2'))?.next_run_at, null);
      assert.equal(schedules.get(id('s3'))?.next_run_at, null, 'a chain schedule has no cron next run');
      assert.equal(schedules.get(id('s1'))?.description, 'nightly run');
      assert.equal(schedules.get(id('s1'))?.jitter_seconds, 30);
      // Created 10:01Z (London = UTC in winter), cron 01:30:00 local -> next day 01:30Z.
      assert.equal(schedules.get(id('s1'))?.next_run_at, '2026-11-29T01:30:00.000Z');
      assert.equal(schedules.get(id('s1'))?.created_at, '2026-11-28T10:01:00.000Z');

      const groups = new Map(rowsOf(snapshot, 'vm_machine_groups').map((row) => [row.id, row]));
      assert.deepEqual([...groups.keys()].sort(), [id('g1'), id('g2')]);
      assert.equal(groups.get(id('g2'))?.max_members, null);
      assert.equal(groups.get(id('g1'))?.priority, 2);

      const memberships = new Map(rowsOf(snapshot, 'vm_group_memberships').map((row) => [row.vm_context_id, row]));
      assert.deepEqual([...memberships.keys()].sort(), [id('vm1'), id('vm2'), id('vm3'), id('vm5'), id('vm6')]);
      assert.deepEqual(
        { id: memberships.get(id('vm2'))?.id, group: memberships.get(id('vm2'))?.group_id, enabled: memberships.get(id('vm2'))?.enabled },
        { id: id('m2b'), group: id('g2'), enabled: 0 },
        'a move replaces the membership',
      );
      assert.equal(memberships.get(id('vm3'))?.priority, 9);
      assert.equal(memberships.get(id('vm3'))?.schedule_override_id, id('s2'));

      const vms = new Map(rowsOf(snapshot, 'vm_replication_contexts').map((row) => [row.context_id, row]));
      assert.equal(vms.size, 6);
      assert.equal(vms.get(id('vm5'))?.current_status, 'replicating');
      assert.equal(vms.get(id('vm5'))?.scheduler_enabled, 0);
      assert.equal(vms.get(id('vm6'))?.scheduler_enabled, 1);
      assert.equal(vms.get(id('vm6'))?.auto_added, 1);
      assert.equal(vms.get(id('vm2'))?.cpu_count, null);

      for (const checkpoint of rowsOf(snapshot, 'projection_checkpoints')) assert.equal(checkpoint.position, last);
      const status = await runner.status();
      assert.deepEqual(
        status.map((entry) => [entry.projection, entry.state, entry.position, entry.lag_events]),
        allProjections.map((projection) => [projection.name, 'live', last, 0]),
      );

      // Live: a new event is applied and waited for.
      const live = await f.appendAll(fixture.env.store, `schedule-${id('s1')}`, [
        { event: f.scheduleDisabled(id('s1'), '2026-11-28T11:00:00.000Z'), at: '2026-11-28T11:00:00.000Z' },
      ]);
      assert.equal(await runner.waitForPosition(live, WAIT_MS), true);
      const after = await fixture.env.db.knex('replication_schedules').where({ id: id('s1') }).first('enabled', 'next_run_at');
      assert.deepEqual({ ...after }, { enabled: 0, next_run_at: null });
    });

    it('waitForPosition answers false when the position is not reached in time', async () => {
      await emptyReadModels();
      const runner = newRunner();
      await runner.start();
      const head = (await fixture.env.store.headPosition()) ?? '0';
      assert.equal(await runner.waitForPosition(head, WAIT_MS), true);
      const beyond = String(BigInt(head) + 1000n);
      const started = Date.now();
      assert.equal(await runner.waitForPosition(beyond, 100), false);
      assert.ok(Date.now() - started >= 90);
    });

    it('replaying the log gives every row the live run built', async () => {
      await emptyReadModels();
      const runner = newRunner(allProjections, { batchSize: 4, catchUpPageSize: 16 });
      await f.appendRealisticHistory(fixture.env.store, newPrefix(), f.minuteClock('2026-11-28T08:00:00.000Z'));
      await runner.start();
      // Appended while the runner is live, in several small appends and batches.
      let last: Position = '';
      for (const day of ['2026-11-28', '2026-11-29', '2026-12-01']) {
        last = await f.appendRealisticHistory(fixture.env.store, newPrefix(), f.minuteClock(`${day}T12:00:00.000Z`));
      }
      assert.equal(await runner.waitForPosition(last, WAIT_MS), true);
      const liveSnapshot = await snapshotReadModels(fixture.env.db);
      assert.ok(rowsOf(liveSnapshot, 'vm_replication_contexts').length >= 24);

      // 1. rebuild(): truncate and replay through the runner.
      const progress: number[] = [];
      const rebuilt = await runner.rebuild({ onProgress: (p) => progress.push(p.events_done) });
      assert.equal(rebuilt.events, (await readWholeLog(fixture.env.store)).length);
      assert.equal(progress[progress.length - 1], rebuilt.events);
      assert.deepEqual(await snapshotReadModels(fixture.env.db), liveSnapshot);

      // 2. Drop the tables, migrate again, replay with a fresh runner.
      await runner.stop();
      await dropReadModels(fixture.env.db.knex);
      await migrateReadModels(fixture.env.db.knex);
      const replayer = newRunner();
      await replayer.start();
      assert.equal(await replayer.waitForPosition(last, WAIT_MS), true);
      assert.deepEqual(await snapshotReadModels(fixture.env.db), liveSnapshot);

      // 3. Replay in small pages through a tiny working set (rows evicted and read again).
      await replayer.stop();
      const squeezed = newRunner(allProjections, { catchUpPageSize: 5, catchUpMaxRows: 6, catchUpFlushIntervalMs: 0 });
      await squeezed.rebuild();
      assert.deepEqual(await snapshotReadModels(fixture.env.db), liveSnapshot);

      // 4. And the same rows as one batch in a fresh SQLite database.
      assert.deepEqual(await referenceSnapshot(fixture.env.store), liveSnapshot);
    });

    it('rebuilds one projection while the others keep their checkpoints', async () => {
      await emptyReadModels();
      const runner = newRunner();
      const last = await f.appendRealisticHistory(fixture.env.store, newPrefix(), f.minuteClock());
      await runner.start();
      assert.equal(await runner.waitForPosition(last, WAIT_MS), true);
      const before = await snapshotReadModels(fixture.env.db);
      const { events } = await runner.rebuild({ projections: ['memberships'] });
      assert.ok(events > 0);
      assert.deepEqual(await snapshotReadModels(fixture.env.db), before);
      assert.equal((await runner.status()).every((entry) => entry.state === 'live' || entry.state === 'catching_up'), true);
      await assert.rejects(runner.rebuild({ projections: ['no-such-projection'] }), /unknown projection/);
    });

    it('applying the same batch twice (checkpoint rolled back) gives identical rows', async () => {
      await emptyReadModels();
      await f.appendRealisticHistory(fixture.env.store, newPrefix(), f.minuteClock());
      const events = await readWholeLog(fixture.env.store);
      const compare = (a: Position, b: Position) => fixture.env.store.comparePositions(a, b);
      const half = Math.floor(events.length / 2);
      const firstHalf = await applyBatch(fixture.env.db, allProjections, new Map(), events.slice(0, half), compare);
      const onceSnapshot = await snapshotReadModels(fixture.env.db);
      // The same batch again, as if its checkpoint had been lost: rows must not change.
      await applyBatch(fixture.env.db, allProjections, new Map(), events.slice(0, half), compare);
      assert.deepEqual(await snapshotReadModels(fixture.env.db), onceSnapshot);
      // The rest, then the rest again from the first half's checkpoints.
      await applyBatch(fixture.env.db, allProjections, firstHalf, events.slice(half), compare);
      const fullSnapshot = await snapshotReadModels(fixture.env.db);
      await applyBatch(fixture.env.db, allProjections, firstHalf, events.slice(half), compare);
      assert.deepEqual(await snapshotReadModels(fixture.env.db), fullSnapshot);
      assert.deepEqual(fullSnapshot, await referenceSnapshot(fixture.env.store));
    });

    it('a stop midway leaves checkpoints that match their rows; a restart finishes the same', async () => {
      await emptyReadModels();
      await f.appendRealisticHistory(fixture.env.store, newPrefix(), f.minuteClock());
      const events = await readWholeLog(fixture.env.store);
      const midway = events[Math.floor(events.length / 3)];
      const last = events[events.length - 1];
      assert.ok(midway && last);

      const first = newRunner(allProjections, { catchUpPageSize: 5, catchUpFlushIntervalMs: 0 });
      await first.start();
      assert.equal(await first.waitForPosition(midway.position, WAIT_MS), true);
      await first.stop();
      const stopped = await snapshotReadModels(fixture.env.db);
      const checkpoint = rowsOf(stopped, 'projection_checkpoints')[0]?.position;
      assert.equal(typeof checkpoint, 'string');
      assert.ok(fixture.env.store.comparePositions(String(checkpoint), last.position) < 0, 'stopped before the end');
      assert.deepEqual(stopped, await referenceSnapshot(fixture.env.store, String(checkpoint)));

      const second = newRunner();
      await second.start();
      assert.equal(await second.waitForPosition(last.position, WAIT_MS), true);
      assert.deepEqual(await snapshotReadModels(fixture.env.db), await referenceSnapshot(fixture.env.store));
    });

    it('a flush writes what was folded when it was taken, while later events fold meanwhile; the next flush writes the rest', async () => {
      await emptyReadModels();
      await f.appendRealisticHistory(fixture.env.store, newPrefix(), f.minuteClock());
      const events = await readWholeLog(fixture.env.store);
      const middle = Math.floor(events.length / 2);
      const taken = events[middle - 1];
      assert.ok(taken);
      // Two rows at most held after a flush: evictions happen while the second half folds.
      const workingSet = new ProjectionWorkingSet(fixture.env.db, allProjections, new Map(), (a, b) => fixture.env.store.comparePositions(a, b), 2);
      await workingSet.fold(events.slice(0, middle));
      const pending = workingSet.beginFlush();
      await Promise.all([workingSet.fold(events.slice(middle)), pending.commit()]);

      const afterFirst = await snapshotReadModels(fixture.env.db);
      for (const checkpoint of rowsOf(afterFirst, 'projection_checkpoints')) assert.equal(checkpoint.position, taken.position);
      assert.deepEqual(afterFirst, await referenceSnapshot(fixture.env.store, taken.position));

      await workingSet.flush();
      assert.deepEqual(await snapshotReadModels(fixture.env.db), await referenceSnapshot(fixture.env.store));
    });

    it('a failing batch is retried from the checkpoints, never skipped', async () => {
      await emptyReadModels();
      await f.appendRealisticHistory(fixture.env.store, newPrefix(), f.minuteClock());
      const events = await readWholeLog(fixture.env.store);
      const last = events[events.length - 1];
      assert.ok(last);
      let faultActive = true;
      const faultyMemberships: RowProjection = {
        ...membershipsProjection,
        apply(row, event) {
          if (faultActive && event.type === 'VmMembershipUpdated') throw new Error('injected fault');
          return membershipsProjection.apply(row, event);
        },
      };
      const errors: string[] = [];
      const runner = newRunner(
        allProjections.map((projection) => (projection.name === 'memberships' ? faultyMemberships : projection)),
        { catchUpPageSize: 8, catchUpFlushIntervalMs: 0, logger: { info: () => undefined, error: (details) => errors.push(String((details as { err?: Error }).err?.message)) } },
      );
      await runner.start();
      await waitUntil(async () => (await runner.status()).some((entry) => entry.state === 'failed'));
      assert.equal(await runner.waitForPosition(last.position, 50), false);
      const failedStatus = await runner.status();
      assert.equal(failedStatus[0]?.last_error, 'injected fault');

      // Whatever committed is consistent: rows match the log up to the checkpoint.
      const stuck = await snapshotReadModels(fixture.env.db);
      const checkpoints = rowsOf(stuck, 'projection_checkpoints');
      assert.equal(new Set(checkpoints.map((row) => row.position)).size, 1, 'all projections share the batch boundary');
      const position = checkpoints[0]?.position;
      if (typeof position === 'string') assert.deepEqual(stuck, await referenceSnapshot(fixture.env.store, position));
      else assert.deepEqual(rowsOf(stuck, 'vm_replication_contexts'), []);

      faultActive = false;
      assert.equal(await runner.waitForPosition(last.position, WAIT_MS), true);
      assert.ok(errors.length >= 1 && errors.every((message) => message === 'injected fault'));
      assert.deepEqual(await snapshotReadModels(fixture.env.db), await referenceSnapshot(fixture.env.store));
    });
  });
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
