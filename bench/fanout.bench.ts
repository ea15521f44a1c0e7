/**
 * Fan-out of one execution: a group of 5,000 VMs triggered at once against the
 * fake VMA/OMA (real HTTP, answering in 5 ms).
 *
 *   npm run bench:fanout                        # SQLite
 *   BENCH_DB=mariadb npm run bench:fanout       # MariaDB (MARIADB_TEST_URL, default mysql://root@127.0.0.1:3306)
 *   BENCH_DB=both BENCH_VMS=2000 npm run bench:fanout
 *
 * Environment: BENCH_DB sqlite | mariadb | both (default sqlite); BENCH_VMS (the
 * main case's group, default 5000); BENCH_LIMITED_VMS (the limited case's group,
 * default 500); BENCH_LIMITED_CONCURRENCY (its max_concurrent_vms, default 50);
 * BENCH_LATENCY_MS (the fake's answer delay, default 5); BENCH_POLL_SECONDS (the
 * process manager's job poll interval, default 1, the least JOB_POLL_INTERVAL_SECONDS
 * allows; the bench passes it to the service directly, so fractions work too);
 * BENCH_POLLS_TO_FINISH (OMA polls until a fake job completes, default 2);
 * BENCH_PUSH_AFTER_MS (when set, the fake OMA pushes: each job ends this long after
 * its creation was answered and its final status is posted to the service's
 * POST /api/v1/jobs/{id}/status, spec/integrations.md "Push"; polling stays on);
 * BENCH_CASES (comma list of `max`, `limited`; default both); BENCH_TIMEOUT_SECONDS
(a run reports what it reached this long after its trigger, default 600). Every (database, case)
 * runs in a child process of its own, so peak RSS is that run's alone.
 *
 * Cases:
 * - `max`: the schedule at max_concurrent_jobs 1000 and the group at
 *   max_concurrent_vms 1000, both the domain's maxima (spec/domain.md: 1..1000). With
 *   5,000 VMs the limits bind: at most 1,000 jobs run at once, so the 5,000 calls
 *   come in waves, each wave freed by jobs the process manager sees completing at
 *   its polls. Measured: trigger -> the 5,000th replication POST at the fake
 *   (target 10 s), and the execution until it ends.
 * - `limited`: the same with max_concurrent_vms 50 on a smaller group: the fake's
 *   most active jobs at once must never exceed 50, and the execution must end.
 *
 * Per run, on a throwaway store: the service starts in-process (process manager on
 * the real clock, no ticker); the fake runs in a child process of its own (the real
 * appliances are other machines), so the run's CPU and event loop are the service's
 * alone, and holds every VM in its inventory; the schedule,
 * the group and the VMs are created through the API (app.inject, 32 at a time;
 * assignment in batches of 1,000 ids): setup, not timed. Then POST
 * /schedules/{id}/trigger, and the fake's reports are watched (the times of its
 * replication POSTs, its most active jobs at once, its counts and its own CPU).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadState } from '../src/commands/run-decider.js';
import { loadConfig } from '../src/config.js';
import { streamIds } from '../src/domain/events.js';
import { executionDecider, executionDetails, isEnded } from '../src/domain/execution.js';
import { loadIntegrationConfig } from '../src/integrations/integration-config.js';
import { startService } from '../src/service.js';
import { apiClient } from '../test/support/api-client.js';
import { fakeVm, type VmScript } from '../test/support/fake-appliances.js';
import { startFakeAppliancesProcess, type FakeAppliancesReport } from '../test/support/fake-appliances-host.js';
import { createTestDatabase } from '../test/support/mariadb.js';
import { machineReferenceLine } from './machine-reference.js';

type BenchDb = 'sqlite' | 'mariadb';
type BenchCase = 'max' | 'limited';

const VMS = Number(process.env.BENCH_VMS ?? 5000);
const LIMITED_VMS = Number(process.env.BENCH_LIMITED_VMS ?? 500);
const LIMITED_CONCURRENCY = Number(process.env.BENCH_LIMITED_CONCURRENCY ?? 50);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 5);
const POLL_SECONDS = Number(process.env.BENCH_POLL_SECONDS ?? 1);
const POLLS_TO_FINISH = Number(process.env.BENCH_POLLS_TO_FINISH ?? 2);
const PUSH_AFTER_MS = process.env.BENCH_PUSH_AFTER_MS === undefined ? null : Number(process.env.BENCH_PUSH_AFTER_MS);
/** The domain's maximum of max_concurrent_jobs and of max_concurrent_vms. */
const DOMAIN_MAX = 1000;
const TARGET_SECONDS = 10;
/** A run stops waiting this long after its trigger and reports what it reached. */
const TIMEOUT_SECONDS = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 600);
const VCENTER = 'vc.bench.local';
const DATACENTER = 'DC1';

