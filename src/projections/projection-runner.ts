/**
 * Keeps the read models up to date with the log. Catch-up PULLS pages with
 * store.readAll (natural backpressure on a long log, and the next page is read while
 * the current one is written); live mode follows store.subscribeToAll and applies
 * each event at once when idle, batching what arrives while a batch is written. Every batch goes through applyBatch: one transaction for the
 * rows and checkpoints of all projections. A failed batch is never skipped: the
 * runner logs it, waits (backoff) and starts again from the committed checkpoints.
 *
 * Several instances may share the stores: one at a time writes the read models, the
 * holder of the projection lease (projection-lease.ts). The others stand by: they apply
 * nothing, answer waitForPosition by polling projection_checkpoints while someone waits,
 * and take over from the committed checkpoints when the lease lapses. Before every write
 * the runner checks that it still holds the lease and that the stored checkpoints are
 * those it started from (read again only when the lease may have been another's
 * meanwhile); otherwise it writes nothing and re-syncs (or stands by).
 *
 * Rebuilds: in place (rebuild(): empty the tables, replay; for a stopped service) or
 * blue/green (rebuildBlueGreen(): shadow tables built beside the live ones while this
 * runner keeps them current, then swapped in; see blue-green-swap.ts). With
 * rebuildOutdated, a projection whose version changed is rebuilt blue/green on start.
 */
import type { Subscription } from 'rxjs';
import { batchWhileBusy } from './batch-while-busy.js';
import { restAfterLiveBatch } from './live-batch-rest.js';
import type { EventStore, Position, RecordedEvent } from '../eventstore/event-store.js';
import { applyBatch } from './apply-batch.js';
import { loadCheckpoints, movedCheckpoints, NO_CHECKPOINT, resetProjections, type Checkpoint } from './checkpoints.js';
import { ProjectionLease, type ProjectionLeaseOptions } from './projection-lease.js';
import type { RowProjection } from './projection.js';
import { ProjectionWorkingSet, type PendingFlush } from './projection-working-set.js';
import { completeInterruptedSwaps, swapInShadowTables } from './blue-green-swap.js';
import { outdatedProjections, recordVersions } from './projection-versions.js';
import { RebuildTracker, type RebuildProgress, type RebuildReport } from './rebuild-progress.js';
import { dropShadowTables, prepareShadowTables } from './shadow-projections.js';
import { replayPages } from './replay-pages.js';
import type { ReadModelDb } from './read-model-db.js';

export interface ProjectionRunnerLogger {
  info(details: object, message?: string): void;
  error(details: object, message?: string): void;
}

export interface ProjectionRunnerOptions {
  /** Most events in one live batch (default 500). */
  batchSize?: number;
  /** Events per page read while catching up or rebuilding (default 5,000). */
  catchUpPageSize?: number;
  /**
   * Rows held in memory while catching up or rebuilding (default 60,000): pages are
   * folded into them and written in one transaction when this many are held, or...
   */
  catchUpMaxRows?: number;
  /** ...when this long has passed since the last write (ms, default 5000). */
  catchUpFlushIntervalMs?: number;
  /**
   * Events per page of a blue/green rebuild (default 1,000). Smaller than catch-up's:
   * SQLite work is synchronous, and the service answers requests only between pages.
   */
  blueGreenPageSize?: number;
  /** First wait after a failure (ms, default 200); doubles up to retryMaxDelayMs. */
  retryInitialDelayMs?: number;
  retryMaxDelayMs?: number;
  logger?: ProjectionRunnerLogger;
  /**
   * The lease that lets one instance at a time write the read models (default: on,
   * with the defaults of projection-lease.ts); false: this runner is the only writer.
   */
  lease?: ProjectionLeaseOptions | false;
  /** While standing by, how often projection_checkpoints is read while someone waits for a position (ms, default 20). */
  standbyPollIntervalMs?: number;
  /**
   * When this runner writes (holds the lease), rebuild blue/green the projections whose
   * version differs from the one their tables were built with (default false; the service turns it on).
   */
  rebuildOutdated?: boolean;
}

export interface StopOptions {
  /** Give the lease up so another instance takes over at once (default true); false: it lapses after its TTL. */
  releaseLease?: boolean;
}

export type ProjectionState = 'catching_up' | 'live' | 'rebuilding' | 'stopped' | 'failed' | 'standby';

