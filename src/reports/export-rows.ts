/**
 * The rows of `schedule_executions` (by scheduled_at) or `replication_jobs` (by
 * started_at) in a range [from, to), oldest first (then by id), read one row at
 * a time so an export of a million rows never holds more than a few.
 */
import type { Knex } from 'knex';
import type { ReadModelKind } from '../projections/row-codec.js';
import { intOrNull, isoOrNull, textOrNull, type Row } from '../queries/row-values.js';
import { instantBinding } from './instant-binding.js';
import { JOB_GROUP_SQL, JOB_SCHEDULE_SQL, jobsWithAttribution } from './job-attribution.js';
import type { ReportRange } from './report-range.js';

export const EXPORT_SOURCES = ['executions', 'jobs'] as const;
export type ExportSource = (typeof EXPORT_SOURCES)[number];

/** How a column's value is written: instants as ISO-8601 UTC, JSON documents as their JSON text. */
export type ExportColumnKind = 'text' | 'number' | 'instant' | 'json';

export interface ExportColumn {
  name: string;
  kind: ExportColumnKind;
}

export type ExportValue = string | number | null;
export type ExportRow = Record<string, ExportValue>;

interface SourceShape {
  columns: readonly ExportColumn[];
  /** The column the range applies to and the rows are ordered by, then by the id column. */
  timeColumn: string;
  idColumn: string;
  /** The rows with every column selected under its export name. */
  select(knex: Knex): Knex.QueryBuilder;
}

const EXECUTION_COLUMNS: readonly ExportColumn[] = [
  { name: 'id', kind: 'text' },
  { name: 'schedule_id', kind: 'text' },
  { name: 'group_id', kind: 'text' },
  { name: 'status', kind: 'text' },
  { name: 'scheduled_at', kind: 'instant' },
  { name: 'started_at', kind: 'instant' },
  { name: 'completed_at', kind: 'instant' },
  { name: 'triggered_by', kind: 'text' },
  { name: 'vms_eligible', kind: 'number' },
  { name: 'jobs_created', kind: 'number' },
  { name: 'jobs_completed', kind: 'number' },
  { name: 'jobs_failed', kind: 'number' },
  { name: 'jobs_skipped', kind: 'number' },
  { name: 'execution_duration_seconds', kind: 'number' },
  { name: 'error_message', kind: 'text' },
  { name: 'error_details', kind: 'json' },
  { name: 'execution_details', kind: 'json' },
  { name: 'created_at', kind: 'instant' },
];

const JOB_COLUMNS: readonly ExportColumn[] = [
  { name: 'id', kind: 'text' },
  { name: 'vm_context_id', kind: 'text' },
  { name: 'schedule_execution_id', kind: 'text' },
  { name: 'schedule_id', kind: 'text' },
  { name: 'vm_group_id', kind: 'text' },
  { name: 'attempt', kind: 'number' },
  { name: 'status', kind: 'text' },
  { name: 'progress_percent', kind: 'number' },
  { name: 'error_message', kind: 'text' },
  { name: 'phantom_reason', kind: 'text' },
  { name: 'started_at', kind: 'instant' },
  { name: 'updated_at', kind: 'instant' },
  { name: 'completed_at', kind: 'instant' },
];

const SOURCES: Record<ExportSource, SourceShape> = {
  executions: {
    columns: EXECUTION_COLUMNS,
    timeColumn: 'scheduled_at',
    idColumn: 'id',
    select: (knex) => knex('schedule_executions').select(EXECUTION_COLUMNS.map((column) => column.name)),
  },
  jobs: {
    columns: JOB_COLUMNS,
    timeColumn: 'j.started_at',
    idColumn: 'j.id',
    select: (knex) =>
      jobsWithAttribution(knex).select(
        JOB_COLUMNS.map((column) => {
          if (column.name === 'schedule_id') return knex.raw(`${JOB_SCHEDULE_SQL} as schedule_id`);
          if (column.name === 'vm_group_id') return knex.raw(`${JOB_GROUP_SQL} as vm_group_id`);
          return `j.${column.name}`;
        }),
      ),
  },
};

export function exportColumns(source: ExportSource): readonly ExportColumn[] {
  return SOURCES[source].columns;
}

function exportValue(kind: ExportColumnKind, value: unknown): ExportValue {
  switch (kind) {
    case 'instant':
      return isoOrNull(value);
    case 'number':
      return intOrNull(value);
    default:
      return textOrNull(value);
  }
}

/** The part of a better-sqlite3 connection a cursor needs. */
interface SqliteCursorConnection {
  prepare(sql: string): { iterate(...bindings: unknown[]): IterableIterator<unknown> };
}

/**
 * The rows of one query, one at a time, never all in memory: a MariaDB result
 * stream (paused while the reader is busy), or a SQLite statement iterator
 * (knex's own SQLite stream reads every row first).
 */
async function* cursor(knex: Knex, kind: ReadModelKind, query: Knex.QueryBuilder): AsyncGenerator<Row> {
  if (kind === 'mariadb') {
    for await (const row of query.stream()) yield row as Row;
    return;
  }
  const { sql, bindings } = query.toSQL().toNative();
  const connection = (await knex.client.acquireConnection()) as SqliteCursorConnection;
  try {
    for (const row of connection.prepare(sql).iterate(...bindings)) yield row as Row;
  } finally {
    await knex.client.releaseConnection(connection);
  }
}

/**
 * One ordered query read through a cursor rather than keyset pages: the time
 * columns have no index of their own (spec/readmodels.sql), so every page would
 * scan and sort the whole table again; one pass sorts it once.
 */
export async function* exportRows(knex: Knex, kind: ReadModelKind, source: ExportSource, range: ReportRange): AsyncGenerator<ExportRow> {
  const shape = SOURCES[source];
  const query = shape
    .select(knex)
    .where(shape.timeColumn, '>=', instantBinding(kind, range.from))
    .where(shape.timeColumn, '<', instantBinding(kind, range.to))
    .orderBy([{ column: shape.timeColumn }, { column: shape.idColumn }]);
  for await (const row of cursor(knex, kind, query)) {
    const out: ExportRow = {};
    for (const column of shape.columns) out[column.name] = exportValue(column.kind, row[column.name]);
    yield out;
  }
}