interface Result {
  db: BenchDb;
  /** Replication POSTs in each second after the trigger: how the waves went. */
  callsPerSecond: number[];
  case: BenchCase;
  vms: number;
  maxConcurrentJobs: number;
  maxConcurrentVms: number;
  setupSeconds: number;
  /** Trigger answered (202), ms after the trigger was sent. */
  triggerMs: number;
  firstCallMs: number;
  /** ms from the trigger to the min(N, limit)-th POST: the first wave. */
  firstWaveMs: number;
  allCallsMs: number;
  calls: number;
  endedMs: number;
  status: string;
  jobsCompleted: number;
  jobsFailed: number;
  jobsSkipped: number;
  maxActive: number;
  omaGets: number;
  discoveries: number;
  /** CPU of the service's process (this one) over the run. */
  cpuSeconds: number;
  /** CPU of the fake appliances' process over the run. */
  fakeCpuSeconds: number;
  peakRssMb: number;
  /** Failed and skipped VMs by message. */
  failures: Record<string, number>;
  /** The fake OMA's status pushes (BENCH_PUSH_AFTER_MS). */
  pushes: FakeAppliancesReport['pushes'];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function inBatches<T>(items: T[], width: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await each(items[next++]!);
    }),
  );
}

async function runOne(db: BenchDb, benchCase: BenchCase): Promise<Result> {
  const vmCount = benchCase === 'max' ? VMS : LIMITED_VMS;
  const maxConcurrentJobs = DOMAIN_MAX;
  const maxConcurrentVms = benchCase === 'max' ? DOMAIN_MAX : LIMITED_CONCURRENCY;
  const names = Array.from({ length: vmCount }, (_, i) => `fan-${String(i + 1).padStart(5, '0')}`);
  const scripts: Record<string, VmScript> = {};
  if (POLLS_TO_FINISH !== 2) for (const name of names) scripts[name] = { pollsToFinish: POLLS_TO_FINISH };
  const fake = await startFakeAppliancesProcess({ vms: names.map((name) => fakeVm(name, { datacenter: DATACENTER })), latencyMs: LATENCY_MS, scripts });

  const dataDir = await mkdtemp(join(tmpdir(), 'bench-fanout-'));
  let databaseUrl: string | null = null;
  let dropDatabase: () => Promise<void> = async () => undefined;
  if (db === 'mariadb') {
    const database = await createTestDatabase('bench_fanout');
    databaseUrl = database.url;
    dropDatabase = () => database.drop();
  }
  const integrationConfig = {
    ...loadIntegrationConfig({
      OMA_API_URL: fake.url,
      VMA_API_URL: fake.url,
      OMA_API_TOKEN: fake.token,
      OMA_OSSEA_CONFIG_ID: '7',
      VCENTER_CREDENTIALS: JSON.stringify({ [VCENTER]: { username: 'svc', password: 'bench-pw' } }),
    }),
    jobPollIntervalSeconds: POLL_SECONDS,
  };
  const service = await startService(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) }), {
    ticker: false,
    processManager: true,
    integrationConfig,
  });
  try {
    if (PUSH_AFTER_MS !== null) {
      // The pushes come over HTTP, from the fake's process, as an OMA's would.
      const address = await service.app.listen({ host: '127.0.0.1', port: 0 });
      await fake.pushEnds({ url: address, afterMs: PUSH_AFTER_MS });
    }
    const api = apiClient(service.app);
    const must = (what: string, answer: { status: number; body: unknown }, ok: number) => {
      if (answer.status !== ok) throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
    };

    // Setup (not timed): schedule, group, VMs, membership.
    const setupStarted = performance.now();
    const schedule = await api.post('/schedules', {
      name: `fanout ${benchCase}`,
      cron_expression: '0 2 * * *',
      max_concurrent_jobs: maxConcurrentJobs,
      retry_attempts: 0,
      skip_if_running: false,
    });
    must('create schedule', schedule, 201);
    const scheduleId = String(schedule.body.id);
    const group = await api.post('/machine-groups', { name: `fanout ${benchCase}`, schedule_id: scheduleId, max_concurrent_vms: maxConcurrentVms });
    must('create group', group, 201);
    const groupId = String(group.body.id);
    const vmIds: string[] = [];
    await inBatches(names, 32, async (name) => {
      const answer = await api.post('/vm-contexts', { vm_name: name, vmware_vm_id: `vm-${name}`, vm_path: `/${DATACENTER}/vm/${name}`, vcenter_host: VCENTER, datacenter: DATACENTER });
      must(`register ${name}`, answer, 201);
      vmIds.push(String(answer.body.context_id));
    });
    for (let start = 0; start < vmIds.length; start += 1000) {
      const answer = await api.post(`/machine-groups/${groupId}/vms`, { vm_context_ids: vmIds.slice(start, start + 1000) });
      must('assign', answer, 201);
      if ((answer.body.skipped as unknown[]).length > 0) throw new Error(`assign skipped: ${JSON.stringify(answer.body.skipped)}`);
    }
    const setupSeconds = (performance.now() - setupStarted) / 1000;
    await service.processManager!.whenIdle();

    // The run: trigger, then watch the fake's reports.
    const fakeBefore = await fake.report(0);
    const cpuBefore = process.cpuUsage();
    const triggeredAt = Date.now();
    const trigger = await api.post(`/schedules/${scheduleId}/trigger`, { reason: 'bench' });
    must('trigger', trigger, 202);
    const triggerMs = Date.now() - triggeredAt;
    const executionId = String(trigger.body.execution_id);

    const postTimes: number[] = [];
    let seen = fakeBefore;
    const scan = async () => {
      seen = await fake.report(postTimes.length);
      postTimes.push(...seen.replicationPostTimes);
    };
    const deadline = triggeredAt + TIMEOUT_SECONDS * 1000;
    let reported = triggeredAt;
    let checked = triggeredAt;
    while (postTimes.length < vmCount && Date.now() < deadline) {
      await sleep(10);
      await scan();
      if (Date.now() - checked >= 1000) {
        // An execution that ended (VMs failed or skipped) makes no more calls.
        checked = Date.now();
        if (isEnded((await loadState(service.store, streamIds.execution(executionId), executionDecider)).state)) break;
      }
      if (Date.now() - reported >= 10_000) {
        reported = Date.now();
        console.error(`    ${((reported - triggeredAt) / 1000).toFixed(0)} s: ${postTimes.length} replication POSTs, ${seen.activeJobs} jobs active, RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MB`);
      }
    }
    let state = (await loadState(service.store, streamIds.execution(executionId), executionDecider)).state;
    while (!isEnded(state) && Date.now() < deadline) {
      await sleep(100);
      state = (await loadState(service.store, streamIds.execution(executionId), executionDecider)).state;
    }
    const endedMs = Date.now() - triggeredAt;
    const cpu = process.cpuUsage(cpuBefore);
    await scan();
    postTimes.sort((a, b) => a - b);
    const callsPerSecond: number[] = [];
    for (const at of postTimes) {
      const second = Math.max(0, Math.floor((at - triggeredAt) / 1000));
      while (callsPerSecond.length <= second) callsPerSecond.push(0);
      callsPerSecond[second]! += 1;
    }
    const firstWave = Math.min(vmCount, maxConcurrentJobs, maxConcurrentVms);
    const ended = state.status !== 'absent' ? state.ended : undefined;
    const failures: Record<string, number> = {};
    for (const detail of state.status === 'absent' ? [] : executionDetails(state)) {
      if (detail.outcome !== 'failed' && detail.outcome !== 'skipped') continue;
      const key = `${detail.outcome}: ${String(detail.error_message ?? detail.conflict_type ?? detail.reason ?? '?').slice(0, 120)}`;
      failures[key] = (failures[key] ?? 0) + 1;
    }
    return {
      db,
      case: benchCase,
      vms: vmCount,
      maxConcurrentJobs,
      maxConcurrentVms,
      setupSeconds,
      triggerMs,
      callsPerSecond,
      firstCallMs: (postTimes[0] ?? Number.NaN) - triggeredAt,
      firstWaveMs: (postTimes[firstWave - 1] ?? Number.NaN) - triggeredAt,
      allCallsMs: postTimes.length >= vmCount ? postTimes[vmCount - 1]! - triggeredAt : Number.NaN,
      calls: postTimes.length,
      endedMs: isEnded(state) ? endedMs : Number.NaN,
      status: state.status,
      jobsCompleted: ended?.jobs_completed ?? 0,
      jobsFailed: ended?.jobs_failed ?? 0,
      jobsSkipped: ended?.jobs_skipped ?? 0,
      maxActive: seen.maxActiveJobs,
      omaGets: seen.omaPolls,
      discoveries: seen.discoveries,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      fakeCpuSeconds: seen.cpuSeconds - fakeBefore.cpuSeconds,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      failures,
      pushes: seen.pushes,
    };
  } finally {
    await service.stop();
    await fake.close();
    await rm(dataDir, { recursive: true, force: true });
    await dropDatabase();
  }
}

