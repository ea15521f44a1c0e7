/**
 * bench:commands - HTTP command throughput and latency over a real port.
 *
 *   npm run bench:commands                                   # both databases
 *   BENCH_DB=sqlite BENCH_COMMANDS=5000 npm run bench:commands
 *
 * BENCH_DB: sqlite | mariadb | both (default both). BENCH_COMMANDS (default 20000),
 * BENCH_CLIENTS (default 32) concurrent clients, each with its own keep-alive
 * connection. BENCH_SCHEDULES: size of the schedule pool the updates pick from
 * (default 256). BENCH_WARMUP: mixed commands sent first and not measured
 * (default 400). BENCH_SERVER: child (default: the service runs in a child
 * process, so the load generator does not share its event loop and core) or
 * inprocess. BENCH_CPU_PROF=<dir>: the child service writes a V8 CPU profile there.
 * MariaDB: MARIADB_TEST_URL (default mysql://root@127.0.0.1:3306); a throwaway
 * database is created and dropped. SQLite: a throwaway directory under the OS tmpdir.
 *
 * The mix, 25 % each, every client cycling through it: register a VM
 * (POST /vm-contexts), create a group on a pool schedule (POST /machine-groups),
 * assign the client's last registered VM to its last created group
 * (POST /machine-groups/{id}/vms), update a random pool schedule
 * (PATCH /schedules/{id}). Names and VM identities are unique per run. Every
 * answer must be 2xx; failures are counted apart (and a 202, the read-your-writes
 * bound running out, is counted as well). Latency is request-to-last-byte at the
 * client, so it includes the read-your-writes wait the API does before answering.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { createTestDatabase, type TestDatabase } from '../test/support/mariadb.js';
import type { ParentMessage, ServerMessage } from './commands-server.js';
import { machineReferenceLine } from './machine-reference.js';

type BenchDb = 'sqlite' | 'mariadb';
type Kind = 'register VM' | 'create group' | 'assign VM' | 'update schedule';
const KINDS: readonly Kind[] = ['register VM', 'create group', 'assign VM', 'update schedule'];

const TARGET_COMMANDS_PER_SECOND: Record<BenchDb, number> = { sqlite: 2000, mariadb: 500 };
const TARGET_P99_MS = 50;
const TOKEN = 'bench-operator-token';
const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(BENCH_DIR, '..');

interface BenchConfig {
  databases: BenchDb[];
  commands: number;
  clients: number;
  schedules: number;
  warmup: number;
  server: 'child' | 'inprocess';
  cpuProfDir: string | null;
}

function positiveInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, not ${raw}`);
  return value;
}

function readConfig(): BenchConfig {
  const which = (process.env.BENCH_DB ?? 'both').toLowerCase();
  if (!['sqlite', 'mariadb', 'both'].includes(which)) throw new Error(`BENCH_DB must be sqlite, mariadb or both, not ${which}`);
  const server = (process.env.BENCH_SERVER ?? 'child').toLowerCase();
  if (server !== 'child' && server !== 'inprocess') throw new Error(`BENCH_SERVER must be child or inprocess, not ${server}`);
  return {
    databases: which === 'both' ? ['sqlite', 'mariadb'] : [which as BenchDb],
    commands: positiveInt('BENCH_COMMANDS', 20_000),
    clients: positiveInt('BENCH_CLIENTS', 32),
    schedules: positiveInt('BENCH_SCHEDULES', 256),
    warmup: positiveInt('BENCH_WARMUP', 400, 0),
    server,
    cpuProfDir: process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : null,
  };
}

// ---------------------------------------------------------------------------
// The service under test
// ---------------------------------------------------------------------------

interface ServerStats {
  maxRssKb: number;
  /** CPU time the service process has used so far (in process: this whole process). */
  cpuMs: number;
  events: number | null;
}

const cpuMsOfThisProcess = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

