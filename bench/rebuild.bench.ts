/**
 * bench:rebuild - time a full rebuild of every read model from a synthetic log.
 *
 *   npm run bench:rebuild                        # both databases, 1,000,000 events
 *   BENCH_DB=sqlite BENCH_EVENTS=200000 npm run bench:rebuild
 *
 * BENCH_DB: sqlite | mariadb | both (default both). BENCH_EVENTS (default 1000000).
 * BENCH_PAGE_SIZE: catch-up page size of the runner (default: the runner's).
 * BENCH_MAX_ROWS: rows the runner's working set holds (catchUpMaxRows; default the
 * runner's): more rows held spare reads of evicted rows and cost memory.
 * MariaDB: MARIADB_TEST_URL (default mysql://root@127.0.0.1:3306); a throwaway
 * database is created and dropped. SQLite: a throwaway directory under the OS tmpdir.
 *
 * The log: 10,000 schedules, 1,000 groups, 100,000 VMs, 100,000 assignments, and
 * updates (schedule updates and enable/disable, VM status reports and scheduler
 * switches, membership updates and moves, group updates) up to the total; scaled
 * down proportionally for a smaller BENCH_EVENTS. It is appended 1,000 events per
 * append (synthetic streams: projections key rows by data ids, not by stream).
 *
 * Each database runs in two child processes of this script: one appends the log
 * (its time is reported apart, not counted), then, after a `sync`, a fresh one
 * times `ProjectionRunner.rebuild()` of every read model, as a service process would
 * run it: compiled JavaScript without the tsx loader (compiled-child.ts; the build,
 * into dist/bench-build, is not counted); its peak RSS is sampled every 100 ms and
 * after every page.
 *
 *   npm run bench:bluegreen                      # the same log, a blue/green rebuild under reads
 *
 * bench:bluegreen (BENCH_MODE=bluegreen) replaces the timed phase: a fresh process
 * starts the service on the log (its projections catch up first, not timed), a
 * reader process (read-load.ts) sends GET requests one after another, and the
 * service's read models are rebuilt blue/green (ProjectionRunner.rebuildBlueGreen)
 * while it answers them: rebuild rate, peak RSS and the reads' p50/p99 latency
 * before, during and after the rebuild are reported.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventMetadata, EventStore, NewEvent } from '../src/eventstore/event-store.js';
import { openMariaDbEventStore, openSqliteEventStore } from '../src/eventstore/sql-event-store.js';
import { EVENT_SCHEMA_VERSION, type DomainEvent } from '../src/domain/events.js';
import { SCHEDULE_DEFAULTS } from '../src/domain/schedule-fields.js';
import { VM_STATUSES } from '../src/domain/vm-fields.js';
import { allProjections } from '../src/projections/all-projections.js';
import { ProjectionRunner, type RebuildOptions, type RebuildResult } from '../src/projections/projection-runner.js';
import { openReadModelDb, type ReadModelDb } from '../src/projections/read-model-db.js';
import { createTestDatabase } from '../test/support/mariadb.js';
import { loadConfig } from '../src/config.js';
import { loadIntegrationConfig } from '../src/integrations/integration-config.js';
import { startService } from '../src/service.js';
import { compiledEntry, nodeFlagsWithoutTsx } from './compiled-child.js';
import { machineReferenceLine } from './machine-reference.js';

const TARGET_EVENTS_PER_SECOND = { sqlite: 50_000, mariadb: 20_000 } as const;
const TARGET_PEAK_RSS_MB = 512;
const EVENTS_PER_APPEND = 1000;

type BenchDb = 'sqlite' | 'mariadb';

type BenchMode = 'rebuild' | 'bluegreen';

interface BenchConfig {
  mode: BenchMode;
  databases: BenchDb[];
  totalEvents: number;
  pageSize: number | undefined;
}

function readConfig(): BenchConfig {
  const which = (process.env.BENCH_DB ?? 'both').toLowerCase();
  if (!['sqlite', 'mariadb', 'both'].includes(which)) throw new Error(`BENCH_DB must be sqlite, mariadb or both, not ${which}`);
  const totalEvents = Number(process.env.BENCH_EVENTS ?? 1_000_000);
  if (!Number.isInteger(totalEvents) || totalEvents < 1000) throw new Error('BENCH_EVENTS must be an integer >= 1000');
  const pageSize = process.env.BENCH_PAGE_SIZE === undefined ? undefined : Number(process.env.BENCH_PAGE_SIZE);
  const mode = (process.env.BENCH_MODE ?? 'rebuild').toLowerCase();
  if (mode !== 'rebuild' && mode !== 'bluegreen') throw new Error(`BENCH_MODE must be rebuild or bluegreen, not ${mode}`);
  return {
    mode,
    databases: which === 'both' ? ['sqlite', 'mariadb'] : [which as BenchDb],
    totalEvents,
    pageSize,
  };
}

// ---------------------------------------------------------------------------
// The synthetic log
// ---------------------------------------------------------------------------

/** mulberry32: a small seeded generator, so every run appends the same log. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface LogShape {
  schedules: number;
  groups: number;
  vms: number;
  /** Update events by kind, summing with the creations to the total. */
  updates: Record<UpdateKind, number>;
}

