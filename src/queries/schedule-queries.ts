/** Reads of the replication_schedules read model, shaped as the API answers. */
import type { Knex } from 'knex';
import { localWallTime } from '../domain/cron.js';
import { dueInstantsAfter } from '../domain/due-instant-memo.js';
import type { ScheduleReferences } from '../domain/schedule.js';
import { pageOf, type Page } from './paging.js';
import { preparedReadsOf, type PreparedReads } from './prepared-reads.js';
import { bool, int, iso, isoOrNull, textOrNull, type Row } from './row-values.js';

export interface NextRun {
  at: string;
  local_time: string;
}

export interface ScheduleView {
  id: string;
  name: string;
  description: string | null;
  schedule_type: string;
  cron_expression: string | null;
  timezone: string;
  chain_parent_schedule_id: string | null;
  chain_delay_minutes: number;
  chain_trigger_on: string;
  replication_type: string;
  max_concurrent_jobs: number;
  retry_attempts: number;
  retry_delay_minutes: number;
  enabled: boolean;
  skip_if_running: boolean;
  catchup_policy: string;
  catchup_window_minutes: number;
  jitter_seconds: number;
  next_run_at: string | null;
  last_run_at: string | null;
  created_at: string;
  updated_at: string;
  created_by: string;
}

/** The next due instants of a cron schedule after `now`; none for chain or disabled schedules. */
export function upcomingRuns(schedule: Pick<ScheduleView, 'schedule_type' | 'cron_expression' | 'timezone' | 'enabled'>, now: Date, count: number): NextRun[] {
  if (schedule.schedule_type !== 'cron' || !schedule.cron_expression || !schedule.enabled) return [];
  const timezone = schedule.timezone;
  return dueInstantsAfter(schedule.cron_expression, timezone, now, count).map((at) => ({ at: at.toISOString(), local_time: localWallTime(at, timezone) }));
}

export function toScheduleView(row: Row, now: Date): ScheduleView {
  const view: ScheduleView = {
    id: String(row.id),
    name: String(row.name),
    description: textOrNull(row.description),
    schedule_type: String(row.schedule_type),
    cron_expression: textOrNull(row.cron_expression),
    timezone: String(row.timezone),
    chain_parent_schedule_id: textOrNull(row.chain_parent_schedule_id),
    chain_delay_minutes: int(row.chain_delay_minutes),
    chain_trigger_on: String(row.chain_trigger_on),
    replication_type: String(row.replication_type),
    max_concurrent_jobs: int(row.max_concurrent_jobs),
    retry_attempts: int(row.retry_attempts),
    retry_delay_minutes: int(row.retry_delay_minutes),
    enabled: bool(row.enabled),
    skip_if_running: bool(row.skip_if_running),
    catchup_policy: String(row.catchup_policy),
    catchup_window_minutes: int(row.catchup_window_minutes),
    jitter_seconds: int(row.jitter_seconds),
    next_run_at: isoOrNull(row.next_run_at),
    last_run_at: isoOrNull(row.last_run_at),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    created_by: String(row.created_by),
  };
  // The stored next_run_at is as of the schedule's last change; answer from now.
  view.next_run_at = upcomingRuns(view, now, 1)[0]?.at ?? null;
  return view;
}

export class ScheduleQueries {
  private readonly reads: PreparedReads;

  constructor(private readonly knex: Knex) {
    this.reads = preparedReadsOf(knex);
  }

  async get(id: string, now: Date): Promise<ScheduleView | null> {
    const row = await this.reads.first('SELECT * FROM replication_schedules WHERE id = ? LIMIT 1', [id]);
    return row ? toScheduleView(row, now) : null;
  }

  async list(filter: { enabledOnly: boolean; limit: number; page: number }, now: Date): Promise<{ schedules: ScheduleView[]; total_count: number; enabled_count: number; disabled_count: number } & Omit<Page<Row>, 'items' | 'total_count'>> {
    const counts = (await this.knex('replication_schedules')
      .select(this.knex.raw('count(*) as total'), this.knex.raw('sum(case when enabled = 1 then 1 else 0 end) as enabled'))
      .first()) as { total: number | string; enabled: number | string | null } | undefined;
    const query = this.knex('replication_schedules');
    if (filter.enabledOnly) query.where({ enabled: true });
    const { items, ...page } = await pageOf(query, [{ column: 'name' }, { column: 'id' }], filter.limit, filter.page);
    const total = int(counts?.total);
    const enabled = int(counts?.enabled);
    return { schedules: items.map((row) => toScheduleView(row, now)), ...page, enabled_count: enabled, disabled_count: total - enabled };
  }

  async groupsOf(id: string): Promise<Array<{ id: string; name: string }>> {
    const rows = await this.reads.all('SELECT id, name FROM vm_machine_groups WHERE schedule_id = ? ORDER BY priority, name', [id]);
    return rows.map((row) => ({ id: String(row.id), name: String(row.name) }));
  }

  /** Everything that still points at a schedule (a delete is refused while any does). */
  async referencesTo(id: string): Promise<ScheduleReferences> {
    const [groups, children, overrides] = await Promise.all([
      this.knex('vm_machine_groups').select('id').where({ schedule_id: id }).orderBy('id'),
      this.knex('replication_schedules').select('id').where({ chain_parent_schedule_id: id }).orderBy('id'),
      this.knex('vm_group_memberships').select('vm_context_id').where({ schedule_override_id: id }).orderBy('vm_context_id'),
    ]);
    return {
      group_ids: (groups as Row[]).map((row) => String(row.id)),
      chain_child_ids: (children as Row[]).map((row) => String(row.id)),
      override_vm_ids: (overrides as Row[]).map((row) => String(row.vm_context_id)),
    };
  }
}
