/**
 * Replication success per schedule, group or VM over the jobs that finished in
 * a range [from, to): how many, how many completed, how many failed (failed,
 * replication_failed, cancelled and phantoms alike), worst rate first.
 */
import type { Knex } from 'knex';
import { SUCCEEDED_JOB_STATUS } from '../domain/job-statuses.js';
import type { ReadModelKind } from '../projections/row-codec.js';
import type { Page } from '../queries/paging.js';
import { int, textOrNull, type Row } from '../queries/row-values.js';
import { instantBinding } from './instant-binding.js';
import { JOB_GROUP_SQL, JOB_SCHEDULE_SQL, jobsWithAttribution } from './job-attribution.js';
import type { ReportRange } from './report-range.js';

export const SUCCESS_RATE_KEYS = ['schedule', 'group', 'vm'] as const;
export type SuccessRateKey = (typeof SUCCESS_RATE_KEYS)[number];

export interface SuccessCounts {
  jobs_total: number;
  jobs_completed: number;
  jobs_failed: number;
  /** jobs_completed / jobs_total, 0..1 rounded to 4 places; null when no job finished. */
  success_fraction: number | null;
}

export interface SuccessRateEntry extends SuccessCounts {
  /** The schedule, group or VM id; null for jobs of no group (group_by=group) or of no execution. */
  id: string | null;
  /** Its name; null when it is gone (a deleted schedule or group) or for the null key. */
  name: string | null;
}

export interface SuccessRates extends Page<SuccessRateEntry> {
  /** The same counts over every job of the range. */
  totals: SuccessCounts;
}

/** The SQL of each key over the attributed jobs, and where its names are. */
const KEYS: Record<SuccessRateKey, { sql: string; names: { table: string; id: string; name: string } }> = {
  schedule: { sql: JOB_SCHEDULE_SQL, names: { table: 'replication_schedules', id: 'id', name: 'name' } },
  group: { sql: JOB_GROUP_SQL, names: { table: 'vm_machine_groups', id: 'id', name: 'name' } },
  vm: { sql: 'j.vm_context_id', names: { table: 'vm_replication_contexts', id: 'context_id', name: 'vm_name' } },
};

const COMPLETED_SQL = `sum(case when j.status = '${SUCCEEDED_JOB_STATUS}' then 1 else 0 end)`;

function counts(total: number, completed: number): SuccessCounts {
  return { jobs_total: total, jobs_completed: completed, jobs_failed: total - completed, success_fraction: total === 0 ? null : Math.round((completed / total) * 10_000) / 10_000 };
}

export class SuccessRatesReport {
  constructor(
    private readonly knex: Knex,
    private readonly kind: ReadModelKind,
  ) {}

  private finishedIn(range: ReportRange): Knex.QueryBuilder {
    return jobsWithAttribution(this.knex)
      .whereNotNull('j.completed_at')
      .where('j.completed_at', '>=', instantBinding(this.kind, range.from))
      .where('j.completed_at', '<', instantBinding(this.kind, range.to));
  }

  async page(groupBy: SuccessRateKey, range: ReportRange, limit: number, page: number): Promise<SuccessRates> {
    const key = KEYS[groupBy];
    const grouped = this.finishedIn(range)
      .select(this.knex.raw(`${key.sql} as report_key`))
      .count({ jobs_total: '*' })
      .select(this.knex.raw(`${COMPLETED_SQL} as jobs_completed`))
      .groupByRaw(key.sql);
    const countRow = (await this.knex.count({ count: '*' }).from(grouped.clone().as('report_keys')).first()) as Row | undefined;
    const totalKeys = int(countRow?.count);
    const rows = (await grouped
      .clone()
      .orderByRaw(`${COMPLETED_SQL} * 1.0 / count(*) asc, count(*) desc, report_key asc`)
      .limit(limit)
      .offset((page - 1) * limit)) as Row[];
    const totalsRow = (await this.finishedIn(range).count({ jobs_total: '*' }).select(this.knex.raw(`${COMPLETED_SQL} as jobs_completed`)).first()) as Row | undefined;

    const ids = rows.flatMap((row) => (row.report_key === null || row.report_key === undefined ? [] : [String(row.report_key)]));
    const names = new Map<string, string>();
    if (ids.length > 0) {
      const found = (await this.knex(key.names.table).select({ id: key.names.id, name: key.names.name }).whereIn(key.names.id, ids)) as Row[];
      for (const row of found) names.set(String(row.id), String(row.name));
    }
    const items = rows.map((row) => {
      const id = textOrNull(row.report_key);
      return { id, name: id === null ? null : (names.get(id) ?? null), ...counts(int(row.jobs_total), int(row.jobs_completed)) };
    });
    return {
      items,
      total_count: totalKeys,
      page,
      page_size: limit,
      has_more: (page - 1) * limit + items.length < totalKeys,
      totals: counts(int(totalsRow?.jobs_total), int(totalsRow?.jobs_completed)),
    };
  }
}
