/**
 * Two tickers on one event store (spec/domain.md, "Several instances"): every due
 * instant is recorded exactly once. On SQLite (one file, two connections) and on
 * MariaDB (fails, never skips, when MariaDB is down):
 * - in one process, two tickers with their own store connections driven by one
 *   manual clock through many due instants;
 * - across two processes on the real clock, racing for the same instants (the
 *   loser meets WrongExpectedVersion or a recorded instant, and appends nothing).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { systemClock } from '../../src/clock.js';
import { newCommandContext } from '../../src/commands/command-context.js';
import { newId } from '../../src/commands/ids.js';
import { runDecider } from '../../src/commands/run-decider.js';
import { jitterOffsetSeconds, nextDueInstants } from '../../src/domain/cron.js';
import { streamIds } from '../../src/domain/events.js';
import { scheduleDecider } from '../../src/domain/schedule.js';
import type { ScheduleSettings } from '../../src/domain/schedule-fields.js';
import type { EventStore, RecordedEvent } from '../../src/eventstore/event-store.js';
import { openMariaDbEventStore, openSqliteEventStore } from '../../src/eventstore/sql-event-store.js';
import { Ticker, type TickerMetric } from '../../src/processes/ticker.js';
import { createTestDatabase, type TestDatabase } from '../support/mariadb.js';
import { driveUntil, ManualClock } from '../support/manual-clock.js';

const logger = pino({ level: 'silent' });
const POLL_MS = 5;

type Backend = 'sqlite' | 'mariadb';

interface Target {
  backend: Backend;
  /** SQLite file or MariaDB URL. */
  location: string;
  open(): Promise<EventStore>;
  dispose(): Promise<void>;
}

async function createSchedule(store: EventStore, at: Date, settings: Partial<ScheduleSettings>): Promise<{ id: string; createdAt: Date }> {
  const id = newId();
  const context = newCommandContext({ actor: 'user:test', source: 'api', at });
  await runDecider(
    store,
    streamIds.schedule(id),
    scheduleDecider,
    () => ({ type: 'CreateSchedule' as const, schedule_id: id, input: { name: `schedule ${id}`, ...settings }, parent: null, at: context.at, actor: context.actor }),
    context,
  );
  return { id, createdAt: at };
}

async function readLog(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let position: string | null = null;
  for (;;) {
    const page = await store.readAll({ after: position, maxCount: 1000 });
    if (page.length === 0) return events;
    events.push(...page);
    position = page[page.length - 1]!.position;
  }
}

