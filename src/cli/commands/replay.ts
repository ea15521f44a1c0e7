/** `replay <stream> --as-of <ISO>`: an aggregate's state as of an instant, and the events that made it. */
import { parseArgs } from 'node:util';
import { auditEventView, type AuditEventView } from '../../audit/audit-event-view.js';
import { replayStream, unknownStreamMessage } from '../../audit/stream-replay.js';
import { parseInstant } from '../../reports/report-range.js';
import type { RecordedEvent } from '../../eventstore/event-store.js';
import { CliUsageError, type CliCommand } from '../cli-command.js';
import { openCliStores } from '../cli-stores.js';
import { EventTableWriter } from '../event-table.js';

const HELP = `Usage: npm run cli -- replay <stream> [--as-of <ISO>] [--format table|json]

Folds the stream's events with its aggregate's decider (schedule-, group-, vm-,
execution- or reservation- streams) from the first event up to the last one
decided at or before the instant (metadata.timestamp; the fold stops at the first
event decided later), and prints the events that made the state, then the state.

Options:
  --as-of <ISO>        the instant, ISO-8601 with a zone, e.g. 2026-11-01T12:00:00Z
                       (inclusive). Default: now, the current state.
  --format table|json  table (default): the events as aligned columns, then the
                       state as indented JSON; json: one JSON object with stream,
                       aggregate, as_of, revision, event_count, state and events
                       (as GET /api/v1/audit/streams/{stream} answers).

Exit status: 0 done; 1 the stream is unknown or has no events; 2 a usage error.
`;

const FORMATS = ['table', 'json'] as const;
const TABLE_BATCH = 500;
type Format = (typeof FORMATS)[number];

function parse(args: string[]): { stream: string; asOf: Date; format: Format } {
  let parsed;
  try {
    parsed = parseArgs({ args, strict: true, allowPositionals: true, options: { 'as-of': { type: 'string' }, format: { type: 'string', default: 'table' } } });
  } catch (error) {
    throw new CliUsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const [stream, ...extra] = positionals;
  if (stream === undefined || stream === '') throw new CliUsageError('say which stream to replay, e.g. schedule-<id>');
  if (extra.length > 0) throw new CliUsageError(`unexpected argument: ${extra[0]}`);
  const given = values['as-of'];
  const asOf = given === undefined ? new Date() : parseInstant(given);
  if (asOf === null) throw new CliUsageError(`--as-of: not an ISO-8601 instant with a zone: ${given}`);
  if (!(FORMATS as readonly string[]).includes(values.format)) throw new CliUsageError(`--format must be ${FORMATS.join(' or ')}, not ${values.format}`);
  return { stream, asOf, format: values.format as Format };
}

export const replayCommand: CliCommand = {
  name: 'replay',
  summary: "fold a stream as of an instant: the aggregate's state then, and the events that made it",
  help: HELP,
  async run(args, io) {
    const { stream, asOf, format } = parse(args);
    const stores = await openCliStores(io.env);
    try {
      const table = new EventTableWriter(io.out);
      // Table rows go out in batches (aligned within each), JSON needs them all for one document.
      let batch: RecordedEvent[] = [];
      const events: AuditEventView[] = [];
      const onEvent =
        format === 'table'
          ? (event: RecordedEvent) => {
              batch.push(event);
              if (batch.length < TABLE_BATCH) return;
              table.write(batch);
              batch = [];
            }
          : (event: RecordedEvent) => void events.push(auditEventView(event));
      const replay = await replayStream(stores.store, stream, asOf, { onEvent });
      table.write(batch);
      if (replay === null) {
        io.err.write(`${unknownStreamMessage(stream)}\n`);
        return 1;
      }
      if (format === 'json') {
        io.out.write(`${JSON.stringify({ ...replay, events })}\n`);
        return 0;
      }
      const folded = replay.event_count === 0 ? 'no events by then' : `${replay.event_count} event${replay.event_count === 1 ? '' : 's'}, revision ${replay.revision}`;
      io.out.write(`${table.count > 0 ? '\n' : ''}${replay.stream} (${replay.aggregate}) as of ${replay.as_of}: ${folded}\n${JSON.stringify(replay.state, null, 2)}\n`);
      return 0;
    } finally {
      await stores.close();
    }
  },
};
