/**
 * Keeps the read models up to date with the log. Catch-up PULLS pages with
 * store.readAll (natural backpressure on a long log, and the next page is read while
 * the current one is written); live mode follows store.subscribeToAll and applies
 * each event at once when idle, batching what arrives while a batch is written. Every batch goes through applyBatch: one transaction for the
 * rows and checkpoints of all projections. A failed batch is never skipped: the
 * runner logs it, waits (backoff) and starts again from the committed checkpoints.
 */
import { BehaviorSubject, filter, firstValueFrom, map, of, timeout, type Subscription } from 'rxjs';
import { batchWhileBusy } from './batch-while-busy.js';
import type { EventStore, Position, RecordedEvent } from '../eventstore/event-store.js';
import { applyBatch } from './apply-batch.js';
import { loadCheckpoints, NO_CHECKPOINT, resetProjections, type Checkpoint } from './checkpoints.js';
import type { RowProjection } from './projection.js';
import { ProjectionWorkingSet } from './projection-working-set.js';
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
  /** First wait after a failure (ms, default 200); doubles up to retryMaxDelayMs. */
  retryInitialDelayMs?: number;
  retryMaxDelayMs?: number;
  logger?: ProjectionRunnerLogger;
}

export type ProjectionState = 'catching_up' | 'live' | 'rebuilding' | 'stopped' | 'failed';

export interface ProjectionStatus {
  projection: string;
  version: number;
  position: string | null;
  events_applied: number;
  lag_events: number | null;
  state: ProjectionState;
  last_error: string | null;
}

export interface RebuildProgress {
  events_done: number;
  events_per_second: number;
}

export interface RebuildOptions {
  /** Names of the projections to rebuild; default all. */
  projections?: string[];
  onProgress?: (progress: RebuildProgress) => void;
}

export interface RebuildResult {
  events: number;
  seconds: number;
}

type RunnerState = 'stopped' | 'catching_up' | 'live' | 'failed';

const DEFAULTS = {
  batchSize: 500,
  // Tuned on bench:rebuild (bench/README.md): larger pages and working sets go faster
  // but past ~500 MB of RSS on a million-event log.
  catchUpPageSize: 5000,
  catchUpMaxRows: 60_000,
  catchUpFlushIntervalMs: 5000,
  retryInitialDelayMs: 200,
  retryMaxDelayMs: 30_000,
};

/** Without a logger: errors to stderr, nothing else. */
const defaultLogger: ProjectionRunnerLogger = {
  info: () => undefined,
  error: (details, message) => console.error(message ?? 'projection runner error', details),
};