const UPDATE_SHARES = {
  scheduleUpdate: 0.1,
  scheduleSwitch: 0.05,
  vmStatus: 0.45,
  vmSchedulerSwitch: 0.1,
  membershipUpdate: 0.2,
  membershipMove: 0.05,
  groupUpdate: 0.05,
} as const;
type UpdateKind = keyof typeof UPDATE_SHARES;

function shapeFor(totalEvents: number): LogShape {
  const scale = totalEvents / 1_000_000;
  const schedules = Math.max(1, Math.round(10_000 * scale));
  const groups = Math.max(1, Math.round(1_000 * scale));
  const vms = Math.max(1, Math.round(100_000 * scale));
  const rest = totalEvents - schedules - groups - 2 * vms;
  const kinds = Object.keys(UPDATE_SHARES) as UpdateKind[];
  const updates = Object.fromEntries(kinds.map((kind) => [kind, Math.floor(rest * UPDATE_SHARES[kind])])) as Record<UpdateKind, number>;
  updates.vmStatus += rest - kinds.reduce((sum, kind) => sum + updates[kind], 0);
  return { schedules, groups, vms, updates };
}

const CRON_CHOICES = [
  ['0 2 * * *', 'UTC'],
  ['0 30 1 * * *', 'Europe/London'],
  ['*/30 * * * *', 'UTC'],
  ['0 22 * * 1-5', 'America/New_York'],
  ['15 3 1 * *', 'Asia/Tokyo'],
] as const;

const scheduleId = (n: number) => `sched-${n.toString(36).padStart(5, '0')}`;
const groupId = (n: number) => `group-${n.toString(36).padStart(4, '0')}`;
const vmId = (n: number) => `vm-${n.toString(36).padStart(5, '0')}`;

