/** `verify [--projection NAME]`: rebuilds into shadow tables and reports every row that differs from the live read models. */
import { parseArgs } from 'node:util';
import { allProjections } from '../../projections/all-projections.js';
import { verifyReadModels, type RowDifference } from '../../projections/read-model-verify.js';
import { CliUsageError, type CliCommand } from '../cli-command.js';
import { openCliStores } from '../cli-stores.js';
import { ProgressDisplay } from '../progress-display.js';

const PROJECTION_NAMES = allProjections.map((projection) => projection.name);

const HELP = `Usage: npm run cli -- verify [--projection NAME] [--format text|json]

Replays the log into shadow tables (<table>__verify, dropped afterwards) and
compares them row by row with the live read models. Safe while the service runs.

Both sides are taken at the same position: verify first opens a snapshot of the
live read models and reads each projection's checkpoint in it, replays the log up
to exactly that checkpoint, and compares with the live rows as they stood in that
snapshot (rows written later by the running service are not compared).

Each difference is one line on stdout:
  missing <table> <key>              the replay has the row, the live table not
  extra <table> <key>                the live table has a row the replay has not
  differs <table> <key> <column>: live=<value> expected=<value> [...]
With --format json: one JSON object per line {projection, table, key, kind, columns}.

Options:
  --projection NAME  verify only this projection: ${PROJECTION_NAMES.join(', ')}
  --format text|json

Exit status: 0 the read models equal a fresh replay; 1 drift found (or verify
failed); 2 a usage error.
`;

function parse(args: string[]): { projection: string | null; format: 'text' | 'json' } {
  let parsed;
  try {
    parsed = parseArgs({ args, strict: true, allowPositionals: false, options: { projection: { type: 'string' }, format: { type: 'string', default: 'text' } } });
  } catch (error) {
    throw new CliUsageError(error instanceof Error ? error.message : String(error));
  }
  const projection = parsed.values.projection ?? null;
  if (projection !== null && !PROJECTION_NAMES.includes(projection)) {
    throw new CliUsageError(`unknown projection ${projection}; the projections are ${PROJECTION_NAMES.join(', ')}`);
  }
  const format = parsed.values.format;
  if (format !== 'text' && format !== 'json') throw new CliUsageError(`--format must be text or json, not ${format}`);
  return { projection, format };
}

function differenceLine(difference: RowDifference): string {
  const head = `${difference.kind} ${difference.table} ${difference.key}`;
  if (difference.kind !== 'differs') return head;
  const columns = difference.columns.map((column) => `${column.column}: live=${JSON.stringify(column.live)} expected=${JSON.stringify(column.expected)}`);
  return `${head} ${columns.join(' ')}`;
}

export const verifyCommand: CliCommand = {
  name: 'verify',
  summary: 'replay into shadow tables and report every row that differs from the live read models',
  help: HELP,
  async run(args, io) {
    const { projection, format } = parse(args);
    const projections = projection === null ? allProjections : allProjections.filter((candidate) => candidate.name === projection);
    const stores = await openCliStores(io.env);
    const display = new ProgressDisplay(io, 'verify');
    const started = performance.now();
    try {
      const result = await verifyReadModels(stores.store, stores.readDb, projections, {
        onDifference: (difference) => io.out.write(`${format === 'json' ? JSON.stringify(difference) : differenceLine(difference)}\n`),
        onProgress: (eventsDone) => {
          const seconds = (performance.now() - started) / 1000;
          display.update({ events_done: eventsDone, events_total: null, events_per_second: seconds > 0 ? eventsDone / seconds : 0, eta_seconds: null });
        },
      });
      const at = Object.entries(result.positions)
        .map(([name, position]) => `${name}@${position ?? 'start'}`)
        .join(' ');
      io.err.write(`verified ${result.rowsCompared} rows of ${projections.length} projection(s) at ${at}: ${result.differences === 0 ? 'no drift' : `${result.differences} row(s) differ`}\n`);
      return result.differences === 0 ? 0 : 1;
    } catch (error) {
      io.err.write(`verify failed: ${error instanceof Error ? error.message : String(error)}\n`);
      return 1;
    } finally {
      await stores.close();
    }
  },
};
