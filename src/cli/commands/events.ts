/** `events`: the event log, filtered, as a table or JSON lines (src/audit does the reading). */
import { parseArgs } from 'node:util';
import { auditEventView } from '../../audit/audit-event-view.js';
import { eventTypesOf, isPositionOf, timeRangeProblem, type EventFilter } from '../../audit/event-filter.js';
import { scanEventLog } from '../../audit/event-log-scan.js';
import { instantOption } from '../instant-option.js';
import { CliUsageError, type CliCommand, type CliIo } from '../cli-command.js';
import { openCliStores } from '../cli-stores.js';
import { EventTableWriter } from '../event-table.js';

const HELP = `Usage: npm run cli -- events [options]

The event log, oldest first, read page by page (a long log is never held in memory).
Without options: every event.

Options:
  --stream <id>          one stream, e.g. schedule-V1StGXR8_Z5jdHi6B-myT;
                         or a prefix ending in *, e.g. 'execution-*' (quote it for the shell)
  --type <type>          only events of this type; repeat it or give a comma list
                         (--type ScheduleCreated,ScheduleDeleted)
  --actor <actor>        only events whose metadata names this actor (e.g. anonymous,
                         scheduler, an API token's name)
  --from <ISO>           events decided at or after this instant (inclusive)
  --to <ISO>             events decided before this instant (exclusive)
                         Both on metadata.timestamp; ISO-8601 with a zone, e.g.
                         2026-11-01T00:00:00Z or 2026-11-01T01:00:00+01:00
  --after <position>     events after this global position (exclusive), e.g. the
                         last position of a previous listing
  --limit <n>            at most n events
  --format table|jsonl   table: aligned columns position, time, stream, type, actor and
                         the start of the data; jsonl: one JSON object per event with
                         id, position, stream, revision, type, data, metadata, recorded_at
                         (as GET /api/v1/audit/events answers). Default: table when
                         standard output is a terminal, jsonl otherwise.

Reads the stores of EVENTSTORE_URL, DATABASE_URL or DATA_DIR, as the service does.
`;

const FORMATS = ['table', 'jsonl'] as const;
type Format = (typeof FORMATS)[number];

interface EventsOptions {
  filter: EventFilter;
  limit: number | null;
  format: Format;
}

function parse(args: string[], io: CliIo): EventsOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        stream: { type: 'string' },
        type: { type: 'string', multiple: true },
        actor: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        after: { type: 'string' },
        limit: { type: 'string' },
        format: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new CliUsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.stream === '' || values.stream === '*') throw new CliUsageError('--stream needs a stream id or a prefix followed by *');
  if (values.actor === '') throw new CliUsageError('--actor needs an actor');
  const types = eventTypesOf(values.type ?? []);
  if (values.type !== undefined && types.length === 0) throw new CliUsageError('--type needs an event type');
  const from = instantOption('from', values.from) ?? null;
  const to = instantOption('to', values.to) ?? null;
  if (timeRangeProblem(from, to) !== null) throw new CliUsageError('--from must be before --to (--to is exclusive)');
  let limit: number | null = null;
  if (values.limit !== undefined) {
    limit = /^\d+$/.test(values.limit) ? Number(values.limit) : Number.NaN;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new CliUsageError(`--limit must be a positive whole number, not ${values.limit}`);
  }
  const format = values.format ?? (io.out.isTTY ? 'table' : 'jsonl');
  if (!(FORMATS as readonly string[]).includes(format)) throw new CliUsageError(`--format must be ${FORMATS.join(' or ')}, not ${format}`);
  if (values.after === '') throw new CliUsageError('--after needs a position');
  return {
    filter: { stream: values.stream ?? null, types, actor: values.actor ?? null, from, to, after: values.after ?? null },
    limit,
    format: format as Format,
  };
}

export const eventsCommand: CliCommand = {
  name: 'events',
  summary: 'list the event log, filtered by stream, type, actor, time or position',
  help: HELP,
  async run(args, io) {
    const { filter, limit, format } = parse(args, io);
    const stores = await openCliStores(io.env);
    try {
      const { store } = stores;
      if (filter.after && !isPositionOf(store, filter.after)) throw new CliUsageError(`--after: ${filter.after} is not a position of this event store (${store.kind})`);
      const table = new EventTableWriter(io.out);
      let written = 0;
      for await (const page of scanEventLog(store, filter)) {
        const events = limit === null ? page.matches : page.matches.slice(0, limit - written);
        if (format === 'table') table.write(events);
        else if (events.length > 0) io.out.write(`${events.map((event) => JSON.stringify(auditEventView(event))).join('\n')}\n`);
        written += events.length;
        if (limit !== null && written >= limit) break;
      }
      if (format === 'table' && written === 0) io.err.write('no events match\n');
      return 0;
    } finally {
      await stores.close();
    }
  },
};