/** Yields the log's events in order with their command time. */
function* syntheticLog(shape: LogShape, random: () => number): Generator<{ event: DomainEvent; at: string }> {
  let clockMs = Date.parse('2026-01-05T08:00:00.000Z');
  const tick = () => new Date((clockMs += 250 + Math.floor(random() * 1000))).toISOString();
  const pick = (count: number) => Math.floor(random() * count);

  for (let n = 0; n < shape.schedules; n += 1) {
    const [cron, timezone] = CRON_CHOICES[n % CRON_CHOICES.length] ?? CRON_CHOICES[0];
    const at = tick();
    yield {
      at,
      event: {
        type: 'ScheduleCreated',
        data: {
          ...SCHEDULE_DEFAULTS,
          name: `Schedule ${n}`,
          description: n % 3 === 0 ? `Nightly replication of tier ${n % 7}` : null,
          cron_expression: cron,
          timezone,
          enabled: n % 10 !== 0,
          retry_attempts: n % 4,
          schedule_id: scheduleId(n),
          created_at: at,
          created_by: 'bench',
        },
      },
    };
  }
  for (let n = 0; n < shape.groups; n += 1) {
    const at = tick();
    yield {
      at,
      event: {
        type: 'MachineGroupCreated',
        data: {
          name: `Group ${n}`,
          description: null,
          schedule_id: scheduleId(n % shape.schedules),
          max_concurrent_vms: 5 + (n % 10),
          max_members: n % 2 === 0 ? null : 500,
          priority: n % 5,
          group_id: groupId(n),
          created_at: at,
          created_by: 'bench',
        },
      },
    };
  }

  const groupOfVm = new Int32Array(shape.vms);
  const remaining = { register: shape.vms, ...shape.updates };
  let registered = 0;
  let membershipCounter = 0;
  const kinds = Object.keys(remaining) as Array<keyof typeof remaining>;
  let left = kinds.reduce((sum, kind) => sum + remaining[kind], 0);
  while (left > 0) {
    // Pick a kind in proportion to what is left of it; VM updates need a registered VM.
    let roll = random() * left;
    let kind = kinds[0] ?? 'register';
    for (const candidate of kinds) {
      roll -= remaining[candidate];
      if (roll < 0) {
        kind = candidate;
        break;
      }
    }
    const needsVm = kind === 'vmStatus' || kind === 'vmSchedulerSwitch' || kind === 'membershipUpdate' || kind === 'membershipMove';
    if (registered === 0 && needsVm) kind = 'register';
    if (remaining[kind] <= 0) continue;
    remaining[kind] -= 1;
    left -= 1;
    const at = tick();
    switch (kind) {
      case 'register': {
        const n = registered++;
        const contextId = vmId(n);
        const group = pick(shape.groups);
        groupOfVm[n] = group;
        yield {
          at,
          event: {
            type: 'VmRegistered',
            data: {
              vm_name: `app-server-${n}`,
              vmware_vm_id: `vm-${100000 + n}`,
              vm_path: `/Datacenter-${n % 4}/vm/prod/app-server-${n}`,
              vcenter_host: `vcenter-${n % 3}.example.test`,
              datacenter: `Datacenter-${n % 4}`,
              cpu_count: 2 + (n % 8),
              memory_mb: 4096 * (1 + (n % 4)),
              os_type: n % 5 === 0 ? 'windows' : 'linux',
              power_state: 'poweredOn',
              vm_tools_version: '12.3.0',
              context_id: contextId,
              auto_added: n % 2 === 0,
              created_at: at,
              created_by: 'discovery',
            },
          },
        };
        // Its assignment follows at once (shapeFor counted it among the 2 events per VM).
        yield {
          at,
          event: {
            type: 'VmAssignedToGroup',
            data: {
              context_id: contextId,
              group_id: groupId(group),
              membership_id: `mem-${(membershipCounter++).toString(36)}`,
              previous_group_id: null,
              priority: n % 10,
              enabled: true,
              schedule_override_id: null,
              added_at: at,
              added_by: 'bench',
            },
          },
        };
        break;
      }
      case 'scheduleUpdate':
        yield {
          at,
          event: {
            type: 'ScheduleUpdated',
            data: { schedule_id: scheduleId(pick(shape.schedules)), changes: { retry_delay_minutes: 5 + pick(60), description: `edited at ${at}` }, updated_at: at },
          },
        };
        break;
      case 'scheduleSwitch': {
        const id = scheduleId(pick(shape.schedules));
        yield { at, event: random() < 0.5 ? { type: 'ScheduleDisabled', data: { schedule_id: id, at } } : { type: 'ScheduleEnabled', data: { schedule_id: id, at } } };
        break;
      }
      case 'vmStatus': {
        const status = VM_STATUSES[pick(VM_STATUSES.length)] ?? 'replicating';
        yield {
          at,
          event: { type: 'VmStatusReported', data: { context_id: vmId(pick(registered)), status, previous_status: 'discovered', reason: null, at } },
        };
        break;
      }
      case 'vmSchedulerSwitch': {
        const contextId = vmId(pick(registered));
        yield { at, event: random() < 0.5 ? { type: 'VmSchedulerDisabled', data: { context_id: contextId, at } } : { type: 'VmSchedulerEnabled', data: { context_id: contextId, at } } };
        break;
      }
      case 'membershipUpdate': {
        const n = pick(registered);
        yield {
          at,
          event: {
            type: 'VmMembershipUpdated',
            data: { context_id: vmId(n), group_id: groupId(groupOfVm[n] ?? 0), changes: { priority: pick(100), enabled: random() < 0.9 }, at },
          },
        };
        break;
      }
      case 'membershipMove': {
        const n = pick(registered);
        const from = groupOfVm[n] ?? 0;
        const to = pick(shape.groups);
        groupOfVm[n] = to;
        yield {
          at,
          event: {
            type: 'VmAssignedToGroup',
            data: {
              context_id: vmId(n),
              group_id: groupId(to),
              membership_id: `mem-${(membershipCounter++).toString(36)}`,
              previous_group_id: groupId(from),
              priority: pick(10),
              enabled: true,
              schedule_override_id: null,
              added_at: at,
              added_by: 'bench',
            },
          },
        };
        break;
      }
      case 'groupUpdate':
        yield {
          at,
          event: { type: 'MachineGroupUpdated', data: { group_id: groupId(pick(shape.groups)), changes: { priority: pick(10), max_concurrent_vms: 1 + pick(20) }, updated_at: at } },
        };
        break;
    }
  }
}