interface RunningServer {
  port: number;
  stats(): Promise<ServerStats>;
  stop(): Promise<void>;
}

function serviceEnv(dataDir: string, databaseUrl: string | null): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  delete env.DATABASE_URL;
  delete env.EVENTSTORE_URL;
  Object.assign(env, {
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: '0',
    API_TOKENS: `bench:operator:${TOKEN}`,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
  });
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  return env;
}

async function startChildServer(env: Record<string, string>, cpuProfDir: string | null): Promise<RunningServer> {
  const child: ChildProcess = fork(path.join(BENCH_DIR, 'commands-server.ts'), [], {
    cwd: REPO_ROOT,
    env,
    execArgv: ['--import', 'tsx', ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T extends ServerMessage['type']>(type: T): Promise<Extract<ServerMessage, { type: T }>> =>
    new Promise((resolve, reject) => {
      const onMessage = (message: ServerMessage) => {
        if (message.type === 'failed') {
          cleanup();
          reject(new Error(`the service did not start:\n${message.message}`));
        } else if (message.type === type) {
          cleanup();
          resolve(message as Extract<ServerMessage, { type: T }>);
        }
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`the service process exited (code ${code}) while waiting for "${type}"`));
      };
      const cleanup = () => {
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
    });
  const order = (message: ParentMessage) => child.send(message);
  const { port } = await next('listening');
  return {
    port,
    async stats() {
      const answer = next('stats');
      order({ type: 'stats' });
      const { maxRssKb, cpuMs, events } = await answer;
      return { maxRssKb, cpuMs, events };
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const stopped = next('stopped').catch(() => undefined);
      order({ type: 'stop' });
      await stopped;
      await exited;
    },
  };
}

async function startInProcessServer(env: Record<string, string>): Promise<RunningServer> {
  const { loadConfig } = await import('../src/config.js');
  const { startService } = await import('../src/service.js');
  const service = await startService(loadConfig(env));
  await service.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = service.app.server.address() as AddressInfo;
  return {
    port,
    async stats() {
      const head = await service.store.headPosition().catch(() => null);
      return { maxRssKb: process.resourceUsage().maxRSS, cpuMs: cpuMsOfThisProcess(), events: head !== null && /^\d+$/.test(head) ? Number(head) : null };
    },
    stop: () => service.stop(),
  };
}

// ---------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------

interface Answer {
  status: number;
  body: string;
}

class Client {
  private readonly agent: http.Agent;

  constructor(
    private readonly port: number,
    connections: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  }

  request(method: string, url: string, body: unknown): Promise<Answer> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path: `/api/v1${url}`,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${TOKEN}`,
            ...(payload && { 'content-type': 'application/json', 'content-length': payload.length }),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

// ---------------------------------------------------------------------------
// The workload
// ---------------------------------------------------------------------------

interface Sample {
  kind: Kind;
  ms: number;
  status: number;
}

interface Failure {
  kind: Kind;
  status: number;
  body: string;
}

/** mulberry32, so every run picks the same schedules. */
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

const runTag = Date.now().toString(36);

/** One client's own state: the VMs it registered and not yet assigned, its groups. */
class Worker {
  private serial = 0;
  private readonly unassignedVms: string[] = [];
  private readonly groups: string[] = [];
  private readonly random: () => number;

  constructor(
    private readonly client: Client,
    private readonly id: number,
    private readonly schedules: readonly string[],
    private readonly onSample: (sample: Sample) => void,
    private readonly onFailure: (failure: Failure) => void,
  ) {
    this.random = seededRandom(id + 1);
  }

  /** Runs `count` commands, cycling through the mix from `offset`. */
  async run(count: number, offset: number): Promise<void> {
    for (let i = 0; i < count; i++) await this.command(KINDS[(offset + i) % KINDS.length]!);
  }

  private async command(kind: Kind): Promise<void> {
    const n = ++this.serial;
    const name = `${runTag}-${this.id}-${n}`;
    let method = 'POST';
    let url: string;
    let body: unknown;
    switch (kind) {
      case 'register VM':
        url = '/vm-contexts';
        body = { vm_name: `bench-vm-${name}`, vmware_vm_id: `vm-${name}`, vm_path: `/dc1/vm/bench-${name}`, vcenter_host: 'vc-bench.example', datacenter: 'dc1', cpu_count: 2, memory_mb: 4096, os_type: 'linux' };
        break;
      case 'create group':
        url = '/machine-groups';
        body = { name: `bench-group-${name}`, schedule_id: this.pickSchedule(), max_concurrent_vms: 5, priority: n % 10 };
        break;
      case 'assign VM': {
        const vmId = this.unassignedVms.shift();
        const groupId = this.groups[this.groups.length - 1];
        if (vmId === undefined || groupId === undefined) {
          // Only after a failed registration or group creation (the cycle makes both first).
          this.onFailure({ kind, status: 0, body: 'not sent: no VM or group to assign (an earlier command failed)' });
          return;
        }
        url = `/machine-groups/${groupId}/vms`;
        body = { vm_context_id: vmId, priority: n % 100 };
        break;
      }
      case 'update schedule':
        method = 'PATCH';
        url = `/schedules/${this.pickSchedule()}`;
        body = { description: `revision ${name}`, jitter_seconds: n % 600, retry_attempts: n % 10 };
        break;
    }
    const started = performance.now();
    let answer: Answer;
    try {
      answer = await this.client.request(method, url, body);
    } catch (error) {
      answer = { status: 0, body: error instanceof Error ? error.message : String(error) };
    }
    const ms = performance.now() - started;
    this.onSample({ kind, ms, status: answer.status });
    if (answer.status < 200 || answer.status >= 300) {
      this.onFailure({ kind, status: answer.status, body: answer.body.slice(0, 300) });
      return;
    }
    // A 202 (the read models lagged past the bound) still names what was recorded, as `id`.
    if (kind === 'register VM' || kind === 'create group') {
      const created = JSON.parse(answer.body) as { context_id?: string; id?: string };
      const id = String(created.context_id ?? created.id);
      if (kind === 'register VM') this.unassignedVms.push(id);
      else this.groups.push(id);
    }
  }

  private pickSchedule(): string {
    return this.schedules[Math.floor(this.random() * this.schedules.length)]!;
  }
}

async function createSchedulePool(client: Client, count: number, concurrency: number): Promise<string[]> {
  const ids: string[] = new Array<string>(count);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < count; i = next++) {
      const answer = await client.request('POST', '/schedules', { name: `bench-schedule-${runTag}-${i}`, cron_expression: `${i % 60} ${i % 24} * * *`, timezone: 'Europe/London' });
      if (answer.status !== 201) throw new Error(`creating pool schedule ${i} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
      ids[i] = String((JSON.parse(answer.body) as { id: string }).id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return ids;
}

/** Splits `total` commands over the workers (the first ones take the remainder). */
function shares(total: number, workers: number): number[] {
  return Array.from({ length: workers }, (_, i) => Math.floor(total / workers) + (i < total % workers ? 1 : 0));
}

// ---------------------------------------------------------------------------
// One run
// ---------------------------------------------------------------------------

interface LatencyRow {
  label: string;
  count: number;
  failed: number;
  accepted202: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

interface BenchResult {
  database: BenchDb;
  commands: number;
  clients: number;
  seconds: number;
  perSecond: number;
  rows: LatencyRow[];
  failures: Failure[];
  serverPeakRssMb: number;
  clientPeakRssMb: number;
  eventsAppended: number | null;
  setupSeconds: number;
  /** CPU used during the measured phase, in ms. */
  serverCpuMs: number;
  clientCpuMs: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

function latencyRow(label: string, samples: Sample[]): LatencyRow {
  const sorted = Float64Array.from(samples.map((s) => s.ms)).sort();
  const sum = samples.reduce((total, s) => total + s.ms, 0);
  return {
    label,
    count: samples.length,
    failed: samples.filter((s) => s.status < 200 || s.status >= 300).length,
    accepted202: samples.filter((s) => s.status === 202).length,
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1]! : 0,
    mean: samples.length ? sum / samples.length : 0,
  };
}

async function benchOne(database: BenchDb, config: BenchConfig): Promise<BenchResult> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bench-commands-'));
  let testDatabase: TestDatabase | null = null;
  let server: RunningServer | null = null;
  let client: Client | null = null;
  try {
    if (database === 'mariadb') testDatabase = await createTestDatabase('bench_cmd');
    const env = serviceEnv(dataDir, testDatabase?.url ?? null);
    const setupStarted = performance.now();
    server = config.server === 'child' ? await startChildServer(env, config.cpuProfDir) : await startInProcessServer(env);
    client = new Client(server.port, config.clients);
    log(`[${database}] service on 127.0.0.1:${server.port} (${config.server}); creating ${config.schedules} schedules...`);
    const schedules = await createSchedulePool(client, config.schedules, config.clients);

    const samples: Sample[] = [];
    const failures: Failure[] = [];
    const workers = Array.from({ length: config.clients }, (_, i) => new Worker(client!, i, schedules, (s) => samples.push(s), (f) => failures.push(f)));
    if (config.warmup > 0) {
      log(`[${database}] warm-up: ${config.warmup} commands (not measured)...`);
      const warmupShares = shares(config.warmup, config.clients);
      await Promise.all(workers.map((worker, i) => worker.run(warmupShares[i]!, 0)));
      samples.length = 0;
      failures.length = 0;
    }
    const setupSeconds = (performance.now() - setupStarted) / 1000;
    const before = await server.stats();
    const clientCpuBefore = cpuMsOfThisProcess();

    log(`[${database}] ${config.commands.toLocaleString('en')} commands from ${config.clients} clients...`);
    const measureShares = shares(config.commands, config.clients);
    const warmupShares = shares(config.warmup, config.clients);
    const started = performance.now();
    await Promise.all(workers.map((worker, i) => worker.run(measureShares[i]!, warmupShares[i]!)));
    const seconds = (performance.now() - started) / 1000;
    const clientCpuMs = cpuMsOfThisProcess() - clientCpuBefore;

    const stats = await server.stats();
    const rows = KINDS.map((kind) => latencyRow(kind, samples.filter((s) => s.kind === kind)));
    rows.push(latencyRow('all', samples));
    return {
      database,
      commands: samples.length,
      clients: config.clients,
      seconds,
      perSecond: samples.length / seconds,
      rows,
      failures,
      serverPeakRssMb: stats.maxRssKb / 1024,
      clientPeakRssMb: process.resourceUsage().maxRSS / 1024,
      eventsAppended: stats.events !== null && before.events !== null ? stats.events - before.events : null,
      setupSeconds,
      serverCpuMs: stats.cpuMs - before.cpuMs,
      clientCpuMs,
    };
  } finally {
    client?.close();
    const stopping = performance.now();
    await server?.stop().catch((error: unknown) => log(`stopping the service failed: ${String(error)}`));
    if (server) log(`[${database}] service stopped in ${((performance.now() - stopping) / 1000).toFixed(1)} s`);
    await testDatabase?.drop().catch((error: unknown) => log(`dropping ${testDatabase?.name} failed: ${String(error)}`));
    await rm(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

function report(result: BenchResult, config: BenchConfig): boolean {
  const target = TARGET_COMMANDS_PER_SECOND[result.database];
  const all = result.rows[result.rows.length - 1]!;
  const throughputMet = result.perSecond >= target;
  const p99Met = all.p99 <= TARGET_P99_MS;
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const ms = (value: number) => value.toFixed(1).padStart(8);
  console.log(`\nbench:commands on ${result.database} (${config.server} server; ${result.clients} clients; node ${process.version}; ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'})`);
  // A shared machine shows in the figures: say how busy it was.
  console.log(`  load average     ${loadavg().map((value) => value.toFixed(2)).join(' ')} (1, 5, 15 min) at the end of the run`);
  console.log(`  ${'command'.padEnd(16)} ${'count'.padStart(7)} ${'failed'.padStart(7)} ${'202'.padStart(5)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'mean ms'.padStart(8)}`);
  for (const row of result.rows) {
    if (row.label === 'all') console.log(`  ${'-'.repeat(16)} ${'-'.repeat(7)} ${'-'.repeat(7)} ${'-'.repeat(5)} ${'-'.repeat(8)} ${'-'.repeat(8)} ${'-'.repeat(8)} ${'-'.repeat(8)} ${'-'.repeat(8)}`);
    console.log(
      `  ${row.label.padEnd(16)} ${String(row.count).padStart(7)} ${String(row.failed).padStart(7)} ${String(row.accepted202).padStart(5)} ${ms(row.p50)} ${ms(row.p95)} ${ms(row.p99)} ${ms(row.max)} ${ms(row.mean)}`,
    );
  }
  console.log(`  wall time        ${result.seconds.toFixed(2)} s (setup and warm-up ${result.setupSeconds.toFixed(1)} s, not counted)`);
  console.log(`  throughput       ${Math.round(result.perSecond).toLocaleString('en')} commands/s (target >= ${target.toLocaleString('en')}: ${verdict(throughputMet)})`);
  console.log(`  p99 (all)        ${all.p99.toFixed(1)} ms (target <= ${TARGET_P99_MS}: ${verdict(p99Met)})`);
  console.log(`  failures         ${result.failures.length} (non-2xx answers or connection errors)`);
  if (result.eventsAppended !== null) {
    console.log(`  events appended  ${result.eventsAppended.toLocaleString('en')} (${(result.eventsAppended / Math.max(1, result.commands)).toFixed(2)} per command)`);
  }
  const perCommand = (ms: number) => (ms / Math.max(1, result.commands)).toFixed(2);
  const busy = (ms: number) => Math.round(ms / 10 / result.seconds);
  if (config.server === 'child') {
    console.log(`  CPU              service ${perCommand(result.serverCpuMs)} ms/command (${busy(result.serverCpuMs)} % of a core); load generator ${perCommand(result.clientCpuMs)} ms/command (${busy(result.clientCpuMs)} %)`);
  } else {
    console.log(`  CPU              service and load generator ${perCommand(result.serverCpuMs)} ms/command (${busy(result.serverCpuMs)} % of a core)`);
  }
  console.log(`  peak RSS         service ${result.serverPeakRssMb.toFixed(0)} MB; load generator ${result.clientPeakRssMb.toFixed(0)} MB${config.server === 'inprocess' ? ' (same process)' : ''}`);
  const byStatus = new Map<string, Failure>();
  const counts = new Map<string, number>();
  for (const failure of result.failures) {
    const key = `${failure.kind} ${failure.status}`;
    if (!byStatus.has(key)) byStatus.set(key, failure);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const [key, failure] of byStatus) console.log(`    ${counts.get(key)} x ${key}: ${failure.body}`);
  return throughputMet && p99Met && result.failures.length === 0;
}

const config = readConfig();
log(`node ${process.version}; ${cpus().length} cores; ${config.commands} commands, ${config.clients} clients, ${config.schedules} pool schedules, warm-up ${config.warmup}`);
console.log(machineReferenceLine('before'));
let allMet = true;
for (const database of config.databases) {
  allMet = report(await benchOne(database, config), config) && allMet;
}
console.log(machineReferenceLine('after'));
console.log(`\n${allMet ? 'every target met' : 'some targets NOT met (see above)'}`);
