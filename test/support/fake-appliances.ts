/**
 * A test double of the VMA and the OMA: a real HTTP server on 127.0.0.1 that
 * speaks the APIs of spec/integrations.md (both on one base URL, their routes do
 * not overlap). Tests script each VM's behaviour, inject faults, read every
 * request it received and how many jobs were active at once.
 *
 * Jobs advance only when polled (OMA GET of the job), so tests never wait for
 * wall time to see a job finish.
 *
 * Like an OMA that honours the `Idempotency-Key` header, a creation repeated
 * with a key it knows makes no job and answers the first one (200); a 409
 * names the VM's active job (`job_id`) when there is one. A test can hold a
 * VM's discovery or the answer to its creation (the job exists already) to
 * stop the scheduler at that point.
 */
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { ACTIVE_JOB_STATUSES } from '../../src/domain/job-statuses.js';
import type { DiscoveredVm } from '../../src/integrations/replication-gateway.js';
import { vmaNameFilter } from '../../src/integrations/vma-name-filter.js';

/** How the appliances treat the replication jobs of one VM (by VM name). */
export interface VmScript {
  /** The OMA poll of a job that reports its end; earlier polls report `replicating`. Default 2. */
  pollsToFinish?: number;
  /** Every job of this VM ends `failed`. */
  fail?: boolean;
  /** The first K jobs of this VM fail, later ones succeed. */
  failFirstAttempts?: number;
  /** Creation answers 409 "active job" (no job is made). */
  activeJobConflict?: boolean;
  /** Jobs are created (201), then the VMA and the OMA answer 404 for them. */
  forgetJob?: boolean;
  /** Creation holds its answer this long; the job exists from the moment the request arrived. */
  createDelayMs?: number;
  /** Creation answers 500; `jobCreated`: the job was made anyway; `times`: only the first N creations. */
  answer500?: { jobCreated?: boolean; times?: number };
}

export type FakeRoute = 'discover' | 'vma_status' | 'create' | 'oma_state';

export interface RecordedRequest {
  method: string;
  path: string;
  route: FakeRoute | null;
  /** Parsed JSON, or the raw text when it was not JSON, or undefined when empty. */
  body: unknown;
  authorization: string | undefined;
  /** The `Idempotency-Key` header. */
  idempotencyKey: string | undefined;
  receivedAt: number;
  /** What a creation was answered (set when the answer is sent; absent for one never answered). */
  answer?: { status: number; jobId: string | null };
}

/** A request held before its answer: `reached` resolves when it arrives; `release` lets it answer. */
export interface HeldRequest {
  readonly reached: Promise<void>;
  release(): void;
}

export interface FakeJob {
  jobId: string;
  vmName: string;
  vmId: string;
  status: string;
  progressPercent: number;
  errorMessage: string | null;
  polls: number;
  forgotten: boolean;
  /** Set by setJobStatus: the job no longer follows its script. */
  manual: boolean;
  fated: 'completed' | 'failed';
  pollsToFinish: number;
  vmPath: string;
  startedAt: string;
  completedAt: string | null;
  updatedAt: string;
  requestBody: unknown;
  /** `schedule_execution_id` of the creation. */
  scheduleExecutionId: string;
  idempotencyKey: string | undefined;
}

export interface FakeAppliancesOptions {
  /** The OMA's Bearer token. Default `fake-oma-token-0123`. */
  token?: string;
  vms?: DiscoveredVm[];
  /** When set, discovery answers 401 unless the vCenter's username and password match. */
  vcenterCredentials?: Record<string, { username: string; password: string }>;
  /** Wait before every answer. */
  latencyMs?: number;
  /** By VM name. */
  scripts?: Record<string, VmScript>;
}

/**
 * An OMA that pushes (spec/integrations.md, "Push"): each job created from now on ends
 * `afterMs` after its creation was answered, and its final status is posted to
 * `{url}/api/v1/jobs/{job_id}/status`. Polls see the same end.
 */
export interface PushTarget {
  url: string;
  afterMs: number;
  /** Sent as Bearer when set. */
  token?: string;
}

/** What the pushes have come to. */
export interface PushCounts {
  sent: number;
  /** Answered 200. */
  accepted: number;
  /** Answered otherwise, or not at all: by status ('error' for no answer). */
  refused: Record<string, number>;
}

