/**
 * The phantom scan (spec/domain.md, "Phantom jobs"): every few minutes, and on
 * demand (POST /jobs/phantom-scan), each job the read model shows active (or
 * `completed` below 100 %) is checked against the VMA and the rules of
 * domain/phantom-rules.ts. A phantom is recorded with RecordPhantom on the job's
 * execution stream (an append with the expected revision): the decider makes it
 * a failed attempt, frees its slot and schedules the retry.
 *
 * - The candidates come from the read model (`replication_jobs`); the job's facts
 *   (status, progress, start, last progress) from its execution stream, which is
 *   never behind the read model. A job whose execution has ended, or that is no
 *   longer in flight there, is skipped (not counted).
 * - VMA 404 -> rule 1; GatewayError `unreachable`/`timeout` -> 'unreachable'
 *   (rule 2); any other failure of the check counts in `errors`.
 * - Scans run one at a time: a scan asked for while one runs starts after it.
 */
import type { Knex } from 'knex';
import type { Clock } from '../clock.js';
import { newCommandContext } from '../commands/command-context.js';
import { decideExecution } from '../commands/execution-process-commands.js';
import { loadState } from '../commands/run-decider.js';
import { DomainError } from '../domain/decider.js';
import { streamIds } from '../domain/events.js';
import { executionDecider, inFlightJob, isEnded } from '../domain/execution.js';
import { ACTIVE_JOB_STATUSES, SUCCEEDED_JOB_STATUS } from '../domain/job-statuses.js';
import { DEFAULT_PHANTOM_THRESHOLDS, phantomVerdict, type PhantomThresholds, type VmaJobReport } from '../domain/phantom-rules.js';
import type { EventStore } from '../eventstore/event-store.js';
import { GatewayError } from '../integrations/gateway-errors.js';
import type { VmaDiscovery } from '../integrations/replication-gateway.js';
import type { Logger } from '../logger.js';
import { systemTimers, type TimerPort } from './ticker-timers.js';

export interface PhantomScanResult {
  /** Jobs checked (skipped ones not included): phantom + valid + errors. */
  scanned: number;
  phantom: number;
  valid: number;
  errors: number;
  phantom_job_ids: string[];
}

export type PhantomScannerLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface PhantomScannerDeps {
  store: EventStore;
  readDb: { knex: Knex };
  gateway: { discovery: Pick<VmaDiscovery, 'jobStatus'> };
  clock: Clock;
  timers?: TimerPort;
  logger?: PhantomScannerLogger;
}

export interface PhantomScannerOptions {
  /** Seconds between two scans once started (PHANTOM_SCAN_INTERVAL_SECONDS). Default 300. */
  intervalSeconds?: number;
  /** Default: 2 h without progress, 30 min at 0 %. */
  thresholds?: PhantomThresholds;
}

const ACTOR = 'phantom-scanner';

const silentLogger: PhantomScannerLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

interface Candidate {
  job_id: string;
  execution_id: string | null;
}

type JobOutcome = 'phantom' | 'valid' | 'error' | 'skipped';

export class PhantomScanner {
  private readonly store: EventStore;
  private readonly knex: Knex;
  private readonly discovery: Pick<VmaDiscovery, 'jobStatus'>;
  private readonly clock: Clock;
  private readonly timers: TimerPort;
  private readonly logger: PhantomScannerLogger;
  private readonly intervalMs: number;
  private readonly thresholds: PhantomThresholds;

  private queue: Promise<unknown> = Promise.resolve();
  private readonly pending = new Set<Promise<unknown>>();
  private cancelTimer: (() => void) | null = null;
  private phase: 'new' | 'running' | 'stopped' = 'new';

  constructor(deps: PhantomScannerDeps, options: PhantomScannerOptions = {}) {
    this.store = deps.store;
    this.knex = deps.readDb.knex;
    this.discovery = deps.gateway.discovery;
    this.clock = deps.clock;
    this.timers = deps.timers ?? systemTimers;
    this.logger = deps.logger ?? silentLogger;
    const seconds = options.intervalSeconds ?? 300;
    if (!(Number.isFinite(seconds) && seconds > 0)) throw new RangeError(`PhantomScanner: intervalSeconds must be positive, got ${seconds}`);
    this.intervalMs = seconds * 1000;
    this.thresholds = { ...DEFAULT_PHANTOM_THRESHOLDS, ...options.thresholds };
  }

