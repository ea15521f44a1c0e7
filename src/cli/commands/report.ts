/** `report rpo` and `report success-rates`: the API's reports (src/reports) on the command line. */
import { parseArgs } from 'node:util';
import { systemClock } from '../../clock.js';
import { rangeOf, DEFAULT_REPORT_DAYS } from '../../reports/report-range.js';
import { instantOption } from '../instant-option.js';
import { RpoReport, type RpoEntry } from '../../reports/rpo-report.js';
import { SUCCESS_RATE_KEYS, SuccessRatesReport, type SuccessRateEntry, type SuccessRateKey } from '../../reports/success-rates-report.js';
import { CliUsageError, type CliCommand, type CliIo } from '../cli-command.js';
import { openCliStores, type CliStores } from '../cli-stores.js';

const HELP = `Usage:
  npm run cli -- report rpo [--over <minutes>] [--group <group id>] [--as-of <ISO>] [--format table|json]
  npm run cli -- report success-rates [--by schedule|group|vm] [--from <ISO>] [--to <ISO>] [--as-of <ISO>] [--format table|json]

rpo: per VM, the time since its last successful replication (the completion of its
last completed job), worst first; VMs never replicated successfully come first,
shown as "never". Columns: VM name, context id, group, last success (ISO-8601 UTC),
age, status of the VM's latest job.
  --over <minutes>   only VMs whose age exceeds this many minutes (never replicated ones always do)
  --group <id>       only the VMs of this machine group

success-rates: per schedule (default), group or VM, the jobs that finished in
[--from, --to) (from inclusive, to exclusive; default the last ${DEFAULT_REPORT_DAYS} days up to
now): total, completed, failed (failed, replication_failed, cancelled, phantom) and
success = completed / total, lowest first. A job's group is its execution's group
when the execution ran for one group, otherwise the VM's group now.

  --as-of <ISO>        the report's "now" (ages, the default range); default: the current time
  --format table|json  table (default) for people; json: JSON lines, one object per row
                       (the fields of GET /api/v1/reports/rpo and /reports/success-rates)
Instants are ISO-8601 date-times with a zone, e.g. 2026-11-01T00:00:00Z.
`;

const FORMATS = ['table', 'json'] as const;
type Format = (typeof FORMATS)[number];

/** Left-aligned columns separated by two spaces, a header first. */
function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: readonly string[]) => `${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}\n`;
  return line(header) + rows.map(line).join('');
}

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        over: { type: 'string' },
        group: { type: 'string' },
        by: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        'as-of': { type: 'string' },
        format: { type: 'string', default: 'table' },
      },
    });
  } catch (error) {
    throw new CliUsageError(error instanceof Error ? error.message : String(error));
  }
}

/** Options that belong to the other report are a mistake, not something to ignore silently. */
function refuse(values: Record<string, unknown>, names: readonly string[], report: string): void {
  for (const name of names) if (values[name] !== undefined) throw new CliUsageError(`--${name} does not apply to report ${report}`);
}

async function withStores(io: CliIo, work: (stores: CliStores) => Promise<void>): Promise<void> {
  const stores = await openCliStores(io.env);
  try {
    await work(stores);
  } finally {
    await stores.close();
  }
}

async function rpo(values: ReturnType<typeof parse>['values'], format: Format, now: Date, io: CliIo): Promise<number> {
  refuse(values, ['from', 'to', 'by'], 'rpo');
  let overMinutes: number | undefined;
  if (values.over !== undefined) {
    if (!/^\d{1,9}$/.test(values.over)) throw new CliUsageError(`--over: a whole number of minutes, not ${values.over}`);
    overMinutes = Number(values.over);
  }
  const filter = { ...(overMinutes !== undefined && { over_minutes: overMinutes }), ...(values.group !== undefined && { group_id: values.group }) };
  await withStores(io, async (stores) => {
    const report = new RpoReport(stores.readDb.knex, stores.readDb.kind);
    const entries: RpoEntry[] = [];
    for await (const entry of report.all(filter, now)) {
      if (format === 'json') io.out.write(`${JSON.stringify(entry)}\n`);
      else entries.push(entry);
    }
    if (format === 'table') {
      io.out.write(
        table(
          ['VM', 'CONTEXT ID', 'GROUP', 'LAST SUCCESS', 'AGE', 'LAST JOB'],
          entries.map((e) => [e.vm_name, e.vm_context_id, e.group_name ?? e.group_id ?? '-', e.last_success_at ?? 'never', e.age, e.last_job_status ?? '-']),
        ),
      );
    }
  });
  return 0;
}

async function successRates(values: ReturnType<typeof parse>['values'], format: Format, now: Date, io: CliIo): Promise<number> {
  refuse(values, ['over', 'group'], 'success-rates');
  const by = values.by ?? 'schedule';
  if (!(SUCCESS_RATE_KEYS as readonly string[]).includes(by)) throw new CliUsageError(`--by must be ${SUCCESS_RATE_KEYS.join(', ')}, not ${by}`);
  const range = rangeOf({ from: instantOption('from', values.from), to: instantOption('to', values.to) }, now);
  if (range.from.getTime() >= range.to.getTime()) throw new CliUsageError('--from must be before --to');
  await withStores(io, async (stores) => {
    const report = new SuccessRatesReport(stores.readDb.knex, stores.readDb.kind);
    const entries: SuccessRateEntry[] = [];
    for (let page = 1; ; page += 1) {
      const answer = await report.page(by as SuccessRateKey, range, 500, page);
      entries.push(...answer.items);
      if (!answer.has_more) break;
    }
    if (format === 'json') {
      for (const entry of entries) io.out.write(`${JSON.stringify(entry)}\n`);
      return;
    }
    const percent = (fraction: number | null) => (fraction === null ? '-' : `${(fraction * 100).toFixed(1)}%`);
    io.out.write(`jobs finished from ${range.from.toISOString()} (inclusive) to ${range.to.toISOString()} (exclusive), by ${by}\n`);
    io.out.write(
      table(
        [by.toUpperCase(), 'ID', 'TOTAL', 'COMPLETED', 'FAILED', 'SUCCESS'],
        entries.map((e) => [e.name ?? (e.id === null ? `(no ${by})` : '(deleted)'), e.id ?? '-', String(e.jobs_total), String(e.jobs_completed), String(e.jobs_failed), percent(e.success_fraction)]),
      ),
    );
  });
  return 0;
}

export const reportCommand: CliCommand = {
  name: 'report',
  summary: 'rpo: time since each VM last replicated, worst first; success-rates: job success per schedule, group or VM',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parse(args);
    const [which, ...extra] = positionals;
    if (extra.length > 0) throw new CliUsageError(`unexpected argument: ${extra[0]}`);
    if (!(FORMATS as readonly string[]).includes(values.format)) throw new CliUsageError(`--format must be table or json, not ${values.format}`);
    const format = values.format as Format;
    const now = instantOption('as-of', values['as-of']) ?? systemClock.now();
    if (which === 'rpo') return rpo(values, format, now, io);
    if (which === 'success-rates') return successRates(values, format, now, io);
    throw new CliUsageError(which === undefined ? 'say which report: rpo or success-rates' : `unknown report: ${which} (rpo or success-rates)`);
  },
};
