/** Reads of machine groups and their members, shaped as the API answers. */
import type { Knex } from 'knex';
import { ACTIVE_JOB_STATUSES } from '../domain/job-statuses.js';
import { pageOf, type Page } from './paging.js';
import { placeholders, preparedReadsOf, sqlLimit, type PreparedReads } from './prepared-reads.js';
import { bool, int, intOrNull, iso, isoOrNull, textOrNull, type Row } from './row-values.js';

export interface LastExecution {
  id: string;
  status: string;
  scheduled_at: string;
  completed_at: string | null;
}

export interface GroupView {
  id: string;
  name: string;
  description: string | null;
  schedule_id: string | null;
  max_concurrent_vms: number;
  max_members: number | null;
  priority: number;
  created_at: string;
  updated_at: string;
  created_by: string;
  vm_count: number;
  enabled_vm_count: number;
  active_jobs: number;
  last_execution: LastExecution | null;
}

export interface GroupMemberView {
  vm_context_id: string;
  vm_name: string;
  vmware_vm_id: string;
  current_status: string;
  priority: number;
  enabled: boolean;
  schedule_override_id: string | null;
  added_at: string;
  added_by: string;
  next_scheduled_at: string | null;
}

export interface MembershipView {
  id: string;
  group_id: string;
  vm_context_id: string;
  priority: number;
  enabled: boolean;
  schedule_override_id: string | null;
  added_at: string;
  added_by: string;
}

export function toMembershipView(row: Row): MembershipView {
  return {
    id: String(row.id),
    group_id: String(row.group_id),
    vm_context_id: String(row.vm_context_id),
    priority: int(row.priority),
    enabled: bool(row.enabled),
    schedule_override_id: textOrNull(row.schedule_override_id),
    added_at: iso(row.added_at),
    added_by: String(row.added_by),
  };
}

interface GroupStatistics {
  vm_count: number;
  enabled_vm_count: number;
  active_jobs: number;
  last_execution: LastExecution | null;
}

function toGroupView(row: Row, stats: GroupStatistics | undefined): GroupView {
  return {
    id: String(row.id),
    name: String(row.name),
    description: textOrNull(row.description),
    schedule_id: textOrNull(row.schedule_id),
    max_concurrent_vms: int(row.max_concurrent_vms),
    max_members: intOrNull(row.max_members),
    priority: int(row.priority),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    created_by: String(row.created_by),
    ...(stats ?? { vm_count: 0, enabled_vm_count: 0, active_jobs: 0, last_execution: null }),
  };
}

export class GroupQueries {
  private readonly reads: PreparedReads;

  constructor(private readonly knex: Knex) {
    this.reads = preparedReadsOf(knex);
  }

  /** Members, active jobs and the latest execution of each group; the three reads run at once. */
  private async statistics(groupIds: string[]): Promise<Map<string, GroupStatistics>> {
    const stats = new Map(groupIds.map((id): [string, GroupStatistics] => [id, { vm_count: 0, enabled_vm_count: 0, active_jobs: 0, last_execution: null }]));
    if (groupIds.length === 0) return stats;
    const inGroups = placeholders(groupIds.length);
    const [members, jobs, executions] = await Promise.all([
      this.reads.all(
        `SELECT group_id, count(*) AS vm_count, sum(CASE WHEN enabled = 1 THEN 1 ELSE 0 END) AS enabled_vm_count FROM vm_group_memberships WHERE group_id IN (${inGroups}) GROUP BY group_id`,
        groupIds,
      ),
      this.reads.all(
        `SELECT m.group_id, count(*) AS active FROM replication_jobs j INNER JOIN vm_group_memberships m ON m.vm_context_id = j.vm_context_id ` +
          `WHERE m.group_id IN (${inGroups}) AND j.status IN (${placeholders(ACTIVE_JOB_STATUSES.length)}) GROUP BY m.group_id`,
        [...groupIds, ...ACTIVE_JOB_STATUSES],
      ),
      this.reads.all(
        `SELECT id, group_id, status, scheduled_at, completed_at FROM schedule_executions WHERE group_id IN (${inGroups}) ORDER BY scheduled_at DESC LIMIT ${sqlLimit(groupIds.length * 20)}`,
        groupIds,
      ),
    ]);
    for (const row of members) {
      const entry = stats.get(String(row.group_id));
      if (entry) Object.assign(entry, { vm_count: int(row.vm_count), enabled_vm_count: int(row.enabled_vm_count) });
    }
    for (const row of jobs) {
      const entry = stats.get(String(row.group_id));
      if (entry) entry.active_jobs = int(row.active);
    }
    for (const row of executions) {
      const entry = stats.get(String(row.group_id));
      if (entry && !entry.last_execution) {
        entry.last_execution = { id: String(row.id), status: String(row.status), scheduled_at: iso(row.scheduled_at), completed_at: isoOrNull(row.completed_at) };
      }
    }
    return stats;
  }

