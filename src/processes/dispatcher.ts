/**
 * One dispatch (spec/domain.md, Execution step 4; spec/integrations.md): a fresh
 * VMA discovery of the VM, an exact name match, then the OMA replication call.
 * Called only after this instance's JobRequested append won. The answer is what
 * RecordDispatchResult records, or `unconfirmed` when no answer says whether a
 * job exists (reconciled later by reading job state, never repeated blindly).
 */
import type { DispatchResult } from '../domain/execution.js';
import type { ReplicationType } from '../domain/schedule-fields.js';
import { GatewayError } from '../integrations/gateway-errors.js';
import type { OmaReplication, VmaDiscovery } from '../integrations/replication-gateway.js';
import { matchVmByName } from '../integrations/vm-name-match.js';

export interface DispatchTarget {
  vmName: string;
  vcenterHost: string;
  datacenter: string;
  replicationType: ReplicationType;
  executionId: string;
  groupId: string | null;
}

export type DispatchOutcome = DispatchResult | { kind: 'unconfirmed'; message: string };

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function dispatchReplication(gateway: { discovery: VmaDiscovery; replication: OmaReplication }, target: DispatchTarget): Promise<DispatchOutcome> {
  let vms;
  try {
    vms = await gateway.discovery.discover({ vcenter: target.vcenterHost, datacenter: target.datacenter, filter: target.vmName });
  } catch (error) {
    return { kind: 'discovery_failed', message: messageOf(error) };
  }
  const match = matchVmByName(vms, target.vmName);
  if (match.kind === 'not_found') return { kind: 'vm_not_found', message: `the VMA lists no VM named exactly "${target.vmName}" in ${target.datacenter}` };
  if (match.kind === 'ambiguous') return { kind: 'discovery_failed', message: `${match.candidates.length} VMs are named exactly "${target.vmName}" in ${target.datacenter}` };

  let answer;
  try {
    answer = await gateway.replication.startReplication({
      vm: match.vm,
      vcenterHost: target.vcenterHost,
      datacenter: target.datacenter,
      replicationType: target.replicationType,
      scheduleExecutionId: target.executionId,
      vmGroupId: target.groupId ?? '',
    });
  } catch (error) {
    // Thrown only when the connection could not be made: no job can exist.
    if (error instanceof GatewayError && !error.details.requestMayHaveArrived) return { kind: 'rejected', message: `OMA unreachable: ${error.message}` };
    return { kind: 'unconfirmed', message: messageOf(error) };
  }
  switch (answer.kind) {
    case 'started':
      return { kind: 'started', job_id: answer.jobId, status: answer.status, progress_percent: answer.progressPercent };
    case 'active_job':
      return { kind: 'active_job', message: answer.message };
    case 'rejected':
      return { kind: 'rejected', message: `OMA answered ${answer.status}: ${answer.message}` };
    case 'unconfirmed':
      return { kind: 'unconfirmed', message: answer.reason };
  }
}