export interface ProjectionStatus {
  projection: string;
  version: number;
  position: string | null;
  events_applied: number;
  lag_events: number | null;
  state: ProjectionState;
  last_error: string | null;
}

export interface RebuildOptions {
  /** Names of the projections to rebuild; default all. */
  projections?: string[];
  onProgress?: (progress: RebuildProgress) => void;
}

export type { RebuildProgress, RebuildReport } from './rebuild-progress.js';

/** A rebuild was asked for while one runs. */
export class RebuildAlreadyRunningError extends Error {}
/** Another instance holds the projection lease: it writes the read models, and rebuilds there. */
export class NotTheWriterError extends Error {}

export interface RebuildResult {
  events: number;
  seconds: number;
}

type RunnerState = 'stopped' | 'catching_up' | 'live' | 'failed' | 'standby';
/** off: not started; active: holds the lease (or has none) and applies; standby: another instance writes. */
type RunnerRole = 'off' | 'active' | 'standby';

/** A caller of waitForPosition: settled true when the position is applied, false at its timeout. */
interface PositionWaiter {
  position: Position;
  settle(reached: boolean): void;
}

/** The lease is gone (or about to lapse): write nothing, stand by. */
class LeaseLostError extends Error {}
/** Another writer moved the checkpoints since they were loaded: write nothing, re-sync. */
class CheckpointsMovedError extends Error {}

const DEFAULTS = {
  batchSize: 500,
  // Tuned on bench:rebuild (bench/README.md): larger pages and working sets go faster
  // but past ~500 MB of RSS on a million-event log.
  catchUpPageSize: 5000,
  catchUpMaxRows: 60_000,
  catchUpFlushIntervalMs: 5000,
  blueGreenPageSize: 1000,
  retryInitialDelayMs: 200,
  retryMaxDelayMs: 30_000,
  standbyPollIntervalMs: 20,
};

/** Without a logger: errors to stderr, nothing else. */
const defaultLogger: ProjectionRunnerLogger = {
  info: () => undefined,
  error: (details, message) => console.error(message ?? 'projection runner error', details),
};

const NUMERIC_POSITION = /^\d+$/;

/** Long enough to name the cause; short enough for a status answer (driver errors can quote SQL). */
const MAX_ERROR_LENGTH = 500;

function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > MAX_ERROR_LENGTH ? `${message.slice(0, MAX_ERROR_LENGTH)}...` : message;
}