  private async withStatistics(rows: Row[]): Promise<GroupView[]> {
    const stats = await this.statistics(rows.map((row) => String(row.id)));
    return rows.map((row) => toGroupView(row, stats.get(String(row.id))));
  }

  async get(id: string): Promise<GroupView | null> {
    // The statistics need only the id: read them alongside the row (one wait, not two).
    const [row, stats] = await Promise.all([this.reads.first('SELECT * FROM vm_machine_groups WHERE id = ? LIMIT 1', [id]), this.statistics([id])]);
    return row ? toGroupView(row, stats.get(id)) : null;
  }

  /** A group's name, or null when there is no such group (cheaper than `get`, which counts its members and jobs). */
  async nameOf(id: string): Promise<string | null> {
    const row = await this.reads.first('SELECT name FROM vm_machine_groups WHERE id = ? LIMIT 1', [id]);
    return row ? String(row.name) : null;
  }

  async list(filter: { scheduleId?: string; limit: number; page: number }): Promise<Page<GroupView>> {
    const query = this.knex('vm_machine_groups');
    if (filter.scheduleId) query.where({ schedule_id: filter.scheduleId });
    const page = await pageOf(query, [{ column: 'priority' }, { column: 'name' }, { column: 'id' }], filter.limit, filter.page);
    return { ...page, items: await this.withStatistics(page.items) };
  }

  /** Members against the cap, for assignment answers (cheaper than `get`). */
  async capacity(groupId: string): Promise<{ current_members: number; max_members: number | null; available: number | null } | null> {
    const row = await this.reads.first(
      'SELECT g.max_members, (SELECT count(*) FROM vm_group_memberships m WHERE m.group_id = g.id) AS members FROM vm_machine_groups g WHERE g.id = ? LIMIT 1',
      [groupId],
    );
    if (!row) return null;
    const members = int(row.members);
    const max = intOrNull(row.max_members);
    return { current_members: members, max_members: max, available: max === null ? null : Math.max(0, max - members) };
  }

  async members(groupId: string): Promise<GroupMemberView[]> {
    const rows = (await this.knex('vm_group_memberships as m')
      .join('vm_replication_contexts as v', 'v.context_id', 'm.vm_context_id')
      .select('m.*', 'v.vm_name', 'v.vmware_vm_id', 'v.current_status', 'v.next_scheduled_at')
      .where('m.group_id', groupId)
      .orderBy([{ column: 'm.priority' }, { column: 'm.added_at' }, { column: 'm.vm_context_id' }])) as Row[];
    return rows.map((row) => ({
      vm_context_id: String(row.vm_context_id),
      vm_name: String(row.vm_name),
      vmware_vm_id: String(row.vmware_vm_id),
      current_status: String(row.current_status),
      priority: int(row.priority),
      enabled: bool(row.enabled),
      schedule_override_id: textOrNull(row.schedule_override_id),
      added_at: iso(row.added_at),
      added_by: String(row.added_by),
      next_scheduled_at: isoOrNull(row.next_scheduled_at),
    }));
  }

  async membershipOf(vmId: string): Promise<MembershipView | null> {
    const row = await this.reads.first('SELECT * FROM vm_group_memberships WHERE vm_context_id = ? LIMIT 1', [vmId]);
    return row ? toMembershipView(row) : null;
  }
}
