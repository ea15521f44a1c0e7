/** Reads of machine groups and their members, shaped as the API answers. */
import type { Knex } from 'knex';
import { ACTIVE_JOB_STATUSES } from '../domain/job-statuses.js';
import { pageOf, type Page } from './paging.js';
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

export class GroupQueries {
  constructor(private readonly knex: Knex) {}

  private async statistics(groupIds: string[]): Promise<Map<string, { vm_count: number; enabled_vm_count: number; active_jobs: number; last_execution: LastExecution | null }>> {
    const stats = new Map(groupIds.map((id) => [id, { vm_count: 0, enabled_vm_count: 0, active_jobs: 0, last_execution: null as LastExecution | null }]));
    if (groupIds.length === 0) return stats;
    const members = (await this.knex('vm_group_memberships')
      .select('group_id')
      .count({ vm_count: '*' })
      .select(this.knex.raw('sum(case when enabled = 1 then 1 else 0 end) as enabled_vm_count'))
      .whereIn('group_id', groupIds)
      .groupBy('group_id')) as Row[];
    for (const row of members) {
      const entry = stats.get(String(row.group_id));
      if (entry) Object.assign(entry, { vm_count: int(row.vm_count), enabled_vm_count: int(row.enabled_vm_count) });
    }
    const jobs = (await this.knex('replication_jobs as j')
      .join('vm_group_memberships as m', 'm.vm_context_id', 'j.vm_context_id')
      .select('m.group_id')
      .count({ active: '*' })
      .whereIn('m.group_id', groupIds)
      .whereIn('j.status', [...ACTIVE_JOB_STATUSES])
      .groupBy('m.group_id')) as Row[];
    for (const row of jobs) {
      const entry = stats.get(String(row.group_id));
      if (entry) entry.active_jobs = int(row.active);
    }
    const executions = (await this.knex('schedule_executions').select('id', 'group_id', 'status', 'scheduled_at', 'completed_at').whereIn('group_id', groupIds).orderBy('scheduled_at', 'desc').limit(groupIds.length * 20)) as Row[];
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
    return rows.map((row) => ({
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
      ...(stats.get(String(row.id)) ?? { vm_count: 0, enabled_vm_count: 0, active_jobs: 0, last_execution: null }),
    }));
  }

  async get(id: string): Promise<GroupView | null> {
    const row = (await this.knex('vm_machine_groups').where({ id }).first()) as Row | undefined;
    return row ? ((await this.withStatistics([row]))[0] ?? null) : null;
  }

  async list(filter: { scheduleId?: string; limit: number; page: number }): Promise<Page<GroupView>> {
    const query = this.knex('vm_machine_groups');
    if (filter.scheduleId) query.where({ schedule_id: filter.scheduleId });
    const page = await pageOf(query, [{ column: 'priority' }, { column: 'name' }, { column: 'id' }], filter.limit, filter.page);
    return { ...page, items: await this.withStatistics(page.items) };
  }

  /** Members against the cap, for assignment answers (cheaper than `get`). */
  async capacity(groupId: string): Promise<{ current_members: number; max_members: number | null; available: number | null } | null> {
    const row = (await this.knex('vm_machine_groups').select('max_members').where({ id: groupId }).first()) as Row | undefined;
    if (!row) return null;
    const counted = (await this.knex('vm_group_memberships').where({ group_id: groupId }).count({ members: '*' }).first()) as Row | undefined;
    const members = int(counted?.members);
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
    const row = (await this.knex('vm_group_memberships').where({ vm_context_id: vmId }).first()) as Row | undefined;
    return row ? toMembershipView(row) : null;
  }
}
