/**
 * Micro-benchmark of the SQL event store on the command path.
 *
 *   npx tsx bench/eventstore.bench.ts
 *   BENCH_DB=sqlite BENCH_SECONDS=2 npx tsx bench/eventstore.bench.ts
 *
 * BENCH_DB: sqlite | mariadb | both (default both). BENCH_SECONDS: measured time per
 * case (default 3; a short unmeasured warm-up runs first). BENCH_STORE_MODULE: path
 * of another sql-event-store module to measure instead (e.g. a copy of an older
 * version, for before/after figures). MariaDB: MARIADB_TEST_URL (default
 * mysql://root@127.0.0.1:3306); a throwaway database is created and dropped.
 *
 * Cases, each on a fresh store:
 * - append x1: one appender, one event per append, to its own streams, with the
 *   expected revision (as the command layer does);
 * - append x32: 32 concurrent appenders, each to its own streams, same as above;
 * - readStream 5 x1 / x32: reads of a 5-event stream, 1 and 32 concurrent readers.
 * Latency is measured around each call; ops/s over the whole case.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EventMetadata, EventStore, ExpectedRevision, NewEvent } from '../src/eventstore/event-store.js';
import { createTestDatabase } from '../test/support/mariadb.js';
import { machineReferenceLine } from './machine-reference.js';

type BenchDb = 'sqlite' | 'mariadb';

interface StoreModule {
  openSqliteEventStore(options: { filename: string; pollIntervalMs?: number }): Promise<EventStore>;
  openMariaDbEventStore(options: { url: string; pollIntervalMs?: number }): Promise<EventStore>;
}

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const WARMUP_MS = 500;
const STREAMS_PER_APPENDER = 8;

const metadata: EventMetadata = {
  actor: 'user:bench',
  source: 'api',
  correlation_id: randomUUID(),
  causation_id: null,
  request_id: 'req-bench',
  timestamp: '2025-01-02T03:04:05.678Z',
  schema_version: 1,
};

function newEvent(index: number): NewEvent {
  return {
    type: 'ScheduleUpdated',
    data: { index, name: `schedule ${index}`, cron: '0 2 * * *', enabled: true, tags: ['a', 'b'] },
    metadata,
  };
}

interface CaseResult {
  name: string;
  ops: number;
  opsPerSecond: number;
  p50us: number;
  p99us: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `workers` loops of `op` for warm-up + SECONDS; returns throughput and latency. */
async function runCase(
  name: string,
  workers: number,
  makeOp: (worker: number) => () => Promise<unknown>,
): Promise<CaseResult> {
  const ops = Array.from({ length: workers }, (_unused, worker) => makeOp(worker));
  const latencies: number[] = [];
  // Deadlines are checked on the clock, not with timers: an op that settles through
  // microtasks only (an SQLite call) would starve a timer forever.
  const warmupEnd = process.hrtime.bigint() + BigInt(WARMUP_MS) * 1_000_000n;
  const end = warmupEnd + BigInt(Math.round(SECONDS * 1000)) * 1_000_000n;
  const loop = async (op: () => Promise<unknown>) => {
    for (;;) {
      const started = process.hrtime.bigint();
      if (started >= end) return;
      await op();
      if (started >= warmupEnd) latencies.push(Number(process.hrtime.bigint() - started) / 1000);
    }
  };
  await Promise.all(ops.map(loop));
  const elapsedSeconds = Number(process.hrtime.bigint() - warmupEnd) / 1e9;
  const sorted = Float64Array.from(latencies).sort();
  return {
    name,
    ops: sorted.length,
    opsPerSecond: sorted.length / elapsedSeconds,
    p50us: percentile(sorted, 50),
    p99us: percentile(sorted, 99),
  };
}

/** An appender over its own streams, tracking each stream's revision. */
function appender(store: EventStore, worker: number): () => Promise<unknown> {
  const run = randomUUID().slice(0, 8);
  const streams = Array.from({ length: STREAMS_PER_APPENDER }, (_unused, index) => `bench-${run}-${worker}-${index}`);
  const revisions = new Map<string, number>();
  let counter = 0;
  return async () => {
    const streamId = streams[counter % streams.length]!;
    counter += 1;
    const expected: ExpectedRevision = revisions.get(streamId) ?? 'no_stream';
    const result = await store.append(streamId, [newEvent(counter)], expected);
    revisions.set(streamId, result.nextExpectedRevision);
  };
}

async function benchDatabase(db: BenchDb, module: StoreModule): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  const open = async (): Promise<EventStore> => {
    if (db === 'sqlite') {
      const directory = await mkdtemp(path.join(tmpdir(), 'es-bench-'));
      cleanups.push(() => rm(directory, { recursive: true, force: true }));
      return module.openSqliteEventStore({ filename: path.join(directory, 'events.sqlite') });
    }
    const database = await createTestDatabase('b_es');
    cleanups.push(() => database.drop());
    return module.openMariaDbEventStore({ url: database.url });
  };
  try {
    for (const workers of [1, 32]) {
      const store = await open();
      try {
        results.push(await runCase(`append x${workers}`, workers, (worker) => appender(store, worker)));
      } finally {
        await store.close();
      }
    }
    const store = await open();
    try {
      const streamId = `bench-read-${randomUUID()}`;
      await store.append(streamId, [1, 2, 3, 4, 5].map(newEvent), 'no_stream');
      // Some other streams around it, as in a real log.
      for (let index = 0; index < 200; index += 1) {
        await store.append(`bench-other-${index}`, [newEvent(index), newEvent(index)], 'any');
      }
      for (const workers of [1, 32]) {
        results.push(
          await runCase(`readStream 5 x${workers}`, workers, () => async () => {
            const events = await store.readStream(streamId);
            if (events.length !== 5) throw new Error(`read ${events.length} events, expected 5`);
          }),
        );
      }
    } finally {
      await store.close();
    }
  } finally {
    for (const cleanup of cleanups) await cleanup();
  }
  return results;
}

async function main(): Promise<void> {
  const which = process.env.BENCH_DB ?? 'both';
  const databases: BenchDb[] = which === 'both' ? ['sqlite', 'mariadb'] : [which as BenchDb];
  const moduleUrl = process.env.BENCH_STORE_MODULE
    ? pathToFileURL(path.resolve(process.env.BENCH_STORE_MODULE)).href
    : new URL('../src/eventstore/sql-event-store.js', import.meta.url).href;
  const module = (await import(moduleUrl)) as StoreModule;
  console.log(`event store micro-benchmark: ${SECONDS} s per case, module ${moduleUrl}`);
  console.log(machineReferenceLine('before'));
  for (const db of databases) {
    const results = await benchDatabase(db, module);
    console.log(`\n${db}`);
    console.log('case                     ops/s      p50 µs      p99 µs     ops');
    for (const result of results) {
      console.log(
        `${result.name.padEnd(20)} ${result.opsPerSecond.toFixed(0).padStart(10)} ${result.p50us.toFixed(0).padStart(11)} ${result.p99us
          .toFixed(0)
          .padStart(11)} ${String(result.ops).padStart(7)}`,
      );
    }
  }
  console.log(machineReferenceLine('after'));
}

await main();