function runChild(db: BenchDb, benchCase: BenchCase): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_ONE: `${db}:${benchCase}` },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`${db} ${benchCase} run failed (exit ${String(code)}): ${out}`));
      // JSON turns NaN (not reached) into null: back to NaN.
      else resolve(JSON.parse(line, (_key, value: unknown) => (value === null ? Number.NaN : value)) as Result);
    });
  });
}

const seconds = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : '-');

function table(results: Result[]): string {
  const rows = [
    ['database', 'case', 'VMs', 'limits (jobs / vms)', 'first call', 'first wave', 'time to all calls', 'calls/s', 'ended', 'max in flight', 'outcome', 'CPU (service / fake)', 'peak RSS', 'verdict'],
    ...results.map((r) => {
      const verdict =
        r.case === 'max'
          ? `all in ${TARGET_SECONDS} s: ${r.calls >= r.vms && Number.isFinite(r.allCallsMs) && r.allCallsMs <= TARGET_SECONDS * 1000 ? 'yes' : 'NO'}; limit held: ${r.maxActive <= Math.min(r.maxConcurrentJobs, r.maxConcurrentVms) ? 'yes' : 'NO'}`
          : `max in flight <= ${r.maxConcurrentVms}: ${r.maxActive <= r.maxConcurrentVms ? 'yes' : 'NO'}; ended: ${Number.isFinite(r.endedMs) ? 'yes' : 'NO'}`;
      return [
        r.db,
        r.case,
        r.vms.toLocaleString('en'),
        `${r.maxConcurrentJobs} / ${r.maxConcurrentVms}`,
        seconds(r.firstCallMs),
        seconds(r.firstWaveMs),
        `${seconds(r.allCallsMs)} (${r.calls.toLocaleString('en')} calls)`,
        Number.isFinite(r.allCallsMs) ? Math.round((r.calls / r.allCallsMs) * 1000).toLocaleString('en') : '-',
        `${seconds(r.endedMs)} ${r.status}`,
        String(r.maxActive),
        `${r.jobsCompleted} ok / ${r.jobsFailed} failed / ${r.jobsSkipped} skipped`,
        `${r.cpuSeconds.toFixed(1)} s / ${r.fakeCpuSeconds.toFixed(1)} s`,
        `${r.peakRssMb.toFixed(0)} MB`,
        verdict,
      ];
    }),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

async function main(): Promise<void> {
  const one = process.env.BENCH_ONE;
  if (one) {
    const [db, benchCase] = one.split(':') as [BenchDb, BenchCase];
    const result = await runOne(db, benchCase);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const choice = process.env.BENCH_DB ?? 'sqlite';
  const dbs: BenchDb[] = choice === 'both' ? ['sqlite', 'mariadb'] : choice === 'mariadb' ? ['mariadb'] : ['sqlite'];
  const cases = (process.env.BENCH_CASES ?? 'max,limited').split(',').map((c) => c.trim()) as BenchCase[];
  console.log(
    `fan-out bench: Node ${process.version}; ${cpus().length} x ${cpus()[0]?.model ?? '?'}; fake VMA/OMA latency ${LATENCY_MS} ms; ` +
      `job poll every ${POLL_SECONDS} s, ` +
      (PUSH_AFTER_MS === null ? `jobs complete at poll ${POLLS_TO_FINISH}` : `jobs end ${PUSH_AFTER_MS} ms after their creation and the OMA pushes their status (polls stay on)`),
  );
  console.log(machineReferenceLine('before'));
  if (cases.includes('max') && VMS > DOMAIN_MAX) {
    console.log(
      `note: max_concurrent_jobs and max_concurrent_vms are 1..${DOMAIN_MAX} (spec/domain.md), so with ${VMS.toLocaleString('en')} VMs ` +
        `at most ${DOMAIN_MAX} jobs run at once: the ${VMS.toLocaleString('en')} calls need ${Math.ceil(VMS / DOMAIN_MAX)} waves, each freed by completions seen at a poll`,
    );
  }
  const results: Result[] = [];
  for (const db of dbs) {
    for (const benchCase of cases) {
      console.log(`running ${db} ${benchCase} ...`);
      const r = await runChild(db, benchCase);
      console.log(`  ${db} ${benchCase}: setup (${r.vms.toLocaleString('en')} VMs through the API) ${r.setupSeconds.toFixed(1)} s; trigger answered in ${r.triggerMs} ms; ${r.discoveries} discoveries, ${r.omaGets} OMA polls`);
      console.log(`    replication calls in each second after the trigger: ${r.callsPerSecond.join(' ')}`);
      for (const [message, count] of Object.entries(r.failures)) console.log(`    ${count} x ${message}`);
      if (r.pushes.sent > 0) console.log(`    status pushes: ${r.pushes.sent} sent, ${r.pushes.accepted} answered 200${Object.entries(r.pushes.refused).map(([why, n]) => `, ${n} answered ${why}`).join('')}`);
      results.push(r);
    }
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
