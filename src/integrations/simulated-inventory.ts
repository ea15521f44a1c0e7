/**
 * What the built-in simulator's "vCenter" holds: the VMs registered with the
 * scheduler, plus five made-up VMs per datacenter so a discovery demo finds
 * something new. Everything is derived from names, so every discovery answers
 * the same.
 */
import type { VmDescription } from '../domain/vm-fields.js';
import type { DiscoveredVm, DiscoveryRequest } from './replication-gateway.js';
import { vmaNameFilter } from './vma-name-filter.js';

/** A registered VM as the simulator needs it. */
export type SimulatedInventoryVm = Pick<
  VmDescription,
  'vm_name' | 'vmware_vm_id' | 'vm_path' | 'vcenter_host' | 'datacenter' | 'cpu_count' | 'memory_mb' | 'os_type' | 'power_state'
> &
  Partial<Pick<VmDescription, 'vm_tools_version'>>;

export const EXTRA_VMS_PER_DATACENTER = 5;

export function simulatedDiscovery(request: DiscoveryRequest, registered: readonly SimulatedInventoryVm[]): DiscoveredVm[] {
  const here = registered
    .filter((vm) => sameName(vm.vcenter_host, request.vcenter) && sameName(vm.datacenter, request.datacenter))
    .map(describeRegisteredVm);
  const taken = new Set(here.flatMap((vm) => [vm.name, vm.id]));
  const extras = extraVms(request.datacenter).filter((vm) => !taken.has(vm.name) && !taken.has(vm.id));
  return [...here, ...extras].filter(vmaNameFilter(request.filter));
}

function sameName(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

function describeRegisteredVm(vm: SimulatedInventoryVm): DiscoveredVm {
  return simulatedVm({
    id: vm.vmware_vm_id,
    name: vm.vm_name,
    path: vm.vm_path,
    datacenter: vm.datacenter,
    power_state: vm.power_state ?? 'poweredOn',
    guest_os: vm.os_type ?? 'otherGuest64',
    memory_mb: vm.memory_mb ?? 4096,
    num_cpu: vm.cpu_count ?? 2,
    vmware_tools_version: vm.vm_tools_version ?? '12352',
  });
}

function extraVms(datacenter: string): DiscoveredVm[] {
  const slug = datacenter.trim().toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'dc';
  return Array.from({ length: EXTRA_VMS_PER_DATACENTER }, (_, index) => {
    const name = `sim-${slug}-vm-${String(index + 1).padStart(2, '0')}`;
    return simulatedVm({
      id: `vm-${name}`,
      name,
      path: `/${datacenter}/vm/${name}`,
      datacenter,
      power_state: index === EXTRA_VMS_PER_DATACENTER - 1 ? 'poweredOff' : 'poweredOn',
      guest_os: index % 2 === 0 ? 'ubuntu64Guest' : 'windows2019srv_64Guest',
      memory_mb: 2048 * (index + 1),
      num_cpu: 2 + (index % 3) * 2,
      vmware_tools_version: '12352',
    });
  });
}

type VmIdentity = Pick<DiscoveredVm, 'id' | 'name' | 'path' | 'datacenter' | 'power_state' | 'guest_os' | 'memory_mb' | 'num_cpu' | 'vmware_tools_version'>;

/** One thin 40 GB disk and one connected adapter whose MAC is derived from the VM id. */
function simulatedVm(identity: VmIdentity): DiscoveredVm {
  const datastore = 'datastore1';
  const vmdk = `[${datastore}] ${identity.name}/${identity.name}.vmdk`;
  return {
    ...identity,
    vmx_version: 'vmx-19',
    vmware_tools_status: identity.power_state === 'poweredOn' ? 'toolsOk' : 'toolsNotRunning',
    disks: [
      {
        id: `${identity.id}:disk-2000`,
        label: 'Hard disk 1',
        path: vmdk,
        vmdk_path: vmdk,
        size_gb: 40,
        capacity_bytes: 40 * 1024 ** 3,
        datastore,
        provisioning_type: 'thin',
        unit_number: 0,
      },
    ],
    networks: [
      {
        label: 'Network adapter 1',
        network_name: 'VM Network',
        adapter_type: 'vmxnet3',
        mac_address: simulatedMac(identity.id),
        connected: true,
        type: 'Network',
      },
    ],
  };
}

/** A MAC in VMware's 00:50:56 range from an FNV-1a hash of the id. */
function simulatedMac(seed: string): string {
  let hash = 0x811c9dc5;
  for (const char of seed) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  const bytes = [(hash >>> 16) & 0x3f, (hash >>> 8) & 0xff, hash & 0xff];
  return ['00', '50', '56', ...bytes.map((byte) => byte.toString(16).padStart(2, '0'))].join(':');
}
