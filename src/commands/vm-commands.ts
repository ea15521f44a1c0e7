/** Command handlers of the VM context aggregate: registration, status reports, scheduler switch. */
import { streamIds } from '../domain/events.js';
import { vmDecider } from '../domain/vm-context.js';
import { vmIdentityValue } from '../domain/reservation.js';
import type { VmDescription, VmStatus } from '../domain/vm-fields.js';
import type { EventStore } from '../eventstore/event-store.js';
import type { CommandContext } from './command-context.js';
import { assumeNewStream } from './aggregate-cache.js';
import { newId } from './ids.js';
import { withReservation, type Reservation } from './reservations.js';
import { loadState, runDecider } from './run-decider.js';
import type { CommandOutcome } from './schedule-commands.js';

function identityReservation(description: VmDescription, ownerId: string): Reservation {
  return {
    kind: 'vm-identity',
    // A VM is identified by its vCenter and its VMware id, never by its name.
    value: vmIdentityValue(description.vcenter_host, description.vmware_vm_id),
    ownerId,
    takenMessage: `a VM with vmware_vm_id "${description.vmware_vm_id}" on vCenter "${description.vcenter_host}"`,
    field: '/vmware_vm_id',
  };
}

export async function registerVm(store: EventStore, description: VmDescription, autoAdded: boolean, context: CommandContext): Promise<CommandOutcome> {
  const id = newId();
  const command = { type: 'RegisterVm' as const, context_id: id, description, auto_added: autoAdded, at: context.at, actor: context.actor };
  vmDecider.decide(command, vmDecider.initialState);
  const holderOwns = async (holderId: string) => (await loadState(store, streamIds.vm(holderId), vmDecider)).state.status !== 'absent';
  assumeNewStream(store, streamIds.vm(id), vmDecider);
  const result = await withReservation(store, identityReservation(description, id), holderOwns, context, () => runDecider(store, streamIds.vm(id), vmDecider, () => command, context));
  return { id, position: result.position };
}

export async function reportVmStatus(store: EventStore, vmId: string, status: VmStatus, reason: string | null, context: CommandContext): Promise<CommandOutcome> {
  const result = await runDecider(store, streamIds.vm(vmId), vmDecider, () => ({ type: 'ReportVmStatus' as const, context_id: vmId, status, reason, at: context.at, actor: context.actor }), context);
  return { id: vmId, position: result.position };
}

export async function setVmScheduler(store: EventStore, vmId: string, enabled: boolean, context: CommandContext): Promise<CommandOutcome> {
  const result = await runDecider(store, streamIds.vm(vmId), vmDecider, () => ({ type: 'SetVmScheduler' as const, context_id: vmId, enabled, at: context.at, actor: context.actor }), context);
  return { id: vmId, position: result.position };
}