function metadataAt(timestamp: string): EventMetadata {
  return {
    actor: 'bench',
    source: 'cli',
    correlation_id: 'bench-rebuild',
    causation_id: null,
    request_id: null,
    timestamp,
    schema_version: EVENT_SCHEMA_VERSION,
  };
}

async function appendSyntheticLog(store: EventStore, totalEvents: number): Promise<number> {
  const shape = shapeFor(totalEvents);
  let batch: NewEvent[] = [];
  let appended = 0;
  let appendCount = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await store.append(`bench-log-${appendCount++}`, batch, 'no_stream');
    appended += batch.length;
    batch = [];
  };
  for (const { event, at } of syntheticLog(shape, seededRandom(20261128))) {
    batch.push({ type: event.type, data: event.data as Record<string, unknown>, metadata: metadataAt(at) });
    if (batch.length >= EVENTS_PER_APPEND) await flush();
  }
  await flush();
  return appended;
}

// ---------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------

interface RebuildMeasurement {
  events: number;
  rebuildSeconds: number;
  /** CPU time of the rebuilding process during the rebuild (user + system). */
  rebuildCpuSeconds: number;
  /** 1-minute load average before and after the rebuild: the machine may be shared. */
  loadAverage: [before: number, after: number];
  peakRssMb: number;
  rowCounts: Record<string, number>;
}

interface BenchResult extends RebuildMeasurement {
  database: BenchDb;
  generationSeconds: number;
  eventsPerSecond: number;
}

/**
 * Samples RSS every 100 ms, and whenever `sample` is called (the rebuild calls it per
 * page: its SQLite work is synchronous and may hold timers back). Returns the peak (MB).
 */
function startRssSampler(): { sample(): void; stop(): number } {
  let peak = process.memoryUsage.rss();
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, 100);
  return {
    sample,
    stop: () => {
      clearInterval(timer);
      sample();
      return peak / (1024 * 1024);
    },
  };
}

