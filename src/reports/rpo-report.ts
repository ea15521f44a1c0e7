/**
 * The recovery point of each VM: how long ago its last successful replication
 * finished, worst first (VMs never replicated successfully before all others).
 */
import type { Knex } from 'knex';
import type { ReadModelKind } from '../projections/row-codec.js';
import { pageOf, type Page } from '../queries/paging.js';
import { isoOrNull, textOrNull, type Row } from '../queries/row-values.js';
import { humanAge } from './age-format.js';
import { instantBinding } from './instant-binding.js';

export interface RpoEntry {
  vm_context_id: string;
  vm_name: string;
  group_id: string | null;
  group_name: string | null;
  last_successful_job_id: string | null;
  /** When the last successful job completed; null: never. */
  last_success_at: string | null;
  /** Seconds from last_success_at to the report's now; null: never. */
  age_seconds: number | null;
  /** The age as "3h 12m", or "never". */
  age: string;
  /** Status of the VM's latest job (successful or not); null when it never had one. */
  last_job_status: string | null;
}

export interface RpoFilter {
  /** Only VMs whose age exceeds this many minutes (never replicated ones always do). */
  over_minutes?: number;
  group_id?: string;
  limit: number;
  page: number;
}

function toEntry(row: Row, now: Date): RpoEntry {
  const lastSuccessAt = isoOrNull(row.last_success_at);
  const ageSeconds = lastSuccessAt === null ? null : Math.max(0, Math.floor((now.getTime() - Date.parse(lastSuccessAt)) / 1000));
  return {
    vm_context_id: String(row.context_id),
    vm_name: String(row.vm_name),
    group_id: textOrNull(row.group_id),
    group_name: textOrNull(row.group_name),
    last_successful_job_id: lastSuccessAt === null ? null : textOrNull(row.last_successful_job_id),
    last_success_at: lastSuccessAt,
    age_seconds: ageSeconds,
    age: ageSeconds === null ? 'never' : humanAge(ageSeconds),
    last_job_status: textOrNull(row.last_job_status),
  };
}

export class RpoReport {
  constructor(
    private readonly knex: Knex,
    private readonly kind: ReadModelKind,
  ) {}

  /** One page of the report as of `now`. */
  async page(filter: RpoFilter, now: Date): Promise<Page<RpoEntry>> {
    const query = this.knex('vm_replication_contexts as v')
      .leftJoin('replication_jobs as s', 's.id', 'v.last_successful_job_id')
      .leftJoin('replication_jobs as l', 'l.id', 'v.last_scheduled_job_id')
      .leftJoin('vm_group_memberships as m', 'm.vm_context_id', 'v.context_id')
      .leftJoin('vm_machine_groups as g', 'g.id', 'm.group_id')
      .select('v.context_id', 'v.vm_name', 'm.group_id', 'g.name as group_name', 'v.last_successful_job_id', 's.completed_at as last_success_at', 'l.status as last_job_status');
    if (filter.group_id !== undefined) query.where('m.group_id', filter.group_id);
    if (filter.over_minutes !== undefined) {
      const bound = instantBinding(this.kind, new Date(now.getTime() - filter.over_minutes * 60_000));
      query.where((where) => where.whereNull('s.completed_at').orWhere('s.completed_at', '<', bound));
    }
    // Ascending puts NULL (never replicated) first on SQLite and MariaDB alike.
    const page = await pageOf(query, [{ column: 's.completed_at', order: 'asc' }, { column: 'v.vm_name' }, { column: 'v.context_id' }], filter.limit, filter.page);
    return { ...page, items: page.items.map((row) => toEntry(row, now)) };
  }

  /** Every entry, worst first, read a page at a time. */
  async *all(filter: Omit<RpoFilter, 'limit' | 'page'>, now: Date, pageSize = 500): AsyncGenerator<RpoEntry> {
    for (let page = 1; ; page += 1) {
      const { items, has_more } = await this.page({ ...filter, limit: pageSize, page }, now);
      yield* items;
      if (!has_more) return;
    }
  }
}
