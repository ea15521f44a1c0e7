/**
 * `replay --as-of` of a stream of 10,000 events: how long the fold takes.
 *
 *   npm run bench:replay                       # SQLite and MariaDB
 *   BENCH_DB=sqlite BENCH_RUNS=50 npm run bench:replay
 *
 * Builds, through the real SQL event store, two streams of BENCH_EVENTS (default
 * 10,000) events each: a schedule (ScheduleCreated, then an ExecutionDue a minute)
 * and an execution of 1,000 VMs (ExecutionScheduled stored in schema version 1, so
 * it is upcast on every read; ExecutionStarted with the plan; per VM JobRequested,
 * JobStarted, JobStatusChanged..., JobCompleted, VmFinished). Then measures, over
 * BENCH_RUNS runs after 3 unmeasured ones:
 * - replay: replayStream() as `npm run cli -- replay <stream> --as-of <instant>`
 *   runs it (read the stream in pages through the upcasting store, fold with the
 *   decider's evolve, the state as plain JSON), with the instant after the last event;
 * - read: the stream read alone (readStream pages through the upcasting store);
 * - fold: evolve over the events already in memory.
 * Wall times (p50, max) and, for replay, the process's CPU time per run (p50): on a
 * shared machine the wall time also counts the time other processes held the CPUs.
 * BENCH_DB: sqlite | mariadb | both (default both). MariaDB: MARIADB_TEST_URL
 * (default mysql://root@127.0.0.1:3306); a throwaway database is created and dropped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { aggregateOfStream } from '../src/audit/stream-aggregates.js';
import { replayStream } from '../src/audit/stream-replay.js';
import { upcastEventData } from '../src/domain/event-upcasters.js';
import type { EventMetadata, EventStore, NewEvent, RecordedEvent } from '../src/eventstore/event-store.js';
import { openMariaDbEventStore, openSqliteEventStore } from '../src/eventstore/sql-event-store.js';
import { UpcastingEventStore } from '../src/eventstore/upcasting-event-store.js';
import { createTestDatabase } from '../test/support/mariadb.js';
import { machineReferenceLine } from './machine-reference.js';

type BenchDb = 'sqlite' | 'mariadb';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const WARMUP_RUNS = 3;
const VMS = 1_000;
const APPEND_BATCH = 500;
const START_MS = Date.parse('2026-01-01T00:00:00.000Z');

const metadataAt = (ms: number, schemaVersion = 1): EventMetadata => ({
  actor: 'bench',
  source: 'ticker',
  correlation_id: 'bench',
  causation_id: null,
  request_id: null,
  timestamp: new Date(ms).toISOString(),
  schema_version: schemaVersion,
});

/** ScheduleCreated, then an ExecutionDue a minute: `count` events in all. */
function scheduleStream(id: string, count: number): NewEvent[] {
  const events: NewEvent[] = [
    {
      type: 'ScheduleCreated',
      data: {
        schedule_id: id, name: 'every minute', description: null, schedule_type: 'cron', cron_expression: '* * * * *', timezone: 'UTC', chain_parent_schedule_id: null,
        chain_delay_minutes: 0, chain_trigger_on: 'success', replication_type: 'auto', max_concurrent_jobs: 1, retry_attempts: 3, retry_delay_minutes: 30, enabled: true,
        skip_if_running: true, catchup_policy: 'latest', catchup_window_minutes: 60, jitter_seconds: 0, created_at: new Date(START_MS).toISOString(), created_by: 'bench',
      },
      metadata: metadataAt(START_MS),
    },
  ];
  for (let minute = 1; events.length < count; minute++) {
    const due = new Date(START_MS + minute * 60_000).toISOString();
    events.push({ type: 'ExecutionDue', data: { schedule_id: id, execution_id: `${id}-${minute}`, due_at: due, fire_at: due, trigger: 'cron', at: due }, metadata: metadataAt(START_MS + minute * 60_000) });
  }
  return events;
}

/** One execution of VMS VMs, `count` events in all; its ExecutionScheduled in schema version 1 (no not_before). */
function executionStream(id: string, count: number): NewEvent[] {
  let clock = START_MS;
  const at = () => new Date((clock += 1_000)).toISOString();
  const plan = Array.from({ length: VMS }, (_, i) => ({ vm_context_id: `vm-${i}`, vm_name: `vm ${i}`, group_id: 'g1', group_priority: 0, member_priority: i }));
  const head: NewEvent[] = [
    {
      type: 'ExecutionScheduled',
      data: { execution_id: id, schedule_id: 's1', scheduled_at: new Date(START_MS).toISOString(), trigger: 'manual', triggered_by: 'manual:bench', reason: null, group_id: null, force: false, parent_execution_id: null, at: at() },
      metadata: metadataAt(clock, 1),
    },
    { type: 'ExecutionStarted', data: { started_at: at(), settings: { max_concurrent_jobs: VMS, retry_attempts: 0, retry_delay_minutes: 0, replication_type: 'auto' }, plan }, metadata: metadataAt(clock) },
  ];
  // Per VM: JobRequested, JobStarted, JobCompleted, VmFinished and its share of status changes.
  const statusChanges = count - head.length - 1 - 4 * VMS;
  if (statusChanges < 0) throw new Error(`an execution of ${VMS} VMs needs at least ${head.length + 1 + 4 * VMS} events`);
  const body: NewEvent[] = [];
  for (let i = 0; i < VMS; i++) {
    const vm = `vm-${i}`;
    const job = `job-${i}`;
    const event = (type: string, data: Record<string, unknown>): NewEvent => ({ type, data: { vm_context_id: vm, ...data, at: at() }, metadata: metadataAt(clock) });
    body.push(event('JobRequested', { attempt: 1, dispatch_id: `d-${i}` }));
    body.push(event('JobStarted', { attempt: 1, job_id: job, status: 'running', progress_percent: 0 }));
    const mine = Math.floor(statusChanges / VMS) + (i < statusChanges % VMS ? 1 : 0);
    for (let s = 1; s <= mine; s++) body.push(event('JobStatusChanged', { job_id: job, status: 'running', progress_percent: Math.round((100 * s) / (mine + 1)) }));
    body.push(event('JobCompleted', { job_id: job, attempt: 1 }));
    body.push(event('VmFinished', { outcome: 'completed' }));
  }
  const end: NewEvent = {
    type: 'ExecutionEnded',
    data: { status: 'completed', completed_at: at(), execution_duration_seconds: 1, vms_eligible: VMS, jobs_created: VMS, jobs_completed: VMS, jobs_failed: 0, jobs_skipped: 0, error_message: null },
    metadata: metadataAt(clock),
  };
  return [...head, ...body, end];
}

