/**
 * Several runners on the same stores (two service instances): one at a time writes the
 * read models, by the lease in projection_leases; the other stands by, answers
 * waitForPosition from the stored checkpoints and takes over when the holder dies.
 * SQLite and MariaDB (MariaDB fails, never skips, when it cannot be reached).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { EventStore } from '../../src/eventstore/event-store.js';
import { openMariaDbEventStore, openSqliteEventStore } from '../../src/eventstore/sql-event-store.js';
import { allProjections } from '../../src/projections/all-projections.js';
import { applyBatch } from '../../src/projections/apply-batch.js';
import { loadCheckpoints } from '../../src/projections/checkpoints.js';
import { dropReadModels, migrateReadModels } from '../../src/projections/migrations/migration-source.js';
import { LEASES_TABLE, ProjectionLease } from '../../src/projections/projection-lease.js';
import { ProjectionRunner, type ProjectionRunnerOptions } from '../../src/projections/projection-runner.js';
import { openReadModelDb, type ReadModelDb } from '../../src/projections/read-model-db.js';
import { createTestDatabase } from '../support/mariadb.js';
import * as f from './fixtures.js';
import { readWholeLog, referenceSnapshot, snapshotReadModels } from './read-model-snapshot.js';

const WAIT_MS = 10_000;
/** Short, so a dead holder's lease lapses within the test. */
const LEASE = { ttlMs: 600, renewIntervalMs: 150 };

interface Instance {
  store: EventStore;
  db: ReadModelDb;
}

interface Environment {
  /** Two instances: their own event-store and read-model connections, the same stores. */
  a: Instance;
  b: Instance;
  dispose(): Promise<void>;
}

