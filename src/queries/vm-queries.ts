/** Reads of VM contexts, shaped as the API answers. */
import type { Knex } from 'knex';
import { pageOf, type Page } from './paging.js';
import { preparedReadsOf, sqlLimit, type PreparedReads } from './prepared-reads.js';
import { bool, int, intOrNull, iso, isoOrNull, textOrNull, type Row } from './row-values.js';

export interface VmView {
  context_id: string;
  vm_name: string;
  vmware_vm_id: string;
  vm_path: string;
  vcenter_host: string;
  datacenter: string;
  current_status: string;
  current_job_id: string | null;
  total_jobs_run: number;
  successful_jobs: number;
  failed_jobs: number;
  last_successful_job_id: string | null;
  last_scheduled_job_id: string | null;
  next_scheduled_at: string | null;
  scheduler_enabled: boolean;
  auto_added: boolean;
  cpu_count: number | null;
  memory_mb: number | null;
  os_type: string | null;
  power_state: string | null;
  vm_tools_version: string | null;
  created_at: string;
  updated_at: string;
  first_job_at: string | null;
  last_job_at: string | null;
  last_status_change: string;
  group_id: string | null;
}

export interface VmFilter {
  status?: string;
  group_id?: string;
  ungrouped?: boolean;
  search?: string;
  limit: number;
  page: number;
}

export function toVmView(row: Row): VmView {
  return {
    context_id: String(row.context_id),
    vm_name: String(row.vm_name),
    vmware_vm_id: String(row.vmware_vm_id),
    vm_path: String(row.vm_path),
    vcenter_host: String(row.vcenter_host),
    datacenter: String(row.datacenter),
    current_status: String(row.current_status),
    current_job_id: textOrNull(row.current_job_id),
    total_jobs_run: int(row.total_jobs_run),
    successful_jobs: int(row.successful_jobs),
    failed_jobs: int(row.failed_jobs),
    last_successful_job_id: textOrNull(row.last_successful_job_id),
    last_scheduled_job_id: textOrNull(row.last_scheduled_job_id),
    next_scheduled_at: isoOrNull(row.next_scheduled_at),
    scheduler_enabled: bool(row.scheduler_enabled),
    auto_added: bool(row.auto_added),
    cpu_count: intOrNull(row.cpu_count),
    memory_mb: intOrNull(row.memory_mb),
    os_type: textOrNull(row.os_type),
    power_state: textOrNull(row.power_state),
    vm_tools_version: textOrNull(row.vm_tools_version),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    first_job_at: isoOrNull(row.first_job_at),
    last_job_at: isoOrNull(row.last_job_at),
    last_status_change: iso(row.last_status_change),
    group_id: textOrNull(row.group_id),
  };
}

/**
 * `%` and `_` typed by a user are matched literally. The escape character is `!`
 * because a backslash is itself an escape in MariaDB string literals but not in SQLite.
 */
function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

export class VmQueries {
  private readonly reads: PreparedReads;

  constructor(private readonly knex: Knex) {
    this.reads = preparedReadsOf(knex);
  }

  private base(): Knex.QueryBuilder {
    return this.knex('vm_replication_contexts as v').leftJoin('vm_group_memberships as m', 'm.vm_context_id', 'v.context_id').select('v.*', 'm.group_id');
  }

  async get(id: string): Promise<VmView | null> {
    const row = await this.reads.first(
      'SELECT v.*, m.group_id FROM vm_replication_contexts v LEFT JOIN vm_group_memberships m ON m.vm_context_id = v.context_id WHERE v.context_id = ? LIMIT 1',
      [id],
    );
    return row ? toVmView(row) : null;
  }

  async list(filter: VmFilter): Promise<Page<VmView>> {
    const query = this.base();
    if (filter.status) query.where('v.current_status', filter.status);
    if (filter.group_id) query.where('m.group_id', filter.group_id);
    if (filter.ungrouped) query.whereNull('m.group_id');
    if (filter.search) {
      const pattern = likePattern(filter.search);
      query.where((where) => where.whereRaw("lower(v.vm_name) like ? escape '!'", [pattern]).orWhereRaw("lower(v.vmware_vm_id) like ? escape '!'", [pattern]));
    }
    const page = await pageOf(query, [{ column: 'v.vm_name' }, { column: 'v.context_id' }], filter.limit, filter.page);
    return { ...page, items: page.items.map(toVmView) };
  }

  /** Context ids of the VMs already registered among these VMware ids of one vCenter (host compared case-insensitively). */
  async contextIdsByIdentity(vcenterHost: string, vmwareVmIds: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (let start = 0; start < vmwareVmIds.length; start += 500) {
      const rows = (await this.knex('vm_replication_contexts')
        .select('context_id', 'vmware_vm_id')
        .whereRaw('lower(vcenter_host) = ?', [vcenterHost.trim().toLowerCase()])
        .whereIn('vmware_vm_id', vmwareVmIds.slice(start, start + 500))) as Row[];
      for (const row of rows) found.set(String(row.vmware_vm_id), String(row.context_id));
    }
    return found;
  }

  async ungrouped(limit: number, page: number): Promise<Page<VmView>> {
    return this.list({ ungrouped: true, limit, page });
  }

  async recentJobs(vmId: string, limit: number): Promise<Row[]> {
    const rows = await this.reads.all(`SELECT * FROM replication_jobs WHERE vm_context_id = ? ORDER BY updated_at DESC LIMIT ${sqlLimit(limit)}`, [vmId]);
    return rows.map((row) => ({
      id: String(row.id),
      status: String(row.status),
      progress_percent: Number(row.progress_percent ?? 0),
      attempt: int(row.attempt),
      schedule_execution_id: textOrNull(row.schedule_execution_id),
      started_at: isoOrNull(row.started_at),
      completed_at: isoOrNull(row.completed_at),
      updated_at: iso(row.updated_at),
    }));
  }
}