export interface FakeAppliances {
  /** Base URL of both the VMA and the OMA. */
  readonly url: string;
  readonly token: string;
  /** Every request, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  replicationPosts(): RecordedRequest[];
  gets(): RecordedRequest[];
  discoveries(): RecordedRequest[];
  jobs(): FakeJob[];
  job(jobId: string): FakeJob | undefined;
  /** Jobs created, not ended and not forgotten. */
  activeJobCount(): number;
  /** The most jobs that were active at once since start. */
  maxActiveJobs(): number;
  setInventory(vms: DiscoveredVm[]): void;
  setScript(vmName: string, script: VmScript): void;
  setLatency(ms: number): void;
  /** Overrides a job's state; from then on it no longer follows its script. */
  setJobStatus(jobId: string, status: string, progressPercent: number, errorMessage?: string | null): void;
  /** VMA and OMA answer 404 for the job from now on. */
  forgetJob(jobId: string): void;
  /** The next `times` requests of a route answer `status` (plain text), before anything else happens. */
  failNext(route: FakeRoute, times: number, status?: number): void;
  /** Holds the next discovery whose filter names `vmName` until released. */
  holdDiscovery(vmName: string): HeldRequest;
  /** Holds the answer to the next creation for `vmName` (the job is made, the answer waits) until released. */
  holdCreation(vmName: string): HeldRequest;
  /** Jobs created from now on end on their own and are pushed to `target` (null: polls only, as by default). */
  pushEnds(target: PushTarget | null): void;
  pushCounts(): PushCounts;
  close(): Promise<void>;
}

const ACTIVE = new Set<string>(ACTIVE_JOB_STATUSES);

/** A complete DiscoveredVm with plausible values; override what the test cares about. */
export function fakeVm(name: string, overrides: Partial<DiscoveredVm> = {}): DiscoveredVm {
  return {
    id: `vm-${name}`,
    name,
    path: `/DC1/vm/${name}`,
    datacenter: 'DC1',
    power_state: 'poweredOn',
    guest_os: 'ubuntu64Guest',
    memory_mb: 4096,
    num_cpu: 2,
    vmx_version: 'vmx-19',
    vmware_tools_status: 'toolsOk',
    vmware_tools_version: '12352',
    disks: [
      {
        id: `${name}:disk-2000`,
        label: 'Hard disk 1',
        path: `[ds1] ${name}/${name}.vmdk`,
        vmdk_path: `[ds1] ${name}/${name}.vmdk`,
        size_gb: 40,
        capacity_bytes: 42949672960,
        datastore: 'ds1',
        provisioning_type: 'thin',
        unit_number: 0,
      },
    ],
    networks: [{ label: 'Network adapter 1', network_name: 'VM Network', adapter_type: 'vmxnet3', mac_address: '00:50:56:00:00:01', connected: true, type: 'Network' }],
    ...overrides,
  };
}