async function appendAll(store: EventStore, streamId: string, events: NewEvent[]): Promise<void> {
  for (let from = 0; from < events.length; from += APPEND_BATCH) {
    await store.append(streamId, events.slice(from, from + APPEND_BATCH), from === 0 ? 'no_stream' : from - 1);
  }
}

async function readWhole(store: EventStore, streamId: string): Promise<RecordedEvent[]> {
  const all: RecordedEvent[] = [];
  for (let fromRevision = 0; ; fromRevision += 2_000) {
    const page = await store.readStream(streamId, { fromRevision, maxCount: 2_000 });
    all.push(...page);
    if (page.length < 2_000) return all;
  }
}

interface Figures {
  /** Wall time, ms. */
  p50: number;
  max: number;
  /** CPU time of the process (user + system), ms: what a run costs when the machine is shared. */
  cpuP50: number;
}

const median = (sorted: number[]) => sorted[Math.floor(sorted.length / 2)] as number;

async function measure(run: () => Promise<unknown> | unknown): Promise<Figures> {
  for (let i = 0; i < WARMUP_RUNS; i++) await run();
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const cpuStarted = process.cpuUsage();
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
    const used = process.cpuUsage(cpuStarted);
    cpu.push((used.user + used.system) / 1000);
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return { p50: median(times), max: times[times.length - 1] as number, cpuP50: median(cpu) };
}

async function benchDatabase(db: BenchDb): Promise<void> {
  let cleanup: () => Promise<unknown>;
  let inner: EventStore;
  if (db === 'sqlite') {
    const directory = await mkdtemp(path.join(tmpdir(), 'replay-bench-'));
    cleanup = () => rm(directory, { recursive: true, force: true });
    inner = await openSqliteEventStore({ filename: path.join(directory, 'events.sqlite') });
  } else {
    const database = await createTestDatabase('b_replay');
    cleanup = () => database.drop();
    inner = await openMariaDbEventStore({ url: database.url });
  }
  const store = new UpcastingEventStore(inner, upcastEventData);
  try {
    const streams = { schedule: 'schedule-bench', execution: 'execution-bench' };
    await appendAll(store, streams.schedule, scheduleStream('bench', EVENTS));
    await appendAll(store, streams.execution, executionStream('bench', EVENTS));
    const asOf = new Date('2100-01-01T00:00:00Z');
    console.log(`\n${db}`);
    console.log('stream (events)              replay p50   replay max   replay CPU p50   read p50   fold p50');
    for (const [kind, streamId] of Object.entries(streams)) {
      const check = await replayStream(store, streamId, asOf);
      if (check?.event_count !== EVENTS) throw new Error(`${streamId}: folded ${check?.event_count} events, expected ${EVENTS}`);
      const replay = await measure(() => replayStream(store, streamId, asOf));
      const read = await measure(() => readWhole(store, streamId));
      const events = await readWhole(store, streamId);
      const { decider } = aggregateOfStream(streamId)!;
      const fold = await measure(() => events.reduce((state, event) => decider.evolve(state, { type: event.type, data: event.data }), decider.initialState));
      const ms = (value: number) => `${value.toFixed(1)} ms`.padStart(9);
      console.log(`${`${kind} (${EVENTS.toLocaleString('en')})`.padEnd(27)} ${ms(replay.p50)}    ${ms(replay.max)}        ${ms(replay.cpuP50)}  ${ms(read.p50)}  ${ms(fold.p50)}`);
    }
  } finally {
    await store.close();
    await cleanup();
  }
}

async function main(): Promise<void> {
  const which = process.env.BENCH_DB ?? 'both';
  const databases: BenchDb[] = which === 'both' ? ['sqlite', 'mariadb'] : [which as BenchDb];
  console.log(`replay of ${EVENTS.toLocaleString('en')}-event streams: ${RUNS} runs after ${WARMUP_RUNS} unmeasured; Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'})`);
  console.log(machineReferenceLine('before'));
  for (const db of databases) await benchDatabase(db);
  console.log(machineReferenceLine('after'));
}

await main();
