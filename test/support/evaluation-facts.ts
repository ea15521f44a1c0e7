import type { EvaluationFacts } from '../../src/domain/execution.js';

/** Facts under which every check of an evaluation passes (free slots under limits of 5), with `over` on top. */
export function clearEvaluationFacts(over: Partial<EvaluationFacts> = {}): EvaluationFacts {
  return {
    schedule_enabled: true,
    vm_scheduler_enabled: true,
    membership_enabled: true,
    vm_status: 'ready_for_failover',
    vm_has_active_job: false,
    schedule_running_jobs: 0,
    schedule_max_concurrent_jobs: 5,
    group_running_jobs: 0,
    group_max_concurrent_vms: 5,
    ...over,
  };
}
