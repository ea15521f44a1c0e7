/**
 * The ticker under a :00 herd: 10,000 enabled schedules all due in the same second.
 *
 *   npm run bench:ticker                      # SQLite
 *   BENCH_DB=mariadb npm run bench:ticker     # MariaDB (MARIADB_TEST_URL, default mysql://root@127.0.0.1:3306)
 *   BENCH_DB=both BENCH_SCHEDULES=20000 npm run bench:ticker
 *
 * Environment: BENCH_DB sqlite | mariadb | both (default sqlite); BENCH_SCHEDULES
 * (default 10000); BENCH_IDLE_SECONDS (default 30); BENCH_CONCURRENCY (the ticker's
 * records in flight; default the ticker's); BENCH_CPU_PROF=<prefix> (a V8 CPU profile
 * of each burst, <prefix>-<db>.cpuprofile). Each database runs in a child process of
 * its own, so peak RSS is that run's alone.
 *
 * Per database, on a throwaway store:
 * 1. ScheduleCreated events for N schedules are appended straight to the store
 *    (not timed), each with a six-field cron expression whose next instant is one
 *    second a few seconds ahead (`S M * * * *`: that second of every hour, UTC).
 * 2. A ticker starts on the real clock: it folds the log and plans every schedule
 *    (timed: "start").
 * 3. At the due second it records ExecutionDue for all N schedules; the lag of each
 *    record (fire instant -> append returned) comes from the ticker's metrics.
 *    The log is read back: N ExecutionDue, one per schedule.
 *    Also the process's CPU over the burst, per record, and (MariaDB on this machine)
 *    the server's: CPU time is less sensitive than the lag to a shared machine.
 * 4. Then 30 s of idle: the process's CPU time over that span, as % of one core. Half a
 *    minute of the time between fires of an every-minute schedule: the first seconds after
 *    a burst are V8's background threads collecting its garbage (the JavaScript thread is
 *    idle), which a window of a few seconds would weigh as if it lasted. Also shown: the
 *    second half alone, mostly the steady cost (the store's poll, the ticker's heartbeat).
 * 5. Peak RSS: the process's maxRSS (getrusage).
 * Targets: p99 lag < 1 s, idle CPU < 1 %, peak RSS <= 256 MB.
 */
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { systemClock } from '../src/clock.js';
import { SCHEDULE_DEFAULTS } from '../src/domain/schedule-fields.js';
import type { EventMetadata, EventStore, NewEvent } from '../src/eventstore/event-store.js';
import { openMariaDbEventStore, openSqliteEventStore } from '../src/eventstore/sql-event-store.js';
import { Ticker, type TickerMetric } from '../src/processes/ticker.js';
import { createTestDatabase } from '../test/support/mariadb.js';
import { compiledEntry, nodeFlagsWithoutTsx } from './compiled-child.js';
import { machineReferenceLine } from './machine-reference.js';

type BenchDb = 'sqlite' | 'mariadb';

const SCHEDULES = Number(process.env.BENCH_SCHEDULES ?? 10_000);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 30);
const CONCURRENCY = process.env.BENCH_CONCURRENCY ? Number(process.env.BENCH_CONCURRENCY) : undefined;
/** BENCH_CPU_PROF=<prefix>: a V8 CPU profile of each database's burst, written to <prefix>-<db>.cpuprofile. */
const CPU_PROF = process.env.BENCH_CPU_PROF;
/** Seconds between the ticker having started and the due second. */
const MARGIN_SECONDS = 3;

interface Result {
  db: BenchDb;
  schedules: number;
  createSeconds: number;
  startSeconds: number;
  leadSeconds: number;
  recorded: number;
  inLog: number;
  distinctInLog: number;
  p50: number;
  p99: number;
  max: number;
  firstMs: number;
  spanMs: number;
  idleCpuPercent: number;
  /** The same over the second half of the idle span: the polls and heartbeat without most of the burst's garbage collection. */
  idleSecondHalfCpuPercent: number;
  /** CPU of the process from the due second until the last record, % of one core. */
  burstCpuPercent: number;
  /** That CPU per record, in microseconds (less sensitive to a shared machine than the lag). */
  burstCpuPerRecordUs: number;
  /** CPU of a local mariadbd over the burst per record, in microseconds; null when not measured. */
  serverCpuPerRecordUs: number | null;
  /** Plain appends per second of the store (64 concurrent, one event each), before the run. */
  storeAppendsPerSecond: number;
  idleSeconds: number;
  peakRssMb: number;
  concurrency: number | 'default';
}