const NUMERIC_POSITION = /^\d+$/;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

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
  private readonly appliedPosition$ = new BehaviorSubject<Position | null>(null);
  private state: RunnerState = 'stopped';
  private lastError: string | null = null;
  private readonly rebuilding = new Set<string>();
  private rebuildInProgress = false;
  /** Bumped by every stop and (re)start: work of an older generation stops at its next step. */
  private generation = 0;
  private catchUpLoop: Promise<void> = Promise.resolve();
  private batchInFlight: Promise<void> = Promise.resolve();
  private liveSubscription: Subscription | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelayMs: number;
  private readonly comparePositions = (a: Position, b: Position) => this.store.comparePositions(a, b);

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
      retryInitialDelayMs: options.retryInitialDelayMs ?? DEFAULTS.retryInitialDelayMs,
      retryMaxDelayMs: options.retryMaxDelayMs ?? DEFAULTS.retryMaxDelayMs,
    };
    this.logger = options.logger ?? defaultLogger;
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
    this.launch();
  }

  /** Stops following the log; resolves when the batch being written (if any) has committed. */
  async stop(): Promise<void> {
    this.generation += 1;
    this.teardownLive();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.catchUpLoop;
    await this.batchInFlight;
    this.state = 'stopped';
  }

  /**
   * True as soon as every projection has applied `position`; false after timeoutMs.
   * Cheap: watches the in-memory applied position, never the database.
   */
  async waitForPosition(position: Position, timeoutMs: number): Promise<boolean> {
    const reached = (applied: Position | null) => applied !== null && this.store.comparePositions(applied, position) >= 0;
    if (reached(this.appliedPosition$.value)) return true;
    if (timeoutMs <= 0) return false;
    return firstValueFrom(
      this.appliedPosition$.pipe(
        filter(reached),
        map(() => true),
        timeout({ first: timeoutMs, with: () => of(false) }),
      ),
    );
  }

  async status(): Promise<ProjectionStatus[]> {
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

  /**
   * Stops, empties the given projections' tables and checkpoints, replays the log from
   * the start through the same batched path, then resumes following the log if the
   * runner was running before. The others skip events up to their own checkpoints.
   */
  async rebuild(options: RebuildOptions = {}): Promise<RebuildResult> {
    if (this.rebuildInProgress) throw new Error('a rebuild is already running');
    const targets = this.selectProjections(options.projections);
    this.rebuildInProgress = true;
    const wasRunning = this.state !== 'stopped';
    const startedAt = performance.now();
    try {
      await this.stop();
      for (const target of targets) this.rebuilding.add(target.name);
      this.lastError = null;
      await resetProjections(this.db, targets);
      await this.reloadCheckpoints();
      const generation = ++this.generation;
      this.state = 'catching_up';
      const events = await this.catchUp(generation, (eventsDone) => {
        const seconds = (performance.now() - startedAt) / 1000;
        options.onProgress?.({ events_done: eventsDone, events_per_second: seconds > 0 ? eventsDone / seconds : 0 });
      });
      const seconds = (performance.now() - startedAt) / 1000;
      this.logger.info({ projections: targets.map((target) => target.name), events, seconds }, 'projections rebuilt');
      return { events, seconds };
    } catch (error) {
      this.lastError = errorMessage(error);
      this.logger.error({ err: error }, 'projection rebuild failed');
      throw error;
    } finally {
      this.rebuilding.clear();
      this.rebuildInProgress = false;
      this.state = 'stopped';
      // Resume even after a failure: the retry loop goes on from the committed checkpoints.
      if (wasRunning) this.launch();
    }
  }

  private selectProjections(names: string[] | undefined): RowProjection[] {
    if (names === undefined) return [...this.projections];
    const unknown = names.filter((name) => !this.projections.some((projection) => projection.name === name));
    if (unknown.length > 0) throw new Error(`unknown projection(s): ${unknown.join(', ')}`);
    return this.projections.filter((projection) => names.includes(projection.name));
  }

  private async reloadCheckpoints(): Promise<void> {
    const names = this.projections.map((projection) => projection.name);
    this.checkpoints = await loadCheckpoints(this.db.knex, names);
    this.publishAppliedPosition();
  }

  /** Catch up, then follow live; a failure anywhere goes to onFailure. */
  private launch(): void {
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
    const { catchUpPageSize: pageSize, catchUpMaxRows: maxRows, catchUpFlushIntervalMs } = this.settings;
    const workingSet = new ProjectionWorkingSet(this.db, this.projections, this.checkpoints, this.comparePositions, maxRows);
    let lastFlushAt = performance.now();
    let eventsDone = 0;
    let nextPage: Promise<RecordedEvent[]> | null = this.readPage(this.lowestCheckpoint(), pageSize);
    while (nextPage !== null) {
      const page: RecordedEvent[] = await nextPage;
      const last = page[page.length - 1];
      if (generation !== this.generation || last === undefined) break;
      // Read ahead while this page is folded and written (overlaps the two databases' work).
      nextPage = page.length < pageSize ? null : this.readPage(last.position, pageSize);
      await workingSet.fold(page);
      eventsDone += page.length;
      if (workingSet.size >= maxRows || performance.now() - lastFlushAt >= catchUpFlushIntervalMs) {
        await this.flushAndPublish(workingSet);
        lastFlushAt = performance.now();
      }
      onPage?.(eventsDone);
      // SQLite work is synchronous: let timers and I/O (HTTP requests) run between pages.
      await yieldToEventLoop();
    }
    // Also when stopping: what was folded is committed, not lost.
    await this.flushAndPublish(workingSet);
    return eventsDone;
  }

  private async flushAndPublish(workingSet: ProjectionWorkingSet): Promise<void> {
    const committed = await workingSet.flush();
    this.recordCommitted(committed);
  }

  /** Only after a commit: in-memory checkpoints never run ahead of the database. */
  private recordCommitted(committed: ReadonlyMap<string, Checkpoint>): void {
    if (committed.size === 0) return;
    for (const [name, checkpoint] of committed) this.checkpoints.set(name, checkpoint);
    this.retryDelayMs = this.settings.retryInitialDelayMs;
    this.publishAppliedPosition();
  }

  private readPage(after: Position | null, maxCount: number): Promise<RecordedEvent[]> {
    const page = this.store.readAll({ after, maxCount });
    // Handled where it is awaited; this only keeps a read-ahead that fails meanwhile from
    // being reported as an unhandled rejection.
    page.catch(() => undefined);
    return page;
  }

  private followLive(generation: number): void {
    this.state = 'live';
    this.liveSubscription = this.store
      .subscribeToAll({ after: this.lowestCheckpoint() })
      .pipe(batchWhileBusy(this.settings.batchSize, (batch) => this.applyAndPublish(batch)))
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
      this.recordCommitted(await applyBatch(this.db, this.projections, this.checkpoints, events, this.comparePositions));
    })();
    this.batchInFlight = applying.catch(() => undefined);
    return applying;
  }

  private onFailure(error: unknown, generation: number): void {
    if (generation !== this.generation) return; // stopped or restarted meanwhile
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
            if (generation === this.generation) this.launch();
          },
          (reloadError: unknown) => this.onFailure(reloadError, generation),
        );
    }, delayMs);
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
    if (applied !== this.appliedPosition$.value) this.appliedPosition$.next(applied);
  }
}

/** Events between the checkpoint and the head, when positions are sequence numbers; else null. */
function estimateLag(head: Position | null, position: Position | null): number | null {
  if (head === null) return position === null ? 0 : null;
  if (!NUMERIC_POSITION.test(head) || (position !== null && !NUMERIC_POSITION.test(position))) return null;
  return Math.max(0, Number(BigInt(head) - BigInt(position ?? '0')));
}
