/**
 * Which schedule and which group a replication job counts for, in SQL over
 * `replication_jobs as j`, `schedule_executions as e` (its execution) and
 * `vm_group_memberships as m` (its VM's membership), joined by `jobsWithAttribution`.
 *
 * The job rows' schedule_id and vm_group_id come first: the jobs projection fills
 * them from JobStarted. Jobs started before JobStarted carried them have nulls;
 * for those the schedule is the execution's, and the group the execution's when
 * it ran for one group, otherwise the VM's group now (the group at the time is
 * only in the execution_details document, too costly to read for every job).
 */
import type { Knex } from 'knex';

export const JOB_SCHEDULE_SQL = 'coalesce(j.schedule_id, e.schedule_id)';
export const JOB_GROUP_SQL = 'coalesce(j.vm_group_id, e.group_id, m.group_id)';

/** `replication_jobs as j` with the execution and the membership the attribution reads. */
export function jobsWithAttribution(knex: Knex): Knex.QueryBuilder {
  return knex('replication_jobs as j').leftJoin('schedule_executions as e', 'e.id', 'j.schedule_execution_id').leftJoin('vm_group_memberships as m', 'm.vm_context_id', 'j.vm_context_id');
}