const metadata: EventMetadata = {
  actor: 'bench',
  source: 'system',
  correlation_id: randomUUID(),
  causation_id: null,
  request_id: null,
  timestamp: new Date().toISOString(),
  schema_version: 1,
};

/**
 * `S M * * * *`: that second of every hour (UTC), so the due second is the next
 * one. (A once-a-year expression would measure cron-parser instead: finding the
 * next instant a year ahead walks day by day.)
 */
function cronFor(instant: Date): string {
  return `${instant.getUTCSeconds()} ${instant.getUTCMinutes()} * * * *`;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * CPU time (user + system, ms) of a mariadbd on this machine, from /proc; null when
 * there is none to see (a remote server, another OS). Only as fine as the clock tick.
 */
function localServerCpuMs(): number | null {
  try {
    const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let name: string;
      try {
        name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        continue;
      }
      if (name !== 'mariadbd' && name !== 'mysqld') continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) / ticksPerMs;
    }
    return null;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function appendSchedules(store: EventStore, due: Date, count: number): Promise<void> {
  const cron = cronFor(due);
  const createdAt = new Date().toISOString();
  const batch = 64;
  for (let start = 0; start < count; start += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - start) }, (_, k) => {
        const i = start + k;
        const id = `bench${String(i).padStart(6, '0')}`;
        const event: NewEvent = {
          type: 'ScheduleCreated',
          data: { schedule_id: id, ...SCHEDULE_DEFAULTS, name: `bench ${i}`, cron_expression: cron, created_at: createdAt, created_by: 'bench' },
          metadata,
        };
        return store.append(`schedule-${id}`, [event], 'no_stream');
      }),
    );
  }
}

async function calibrate(store: EventStore): Promise<number> {
  // Appends per second of this store (for choosing the due second), on throwaway streams the ticker ignores.
  const n = 500;
  const started = performance.now();
  for (let start = 0; start < n; start += 64) {
    await Promise.all(
      Array.from({ length: Math.min(64, n - start) }, (_, k) =>
        store.append(`bench-warmup-${start + k}`, [{ type: 'BenchWarmup', data: { i: start + k }, metadata }], 'no_stream'),
      ),
    );
  }
  return n / ((performance.now() - started) / 1000);
}

