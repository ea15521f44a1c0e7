/**
 * Events as an aligned text table, written page by page as they are read: the
 * header comes with the first page, and a column only ever widens, so a long
 * listing stays aligned without holding it all in memory.
 */
import type { RecordedEvent } from '../eventstore/event-store.js';
import type { CliIo } from './cli-command.js';

const HEADER = ['POSITION', 'TIME', 'STREAM', 'TYPE', 'ACTOR', 'DATA'] as const;

/** The data column shows this many characters of the event's JSON at most. */
const DATA_WIDTH = 80;

function shortData(data: Record<string, unknown>): string {
  const text = JSON.stringify(data);
  return text.length <= DATA_WIDTH ? text : `${text.slice(0, DATA_WIDTH - 1)}…`;
}

function cellsOf(event: RecordedEvent): string[] {
  return [event.position, event.metadata.timestamp, event.streamId, event.type, event.metadata.actor, shortData(event.data)];
}

export class EventTableWriter {
  private readonly widths: number[] = HEADER.map((title) => title.length);
  private headerWritten = false;
  private rows = 0;

  constructor(private readonly out: CliIo['out']) {}

  /** Rows written so far. */
  get count(): number {
    return this.rows;
  }

  write(events: readonly RecordedEvent[]): void {
    if (events.length === 0) return;
    const rows = events.map(cellsOf);
    // The last column is not padded, so it does not set a width.
    for (const row of rows) for (let i = 0; i < row.length - 1; i++) this.widths[i] = Math.max(this.widths[i] ?? 0, (row[i] as string).length);
    const lines = rows.map((row) => this.line(row));
    if (!this.headerWritten) {
      lines.unshift(this.line(HEADER));
      this.headerWritten = true;
    }
    this.out.write(`${lines.join('\n')}\n`);
    this.rows += events.length;
  }

  private line(cells: readonly string[]): string {
    return cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(this.widths[i] ?? 0))).join('  ');
  }
}