  /** Scans every PHANTOM_SCAN_INTERVAL_SECONDS on the timer port, the first one interval from now. */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new Error('PhantomScanner.start: starts once');
    this.phase = 'running';
    this.arm();
    this.logger.info({ interval_seconds: this.intervalMs / 1000, thresholds: this.thresholds }, 'phantom scanner started');
  }

  /** Stops the timer; a scan in progress is finished first. */
  async stop(): Promise<void> {
    if (this.phase === 'stopped') return;
    this.phase = 'stopped';
    this.cancelTimer?.();
    this.cancelTimer = null;
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Resolves when no scan is in progress (tests drive a manual clock with it). */
  async whenIdle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** One scan now (after the one in progress, if any). */
  scan(): Promise<PhantomScanResult> {
    const run = this.queue.then(() => this.scanNow());
    this.queue = run.catch(() => undefined);
    this.pending.add(run);
    const done = () => this.pending.delete(run);
    run.then(done, done);
    return run;
  }

  private arm(): void {
    if (this.phase !== 'running') return;
    this.cancelTimer = this.timers.setTimeout(() => {
      this.cancelTimer = null;
      if (this.phase !== 'running') return;
      this.scan().then(
        (result) => {
          if (result.phantom > 0 || result.errors > 0) this.logger.info({ ...result }, 'phantom scan');
          else this.logger.debug({ ...result }, 'phantom scan');
        },
        (error: unknown) => this.logger.error({ err: error }, 'phantom scan failed'),
      ).finally(() => this.arm());
    }, this.intervalMs);
  }

  private async scanNow(): Promise<PhantomScanResult> {
    const result: PhantomScanResult = { scanned: 0, phantom: 0, valid: 0, errors: 0, phantom_job_ids: [] };
    for (const candidate of await this.candidates()) {
      const outcome = await this.check(candidate);
      if (outcome === 'skipped') continue;
      result.scanned += 1;
      if (outcome === 'phantom') {
        result.phantom += 1;
        result.phantom_job_ids.push(candidate.job_id);
      } else if (outcome === 'valid') result.valid += 1;
      else result.errors += 1;
    }
    return result;
  }

  /** Jobs the read model shows active, or completed below 100 % (rule 4). */
  private async candidates(): Promise<Candidate[]> {
    const rows = (await this.knex('replication_jobs')
      .select('id', 'schedule_execution_id')
      .whereIn('status', [...ACTIVE_JOB_STATUSES])
      .orWhere((q) => q.where('status', SUCCEEDED_JOB_STATUS).andWhere('progress_percent', '<', 100))
      .orderBy('id')) as Array<{ id: unknown; schedule_execution_id: unknown }>;
    return rows.map((row) => ({ job_id: String(row.id), execution_id: row.schedule_execution_id == null ? null : String(row.schedule_execution_id) }));
  }

  private async check(candidate: Candidate): Promise<JobOutcome> {
    const { job_id: jobId, execution_id: executionId } = candidate;
    if (executionId === null) {
      this.logger.warn({ job_id: jobId }, 'phantom scan: job without an execution; cannot be checked');
      return 'error';
    }
    try {
      const { state } = await loadState(this.store, streamIds.execution(executionId), executionDecider);
      if (state.status === 'absent' || isEnded(state)) return 'skipped';
      const job = inFlightJob(state, jobId);
      if (!job) return 'skipped'; // ended meanwhile; the read model has not caught up

      const vma = await this.askVma(jobId);
      const now = this.clock.now();
      const verdict = phantomVerdict({
        job: { status: job.status, progress_percent: job.progress_percent, started_at: job.started_at, last_progress_at: job.last_progress_at },
        vma,
        now,
        thresholds: this.thresholds,
      });
      if (!verdict.phantom) return 'valid';

      const at = now.toISOString();
      try {
        await decideExecution(
          this.store,
          executionId,
          () => ({ type: 'RecordPhantom', execution_id: executionId, job_id: jobId, reason: verdict.reason, detail: verdict.detail, at, actor: ACTOR }),
          newCommandContext({ actor: ACTOR, source: 'process-manager', at: now }),
        );
      } catch (error) {
        // The job ended (a poll, a webhook) between the check and the record: nothing to record.
        if (error instanceof DomainError && error.kind === 'Conflict') return 'skipped';
        throw error;
      }
      this.logger.warn({ execution_id: executionId, job_id: jobId, reason: verdict.reason, detail: verdict.detail }, 'phantom job recorded');
      return 'phantom';
    } catch (error) {
      this.logger.warn({ err: error, execution_id: executionId, job_id: jobId }, 'phantom scan: checking a job failed');
      return 'error';
    }
  }

  /** The VMA's view for the rules; throws for a failure that is not "cannot be reached". */
  private async askVma(jobId: string): Promise<VmaJobReport> {
    try {
      const answer = await this.discovery.jobStatus(jobId);
      if (answer === 'unknown') return 'not_found';
      return { status: answer.status, progress_percent: answer.progressPercent };
    } catch (error) {
      if (error instanceof GatewayError && (error.kind === 'unreachable' || error.kind === 'timeout')) return 'unreachable';
      throw error;
    }
  }
}
