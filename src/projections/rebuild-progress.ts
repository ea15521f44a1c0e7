/**
 * How far a rebuild has got: events done, rate and time left, for the CLI's progress
 * display and GET /admin/projections. The total is the log's length when the rebuild
 * began (known when positions are sequence numbers); events appended meanwhile make
 * the last estimate a little short.
 */
import { nanoid } from 'nanoid';

export type RebuildMode = 'in_place' | 'blue_green';

export interface RebuildProgress {
  events_done: number;
  /** Events to replay, when known. */
  events_total: number | null;
  events_per_second: number;
  /** Seconds left at the current rate, when the total is known. */
  eta_seconds: number | null;
}

export interface RebuildReport extends RebuildProgress {
  id: string;
  mode: RebuildMode;
  projections: string[];
  status: 'running' | 'done' | 'failed';
  started_at: string;
  finished_at: string | null;
  error: string | null;
}

export class RebuildTracker {
  private readonly startedAt = performance.now();
  private readonly report: RebuildReport;

  constructor(
    mode: RebuildMode,
    projections: readonly string[],
    eventsTotal: number | null,
    private readonly onProgress?: (progress: RebuildProgress) => void,
  ) {
    this.report = {
      id: nanoid(),
      mode,
      projections: [...projections],
      status: 'running',
      started_at: new Date().toISOString(),
      finished_at: null,
      error: null,
      events_done: 0,
      events_total: eventsTotal,
      events_per_second: 0,
      eta_seconds: null,
    };
  }

  get seconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  /** A copy, safe to hand out. */
  snapshot(): RebuildReport {
    return { ...this.report, projections: [...this.report.projections] };
  }

  /** The log's length, once known (read after the rebuild was announced). */
  setTotal(eventsTotal: number | null): void {
    this.report.events_total = eventsTotal;
  }

  /** Records the events done so far (over every phase of the rebuild). */
  advance(eventsDone: number): void {
    const seconds = this.seconds;
    const rate = seconds > 0 ? eventsDone / seconds : 0;
    const total = this.report.events_total;
    this.report.events_done = eventsDone;
    this.report.events_per_second = rate;
    this.report.eta_seconds = total !== null && rate > 0 ? Math.max(0, (total - eventsDone) / rate) : null;
    this.onProgress?.({
      events_done: eventsDone,
      events_total: total,
      events_per_second: rate,
      eta_seconds: this.report.eta_seconds,
    });
  }

  finish(error?: string): void {
    this.report.status = error === undefined ? 'done' : 'failed';
    this.report.error = error ?? null;
    this.report.finished_at = new Date().toISOString();
    if (error === undefined) this.report.eta_seconds = 0;
  }
}
