/**
 * What the execution process manager reads from the read models (spec/domain.md,
 * Execution steps 2, 3 and 7): the plan of an execution, other running
 * executions of a schedule, a VM's active jobs, the chain children of a
 * schedule, the executions still open at start, and the inventory the
 * simulator discovers. Plain queries; facts about one aggregate (schedule, VM,
 * group) are read from its stream by the caller instead.
 */
import type { Knex } from 'knex';
import { ACTIVE_JOB_STATUSES } from '../domain/job-statuses.js';
import type { ChainChild } from '../domain/chain-rules.js';
import type { PlanCandidate } from '../domain/execution.js';
import type { ChainTrigger } from '../domain/schedule-fields.js';
import type { SimulatedInventoryVm } from '../integrations/simulated-inventory.js';
import { decodeRow, flag } from '../projections/row-codec.js';

function rows(raw: unknown[]): Record<string, unknown>[] {
  return raw.map((r) => decodeRow(r as Record<string, unknown>));
}

function num(value: unknown, fallback = 0): number {
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : fallback;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : String(value ?? '');
}

/** Reads read-model rows for the process manager. */
export class ExecutionPlanner {
  constructor(private readonly knex: Knex) {}

  /**
   * The plan candidates of an execution of `scheduleId` (unordered: see orderPlan):
   * the enabled members of the schedule's groups (of `onlyGroupId` when a manual
   * trigger names one) whose membership does not override to another schedule,
   * plus the enabled members whose override points at this schedule.
   */
  async planCandidates(scheduleId: string, onlyGroupId: string | null): Promise<PlanCandidate[]> {
    const groupQuery = this.knex('vm_machine_groups').select('id', 'priority');
    if (onlyGroupId !== null) groupQuery.where({ id: onlyGroupId, schedule_id: scheduleId });
    else groupQuery.where({ schedule_id: scheduleId });
    const groups = rows(await groupQuery);
    const groupPriority = new Map(groups.map((g) => [str(g.id), num(g.priority)]));

    const members = groups.length === 0
      ? []
      : rows(
          await this.knex('vm_group_memberships as m')
            .join('vm_replication_contexts as v', 'v.context_id', 'm.vm_context_id')
            .select('m.vm_context_id', 'm.group_id', 'm.priority', 'm.enabled', 'm.schedule_override_id', 'm.added_at', 'v.vm_name')
            .whereIn('m.group_id', [...groupPriority.keys()])
            .orderBy('m.priority')
            .orderBy('m.added_at')
            .orderBy('m.id'),
        ).filter((m) => flag(m.enabled) === 1 && (m.schedule_override_id === null || m.schedule_override_id === scheduleId));

    const overrides = onlyGroupId !== null
      ? []
      : rows(
          await this.knex('vm_group_memberships as m')
            .join('vm_replication_contexts as v', 'v.context_id', 'm.vm_context_id')
            .leftJoin('vm_machine_groups as g', 'g.id', 'm.group_id')
            .select('m.vm_context_id', 'm.group_id', 'm.priority', 'm.enabled', 'm.added_at', 'v.vm_name', 'g.priority as group_priority', 'g.schedule_id as group_schedule_id')
            .where('m.schedule_override_id', scheduleId)
            .orderBy('m.priority')
            .orderBy('m.added_at')
            .orderBy('m.id'),
        ).filter((m) => flag(m.enabled) === 1 && m.group_schedule_id !== scheduleId);

    const candidates: PlanCandidate[] = members.map((m) => ({
      vm_context_id: str(m.vm_context_id),
      vm_name: str(m.vm_name),
      group_id: str(m.group_id),
      group_priority: groupPriority.get(str(m.group_id)) ?? 0,
      member_priority: num(m.priority),
      added_at: str(m.added_at),
      via_override: false,
    }));
    for (const m of overrides) {
      candidates.push({
        vm_context_id: str(m.vm_context_id),
        vm_name: str(m.vm_name),
        group_id: m.group_id === null ? null : str(m.group_id),
        group_priority: num(m.group_priority),
        member_priority: num(m.priority),
        added_at: str(m.added_at),
        via_override: true,
      });
    }
    return candidates;
  }