async function sqliteEnvironment(): Promise<Environment> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'projection-lease-'));
  const open = async (): Promise<Instance> => ({
    store: await openSqliteEventStore({ filename: path.join(dataDir, 'events.sqlite'), pollIntervalMs: 20 }),
    db: await openReadModelDb({ dataDir }),
  });
  const a = await open();
  const b = await open();
  return {
    a,
    b,
    async dispose() {
      for (const instance of [a, b]) {
        await instance.db.close();
        await instance.store.close();
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function mariaDbEnvironment(): Promise<Environment> {
  const database = await createTestDatabase('t_lease');
  const unused = path.join(tmpdir(), 'unused-read-model-dir');
  const open = async (): Promise<Instance> => ({
    store: await openMariaDbEventStore({ url: database.url, pollIntervalMs: 20 }),
    db: await openReadModelDb({ databaseUrl: database.url, dataDir: unused }),
  });
  const a = await open();
  const b = await open();
  return {
    a,
    b,
    async dispose() {
      for (const instance of [a, b]) {
        await instance.db.close();
        await instance.store.close();
      }
      await database.drop();
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) assert.fail(`not within ${timeoutMs} ms: ${what}`);
    await sleep(10);
  }
}

for (const [label, openEnvironment] of [
  ['SQLite', sqliteEnvironment],
  ['MariaDB', mariaDbEnvironment],
] as const) {
  describe(`projection lease on ${label}`, () => {
    let env: Environment;
    const runners: ProjectionRunner[] = [];
    let prefixCounter = 0;
    const newPrefix = () => `l${++prefixCounter}`;

    const newRunner = (instance: Instance, holder: string, options: ProjectionRunnerOptions = {}) => {
      const runner = new ProjectionRunner(instance.store, instance.db, [...allProjections], {
        retryInitialDelayMs: 20,
        lease: { ...LEASE, holder },
        logger: { info: () => undefined, error: () => undefined },
        ...options,
      });
      runners.push(runner);
      return runner;
    };

    const emptyReadModels = async () => {
      await dropReadModels(env.a.db.knex);
      await migrateReadModels(env.a.db.knex);
      await env.a.db.knex.raw(`DELETE FROM ${LEASES_TABLE}`).catch(() => undefined);
    };

    const assertSameAsSingleReplay = async (message: string) => {
      assert.deepEqual(await snapshotReadModels(env.a.db), await referenceSnapshot(env.a.store), message);
    };

    before(async () => {
      env = await openEnvironment();
    });
    afterEach(async () => {
      for (const runner of runners.splice(0)) await runner.stop();
    });
    after(async () => {
      await env?.dispose();
    });

    it('one runner applies, the other stands by and still sees its writes; the standby takes over a dead holder', async () => {
      await emptyReadModels();
      const first = newRunner(env.a, 'instance-a');
      const second = newRunner(env.b, 'instance-b');
      await first.start();
      await second.start();
      assert.equal(first.isWriter, true);
      assert.equal(second.isWriter, false);
      assert.ok((await second.status()).every((entry) => entry.state === 'standby'));
      assert.equal(await new ProjectionLease(env.a.db).currentHolder(), 'instance-a');

      // Events appended through either instance: only the holder applies them, once.
      const last = await f.appendRealisticHistory(env.b.store, newPrefix(), f.minuteClock());
      assert.equal(await first.waitForPosition(last, WAIT_MS), true);
      assert.equal(await second.waitForPosition(last, WAIT_MS), true, "the standby's read-your-writes");
      await assertSameAsSingleReplay('rows of one runner, each event once');
      const standbyStatus = await second.status();
      assert.ok(standbyStatus.every((entry) => entry.state === 'standby' && entry.lag_events === 0), JSON.stringify(standbyStatus));
      assert.equal(second.isWriter, false, 'the standby never took over from a live holder');

      // The holder dies without giving the lease up; events keep coming meanwhile.
      await first.stop({ releaseLease: false });
      const lastAfterDeath = await f.appendRealisticHistory(env.a.store, newPrefix(), f.minuteClock('2026-11-28T12:00:00.000Z'));
      assert.equal(await second.waitForPosition(lastAfterDeath, WAIT_MS), true);
      assert.equal(second.isWriter, true, 'the standby took over');
      assert.equal(await new ProjectionLease(env.b.db).currentHolder(), 'instance-b');
      // And follows live as the writer.
      const lastLive = await f.appendRealisticHistory(env.b.store, newPrefix(), f.minuteClock('2026-11-28T14:00:00.000Z'));
      assert.equal(await second.waitForPosition(lastLive, WAIT_MS), true);
      await assertSameAsSingleReplay('no event applied twice or skipped across the takeover');

      // The old holder comes back: it stands by.
      const revived = newRunner(env.a, 'instance-a');
      await revived.start();
      assert.equal(revived.isWriter, false);
      const lastEvent = (await readWholeLog(env.a.store)).at(-1)!;
      assert.equal(await revived.waitForPosition(lastEvent.position, WAIT_MS), true);
    });

    it('a holder that stops gracefully hands over at once; a standby polls only while someone waits', async () => {
      await emptyReadModels();
      const first = newRunner(env.a, 'instance-a', { lease: { ttlMs: 60_000, renewIntervalMs: 100 } });
      const second = newRunner(env.b, 'instance-b', { lease: { ttlMs: 60_000, renewIntervalMs: 100 } });
      await first.start();
      await second.start();
      const last = await f.appendRealisticHistory(env.a.store, newPrefix(), f.minuteClock());
      assert.equal(await second.waitForPosition(last, WAIT_MS), true);
      // A 60 s TTL: only a released lease lets the standby take over this quickly.
      await first.stop();
      await until(() => second.isWriter, 5_000, 'the standby takes over a released lease');
      const next = await f.appendRealisticHistory(env.a.store, newPrefix(), f.minuteClock('2026-11-28T12:00:00.000Z'));
      assert.equal(await second.waitForPosition(next, WAIT_MS), true);
      await assertSameAsSingleReplay('rows across a graceful handover');
    });

    it('only the holder may rebuild', async () => {
      await emptyReadModels();
      const first = newRunner(env.a, 'instance-a');
      const second = newRunner(env.b, 'instance-b');
      await first.start();
      await second.start();
      const last = await f.appendRealisticHistory(env.a.store, newPrefix(), f.minuteClock());
      await assert.rejects(second.rebuild(), /another instance holds the projection lease/);
      await first.rebuild();
      assert.equal(await first.waitForPosition(last, WAIT_MS), true);
      assert.equal(await second.waitForPosition(last, WAIT_MS), true);
      await assertSameAsSingleReplay('rows after a rebuild by the holder');
    });

    it('keeps its term while renewed in time, and starts a new one after another instance held the lease', async () => {
      // The runner reads the stored checkpoints again only when the term changes.
      await emptyReadModels();
      const a = new ProjectionLease(env.a.db, { ...LEASE, holder: 'term-a' });
      const b = new ProjectionLease(env.b.db, { ...LEASE, holder: 'term-b' });
      assert.equal(await a.tryAcquire(), true);
      const first = a.term;
      assert.equal(await a.tryAcquire(), true);
      assert.equal(a.term, first, 'a renewal before the deadline is the same term');
      await sleep(LEASE.ttlMs + 100);
      assert.equal(a.isHeld(), false);
      assert.equal(await b.tryAcquire(), true, 'the lapsed lease is taken by another instance');
      await b.release();
      assert.equal(await a.tryAcquire(), true);
      assert.notEqual(a.term, first, 'after the gap, a new term');
      await a.release();
    });

    it('refuses a write when another writer moved the checkpoints, and re-syncs from them', async () => {
      await emptyReadModels();
      // No lease: the guard is all that stands between two writers here.
      const runner = newRunner(env.a, 'instance-a', { lease: false });
      await runner.start();
      const base = await f.appendRealisticHistory(env.a.store, newPrefix(), f.minuteClock());
      assert.equal(await runner.waitForPosition(base, WAIT_MS), true);
      for (let round = 0; round < 5; round += 1) {
        // Another writer applies the new events from the stored checkpoints, racing the runner.
        const from = (await readWholeLog(env.a.store)).length;
        const last = await f.appendRealisticHistory(env.a.store, newPrefix(), f.minuteClock(`2026-11-2${round}T12:00:00.000Z`));
        const events = (await readWholeLog(env.b.store)).slice(from);
        const names = allProjections.map((projection) => projection.name);
        await applyBatch(env.b.db, allProjections, await loadCheckpoints(env.b.db.knex, names), events, (x, y) => env.b.store.comparePositions(x, y)).catch(
          () => undefined, // the runner may have moved them first: then this write is the one that goes
        );
        assert.equal(await runner.waitForPosition(last, WAIT_MS), true);
      }
      await until(async () => (await runner.status()).every((entry) => entry.state === 'live'), 5_000, 'the runner is live again');
      await assertSameAsSingleReplay('each event applied once despite a second writer');
    });
  });
}
