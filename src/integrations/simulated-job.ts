/**
 * One job of the built-in simulator: where it stands at a given instant is
 * computed from its start, duration and fated outcome, so no timer runs and a
 * fake clock drives it. The three are encoded in the job id, so a restarted
 * service still knows how its simulated jobs are doing (otherwise every running
 * job would turn into a phantom at each restart of the embedded default).
 */
import { customAlphabet } from 'nanoid';
import { ACTIVE_JOB_STATUSES } from '../domain/job-statuses.js';
import type { OmaJobState, VmaJobStatus } from './replication-gateway.js';

export type SimulatedOutcome = 'completed' | 'failed';

export interface SimulatedJob {
  jobId: string;
  startedAtMs: number;
  durationMs: number;
  outcome: SimulatedOutcome;
}

/** The first part of a job's life goes through the setup statuses; the rest is `replicating`. */
const SETUP_SHARE = 0.2;
/** A failing job fails this far into its life, mid-replication. */
const FAILURE_POINT = 0.6;
const SETUP_STATUSES = ACTIVE_JOB_STATUSES.filter((status) => status !== 'replicating');

const idSuffix = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 10);
const JOB_ID_PATTERN = /^sim-([0-9a-z]+)-([0-9a-z]+)-([cf])-[0-9a-z]+$/;

export function newSimulatedJob(startedAtMs: number, durationSeconds: number, outcome: SimulatedOutcome): SimulatedJob {
  const jobId = `sim-${startedAtMs.toString(36)}-${durationSeconds.toString(36)}-${outcome === 'completed' ? 'c' : 'f'}-${idSuffix()}`;
  return { jobId, startedAtMs, durationMs: durationSeconds * 1000, outcome };
}

/** The job a simulator id describes, or null for an id no simulator made. */
export function decodeSimulatedJobId(jobId: string): SimulatedJob | null {
  const match = JOB_ID_PATTERN.exec(jobId);
  if (match === null) return null;
  const [, start, duration, outcome] = match;
  if (start === undefined || duration === undefined) return null;
  return { jobId, startedAtMs: parseInt(start, 36), durationMs: parseInt(duration, 36) * 1000, outcome: outcome === 'c' ? 'completed' : 'failed' };
}

interface Moment {
  status: string;
  progressPercent: number;
  ended: boolean;
  endedAtMs: number;
}

function momentAt(job: SimulatedJob, nowMs: number): Moment {
  const endsAtMs = job.startedAtMs + job.durationMs * (job.outcome === 'failed' ? FAILURE_POINT : 1);
  const elapsed = Math.max(0, Math.min(nowMs, endsAtMs) - job.startedAtMs);
  const setupMs = job.durationMs * SETUP_SHARE;
  const replicatedShare = Math.max(0, elapsed - setupMs) / (job.durationMs - setupMs);
  // 100 % is reported only together with `completed` (phantom rule 4 would flag anything else).
  const progressPercent = Math.min(99, Math.floor(replicatedShare * 100));
  if (nowMs >= endsAtMs) {
    return job.outcome === 'completed'
      ? { status: 'completed', progressPercent: 100, ended: true, endedAtMs: endsAtMs }
      : { status: 'failed', progressPercent, ended: true, endedAtMs: endsAtMs };
  }
  if (elapsed < setupMs) {
    const index = Math.min(SETUP_STATUSES.length - 1, Math.floor((elapsed / setupMs) * SETUP_STATUSES.length));
    return { status: SETUP_STATUSES[index] ?? 'pending', progressPercent: 0, ended: false, endedAtMs: endsAtMs };
  }
  return { status: 'replicating', progressPercent, ended: false, endedAtMs: endsAtMs };
}

export function isSimulatedJobActive(job: SimulatedJob, nowMs: number): boolean {
  return !momentAt(job, nowMs).ended;
}

/** True once the job ended more than `retentionMs` ago (the simulator forgets its details then). */
export function simulatedJobEndedBefore(job: SimulatedJob, nowMs: number, retentionMs: number): boolean {
  const moment = momentAt(job, nowMs);
  return moment.ended && moment.endedAtMs + retentionMs < nowMs;
}

export function simulatedOmaState(job: SimulatedJob, nowMs: number): OmaJobState {
  const moment = momentAt(job, nowMs);
  return {
    jobId: job.jobId,
    status: moment.status,
    progressPercent: moment.progressPercent,
    errorMessage: moment.status === 'failed' ? 'Simulated replication failure' : null,
    startedAt: new Date(job.startedAtMs).toISOString(),
    completedAt: moment.ended ? new Date(moment.endedAtMs).toISOString() : null,
    updatedAt: new Date(Math.min(nowMs, moment.endedAtMs)).toISOString(),
  };
}

export function simulatedVmaStatus(job: SimulatedJob, nowMs: number, vmPath: string | null): VmaJobStatus {
  const moment = momentAt(job, nowMs);
  return {
    jobId: job.jobId,
    status: moment.ended ? moment.status : 'running',
    progressPercent: moment.progressPercent,
    currentOperation: moment.status,
    startTime: new Date(job.startedAtMs).toISOString(),
    lastUpdate: new Date(Math.min(nowMs, moment.endedAtMs)).toISOString(),
    vmPath,
  };
}