async function countRows(db: ReadModelDb): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const projection of allProjections) {
    const row = (await db.knex(projection.table).count({ rows: '*' }).first()) as { rows: number | string } | undefined;
    counts[projection.table] = Number(row?.rows ?? 0);
  }
  return counts;
}

/** Where one database's bench keeps its log and read models: a directory, or a MariaDB URL. */
interface BenchTarget {
  database: BenchDb;
  location: string;
}

async function openStores(target: BenchTarget): Promise<{ store: EventStore; db: ReadModelDb; close(): Promise<void> }> {
  const store =
    target.database === 'sqlite'
      ? await openSqliteEventStore({ filename: path.join(target.location, 'events.sqlite') })
      : await openMariaDbEventStore({ url: target.location });
  try {
    const db =
      target.database === 'sqlite'
        ? await openReadModelDb({ dataDir: target.location })
        : await openReadModelDb({ databaseUrl: target.location, dataDir: path.join(tmpdir(), 'bench-rebuild-unused') });
    return {
      store,
      db,
      close: async () => {
        await store.close();
        await db.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** Child phase 1: append the synthetic log; prints the seconds it took. */
async function generatePhase(target: BenchTarget, totalEvents: number): Promise<number> {
  const { store, close } = await openStores(target);
  try {
    const started = performance.now();
    const events = await appendSyntheticLog(store, totalEvents);
    log(`[${target.database}] generated ${events.toLocaleString('en')} events`);
    return (performance.now() - started) / 1000;
  } finally {
    await close();
  }
}

/** Times a rebuild: its result, CPU time, peak RSS and the load around it; logs progress every 100,000 events. */
async function timeRebuild(
  database: BenchDb,
  rebuild: (options: RebuildOptions) => Promise<RebuildResult>,
): Promise<Omit<RebuildMeasurement, 'rowCounts'>> {
  let lastReport = 0;
  const loadBefore = loadavg()[0] ?? 0;
  const cpuBefore = process.cpuUsage();
  const rss = startRssSampler();
  const result = await rebuild({
    onProgress: ({ events_done, events_per_second }) => {
      rss.sample();
      if (events_done - lastReport >= 100_000) {
        lastReport = events_done;
        log(`[${database}]   ${events_done.toLocaleString('en')} events, ${Math.round(events_per_second).toLocaleString('en')}/s`);
      }
    },
  });
  const peakRssMb = rss.stop();
  const cpu = process.cpuUsage(cpuBefore);
  const loadAfter = loadavg()[0] ?? 0;
  return {
    events: result.events,
    rebuildSeconds: result.seconds,
    rebuildCpuSeconds: (cpu.user + cpu.system) / 1e6,
    loadAverage: [loadBefore, loadAfter],
    peakRssMb,
  };
}

/** Child phase 2, in a fresh process as a service would run it: the timed rebuild. */
async function rebuildPhase(target: BenchTarget, pageSize: number | undefined): Promise<RebuildMeasurement> {
  const { store, db, close } = await openStores(target);
  try {
    const maxRows = process.env.BENCH_MAX_ROWS === undefined ? undefined : Number(process.env.BENCH_MAX_ROWS);
    const runner = new ProjectionRunner(store, db, [...allProjections], {
      ...(pageSize === undefined ? {} : { catchUpPageSize: pageSize }),
      ...(maxRows === undefined ? {} : { catchUpMaxRows: maxRows }),
    });
    const measured = await timeRebuild(target.database, (options) => runner.rebuild(options));
    await runner.stop();
    return { ...measured, rowCounts: await countRows(db) };
  } finally {
    await close();
  }
}

interface ReadFigures {
  requests: number;
  failures: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

interface BlueGreenMeasurement extends RebuildMeasurement {
  catchUpSeconds: number;
  /** The reader's figures per phase: before, rebuild, after. */
  reads: Record<string, ReadFigures>;
}

const READ_PHASE_SECONDS = 5;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Child phase 2 of bench:bluegreen: the service answers reads while its read models are rebuilt blue/green. */
async function blueGreenPhase(target: BenchTarget, totalEvents: number): Promise<BlueGreenMeasurement> {
  const storesEnv =
    target.database === 'sqlite' ? { DATA_DIR: target.location } : { DATABASE_URL: target.location, DATA_DIR: path.join(tmpdir(), 'bench-rebuild-unused') };
  const config = loadConfig({ ...storesEnv, LOG_LEVEL: 'silent', PORT: '0' });
  const service = await startService(config, { integrationConfig: loadIntegrationConfig({}), ticker: false, processManager: false });
  try {
    const head = await service.store.headPosition();
    const catchUpStarted = performance.now();
    if (head !== null && !(await service.projections.waitForPosition(head, 30 * 60_000))) throw new Error('the live read models did not catch up');
    const catchUpSeconds = (performance.now() - catchUpStarted) / 1000;
    log(`[${target.database}] live read models caught up in ${catchUpSeconds.toFixed(1)} s; reads start`);
    await service.app.listen({ host: '127.0.0.1', port: 0 });
    const address = service.app.server.address();
    if (address === null || typeof address !== 'object') throw new Error('the service does not listen');
    const reader = spawn(process.execPath, [...process.execArgv, fileURLToPath(new URL('./read-load.ts', import.meta.url))], {
      env: { ...process.env, BENCH_READ_URL: `http://127.0.0.1:${address.port}`, BENCH_READ_SHAPE: JSON.stringify(shapeFor(totalEvents)) },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const readerAnswer = new Promise<string>((resolve) => createInterface({ input: reader.stdout }).once('line', resolve));
    const tell = (line: string) => reader.stdin.write(`${line}\n`);
    tell('phase warmup');
    await sleep(1000);
    tell('phase before');
    await sleep(READ_PHASE_SECONDS * 1000);
    tell('phase rebuild');
    const measured = await timeRebuild(target.database, (options) => service.projections.rebuildBlueGreen(options));
    tell('phase after');
    await sleep(READ_PHASE_SECONDS * 1000);
    tell('stop');
    const reads = JSON.parse(await readerAnswer) as Record<string, ReadFigures>;
    return { ...measured, rowCounts: await countRows(service.readDb), catchUpSeconds, reads };
  } finally {
    await service.stop();
  }
}

const RESULT_MARKER = 'BENCH_RESULT ';

/**
 * Runs a phase in a child process and returns what it printed. The timed rebuild runs
 * this file compiled, as a service process runs (compiled-child.ts); the others run it
 * as this process does (same node and loader flags).
 */
function runPhase<T>(phase: 'generate' | 'rebuild' | 'bluegreen', target: BenchTarget): T {
  const argv = phase === 'rebuild' ? [...nodeFlagsWithoutTsx(process.execArgv), compiledEntry(import.meta.url)] : [...process.execArgv, fileURLToPath(import.meta.url)];
  const child = spawnSync(process.execPath, argv, {
    env: { ...process.env, BENCH_PHASE: phase, BENCH_DB: target.database, BENCH_TARGET: target.location },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = child.stdout.split('\n').find((candidate) => candidate.startsWith(RESULT_MARKER));
  if (child.status !== 0 || line === undefined) {
    throw new Error(`bench ${phase} phase on ${target.database} failed (exit ${String(child.status)})`);
  }
  return JSON.parse(line.slice(RESULT_MARKER.length)) as T;
}

async function benchOne(database: BenchDb, config: BenchConfig): Promise<BenchResult> {
  // Throwaway places: a directory (SQLite) or a database (MariaDB), removed at the end.
  const testDatabase = database === 'mariadb' ? await createTestDatabase('bench_rebuild') : null;
  const scratchDir = await mkdtemp(path.join(tmpdir(), 'bench-rebuild-'));
  const target: BenchTarget = { database, location: testDatabase?.url ?? scratchDir };
  try {
    log(`[${database}] generating ${config.totalEvents.toLocaleString('en')} events...`);
    const generationSeconds = runPhase<number>('generate', target);
    // The generated log is still dirty in the OS page cache; its write-back would land
    // inside the timed rebuild. A log being rebuilt from has long been on disk.
    spawnSync('sync');
    log(`[${database}] ${config.mode === 'bluegreen' ? 'starting the service and rebuilding blue/green under reads' : 'rebuilding'} in a fresh process...`);
    const measurement = runPhase<RebuildMeasurement>(config.mode, target);
    return {
      ...measurement,
      database,
      generationSeconds,
      eventsPerSecond: measurement.events / measurement.rebuildSeconds,
    };
  } finally {
    await testDatabase?.drop();
    await rm(scratchDir, { recursive: true, force: true });
  }
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

function report(result: BenchResult): void {
  const target = TARGET_EVENTS_PER_SECOND[result.database];
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log(`\nbench:${'reads' in result ? 'bluegreen' : 'rebuild'} on ${result.database}`);
  console.log(`  events            ${result.events.toLocaleString('en')}`);
  console.log(`  generation        ${result.generationSeconds.toFixed(1)} s (not counted)`);
  console.log(`  rebuild           ${result.rebuildSeconds.toFixed(2)} s (CPU of this process ${result.rebuildCpuSeconds.toFixed(1)} s)`);
  console.log(`  throughput        ${Math.round(result.eventsPerSecond).toLocaleString('en')} events/s (target ${target.toLocaleString('en')}: ${verdict(result.eventsPerSecond >= target)})`);
  console.log(`  peak RSS          ${result.peakRssMb.toFixed(0)} MB (target <= ${TARGET_PEAK_RSS_MB}: ${verdict(result.peakRssMb <= TARGET_PEAK_RSS_MB)})`);
  console.log(`  load average      ${result.loadAverage.map((load) => load.toFixed(2)).join(' -> ')} (1 min; ${cpus().length} CPUs)`);
  for (const [table, count] of Object.entries(result.rowCounts)) {
    console.log(`  rows ${table.padEnd(24)} ${count.toLocaleString('en')}`);
  }
  if ('reads' in result) {
    const measured = result as BenchResult & BlueGreenMeasurement;
    console.log(`  live catch-up     ${measured.catchUpSeconds.toFixed(1)} s (before the reads; not counted)`);
    for (const name of ['before', 'rebuild', 'after']) {
      const reads = measured.reads[name];
      if (!reads) continue;
      console.log(
        `  reads ${name.padEnd(8)}   ${reads.requests.toLocaleString('en')} GETs, p50 ${reads.p50_ms.toFixed(2)} ms, p99 ${reads.p99_ms.toFixed(2)} ms, max ${reads.max_ms.toFixed(0)} ms, not 200: ${reads.failures}`,
      );
    }
  }
}

const config = readConfig();
const phase = process.env.BENCH_PHASE;
if (phase === 'generate' || phase === 'rebuild' || phase === 'bluegreen') {
  const database = config.databases[0] ?? 'sqlite';
  const target: BenchTarget = { database, location: process.env.BENCH_TARGET ?? '' };
  const result =
    phase === 'generate'
      ? await generatePhase(target, config.totalEvents)
      : phase === 'rebuild'
        ? await rebuildPhase(target, config.pageSize)
        : await blueGreenPhase(target, config.totalEvents);
  console.log(RESULT_MARKER + JSON.stringify(result));
} else {
  log(`node ${process.version}; page size ${config.pageSize ?? 'default'}`);
  console.log(machineReferenceLine('before'));
  for (const database of config.databases) {
    report(await benchOne(database, config));
  }
  console.log(machineReferenceLine('after'));
}
