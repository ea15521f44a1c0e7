/** `export executions|jobs`: read-model rows in a time range as CSV or JSON lines, for reporting. */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { exportHeader, exportLine, EXPORT_FORMATS, type ExportFormat } from '../../reports/export-format.js';
import { exportColumns, exportRows, EXPORT_SOURCES, type ExportSource } from '../../reports/export-rows.js';
import { parseInstant } from '../../reports/report-range.js';
import { CliUsageError, type CliCommand, type CliIo } from '../cli-command.js';
import { openCliStores } from '../cli-stores.js';

const HELP = `Usage: npm run cli -- export executions|jobs --from <ISO> --to <ISO> [--format csv|json] [--output FILE]

Writes read-model rows in a time range, oldest first:
  executions  schedule_executions rows whose scheduled_at (the due instant) is in the range
  jobs        replication_jobs rows whose started_at is in the range
The range is [from, to): --from inclusive, --to exclusive. Instants are ISO-8601
date-times with a zone, e.g. 2026-11-01T00:00:00Z or 2026-11-01T01:00:00+01:00.

Options:
  --from <ISO>       start of the range, inclusive (required)
  --to <ISO>         end of the range, exclusive (required)
  --format csv|json  csv (default): RFC 4180, a header row, CRLF line ends, instants
                     ISO-8601 UTC, execution_details and error_details as JSON text;
                     json: JSON lines, one object per row (not one array), with
                     execution_details and error_details as embedded JSON
  --output FILE      write to FILE instead of standard output

Jobs: schedule_id is the job's execution's schedule; vm_group_id is the execution's
group when it ran for one group, otherwise the VM's group now.
`;

/** Writes text, waiting when the stream asks to (so a large export is not buffered whole in memory). */
async function write(out: CliIo['out'] | NodeJS.WritableStream, text: string): Promise<void> {
  if (text === '') return;
  if (out.write(text) === false && 'once' in out && typeof out.once === 'function') await once(out as NodeJS.WritableStream, 'drain');
}

async function openOutput(path: string): Promise<NodeJS.WritableStream & { destroy(): void; end(callback: (error?: Error | null) => void): void }> {
  const file = createWriteStream(path);
  try {
    await once(file, 'open');
  } catch (error) {
    throw new CliUsageError(`--output: cannot write ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return file;
}

function parse(args: string[]): { source: ExportSource; from: Date; to: Date; format: ExportFormat; output: string | undefined } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { from: { type: 'string' }, to: { type: 'string' }, format: { type: 'string', default: 'csv' }, output: { type: 'string' } },
    });
  } catch (error) {
    throw new CliUsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const [source, ...extra] = positionals;
  if (source === undefined || !(EXPORT_SOURCES as readonly string[]).includes(source)) throw new CliUsageError(`say what to export: ${EXPORT_SOURCES.join(' or ')}`);
  if (extra.length > 0) throw new CliUsageError(`unexpected argument: ${extra[0]}`);
  if (values.from === undefined || values.to === undefined) throw new CliUsageError('--from and --to are required');
  const from = parseInstant(values.from);
  if (from === null) throw new CliUsageError(`--from: not an ISO-8601 instant with a zone: ${values.from}`);
  const to = parseInstant(values.to);
  if (to === null) throw new CliUsageError(`--to: not an ISO-8601 instant with a zone: ${values.to}`);
  if (from.getTime() >= to.getTime()) throw new CliUsageError('--from must be before --to');
  const format = values.format;
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new CliUsageError(`--format must be ${EXPORT_FORMATS.join(' or ')}, not ${format}`);
  if (values.output === '') throw new CliUsageError('--output needs a file name');
  return { source: source as ExportSource, from, to, format: format as ExportFormat, output: values.output };
}

export const exportCommand: CliCommand = {
  name: 'export',
  summary: 'write executions or jobs of a time range as CSV or JSON lines',
  help: HELP,
  async run(args, io) {
    const { source, from, to, format, output } = parse(args);
    const file = output === undefined ? null : await openOutput(output);
    const out = file ?? io.out;
    let stores;
    try {
      stores = await openCliStores(io.env);
    } catch (error) {
      file?.destroy();
      throw error;
    }
    try {
      const columns = exportColumns(source);
      await write(out, exportHeader(format, columns));
      let count = 0;
      let chunk = '';
      for await (const row of exportRows(stores.readDb.knex, stores.readDb.kind, source, { from, to })) {
        chunk += exportLine(format, columns, row);
        count += 1;
        if (chunk.length >= 65_536) {
          await write(out, chunk);
          chunk = '';
        }
      }
      await write(out, chunk);
      io.err.write(`exported ${count} ${source} from ${from.toISOString()} (inclusive) to ${to.toISOString()} (exclusive)${output === undefined ? '' : ` to ${output}`}\n`);
      return 0;
    } finally {
      if (file) await new Promise<void>((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
      await stores.close();
    }
  },
};
