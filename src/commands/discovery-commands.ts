/**
 * Discovery: VMs the VMA lists become VM contexts without jobs. Identity is
 * (vcenter_host, vmware_vm_id); a VM already registered is reported, not added twice.
 */
import { DomainError } from '../domain/decider.js';
import type { VmDescription } from '../domain/vm-fields.js';
import type { EventStore } from '../eventstore/event-store.js';
import type { DiscoveredVm } from '../integrations/replication-gateway.js';
import type { CommandContext } from './command-context.js';
import { laterPosition } from './run-decider.js';
import { registerVm } from './vm-commands.js';
import type { Position } from '../eventstore/event-store.js';

/** What a discovered VM tells of itself, as a registration. */
export function describeDiscoveredVm(vm: DiscoveredVm, vcenterHost: string, datacenter: string): VmDescription {
  return {
    vm_name: vm.name,
    vmware_vm_id: vm.id,
    vm_path: vm.path,
    vcenter_host: vcenterHost,
    datacenter: vm.datacenter || datacenter,
    cpu_count: vm.num_cpu > 0 ? vm.num_cpu : null,
    memory_mb: vm.memory_mb > 0 ? vm.memory_mb : null,
    os_type: vm.guest_os || null,
    power_state: vm.power_state || null,
    vm_tools_version: vm.vmware_tools_version || null,
  };
}

export type AddOutcome =
  | { kind: 'added'; vm_name: string; context_id: string }
  | { kind: 'existing'; vm_name: string; context_id: string | null; reason: string }
  | { kind: 'failed'; vm_name: string; error: string };

/**
 * Registers each VM (auto_added), one after another; a VM already known by its
 * identity is an `existing` outcome, any other refusal a `failed` one.
 */
export async function addDiscoveredVms(
  store: EventStore,
  vms: readonly DiscoveredVm[],
  where: { vcenterHost: string; datacenter: string },
  existingContextId: (vm: DiscoveredVm) => Promise<string | null>,
  context: CommandContext,
): Promise<{ outcomes: AddOutcome[]; position: Position | null }> {
  const outcomes: AddOutcome[] = [];
  let position: Position | null = null;
  for (const vm of vms) {
    const known = await existingContextId(vm);
    if (known) {
      outcomes.push({ kind: 'existing', vm_name: vm.name, context_id: known, reason: 'already registered' });
      continue;
    }
    try {
      const added = await registerVm(store, describeDiscoveredVm(vm, where.vcenterHost, where.datacenter), true, context);
      position = laterPosition(store, position, added.position);
      outcomes.push({ kind: 'added', vm_name: vm.name, context_id: added.id });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      // A registration that raced this one holds the identity: the VM exists all the same.
      if (error.kind === 'Conflict') outcomes.push({ kind: 'existing', vm_name: vm.name, context_id: await existingContextId(vm), reason: error.message });
      else outcomes.push({ kind: 'failed', vm_name: vm.name, error: error.message });
    }
  }
  return { outcomes, position };
}