async function runOne(db: BenchDb): Promise<Result> {
  let store: EventStore;
  let cleanup: () => Promise<void>;
  if (db === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'bench-ticker-'));
    store = await openSqliteEventStore({ filename: join(dir, 'events.sqlite') });
    cleanup = () => rm(dir, { recursive: true, force: true });
  } else {
    const database = await createTestDatabase('bench_ticker');
    store = await openMariaDbEventStore({ url: database.url });
    cleanup = () => database.drop();
  }
  try {
    const appendsPerSecond = await calibrate(store);
    // Creation, then the ticker's start (about 1/4 of the creation time), then the margin.
    const createEstimate = SCHEDULES / appendsPerSecond;
    const due = new Date(Math.ceil((Date.now() + (createEstimate * 1.6 + MARGIN_SECONDS + 1) * 1000) / 1000) * 1000);

    const createStarted = performance.now();
    await appendSchedules(store, due, SCHEDULES);
    const createSeconds = (performance.now() - createStarted) / 1000;

    const lags: number[] = [];
    let firstRecordAt = Number.POSITIVE_INFINITY;
    let lastRecordAt = 0;
    let allRecorded: () => void = () => undefined;
    const recordedAll = new Promise<void>((resolve) => (allRecorded = resolve));
    const ticker = new Ticker({ store, clock: systemClock, logger: pino({ level: 'warn' }) }, CONCURRENCY ? { concurrency: CONCURRENCY } : {});
    ticker.metrics.subscribe((m: TickerMetric) => {
      if (m.type !== 'due_recorded') return;
      lags.push(m.lag_ms);
      const at = Date.parse(m.recorded_at);
      firstRecordAt = Math.min(firstRecordAt, at);
      lastRecordAt = Math.max(lastRecordAt, at);
      if (lags.length === SCHEDULES) allRecorded();
    });
    const startBegan = performance.now();
    await ticker.start();
    const startSeconds = (performance.now() - startBegan) / 1000;
    const leadSeconds = (due.getTime() - Date.now()) / 1000;
    const health = ticker.health();
    if (health.next_due_at !== due.toISOString() || health.schedules !== SCHEDULES) {
      throw new Error(`ticker planned ${health.schedules} schedules, next ${health.next_due_at}; expected ${SCHEDULES} at ${due.toISOString()}`);
    }
    if (leadSeconds < 0.5) console.error(`warning: the ticker started only ${leadSeconds.toFixed(2)} s before the due second`);

    // CPU over the burst: from just before the due second until the last record.
    await sleep(Math.max(0, due.getTime() - Date.now() - 100));
    const profiler = CPU_PROF ? new Session() : null;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const serverCpuBefore = db === 'mariadb' ? localServerCpuMs() : null;
    const burstCpuBefore = process.cpuUsage();
    const burstStarted = performance.now();
    const timeout = sleep((leadSeconds + 120) * 1000).then(() => {
      throw new Error(`only ${lags.length} of ${SCHEDULES} recorded after 120 s`);
    });
    await Promise.race([recordedAll, timeout]);
    const burstCpu = process.cpuUsage(burstCpuBefore);
    const burstCpuPercent = ((burstCpu.user + burstCpu.system) / 1000 / (performance.now() - burstStarted)) * 100;
    const burstCpuPerRecordUs = (burstCpu.user + burstCpu.system) / Math.max(1, lags.length);
    const serverCpuAfter = serverCpuBefore === null ? null : localServerCpuMs();
    const serverCpuPerRecordUs = serverCpuBefore === null || serverCpuAfter === null ? null : ((serverCpuAfter - serverCpuBefore) * 1000) / Math.max(1, lags.length);
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      await writeFile(`${CPU_PROF!}-${db}.cpuprofile`, JSON.stringify(profile));
      profiler.disconnect();
    }

    // Let the subscription fold the ticker's own records back, then measure idle.
    await sleep(1000);
    const cpuBefore = process.cpuUsage();
    const idleStarted = performance.now();
    await sleep((IDLE_SECONDS * 1000) / 2);
    const cpuAtHalf = process.cpuUsage();
    const halfStarted = performance.now();
    await sleep((IDLE_SECONDS * 1000) / 2);
    const cpu = process.cpuUsage(cpuBefore);
    const secondHalfCpu = process.cpuUsage(cpuAtHalf);
    const idleSeconds = (performance.now() - idleStarted) / 1000;
    const idleCpuPercent = ((cpu.user + cpu.system) / 1e6 / idleSeconds) * 100;
    const idleSecondHalfCpuPercent = ((secondHalfCpu.user + secondHalfCpu.system) / 1e6 / ((performance.now() - halfStarted) / 1000)) * 100;
    await ticker.stop();

    // Read back: one ExecutionDue per schedule for the due second.
    let inLog = 0;
    const distinct = new Set<string>();
    let after: string | null = null;
    for (;;) {
      const page = await store.readAll({ after, maxCount: 5000 });
      if (page.length === 0) break;
      for (const e of page) {
        if (e.type === 'ExecutionDue' && e.data.due_at === due.toISOString()) {
          inLog += 1;
          distinct.add(String(e.data.schedule_id));
        }
      }
      after = page[page.length - 1]!.position;
    }

    const sorted = [...lags].sort((a, b) => a - b);
    return {
      db,
      schedules: SCHEDULES,
      createSeconds,
      startSeconds,
      leadSeconds,
      recorded: lags.length,
      inLog,
      distinctInLog: distinct.size,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1] ?? Number.NaN,
      firstMs: firstRecordAt - due.getTime(),
      spanMs: lastRecordAt - firstRecordAt,
      idleCpuPercent,
      idleSecondHalfCpuPercent,
      burstCpuPercent,
      burstCpuPerRecordUs,
      serverCpuPerRecordUs,
      storeAppendsPerSecond: appendsPerSecond,
      idleSeconds,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      concurrency: CONCURRENCY ?? 'default',
    };
  } finally {
    await store.close();
    await cleanup();
  }
}