/** (schedule, due_at) -> how many ExecutionDue events record it. */
function dueCounts(events: RecordedEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of events) {
    if (e.type !== 'ExecutionDue') continue;
    const key = `${String(e.data.schedule_id)} ${String(e.data.due_at)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

function duplicates(counts: Map<string, number>): string[] {
  return [...counts].filter(([, n]) => n > 1).map(([key, n]) => `${key} x${n}`);
}

function scenarios(backend: Backend, target: () => Promise<Target>): void {
  describe(`two tickers on one ${backend} store`, () => {
    const targets: Target[] = [];
    const fresh = async () => {
      const t = await target();
      targets.push(t);
      return t;
    };
    // The other process starts (and compiles) while the first test runs.
    let raceTarget: Target;
    let child: ReturnType<typeof spawnTicker>;
    before(async () => {
      raceTarget = await fresh();
      child = spawnTicker(raceTarget);
    });
    after(async () => {
      await child?.stop().catch(() => 0);
      for (const t of targets) await t.dispose();
    });

    it('one manual clock, many due instants: each recorded exactly once', async () => {
      const t = await fresh();
      const a = await t.open();
      const b = await t.open();
      const clock = new ManualClock('2026-05-01T10:00:10Z');
      try {
        const kinds: Partial<ScheduleSettings>[] = [
          { cron_expression: '* * * * *' },
          { cron_expression: '*/2 * * * *', jitter_seconds: 90 },
          { cron_expression: '*/5 * * * *', jitter_seconds: 240 },
          { cron_expression: '*/20 * * * * *' },
          { cron_expression: '30 */3 * * * *', timezone: 'Europe/London' },
          { cron_expression: '*/7 * * * *', jitter_seconds: 7 },
        ];
        const schedules: { id: string; createdAt: Date; settings: Partial<ScheduleSettings> }[] = [];
        for (let i = 0; i < 12; i++) {
          const settings = kinds[i % kinds.length]!;
          schedules.push({ ...(await createSchedule(i % 2 ? a : b, clock.now(), settings)), settings });
        }
        const tickers = [a, b].map((store) => new Ticker({ store, clock, timers: clock, logger }, { maxSleepMs: 3_600_000 }));
        const recorded = [0, 0];
        tickers.forEach((ticker, i) => ticker.metrics.subscribe((m: TickerMetric) => m.type === 'due_recorded' && (recorded[i]! += 1)));
        try {
          await Promise.all(tickers.map((ticker) => ticker.start()));
          const end = new Date('2026-05-01T10:40:00Z');
          await driveUntil(clock, tickers, end);
          await driveUntil(clock, tickers, end);
        } finally {
          await Promise.all(tickers.map((ticker) => ticker.stop()));
        }

        const counts = dueCounts(await readLog(a));
        assert.deepEqual(duplicates(counts), []);
        // Every instant whose fire instant has come is there.
        let expected = 0;
        for (const s of schedules) {
          const instants = nextDueInstants(s.settings.cron_expression!, s.settings.timezone ?? 'UTC', s.createdAt, 500).filter(
            (d) => d.getTime() + jitterOffsetSeconds(s.id, d, s.settings.jitter_seconds ?? 0) * 1000 <= Date.parse('2026-05-01T10:40:00Z'),
          );
          for (const d of instants) assert.equal(counts.get(`${s.id} ${d.toISOString()}`), 1, `${s.id} ${d.toISOString()} (${s.settings.cron_expression})`);
          expected += instants.length;
        }
        assert.equal(counts.size, expected);
        assert.ok(expected > 400, `many instants (${expected})`);
        assert.equal(recorded[0]! + recorded[1]!, expected, `records claimed by the tickers: ${recorded.join(' + ')}`);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('two processes on the real clock race for the same instants: each recorded exactly once', async (test) => {
      const store = await raceTarget.open();
      try {
        await child.ready;
        const metrics: TickerMetric[] = [];
        const ticker = new Ticker({ store, clock: systemClock, logger }, { maxSleepMs: 1000 });
        ticker.metrics.subscribe((m) => metrics.push(m));
        await ticker.start();
        const ids: string[] = [];
        for (let i = 0; i < 16; i++) ids.push((await createSchedule(store, systemClock.now(), { cron_expression: '* * * * * *' })).id);
        await new Promise((resolve) => setTimeout(resolve, 2200));
        const childRecords = await child.stop();
        await ticker.stop();

        const events = await readLog(store);
        const counts = dueCounts(events);
        assert.deepEqual(duplicates(counts), []);
        const mine = metrics.filter((m) => m.type === 'due_recorded').length;
        assert.equal(mine + childRecords, counts.size, `records claimed: ${mine} here + ${childRecords} in the other process`);
        test.diagnostic(`${counts.size} instants: ${mine} recorded here, ${childRecords} in the other process`);
        for (const id of ids) {
          // Every second from the first recorded one to the last, run or counted as missed: no gap.
          const covered = new Set<number>();
          for (const e of events) {
            if (e.data.schedule_id !== id) continue;
            if (e.type === 'ExecutionDue') covered.add(Date.parse(String(e.data.due_at)));
            if (e.type === 'RunsMissed') for (const d of e.data.due_instants as string[]) covered.add(Date.parse(d));
          }
          const sorted = [...covered].sort((x, y) => x - y);
          assert.ok(sorted.length >= 2, `${id}: ${sorted.length} instants`);
          assert.equal(sorted.at(-1)! - sorted[0]!, (sorted.length - 1) * 1000, `${id}: contiguous seconds`);
        }
      } finally {
        await store.close();
      }
    });
  });
}

/** A ticker in another process on the same store; `stop()` answers how many instants it recorded. */
function spawnTicker(t: Target): { ready: Promise<void>; stop(): Promise<number> } {
  const url = (path: string) => pathToFileURL(join(import.meta.dirname, path)).href;
  const code = `
    const { Ticker } = await import(${JSON.stringify(url('../../src/processes/ticker.ts'))});
    const { systemClock } = await import(${JSON.stringify(url('../../src/clock.ts'))});
    const stores = await import(${JSON.stringify(url('../../src/eventstore/sql-event-store.ts'))});
    const store = ${t.backend === 'sqlite' ? 'await stores.openSqliteEventStore({ filename: process.env.TICKER_TARGET, pollIntervalMs: 5 })' : 'await stores.openMariaDbEventStore({ url: process.env.TICKER_TARGET, pollIntervalMs: 5 })'};
    const quiet = { debug() {}, info() {}, warn() {}, error(...args) { console.error(...args); } };
    const ticker = new Ticker({ store, clock: systemClock, logger: quiet }, { maxSleepMs: 1000 });
    let recorded = 0;
    ticker.metrics.subscribe((m) => { if (m.type === 'due_recorded') recorded += 1; });
    await ticker.start();
    process.stdout.write('ready\\n');
    process.stdin.once('data', async () => {
      await ticker.stop();
      await store.close();
      process.stdout.write('recorded ' + recorded + '\\n');
      process.exit(0);
    });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    env: { ...process.env, TICKER_TARGET: t.location },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  let exited = false;
  const exit = new Promise<number | null>((resolve) => child.once('exit', (status) => ((exited = true), resolve(status))));
  const lineMatching = (pattern: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const onLine = (line: string) => {
        const match = pattern.exec(line);
        if (match) {
          lines.off('line', onLine);
          resolve(match);
        }
      };
      lines.on('line', onLine);
      void exit.then((status) => reject(new Error(`the other ticker process exited (${String(status)}) before "${pattern.source}"`)));
    });
  const ready = lineMatching(/^ready$/).then(() => undefined);
  let stopping: Promise<number> | null = null;
  return {
    ready,
    stop() {
      stopping ??= (async () => {
        if (exited) throw new Error('the other ticker process is gone');
        const answer = lineMatching(/^recorded (\d+)$/);
        child.stdin.write('stop\n');
        const [, count] = await answer;
        await exit;
        return Number(count);
      })();
      return stopping;
    },
  };
}

scenarios('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ticker-instances-'));
  const filename = join(dir, 'events.sqlite');
  return {
    backend: 'sqlite',
    location: filename,
    open: () => openSqliteEventStore({ filename, pollIntervalMs: POLL_MS }),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});
scenarios('mariadb', async () => {
  const database: TestDatabase = await createTestDatabase('t_ticker');
  return {
    backend: 'mariadb',
    location: database.url,
    open: () => openMariaDbEventStore({ url: database.url, pollIntervalMs: POLL_MS }),
    dispose: () => database.drop(),
  };
});
