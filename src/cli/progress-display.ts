/**
 * Progress of a long CLI command on stderr: on a terminal a bar redrawn in place
 * (events done, events/s, time left); otherwise (a log, a pipe) a plain line every
 * few seconds, so the output stays readable.
 */
import type { CliIo } from './cli-command.js';

export interface ProgressFigures {
  events_done: number;
  events_total: number | null;
  events_per_second: number;
  eta_seconds: number | null;
}

const BAR_WIDTH = 30;
/** Terminal redraws at most this often (ms). */
const REDRAW_INTERVAL_MS = 100;
/** Plain lines at most this often (ms). */
const LINE_INTERVAL_MS = 2000;

function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function duration(seconds: number | null): string {
  if (seconds === null) return '?';
  const whole = Math.ceil(seconds);
  if (whole < 60) return `${whole}s`;
  const minutes = Math.floor(whole / 60);
  return minutes < 60 ? `${minutes}m${String(whole % 60).padStart(2, '0')}s` : `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** The share done, 0..1, when the total is known (events appended meanwhile can take it past 1: capped). */
function share(figures: ProgressFigures): number | null {
  if (figures.events_total === null || figures.events_total <= 0) return null;
  return Math.min(1, figures.events_done / figures.events_total);
}

export function progressLine(label: string, figures: ProgressFigures): string {
  const done = share(figures);
  const of = figures.events_total === null ? '' : `/${count(figures.events_total)}`;
  const percent = done === null ? '' : ` (${Math.floor(done * 100)}%)`;
  return `${label}: ${count(figures.events_done)}${of} events${percent}, ${count(figures.events_per_second)} events/s, ${duration(figures.eta_seconds)} left`;
}

export function progressBar(label: string, figures: ProgressFigures): string {
  const done = share(figures);
  const filled = done === null ? 0 : Math.round(done * BAR_WIDTH);
  const bar = done === null ? '?'.repeat(BAR_WIDTH) : `${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}`;
  const percent = done === null ? '' : `${String(Math.floor(done * 100)).padStart(3)}% `;
  const of = figures.events_total === null ? '' : `/${count(figures.events_total)}`;
  return `${label} [${bar}] ${percent}${count(figures.events_done)}${of} events  ${count(figures.events_per_second)} ev/s  ${duration(figures.eta_seconds)} left`;
}

export class ProgressDisplay {
  private lastShownAt = 0;
  private lastShown = '';

  constructor(
    private readonly io: CliIo,
    private readonly label: string,
  ) {}

  private get isTerminal(): boolean {
    return this.io.err.isTTY === true;
  }

  update(figures: ProgressFigures): void {
    const now = performance.now();
    if (now - this.lastShownAt < (this.isTerminal ? REDRAW_INTERVAL_MS : LINE_INTERVAL_MS)) return;
    this.lastShownAt = now;
    this.show(figures);
  }

  /** The last figures, always shown; on a terminal the bar's line is ended. */
  finish(figures: ProgressFigures): void {
    this.show(figures);
    if (this.isTerminal && this.lastShown !== '') this.io.err.write('\n');
  }

  /** Writes the figures unless they read as what is shown already. */
  private show(figures: ProgressFigures): void {
    const text = this.isTerminal ? progressBar(this.label, figures) : progressLine(this.label, figures);
    if (text === this.lastShown) return;
    this.lastShown = text;
    this.io.err.write(this.isTerminal ? `\r\x1b[2K${text}` : `${text}\n`);
  }
}
