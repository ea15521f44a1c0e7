/**
 * One dispatch (spec/domain.md, Execution step 4; spec/integrations.md): a fresh
 * VMA discovery of the VM, an exact name match, then the OMA replication call
 * under the dispatch's Idempotency-Key. Called only by the instance that holds
 * the dispatch (its JobRequested or its reconciliation claim won). The answer is
 * what RecordDispatchResult records, or `unconfirmed` when no answer says
 * whether a job exists (reconciled later, never repeated blindly), or
 * `not_sent` when another instance took the dispatch over before the call.
 */
import type { DispatchResult } from '../domain/execution.js';
import type { ReplicationType } from '../domain/schedule-fields.js';
import { GatewayError } from '../integrations/gateway-errors.js';
import type { DiscoveredVm, OmaReplication, StartReplicationResult, VmaDiscovery } from '../integrations/replication-gateway.js';
import { matchVmByName } from '../integrations/vm-name-match.js';

export interface DispatchTarget {
  vmName: string;
  vcenterHost: string;
  datacenter: string;
  replicationType: ReplicationType;
  executionId: string;
  groupId: string | null;
  /** The dispatch id: the Idempotency-Key of every send of this dispatch. */
  dispatchId: string;
}

export type DispatchOutcome = DispatchResult | { kind: 'unconfirmed'; message: string } | { kind: 'not_sent'; message: string };

type Gateway = { discovery: VmaDiscovery; replication: OmaReplication };

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function discoverVm(gateway: Gateway, target: DispatchTarget): Promise<{ kind: 'found'; vm: DiscoveredVm } | { kind: 'discovery_failed' | 'vm_not_found'; message: string }> {
  let vms;
  try {
    vms = await gateway.discovery.discover({ vcenter: target.vcenterHost, datacenter: target.datacenter, filter: target.vmName });
  } catch (error) {
    return { kind: 'discovery_failed', message: messageOf(error) };
  }
  const match = matchVmByName(vms, target.vmName);
  if (match.kind === 'not_found') return { kind: 'vm_not_found', message: `the VMA lists no VM named exactly "${target.vmName}" in ${target.datacenter}` };
  if (match.kind === 'ambiguous') return { kind: 'discovery_failed', message: `${match.candidates.length} VMs are named exactly "${target.vmName}" in ${target.datacenter}` };
  return { kind: 'found', vm: match.vm };
}

function send(gateway: Gateway, vm: DiscoveredVm, target: DispatchTarget): Promise<StartReplicationResult> {
  return gateway.replication.startReplication({
    vm,
    vcenterHost: target.vcenterHost,
    datacenter: target.datacenter,
    replicationType: target.replicationType,
    scheduleExecutionId: target.executionId,
    vmGroupId: target.groupId ?? '',
    idempotencyKey: target.dispatchId,
  });
}

/**
 * The dispatch's first call: discovery, then `markSent` (DispatchSent appended;
 * false when another instance holds the dispatch, and then nothing is called),
 * then the OMA call.
 */
export async function dispatchReplication(gateway: Gateway, target: DispatchTarget, markSent: () => Promise<boolean>): Promise<DispatchOutcome> {
  const found = await discoverVm(gateway, target);
  if (found.kind !== 'found') return found;
  if (!(await markSent())) return { kind: 'not_sent', message: 'another instance holds the dispatch' };
  let answer;
  try {
    answer = await send(gateway, found.vm, target);
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

/**
 * A dispatch sent without an answer: the same request again under the same
 * Idempotency-Key. The job it answers is the dispatch's job; a 409 naming the
 * VM's active job adopts that job (its state read from the OMA); a 409 naming
 * none is the active_job skip. Anything that leaves it open (discovery down,
 * no answer, the named job unknown) stays `unconfirmed`: the earlier send may
 * have made a job, so it is never a failure here.
 */
export async function resendReplication(gateway: Gateway, target: DispatchTarget): Promise<DispatchOutcome> {
  const found = await discoverVm(gateway, target);
  if (found.kind !== 'found') return { kind: 'unconfirmed', message: `reconciliation needs the VM's description: ${found.message}` };
  let answer;
  try {
    answer = await send(gateway, found.vm, target);
  } catch (error) {
    return { kind: 'unconfirmed', message: messageOf(error) };
  }
  switch (answer.kind) {
    case 'started':
      return { kind: 'started', job_id: answer.jobId, status: answer.status, progress_percent: answer.progressPercent };
    case 'active_job':
      return answer.jobId === null ? { kind: 'active_job', message: answer.message } : adoptJob(gateway, answer.jobId);
    case 'rejected':
      return { kind: 'rejected', message: `OMA answered ${answer.status}: ${answer.message}` };
    case 'unconfirmed':
      return { kind: 'unconfirmed', message: answer.reason };
  }
}

async function adoptJob(gateway: Gateway, jobId: string): Promise<DispatchOutcome> {
  let state;
  try {
    state = await gateway.replication.jobState(jobId);
  } catch (error) {
    return { kind: 'unconfirmed', message: `the OMA names active job ${jobId}, whose state could not be read: ${messageOf(error)}` };
  }
  if (state === 'unknown') return { kind: 'unconfirmed', message: `the OMA names active job ${jobId} but does not know it` };
  return { kind: 'started', job_id: jobId, status: state.status, progress_percent: state.progressPercent };
}
