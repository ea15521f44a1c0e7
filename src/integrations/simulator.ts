/**
 * The built-in replication simulator (spec/integrations.md): with no OMA/VMA
 * configured it answers the gateway's calls in-process, so the embedded default
 * can be tried end to end. It is a product feature, not a test stub: jobs move
 * through the OMA's statuses over clock time, complete or fail at a configured
 * rate, a VM with an active job gets the OMA's 409 (naming the job), a repeated
 * creation with a known Idempotency-Key answers the job it made the first time,
 * and an operator can make a job vanish to watch phantom detection.
 */
import type { Clock } from '../clock.js';
import type {
  DiscoveredVm,
  DiscoveryRequest,
  OmaJobState,
  OmaReplication,
  StartReplicationRequest,
  StartReplicationResult,
  VmaDiscovery,
  VmaJobStatus,
} from './replication-gateway.js';
import {
  decodeSimulatedJobId,
  isSimulatedJobActive,
  newSimulatedJob,
  simulatedJobEndedBefore,
  simulatedOmaState,
  simulatedVmaStatus,
  type SimulatedJob,
} from './simulated-job.js';
import { simulatedDiscovery, type SimulatedInventoryVm } from './simulated-inventory.js';

export interface SimulatorOptions {
  clock: Clock;
  /** Whole seconds from creation to the end of a job. Default 60. */
  jobDurationSeconds?: number;
  /** Share of jobs that fail, 0..1. Default 0.1. */
  failureRate?: number;
  /** Drawn once per job to decide its fate; inject for deterministic runs. Default Math.random. */
  random?: () => number;
  /** The VMs registered with the scheduler: what the simulated vCenter holds. */
  inventory: () => Promise<SimulatedInventoryVm[]>;
}

export interface ReplicationSimulator extends VmaDiscovery, OmaReplication {
  /** From now on both the VMA and the OMA answer 'unknown' for this job (phantom demos). False if no such job. */
  loseJob(jobId: string): boolean;
}

/** How long the details of an ended job (its VM) are kept for status answers. */
const ENDED_JOB_RETENTION_MS = 24 * 3600 * 1000;

interface TrackedJob {
  job: SimulatedJob;
  /** `vcenter|vm id`: the VM the OMA would refuse a second active job for. */
  vmKey: string;
  vmName: string;
  vmPath: string;
}

export function createSimulator(options: SimulatorOptions): ReplicationSimulator {
  const durationSeconds = options.jobDurationSeconds ?? 60;
  const failureRate = options.failureRate ?? 0.1;
  const random = options.random ?? Math.random;
  if (!Number.isInteger(durationSeconds) || durationSeconds < 1) throw new RangeError(`jobDurationSeconds must be a whole number >= 1, got ${durationSeconds}`);
  if (!(failureRate >= 0 && failureRate <= 1)) throw new RangeError(`failureRate must be within 0..1, got ${failureRate}`);

  const tracked = new Map<string, TrackedJob>();
  /** Idempotency-Key -> the job its first creation made. */
  const jobByKey = new Map<string, string>();
  const lost = new Set<string>();
  const nowMs = (): number => options.clock.now().getTime();

  /** Tracked details when this process made the job, else what its id tells (a job from before a restart). */
  function findJob(jobId: string): { job: SimulatedJob; vmPath: string | null } | null {
    if (lost.has(jobId)) return null;
    const known = tracked.get(jobId);
    if (known !== undefined) return { job: known.job, vmPath: known.vmPath };
    const decoded = decodeSimulatedJobId(jobId);
    return decoded === null ? null : { job: decoded, vmPath: null };
  }

  function forgetLongEndedJobs(now: number): void {
    for (const [jobId, entry] of tracked) {
      if (simulatedJobEndedBefore(entry.job, now, ENDED_JOB_RETENTION_MS)) tracked.delete(jobId);
    }
    for (const [key, jobId] of jobByKey) {
      if (!tracked.has(jobId)) jobByKey.delete(key);
    }
  }

  async function discover(request: DiscoveryRequest): Promise<DiscoveredVm[]> {
    return simulatedDiscovery(request, await options.inventory());
  }

  async function jobStatus(jobId: string): Promise<VmaJobStatus | 'unknown'> {
    const found = findJob(jobId);
    return found === null ? 'unknown' : simulatedVmaStatus(found.job, nowMs(), found.vmPath);
  }

  async function jobState(jobId: string): Promise<OmaJobState | 'unknown'> {
    const found = findJob(jobId);
    return found === null ? 'unknown' : simulatedOmaState(found.job, nowMs());
  }

  async function startReplication(request: StartReplicationRequest): Promise<StartReplicationResult> {
    const { vm } = request;
    if (vm.id.trim() === '' || vm.name.trim() === '') return { kind: 'rejected', status: 400, message: 'source_vm.id and source_vm.name are required' };
    const now = nowMs();
    forgetLongEndedJobs(now);
    const repeated = request.idempotencyKey === undefined ? undefined : jobByKey.get(request.idempotencyKey);
    const original = repeated === undefined || lost.has(repeated) ? undefined : tracked.get(repeated);
    if (original !== undefined) return startedAnswer(original.job, now, `Replication job for ${vm.name} already created with this Idempotency-Key`);
    const vmKey = `${request.vcenterHost.trim().toLowerCase()}|${vm.id}`;
    for (const entry of tracked.values()) {
      if (entry.vmKey === vmKey && !lost.has(entry.job.jobId) && isSimulatedJobActive(entry.job, now)) {
        return { kind: 'active_job', message: `VM ${entry.vmName} already has an active replication job (${entry.job.jobId})`, jobId: entry.job.jobId };
      }
    }
    const job = newSimulatedJob(now, durationSeconds, random() < failureRate ? 'failed' : 'completed');
    tracked.set(job.jobId, { job, vmKey, vmName: vm.name, vmPath: vm.path });
    if (request.idempotencyKey !== undefined) jobByKey.set(request.idempotencyKey, job.jobId);
    return startedAnswer(job, now, `Simulated replication job created for ${vm.name}`);
  }

  function startedAnswer(job: SimulatedJob, now: number, message: string): StartReplicationResult {
    const state = simulatedOmaState(job, now);
    return { kind: 'started', jobId: job.jobId, status: state.status, progressPercent: state.progressPercent, startedAt: state.startedAt, message };
  }

  function loseJob(jobId: string): boolean {
    if (findJob(jobId) === null) return false;
    lost.add(jobId);
    return true;
  }

  return { discover, jobStatus, startReplication, jobState, loseJob };
}

/** Logged loudly at start: nobody should mistake simulated replication for the real thing. */
export function simulationBanner(settings?: { jobDurationSeconds: number; failureRate: number }): string {
  const line = '='.repeat(78);
  return [
    line,
    'SIMULATION MODE: no OMA_API_URL / VMA_API_URL configured.',
    'Replication is SIMULATED in-process: no VM is copied, no appliance is called.',
    ...(settings ? [`Simulated jobs last ${settings.jobDurationSeconds} s and fail at a rate of ${Math.round(settings.failureRate * 100)} %.`] : []),
    'Set OMA_API_URL, OMA_API_TOKEN, OMA_OSSEA_CONFIG_ID, VMA_API_URL and VCENTER_CREDENTIALS',
    'to drive real appliances.',
    line,
  ].join('\n');
}