function runChild(db: BenchDb): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlagsWithoutTsx(process.execArgv), compiledEntry(import.meta.url)], {
      env: { ...process.env, BENCH_ONE: db },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`${db} run failed (exit ${String(code)}): ${out}`));
      else resolve(JSON.parse(line) as Result);
    });
  });
}

function table(results: Result[]): string {
  const yes = (ok: boolean) => (ok ? 'yes' : 'NO');
  const rows = [
    ['database', 'schedules', 'ExecutionDue (log / distinct)', 'lag p50', 'lag p99', 'lag max', 'first record', 'records/s', 'CPU in burst', 'CPU per record', 'server CPU per record', 'store appends/s', 'idle CPU', 'idle CPU, 2nd half', 'peak RSS', 'ticker start', 'targets met'],
    ...results.map((r) => [
      r.db,
      r.schedules.toLocaleString('en'),
      `${r.inLog.toLocaleString('en')} / ${r.distinctInLog.toLocaleString('en')}`,
      `${r.p50.toFixed(0)} ms`,
      `${r.p99.toFixed(0)} ms`,
      `${r.max.toFixed(0)} ms`,
      `+${r.firstMs.toFixed(0)} ms`,
      r.spanMs > 0 ? Math.round((r.recorded / r.spanMs) * 1000).toLocaleString('en') : '-',
      `${r.burstCpuPercent.toFixed(0)} %`,
      `${r.burstCpuPerRecordUs.toFixed(0)} us`,
      r.serverCpuPerRecordUs === null ? '-' : `${r.serverCpuPerRecordUs.toFixed(0)} us`,
      Math.round(r.storeAppendsPerSecond).toLocaleString('en'),
      `${r.idleCpuPercent.toFixed(2)} %`,
      `${r.idleSecondHalfCpuPercent.toFixed(2)} %`,
      `${r.peakRssMb.toFixed(0)} MB`,
      `${r.startSeconds.toFixed(2)} s`,
      `p99<1s ${yes(r.p99 < 1000)}, cpu<1% ${yes(r.idleCpuPercent < 1)}, rss<=256MB ${yes(r.peakRssMb <= 256)}, all ${yes(r.inLog === r.schedules && r.distinctInLog === r.schedules)}`,
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

async function main(): Promise<void> {
  const one = process.env.BENCH_ONE as BenchDb | undefined;
  if (one) {
    const result = await runOne(one);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const choice = process.env.BENCH_DB ?? 'sqlite';
  const dbs: BenchDb[] = choice === 'both' ? ['sqlite', 'mariadb'] : choice === 'mariadb' ? ['mariadb'] : ['sqlite'];
  console.log(`ticker bench: ${SCHEDULES.toLocaleString('en')} schedules due in one second; Node ${process.version}; ${cpus().length} x ${cpus()[0]?.model ?? '?'}`);
  console.log(machineReferenceLine('before'));
  const results: Result[] = [];
  for (const db of dbs) {
    console.log(`running ${db} ...`);
    const r = await runChild(db);
    console.log(
      `  ${db}: created in ${r.createSeconds.toFixed(1)} s, ticker started in ${r.startSeconds.toFixed(2)} s, ${r.leadSeconds.toFixed(1)} s before the due second; ` +
        `records spanned ${r.spanMs} ms; idle measured over ${r.idleSeconds.toFixed(1)} s`,
    );
    results.push(r);
  }
  console.log(machineReferenceLine('after'));
  console.log(`\n${table(results)}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