export class ProjectionRunner {
  private readonly settings: typeof DEFAULTS;
  private readonly logger: ProjectionRunnerLogger;
  private checkpoints = new Map<string, Checkpoint>();
  /** The position every projection has reached (the lowest checkpoint); waitForPosition watches it. */
  private appliedPosition: Position | null = null;
  private state: RunnerState = 'stopped';
  private lastError: string | null = null;
  private readonly rebuilding = new Set<string>();
  private rebuildInProgress = false;
  /** Bumped by every stop and (re)start: work of an older generation stops at its next step. */
  private generation = 0;
  private catchUpLoop: Promise<void> = Promise.resolve();
  private batchInFlight: Promise<void> = Promise.resolve();
  /** Characters of large documents the last live batch wrote (its rest follows from them: live-batch-rest.ts). */
  private lastBatchLargeValueChars = 0;
  private liveSubscription: Subscription | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelayMs: number;
  private readonly comparePositions = (a: Position, b: Position) => this.store.comparePositions(a, b);
  private readonly lease: ProjectionLease | null;
  private role: RunnerRole = 'off';
  private leaseTimer: NodeJS.Timeout | null = null;
  private leaseTick: Promise<void> | null = null;
  /** Callers of waitForPosition waiting now (a standby polls the checkpoints only for them). */
  private readonly positionWaiters = new Set<PositionWaiter>();
  /**
   * The lease term in which the stored checkpoints were last found equal to
   * this.checkpoints (null: not since they were last reloaded, or a write failed). While
   * the term lasts no other instance writes, and this runner's writes are recorded in
   * this.checkpoints once committed, so the guard need not read them again.
   */
  private checkpointsVerifiedInTerm: number | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private readonly guardWrite = () => this.checkWriteAllowed();
  private readonly rebuildOutdated: boolean;
  /** The blue/green rebuild running now, and whether it has been told to stop. */
  private blueGreenRun: Promise<unknown> | null = null;
  private blueGreenStopped = false;
  private rebuildTracker: RebuildTracker | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly db: ReadModelDb,
    private readonly projections: readonly RowProjection[],
    options: ProjectionRunnerOptions = {},
  ) {
    const names = new Set(projections.map((projection) => projection.name));
    if (names.size !== projections.length) throw new Error('projection names must be unique');
    this.settings = {
      batchSize: options.batchSize ?? DEFAULTS.batchSize,
      catchUpPageSize: options.catchUpPageSize ?? DEFAULTS.catchUpPageSize,
      catchUpMaxRows: options.catchUpMaxRows ?? DEFAULTS.catchUpMaxRows,
      catchUpFlushIntervalMs: options.catchUpFlushIntervalMs ?? DEFAULTS.catchUpFlushIntervalMs,
      blueGreenPageSize: options.blueGreenPageSize ?? DEFAULTS.blueGreenPageSize,
      retryInitialDelayMs: options.retryInitialDelayMs ?? DEFAULTS.retryInitialDelayMs,
      retryMaxDelayMs: options.retryMaxDelayMs ?? DEFAULTS.retryMaxDelayMs,
      standbyPollIntervalMs: options.standbyPollIntervalMs ?? DEFAULTS.standbyPollIntervalMs,
    };
    this.lease = options.lease === false ? null : new ProjectionLease(db, options.lease ?? {});
    this.logger = options.logger ?? defaultLogger;
    this.rebuildOutdated = options.rebuildOutdated ?? false;
    this.retryDelayMs = this.settings.retryInitialDelayMs;
    for (const projection of projections) this.checkpoints.set(projection.name, NO_CHECKPOINT);
  }

  /**
   * Reads the checkpoints (rejects when the read-model database cannot), then catches
   * up and follows live in the background: it resolves without waiting for catch-up,
   * so a service can answer while a long log replays. Use waitForPosition or status().
   */
  async start(): Promise<void> {
    if (this.state !== 'stopped' || this.rebuildInProgress) return;
    await this.reloadCheckpoints();
    if (this.lease === null) {
      this.role = 'active';
      this.launch();
      this.rebuildOutdatedInBackground();
      return;
    }
    const held = await this.lease.tryAcquire();
    this.startLeaseTimer();
    if (held) {
      this.role = 'active';
      this.launch();
      this.rebuildOutdatedInBackground();
    } else {
      this.role = 'standby';
      this.state = 'standby';
      this.logger.info({ holder: this.lease.holder }, 'another instance writes the read models; standing by');
    }
  }

  /**
   * Stops following the log; resolves when the batch being written (if any) has
   * committed. Gives the lease up unless told not to.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    this.role = 'off';
    this.blueGreenStopped = true;
    await this.blueGreenRun?.catch(() => undefined);
    this.stopLeaseTimer();
    this.stopPolling();
    await this.halt();
    await this.leaseTick;
    if (this.lease) {
      if (options.releaseLease === false) this.lease.forget();
      else await this.lease.release().catch((error: unknown) => this.logger.error({ err: error }, 'could not release the projection lease'));
    }
  }

  /** Stops the work of this generation (live, catch-up, retry); the lease and its timer stay. */
  private async halt(): Promise<void> {
    this.generation += 1;
    this.teardownLive();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.catchUpLoop;
    await this.batchInFlight;
    this.state = 'stopped';
  }

  /** This instance's name in the lease row (null without a lease). */
  get leaseHolder(): string | null {
    return this.lease?.holder ?? null;
  }

  /** Whether this runner writes the read models now (holds the lease, or has none). */
  get isWriter(): boolean {
    return this.role === 'active';
  }

  /**
   * True as soon as every projection has applied `position`; false after timeoutMs.
   * Cheap: watches the in-memory applied position; a standby refreshes it from
   * projection_checkpoints every standbyPollIntervalMs while someone waits.
   */
  async waitForPosition(position: Position, timeoutMs: number): Promise<boolean> {
    if (this.hasApplied(position)) return true;
    if (timeoutMs <= 0) return false;
    return new Promise<boolean>((resolve) => {
      const waiter: PositionWaiter = {
        position,
        settle: (reached) => {
          clearTimeout(timer);
          this.positionWaiters.delete(waiter);
          resolve(reached);
        },
      };
      const timer = setTimeout(() => waiter.settle(false), timeoutMs);
      this.positionWaiters.add(waiter);
      this.schedulePoll();
    });
  }

  private hasApplied(position: Position): boolean {
    return this.appliedPosition !== null && this.store.comparePositions(this.appliedPosition, position) >= 0;
  }

  async status(): Promise<ProjectionStatus[]> {
    if (this.role === 'standby') await this.refreshStandbyCheckpoints().catch(() => undefined);
    let head: Position | null = null;
    try {
      head = await this.store.headPosition();
    } catch {
      head = null; // lag unknown; the rest of the answer still holds
    }
    return this.projections.map((projection) => {
      const checkpoint = this.checkpoints.get(projection.name) ?? NO_CHECKPOINT;
      return {
        projection: projection.name,
        version: projection.version,
        position: checkpoint.position,
        events_applied: checkpoint.eventsApplied,
        lag_events: estimateLag(head, checkpoint.position),
        state: this.rebuilding.has(projection.name) ? 'rebuilding' : this.state,
        last_error: this.lastError,
      };
    });
  }

  /** The rebuild running now, or the last one this runner ran (null: none yet). */
  get rebuildReport(): RebuildReport | null {
    return this.rebuildTracker?.snapshot() ?? null;
  }

  get isRebuilding(): boolean {
    return this.rebuildInProgress || this.blueGreenRun !== null;
  }

  /**
   * IN PLACE: stops, empties the given projections' tables and checkpoints, replays the
   * log from the start through the same batched path, then resumes following the log if
   * the runner was running before. The others skip events up to their own checkpoints.
   * Queries meanwhile see half-built tables: for a running service use rebuildBlueGreen.
   */
  async rebuild(options: RebuildOptions = {}): Promise<RebuildResult> {
    if (this.isRebuilding) throw new RebuildAlreadyRunningError('a rebuild is already running');
    const targets = this.selectProjections(options.projections);
    if (this.lease && !(await this.lease.tryAcquire())) {
      throw new NotTheWriterError('another instance holds the projection lease and writes the read models: rebuild there');
    }
    this.rebuildInProgress = true;
    const wasRunning = this.state !== 'stopped';
    const ownLeaseTimer = this.lease !== null && this.leaseTimer === null;
    const tracker = this.newTracker('in_place', targets, options);
    await this.measureLog(tracker);
    try {
      await this.halt();
      this.role = 'active';
      this.stopPolling();
      // Renewed throughout a long replay, also when the runner was not started (a CLI rebuild).
      if (ownLeaseTimer) this.startLeaseTimer();
      for (const target of targets) this.rebuilding.add(target.name);
      this.lastError = null;
      await resetProjections(this.db, targets);
      await this.reloadCheckpoints();
      const generation = ++this.generation;
      this.state = 'catching_up';
      const events = await this.catchUp(generation, (eventsDone) => tracker.advance(eventsDone));
      await recordVersions(this.db.knex, targets);
      const seconds = tracker.seconds;
      tracker.finish();
      this.logger.info({ projections: targets.map((target) => target.name), events, seconds }, 'projections rebuilt');
      return { events, seconds };
    } catch (error) {
      this.lastError = errorMessage(error);
      tracker.finish(this.lastError);
      this.logger.error({ err: error }, 'projection rebuild failed');
      throw error;
    } finally {
      this.rebuilding.clear();
      this.rebuildInProgress = false;
      this.state = 'stopped';
      if (ownLeaseTimer) {
        this.stopLeaseTimer();
        await this.leaseTick;
        await this.lease?.release().catch(() => undefined);
      }
      if (!wasRunning) this.role = 'off';
      // Resume even after a failure: the retry loop goes on from the committed checkpoints.
      else if (this.lease === null || this.lease.isHeld()) this.launch();
      else this.enterStandby();
    }
  }

  /**
   * BLUE/GREEN: builds the projections' tables anew beside the live ones (shadow
   * tables, see shadow-tables.ts) while the runner keeps the live ones up to date and
   * queries read them; then pauses the runner, applies to the shadows the events
   * appended meanwhile, swaps them in with their checkpoints in one step
   * (blue-green-swap.ts) and resumes from those checkpoints: no event is lost or
   * applied twice. Runs in the lease holder; a runner that is not started (the CLI)
   * takes the lease for the rebuild's duration.
   */
  async rebuildBlueGreen(options: RebuildOptions = {}): Promise<RebuildResult> {
    if (this.isRebuilding) throw new RebuildAlreadyRunningError('a rebuild is already running');
    const targets = this.selectProjections(options.projections);
    if (this.role === 'standby') {
      throw new NotTheWriterError('another instance holds the projection lease and writes the read models: rebuild there');
    }
    // A runner that is not started (the CLI) rebuilds on its own, holding the lease (if any) meanwhile.
    const standalone = this.role === 'off';
    if (standalone && this.lease && !(await this.lease.tryAcquire())) {
      throw new NotTheWriterError('another instance holds the projection lease and writes the read models: rebuild there');
    }
    this.blueGreenStopped = false;
    const run = this.runBlueGreen(targets, standalone, this.newTracker('blue_green', targets, options));
    this.blueGreenRun = run;
    try {
      return await run;
    } finally {
      this.blueGreenRun = null;
    }
  }

  private async runBlueGreen(targets: RowProjection[], standalone: boolean, tracker: RebuildTracker): Promise<RebuildResult> {
    const ownLease = standalone && this.lease !== null;
    if (ownLease) this.startLeaseTimer();
    let shadows: RowProjection[] = [];
    try {
      await this.measureLog(tracker);
      shadows = await prepareShadowTables(this.db, targets, 'rebuild');
      const events = await this.buildAndSwap(targets, shadows, standalone, tracker);
      const seconds = tracker.seconds;
      tracker.finish();
      this.logger.info({ projections: targets.map((target) => target.name), events, seconds }, 'projections rebuilt blue/green');
      return { events, seconds };
    } catch (error) {
      tracker.finish(errorMessage(error));
      this.logger.error({ err: error }, 'blue/green projection rebuild failed; the live tables are untouched');
      await dropShadowTables(this.db, shadows).catch(() => undefined);
      throw error;
    } finally {
      if (ownLease) {
        this.stopLeaseTimer();
        await this.leaseTick;
        await this.lease?.release().catch(() => undefined);
      }
    }
  }

  /** Replays the log into the shadows, then (paused) the rest, and swaps them in. Returns the events read. */
  private async buildAndSwap(targets: RowProjection[], shadows: RowProjection[], standalone: boolean, tracker: RebuildTracker): Promise<number> {
    const { blueGreenPageSize: pageSize, catchUpMaxRows: maxRows, catchUpFlushIntervalMs: flushIntervalMs } = this.settings;
    const shadowCheckpoints = new Map<string, Checkpoint>(shadows.map((shadow) => [shadow.name, NO_CHECKPOINT]));
    const workingSet = new ProjectionWorkingSet(this.db, shadows, shadowCheckpoints, this.comparePositions, maxRows);
    let events = 0;
    // Every shadow folds every page, so they all stand at the same position.
    const shadowPosition = () => shadowCheckpoints.get(shadows[0]?.name ?? '')?.position ?? null;
    const replay = (flushEveryMs: number) =>
      replayPages({
        store: this.store,
        workingSet,
        after: shadowPosition(),
        pageSize,
        maxRows,
        flushIntervalMs: flushEveryMs,
        flush: async (pending) => {
          try {
            await this.checkShadowWriteAllowed(standalone);
          } catch (error) {
            workingSet.discard();
            throw error;
          }
          for (const [name, checkpoint] of await pending.commit()) shadowCheckpoints.set(name, checkpoint);
        },
        keepGoing: () => !this.blueGreenStopped,
        onPage: (done) => tracker.advance(events + done),
      });
    events += await replay(flushIntervalMs);
    await this.pausedWhile(async () => {
      // Short: only what was appended since the first pass reached the head; written once.
      events += await replay(Number.POSITIVE_INFINITY);
      await this.checkShadowWriteAllowed(standalone);
      await swapInShadowTables(
        this.db,
        targets.map((live, index) => {
          const shadow = shadows[index] ?? live;
          return { live, shadow, checkpoint: shadowCheckpoints.get(shadow.name) ?? NO_CHECKPOINT };
        }),
      );
    });
    return events;
  }

  /** A shadow is written only by the lease holder, and only while the rebuild has not been stopped. */
  private async checkShadowWriteAllowed(standalone: boolean): Promise<void> {
    if (this.blueGreenStopped) throw new Error('the rebuild was stopped');
    if (!standalone && this.role !== 'active') throw new LeaseLostError('this instance no longer writes the read models');
    if (this.lease && !this.lease.isHeld((this.lease.ttlMs - this.lease.renewIntervalMs) / 2)) {
      throw new LeaseLostError('the projection lease is lost or about to lapse');
    }
  }

  /**
   * Runs `work` while this runner applies nothing (the batch being written commits
   * first), then reloads the checkpoints and goes on from them.
   */
  private async pausedWhile(work: () => Promise<void>): Promise<void> {
    const wasApplying = this.role === 'active' && this.state !== 'stopped';
    if (wasApplying) await this.halt();
    try {
      await work();
    } finally {
      if (wasApplying && this.role === 'active') {
        const generation = this.generation;
        await this.reloadCheckpoints().then(
          () => this.launch(),
          (error: unknown) => this.onFailure(error, generation),
        );
      }
    }
  }

  /** Announces the rebuild (its report is there at once); the log's length is filled in when read. */
  private newTracker(mode: 'in_place' | 'blue_green', targets: readonly RowProjection[], options: RebuildOptions): RebuildTracker {
    const tracker = new RebuildTracker(mode, targets.map((target) => target.name), null, options.onProgress);
    this.rebuildTracker = tracker;
    return tracker;
  }

  private async measureLog(tracker: RebuildTracker): Promise<void> {
    const head = await this.store.headPosition().catch(() => null);
    tracker.setTotal(head === null ? null : estimateLag(head, null));
  }

  /** When versions changed: rebuild those projections blue/green, in the background (failures are logged). */
  private rebuildOutdatedInBackground(): void {
    if (!this.rebuildOutdated) return;
    void (async () => {
      const outdated = await outdatedProjections(this.db.knex, this.projections);
      if (outdated.length === 0 || this.role !== 'active' || this.isRebuilding) return;
      const names = outdated.map((projection) => projection.name);
      this.logger.info({ projections: names }, 'projection versions changed: rebuilding them blue/green');
      await this.rebuildBlueGreen({ projections: names });
    })().catch((error: unknown) => this.logger.error({ err: error }, 'could not rebuild the projections whose version changed'));
  }

  private selectProjections(names: string[] | undefined): RowProjection[] {
    if (names === undefined) return [...this.projections];
    const unknown = names.filter((name) => !this.projections.some((projection) => projection.name === name));
    if (unknown.length > 0) throw new Error(`unknown projection(s): ${unknown.join(', ')}`);
    return this.projections.filter((projection) => names.includes(projection.name));
  }

  private async reloadCheckpoints(): Promise<void> {
    // A blue/green swap a crash interrupted owns checkpoints: settle it before reading them.
    await completeInterruptedSwaps(this.db);
    const names = this.projections.map((projection) => projection.name);
    this.checkpoints = await loadCheckpoints(this.db.knex, names);
    this.checkpointsVerifiedInTerm = null;
    this.publishAppliedPosition();
  }

  /** Catch up, then follow live; a failure anywhere goes to onFailure. */
  private launch(): void {
    this.role = 'active';
    const generation = ++this.generation;
    this.state = 'catching_up';
    this.catchUpLoop = this.catchUp(generation)
      .then(() => {
        if (generation === this.generation) this.followLive(generation);
      })
      .catch((error: unknown) => this.onFailure(error, generation));
  }

  /**
   * Pulls pages after the lowest checkpoint until a short page (the head). Pages are
   * folded into a working set that is written (rows and checkpoints in one
   * transaction) when it holds catchUpMaxRows rows, every catchUpFlushIntervalMs, at
   * the head, and when the runner stops. Returns the number of events read.
   */
  private async catchUp(generation: number, onPage?: (eventsDone: number) => void): Promise<number> {
    const { catchUpPageSize: pageSize, catchUpMaxRows: maxRows, catchUpFlushIntervalMs: flushIntervalMs } = this.settings;
    const workingSet = new ProjectionWorkingSet(this.db, this.projections, this.checkpoints, this.comparePositions, maxRows);
    return replayPages({
      store: this.store,
      workingSet,
      after: this.lowestCheckpoint(),
      pageSize,
      maxRows,
      flushIntervalMs,
      flush: (pending) => this.flushAndPublish(workingSet, pending),
      keepGoing: () => generation === this.generation,
      ...(onPage && { onPage }),
    });
  }

  private async flushAndPublish(workingSet: ProjectionWorkingSet, pending: PendingFlush): Promise<void> {
    try {
      await this.checkWriteAllowed();
    } catch (error) {
      workingSet.discard();
      throw error;
    }
    let committed: Map<string, Checkpoint>;
    try {
      committed = await pending.commit();
    } catch (error) {
      this.checkpointsVerifiedInTerm = null; // it may have committed unrecorded
      throw error;
    }
    this.recordCommitted(committed);
  }

  /**
   * The guard before every write: this instance still holds the lease (with a margin
   * for the write itself), and the stored checkpoints are still those this runner
   * folded from (else another writer has been at work). With a lease they are read
   * once per lease term (and after a reload or a failed write), not before every batch
   * (that read was ~5 % of the service's CPU under load).
   */
  private async checkWriteAllowed(): Promise<void> {
    if (this.lease && !this.lease.isHeld((this.lease.ttlMs - this.lease.renewIntervalMs) / 2)) {
      throw new LeaseLostError('the projection lease is lost or about to lapse; standing by');
    }
    // Without a lease nothing keeps another writer out: read them every time.
    const term = this.lease?.term ?? null;
    if (term !== null && this.checkpointsVerifiedInTerm === term) return;
    const stored = await loadCheckpoints(this.db.knex, this.projections.map((projection) => projection.name));
    const moved = movedCheckpoints(this.checkpoints, stored);
    if (moved.length > 0) {
      throw new CheckpointsMovedError(`another writer moved the checkpoints of ${moved.join(', ')}; re-syncing from the checkpoints`);
    }
    this.checkpointsVerifiedInTerm = term;
  }

  /** Only after a commit: in-memory checkpoints never run ahead of the database. */
  private recordCommitted(committed: ReadonlyMap<string, Checkpoint>): void {
    if (committed.size === 0) return;
    for (const [name, checkpoint] of committed) this.checkpoints.set(name, checkpoint);
    this.retryDelayMs = this.settings.retryInitialDelayMs;
    this.publishAppliedPosition();
  }

  private followLive(generation: number): void {
    this.state = 'live';
    this.liveSubscription = this.store
      .subscribeToAll({ after: this.lowestCheckpoint() })
      .pipe(
        batchWhileBusy(
          this.settings.batchSize,
          (batch) => this.applyAndPublish(batch),
          (elapsedMs) => restAfterLiveBatch({ elapsedMs, largeValueChars: this.lastBatchLargeValueChars, blocksEventLoop: this.db.kind === 'sqlite' }),
        ),
      )
      .subscribe({
        error: (error: unknown) => this.onFailure(error, generation),
        complete: () => this.onFailure(new Error('the event subscription ended'), generation),
      });
  }

  private teardownLive(): void {
    this.liveSubscription?.unsubscribe();
    this.liveSubscription = null;
  }

  private applyAndPublish(events: readonly RecordedEvent[]): Promise<void> {
    const applying = (async () => {
      let committed: Map<string, Checkpoint>;
      try {
        this.lastBatchLargeValueChars = 0;
        committed = await applyBatch(this.db, this.projections, this.checkpoints, events, this.comparePositions, this.guardWrite, (flushed) => {
          this.lastBatchLargeValueChars = flushed.largeValueChars;
        });
      } catch (error) {
        this.checkpointsVerifiedInTerm = null; // it may have committed unrecorded
        throw error;
      }
      this.recordCommitted(committed);
    })();
    this.batchInFlight = applying.catch(() => undefined);
    return applying;
  }

  private onFailure(error: unknown, generation: number): void {
    if (generation !== this.generation) return; // stopped or restarted meanwhile
    if (error instanceof LeaseLostError && !this.rebuildInProgress) {
      void this.becomeStandby(error.message);
      return;
    }
    this.teardownLive();
    this.state = 'failed';
    this.lastError = errorMessage(error);
    const delayMs = this.retryDelayMs;
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.settings.retryMaxDelayMs);
    this.logger.error({ err: error, retry_in_ms: delayMs }, 'projection batch failed; retrying from the checkpoints');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (generation !== this.generation) return;
      this.batchInFlight
        .then(() => this.reloadCheckpoints())
        .then(
          () => {
            if (generation === this.generation && this.role === 'active') this.launch();
          },
          (reloadError: unknown) => this.onFailure(reloadError, generation),
        );
    }, delayMs);
  }

  private startLeaseTimer(): void {
    if (this.lease === null || this.leaseTimer !== null) return;
    this.leaseTimer = setInterval(() => {
      if (this.leaseTick !== null) return; // the previous one is still at work
      this.leaseTick = this.onLeaseTick().finally(() => {
        this.leaseTick = null;
      });
    }, this.lease.renewIntervalMs);
    this.leaseTimer.unref();
  }

  private stopLeaseTimer(): void {
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.leaseTimer = null;
  }

  /** Renews the lease (holder) or tries to take it (standby), and changes role accordingly. */
  private async onLeaseTick(): Promise<void> {
    const lease = this.lease;
    if (lease === null) return;
    let held: boolean;
    try {
      held = await lease.tryAcquire();
    } catch (error) {
      // Keep writing while the lease surely lasts; the guard stops writes before it lapses.
      this.logger.error({ err: error }, 'could not renew the projection lease');
      held = lease.isHeld();
    }
    if (this.rebuildInProgress) return; // the rebuild's writes are guarded
    if (held && this.role === 'standby') await this.becomeActive();
    else if (!held && this.role === 'active') await this.becomeStandby('the projection lease was lost');
  }

  private async becomeActive(): Promise<void> {
    this.role = 'active';
    this.stopPolling();
    const generation = this.generation;
    try {
      await this.reloadCheckpoints();
    } catch (error) {
      if (this.role === 'active') this.onFailure(error, generation);
      return;
    }
    if (this.role !== 'active' || generation !== this.generation) return;
    this.logger.info({ holder: this.lease?.holder }, 'projection lease acquired; applying the log from the checkpoints');
    this.launch();
    this.rebuildOutdatedInBackground();
  }

  /** Stops applying at once; what is being written is refused by the guard. */
  private async becomeStandby(reason: string): Promise<void> {
    if (this.role !== 'active') return;
    this.lease?.forget();
    this.logger.info({ holder: this.lease?.holder, reason }, 'projection lease lost; standing by');
    this.role = 'standby';
    this.generation += 1;
    this.teardownLive();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.state = 'standby';
    await this.catchUpLoop;
    await this.batchInFlight;
    if (this.role !== 'standby') return;
    this.enterStandby();
  }

  private enterStandby(): void {
    this.role = 'standby';
    this.state = 'standby';
    this.lastError = null;
    void this.refreshStandbyCheckpoints().catch(() => undefined);
    this.schedulePoll();
  }

  /** A standby's view of how far the holder has applied (only while still standing by). */
  private async refreshStandbyCheckpoints(): Promise<void> {
    const names = this.projections.map((projection) => projection.name);
    const checkpoints = await loadCheckpoints(this.db.knex, names);
    if (this.role !== 'standby') return; // took over meanwhile: its own reload counts
    this.checkpoints = checkpoints;
    this.checkpointsVerifiedInTerm = null;
    this.publishAppliedPosition();
  }

  /** While standing by and someone waits for a position: read the checkpoints every standbyPollIntervalMs. */
  private schedulePoll(): void {
    if (this.pollTimer !== null || this.role !== 'standby' || this.positionWaiters.size === 0) return;
    this.pollTimer = setTimeout(() => {
      void this.refreshStandbyCheckpoints()
        .catch(() => undefined)
        .finally(() => {
          this.pollTimer = null;
          this.schedulePoll();
        });
    }, this.settings.standbyPollIntervalMs);
  }

  private stopPolling(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  private lowestCheckpoint(): Position | null {
    let lowest: Position | null = null;
    for (const { position } of this.checkpoints.values()) {
      if (position === null) return null;
      if (lowest === null || this.store.comparePositions(position, lowest) < 0) lowest = position;
    }
    return lowest;
  }

  private publishAppliedPosition(): void {
    const applied = this.lowestCheckpoint();
    if (applied === this.appliedPosition) return;
    this.appliedPosition = applied;
    for (const waiter of this.positionWaiters) {
      if (this.hasApplied(waiter.position)) waiter.settle(true);
    }
  }
}

/** Events between the checkpoint and the head, when positions are sequence numbers; else null. */
function estimateLag(head: Position | null, position: Position | null): number | null {
  if (head === null) return position === null ? 0 : null;
  if (!NUMERIC_POSITION.test(head) || (position !== null && !NUMERIC_POSITION.test(position))) return null;
  return Math.max(0, Number(BigInt(head) - BigInt(position ?? '0')));
}