  /** Ids of executions of the schedule the read model shows running. */
  async runningExecutionIds(scheduleId: string): Promise<string[]> {
    const found = rows(await this.knex('schedule_executions').select('id').where({ schedule_id: scheduleId, status: 'running' }));
    return found.map((r) => str(r.id));
  }

  /** Jobs of the VM in a non-terminal status, with their execution. */
  async activeJobsOfVm(vmContextId: string): Promise<{ job_id: string; execution_id: string | null }[]> {
    return (await this.activeJobsOfVms([vmContextId])).get(vmContextId) ?? [];
  }

  /** Jobs in a non-terminal status of each of the VMs (one query), by VM; a VM without any is absent. */
  async activeJobsOfVms(vmContextIds: readonly string[]): Promise<Map<string, { job_id: string; execution_id: string | null }[]>> {
    const byVm = new Map<string, { job_id: string; execution_id: string | null }[]>();
    if (vmContextIds.length === 0) return byVm;
    const found = rows(
      await this.knex('replication_jobs')
        .select('id', 'vm_context_id', 'schedule_execution_id')
        .whereIn('vm_context_id', [...vmContextIds])
        .whereIn('status', [...ACTIVE_JOB_STATUSES]),
    );
    for (const r of found) {
      const vm = str(r.vm_context_id);
      const jobs = byVm.get(vm) ?? [];
      jobs.push({ job_id: str(r.id), execution_id: r.schedule_execution_id === null ? null : str(r.schedule_execution_id) });
      byVm.set(vm, jobs);
    }
    return byVm;
  }

  /** Chain schedules that follow `parentScheduleId`. */
  async chainChildren(parentScheduleId: string): Promise<ChainChild[]> {
    const found = rows(
      await this.knex('replication_schedules')
        .select('id', 'enabled', 'chain_trigger_on', 'chain_delay_minutes')
        .where({ chain_parent_schedule_id: parentScheduleId, schedule_type: 'chain' })
        .orderBy('created_at')
        .orderBy('id'),
    );
    return found.map((r) => ({
      id: str(r.id),
      enabled: flag(r.enabled) === 1,
      chain_trigger_on: (r.chain_trigger_on === 'completion' ? 'completion' : 'success') as ChainTrigger,
      chain_delay_minutes: num(r.chain_delay_minutes),
    }));
  }

  /** Executions not ended (scheduled or running), oldest first. */
  async openExecutionIds(): Promise<string[]> {
    const found = rows(await this.knex('schedule_executions').select('id').whereIn('status', ['scheduled', 'running']).orderBy('scheduled_at'));
    return found.map((r) => str(r.id));
  }

  /** The registered VMs, as the built-in simulator's vCenter holds them. */
  async inventory(): Promise<SimulatedInventoryVm[]> {
    const found = rows(
      await this.knex('vm_replication_contexts').select('vm_name', 'vmware_vm_id', 'vm_path', 'vcenter_host', 'datacenter', 'cpu_count', 'memory_mb', 'os_type', 'power_state', 'vm_tools_version'),
    );
    return found.map((r) => ({
      vm_name: str(r.vm_name),
      vmware_vm_id: str(r.vmware_vm_id),
      vm_path: str(r.vm_path),
      vcenter_host: str(r.vcenter_host),
      datacenter: str(r.datacenter),
      cpu_count: r.cpu_count === null ? null : num(r.cpu_count),
      memory_mb: r.memory_mb === null ? null : num(r.memory_mb),
      os_type: r.os_type === null ? null : str(r.os_type),
      power_state: r.power_state === null ? null : str(r.power_state),
      vm_tools_version: r.vm_tools_version === null ? null : str(r.vm_tools_version),
    }));
  }
}