export async function startFakeAppliances(options: FakeAppliancesOptions = {}): Promise<FakeAppliances> {
  const token = options.token ?? 'fake-oma-token-0123';
  let inventory = [...(options.vms ?? [])];
  let latencyMs = options.latencyMs ?? 0;
  const scripts = new Map(Object.entries(options.scripts ?? {}));
  const requests: RecordedRequest[] = [];
  const jobs = new Map<string, FakeJob>();
  const attemptsByVm = new Map<string, number>();
  const answered500ByVm = new Map<string, number>();
  const injectedFaults = new Map<FakeRoute, { times: number; status: number }>();
  const jobByKey = new Map<string, string>();
  const holds = { discover: new Map<string, Hold>(), create: new Map<string, Hold>() };
  const closing = new AbortController();
  let pushTarget: PushTarget | null = null;
  const pushes: PushCounts = { sent: 0, accepted: 0, refused: {} };
  // Pushes share a few kept-alive connections, as an OMA's HTTP client would.
  const pushAgent = new Agent({ keepAlive: true, maxSockets: 16 });
  let jobSequence = 0;
  let maxActive = 0;

  const isActive = (job: FakeJob): boolean => !job.forgotten && ACTIVE.has(job.status);
  // Kept as jobs change (not counted by a scan per request: benchmarks run thousands of jobs).
  const activeJobs = new Set<FakeJob>();
  const activeJobOfVm = new Map<string, FakeJob>();
  const activeJobCount = (): number => activeJobs.size;
  const track = (job: FakeJob): void => {
    if (isActive(job)) {
      activeJobs.add(job);
      activeJobOfVm.set(job.vmId, job);
    } else {
      activeJobs.delete(job);
      if (activeJobOfVm.get(job.vmId) === job) activeJobOfVm.delete(job.vmId);
    }
    maxActive = Math.max(maxActive, activeJobs.size);
  };

  function routeOf(method: string, path: string): { route: FakeRoute; jobId?: string } | null {
    if (method === 'POST' && path === '/api/v1/discover') return { route: 'discover' };
    if (method === 'POST' && path === '/api/v1/replications') return { route: 'create' };
    const vmaStatus = /^\/api\/v1\/status\/([^/]+)$/.exec(path);
    if (method === 'GET' && vmaStatus?.[1]) return { route: 'vma_status', jobId: decodeURIComponent(vmaStatus[1]) };
    const omaState = /^\/api\/v1\/replications\/([^/]+)$/.exec(path);
    if (method === 'GET' && omaState?.[1]) return { route: 'oma_state', jobId: decodeURIComponent(omaState[1]) };
    return null;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const text = await readBody(request);
    const url = new URL(request.url ?? '/', 'http://fake');
    const method = request.method ?? 'GET';
    const matched = routeOf(method, url.pathname);
    const body = parseBody(text);
    const key = request.headers['idempotency-key'];
    const recorded: RecordedRequest = {
      method,
      path: url.pathname,
      route: matched?.route ?? null,
      body,
      authorization: request.headers.authorization,
      idempotencyKey: typeof key === 'string' ? key : undefined,
      receivedAt: Date.now(),
    };
    requests.push(recorded);
    if (latencyMs > 0) await delay(latencyMs, undefined, { signal: closing.signal });
    if (matched === null) return send(response, 404, 'no such route');
    const fault = injectedFaults.get(matched.route);
    if (fault !== undefined && fault.times > 0) {
      fault.times -= 1;
      return send(response, fault.status, `injected failure ${fault.status}`);
    }
    const isOma = matched.route === 'create' || matched.route === 'oma_state';
    if (isOma && request.headers.authorization !== `Bearer ${token}`) return send(response, 401, { error: 'unauthorized' });
    switch (matched.route) {
      case 'discover':
        // A discovery may ask for several names (a comma-separated filter): held when one of them is.
        for (const name of String(asRecord(body).filter ?? '').split(',')) await holdIfAsked(holds.discover, name.trim());
        return discover(response, body);
      case 'create':
        return create(response, body, recorded);
      case 'oma_state':
        return omaState(response, matched.jobId ?? '');
      case 'vma_status':
        return vmaStatus(response, matched.jobId ?? '');
    }
  }

  function discover(response: ServerResponse, body: unknown): void {
    const request = asRecord(body);
    const vcenter = String(request.vcenter ?? '');
    const datacenter = String(request.datacenter ?? '');
    if (options.vcenterCredentials !== undefined) {
      const host = vcenter.toLowerCase();
      const expected = Object.entries(options.vcenterCredentials).find(([name]) => name.toLowerCase() === host)?.[1];
      if (expected === undefined || expected.username !== request.username || expected.password !== request.password) {
        return send(response, 401, 'vCenter login failed');
      }
    }
    const kept = vmaNameFilter(request.filter === undefined ? undefined : String(request.filter));
    const vms = inventory.filter((vm) => vm.datacenter === datacenter && kept(vm));
    send(response, 200, { vcenter: { host: vcenter, datacenter }, vms });
  }

  async function holdIfAsked(held: Map<string, Hold>, vmName: string): Promise<void> {
    const hold = held.get(vmName);
    if (hold === undefined) return;
    held.delete(vmName);
    hold.arrive();
    await Promise.race([hold.released, new Promise((resolve) => closing.signal.addEventListener('abort', resolve, { once: true }))]);
  }

  async function create(response: ServerResponse, body: unknown, recorded: RecordedRequest): Promise<void> {
    const answer = (status: number, payload: string | Record<string, unknown>, jobId: string | null = null): void => {
      recorded.answer = { status, jobId };
      send(response, status, payload);
    };
    const request = asRecord(body);
    const sourceVm = asRecord(request.source_vm);
    const vmName = typeof sourceVm.name === 'string' ? sourceVm.name : '';
    const vmId = typeof sourceVm.id === 'string' ? sourceVm.id : '';
    if (vmName === '' || vmId === '' || typeof request.ossea_config_id !== 'number') {
      return answer(400, { error: 'source_vm.id, source_vm.name and ossea_config_id are required' });
    }
    const known = recorded.idempotencyKey === undefined ? undefined : jobs.get(jobByKey.get(recorded.idempotencyKey) ?? '');
    if (known !== undefined && !known.forgotten) {
      return answer(200, { job_id: known.jobId, status: known.status, progress_percent: known.progressPercent, started_at: known.startedAt, message: 'Replication job already created with this Idempotency-Key' }, known.jobId);
    }
    const script = scripts.get(vmName) ?? {};
    const existing = activeJobOfVm.get(vmId);
    if (script.activeJobConflict || existing !== undefined) {
      return answer(409, { error: `VM ${vmName} already has an active replication job${existing ? ` ${existing.jobId}` : ''}`, ...(existing ? { job_id: existing.jobId } : {}) }, existing?.jobId ?? null);
    }
    const answer500 = script.answer500;
    const answered500 = answered500ByVm.get(vmName) ?? 0;
    const fails500 = answer500 !== undefined && answered500 < (answer500.times ?? Infinity);
    if (fails500) answered500ByVm.set(vmName, answered500 + 1);
    if (fails500 && !answer500.jobCreated) return answer(500, 'internal error');

    const attempt = (attemptsByVm.get(vmName) ?? 0) + 1;
    attemptsByVm.set(vmName, attempt);
    jobSequence += 1;
    const now = new Date().toISOString();
    const job: FakeJob = {
      jobId: `oma-job-${String(jobSequence).padStart(6, '0')}`,
      vmName,
      vmId,
      status: 'pending',
      progressPercent: 0,
      errorMessage: null,
      polls: 0,
      forgotten: script.forgetJob === true,
      manual: false,
      fated: script.fail || attempt <= (script.failFirstAttempts ?? 0) ? 'failed' : 'completed',
      pollsToFinish: Math.max(1, script.pollsToFinish ?? 2),
      vmPath: typeof sourceVm.path === 'string' ? sourceVm.path : '',
      startedAt: now,
      completedAt: null,
      updatedAt: now,
      requestBody: body,
      scheduleExecutionId: typeof request.schedule_execution_id === 'string' ? request.schedule_execution_id : '',
      idempotencyKey: recorded.idempotencyKey,
    };
    jobs.set(job.jobId, job);
    if (recorded.idempotencyKey !== undefined) jobByKey.set(recorded.idempotencyKey, job.jobId);
    track(job);
    if (script.createDelayMs) await delay(script.createDelayMs, undefined, { signal: closing.signal });
    await holdIfAsked(holds.create, vmName);
    if (fails500) return answer(500, 'internal error after provisioning');
    answer(201, { job_id: job.jobId, status: job.status, progress_percent: job.progressPercent, started_at: job.startedAt, message: 'Replication job created' }, job.jobId);
    if (pushTarget !== null) schedulePush(job, pushTarget);
  }

  function schedulePush(job: FakeJob, target: PushTarget): void {
    const timer = setTimeout(() => {
      if (job.manual || job.forgotten || !ACTIVE.has(job.status)) return;
      end(job);
      push(job, target);
    }, target.afterMs);
    timer.unref();
  }

  function push(job: FakeJob, target: PushTarget): void {
    const body = Buffer.from(
      JSON.stringify({ status: job.status, progress_percent: job.progressPercent, ...(job.errorMessage === null ? {} : { error_message: job.errorMessage }) }),
    );
    const refused = (why: string) => {
      pushes.refused[why] = (pushes.refused[why] ?? 0) + 1;
    };
    pushes.sent += 1;
    const request = httpRequest(
      `${target.url}/api/v1/jobs/${encodeURIComponent(job.jobId)}/status`,
      {
        method: 'POST',
        agent: pushAgent,
        headers: { 'content-type': 'application/json', 'content-length': body.length, ...(target.token ? { authorization: `Bearer ${target.token}` } : {}) },
      },
      (response) => {
        response.resume();
        if (response.statusCode === 200) pushes.accepted += 1;
        else refused(String(response.statusCode));
      },
    );
    request.on('error', () => refused('error'));
    request.end(body);
  }

  function omaState(response: ServerResponse, jobId: string): void {
    const job = jobs.get(jobId);
    if (job === undefined || job.forgotten) return send(response, 404, { error: 'job not found' });
    if (!job.manual && ACTIVE.has(job.status)) advance(job);
    send(response, 200, {
      id: job.jobId,
      status: job.status,
      progress_percent: job.progressPercent,
      ...(job.errorMessage === null ? {} : { error_message: job.errorMessage }),
      started_at: job.startedAt,
      ...(job.completedAt === null ? {} : { completed_at: job.completedAt }),
      updated_at: job.updatedAt,
    });
  }

  function advance(job: FakeJob): void {
    job.polls += 1;
    job.updatedAt = new Date().toISOString();
    if (job.polls < job.pollsToFinish) {
      job.status = 'replicating';
      job.progressPercent = Math.floor((job.polls / job.pollsToFinish) * 100);
      return;
    }
    end(job);
  }

  /** The job reaches the end its script gave it. */
  function end(job: FakeJob): void {
    job.updatedAt = new Date().toISOString();
    job.completedAt = job.updatedAt;
    if (job.fated === 'completed') {
      job.status = 'completed';
      job.progressPercent = 100;
    } else {
      job.status = 'failed';
      job.errorMessage = 'scripted failure';
    }
    track(job);
  }

  function vmaStatus(response: ServerResponse, jobId: string): void {
    const job = jobs.get(jobId);
    if (job === undefined || job.forgotten) return send(response, 404, 'job not found');
    const vmaPhase = ACTIVE.has(job.status) ? 'running' : job.status === 'completed' ? 'completed' : 'failed';
    send(response, 200, {
      job_id: job.jobId,
      status: vmaPhase,
      progress_percent: job.progressPercent,
      current_operation: job.status,
      start_time: job.startedAt,
      last_update: job.updatedAt,
      vm_path: job.vmPath,
    });
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (closing.signal.aborted) return response.destroy();
      send(response, 500, `fake appliance error: ${String(error)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const mustFind = (jobId: string): FakeJob => {
    const job = jobs.get(jobId);
    if (job === undefined) throw new Error(`fake appliances: no job ${jobId}`);
    return job;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    requests,
    replicationPosts: () => requests.filter((request) => request.route === 'create'),
    gets: () => requests.filter((request) => request.method === 'GET'),
    discoveries: () => requests.filter((request) => request.route === 'discover'),
    jobs: () => [...jobs.values()].map((job) => ({ ...job })),
    job: (jobId) => {
      const job = jobs.get(jobId);
      return job === undefined ? undefined : { ...job };
    },
    activeJobCount,
    maxActiveJobs: () => maxActive,
    pushEnds: (target) => {
      pushTarget = target;
    },
    pushCounts: () => ({ ...pushes, refused: { ...pushes.refused } }),
    setInventory: (vms) => {
      inventory = [...vms];
    },
    setScript: (vmName, script) => {
      scripts.set(vmName, script);
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    setJobStatus: (jobId, status, progressPercent, errorMessage = null) => {
      const job = mustFind(jobId);
      Object.assign(job, { status, progressPercent, errorMessage, manual: true, updatedAt: new Date().toISOString() });
      if (!ACTIVE.has(status)) job.completedAt = job.updatedAt;
      track(job);
    },
    forgetJob: (jobId) => {
      const job = mustFind(jobId);
      job.forgotten = true;
      track(job);
    },
    failNext: (route, times, status = 500) => {
      injectedFaults.set(route, { times, status });
    },
    holdDiscovery: (vmName) => newHold(holds.discover, vmName),
    holdCreation: (vmName) => newHold(holds.create, vmName),
    close: async () => {
      closing.abort();
      pushTarget = null;
      pushAgent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Hold {
  arrive(): void;
  released: Promise<void>;
}

function newHold(held: Map<string, Hold>, vmName: string): HeldRequest {
  let arrive!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  held.set(vmName, { arrive, released });
  return { reached, release };
}

function send(response: ServerResponse, status: number, payload: string | Record<string, unknown>): void {
  if (response.destroyed || response.writableEnded) return;
  const json = typeof payload !== 'string';
  response.writeHead(status, { 'content-type': json ? 'application/json' : 'text/plain' });
  response.end(json ? JSON.stringify(payload) : payload);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
