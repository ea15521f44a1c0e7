/** Reading the VMA's answers into the gateway types (spec/integrations.md, VMA discovery and job state). */
import { asRecord, booleanField, idField, listField, numberField, optionalNumberField, optionalStringField, stringField } from './json-shape.js';
import type { DiscoveredDisk, DiscoveredNetwork, DiscoveredVm, VmaJobStatus } from './replication-gateway.js';

/** `{"vcenter": {...}, "vms": [...]}` -> the VMs, every field checked. */
export function readDiscoveryAnswer(json: unknown): DiscoveredVm[] {
  const answer = asRecord(json, '$');
  return listField(answer, 'vms', '$').map((vm, index) => readVm(vm, `$.vms[${index}]`));
}

function readVm(value: unknown, path: string): DiscoveredVm {
  const vm = asRecord(value, path);
  return {
    id: stringField(vm, 'id', path),
    name: stringField(vm, 'name', path),
    path: stringField(vm, 'path', path),
    datacenter: stringField(vm, 'datacenter', path),
    power_state: stringField(vm, 'power_state', path),
    guest_os: stringField(vm, 'guest_os', path),
    memory_mb: numberField(vm, 'memory_mb', path),
    num_cpu: numberField(vm, 'num_cpu', path),
    vmx_version: stringField(vm, 'vmx_version', path),
    vmware_tools_status: stringField(vm, 'vmware_tools_status', path),
    vmware_tools_version: stringField(vm, 'vmware_tools_version', path),
    disks: listField(vm, 'disks', path).map((disk, index) => readDisk(disk, `${path}.disks[${index}]`)),
    networks: listField(vm, 'networks', path).map((network, index) => readNetwork(network, `${path}.networks[${index}]`)),
  };
}

function readDisk(value: unknown, path: string): DiscoveredDisk {
  const disk = asRecord(value, path);
  return {
    id: stringField(disk, 'id', path),
    label: stringField(disk, 'label', path),
    path: stringField(disk, 'path', path),
    vmdk_path: stringField(disk, 'vmdk_path', path),
    size_gb: numberField(disk, 'size_gb', path),
    capacity_bytes: numberField(disk, 'capacity_bytes', path),
    datastore: stringField(disk, 'datastore', path),
    provisioning_type: stringField(disk, 'provisioning_type', path),
    unit_number: numberField(disk, 'unit_number', path),
  };
}

function readNetwork(value: unknown, path: string): DiscoveredNetwork {
  const network = asRecord(value, path);
  return {
    label: stringField(network, 'label', path),
    network_name: stringField(network, 'network_name', path),
    adapter_type: stringField(network, 'adapter_type', path),
    mac_address: stringField(network, 'mac_address', path),
    connected: booleanField(network, 'connected', path),
    type: stringField(network, 'type', path),
  };
}

/** `GET /api/v1/status/{job_id}` answer. Only the job id and status are required: the rest is informative. */
export function readVmaJobStatus(json: unknown): VmaJobStatus {
  const status = asRecord(json, '$');
  return {
    jobId: idField(status, 'job_id', '$'),
    status: stringField(status, 'status', '$'),
    progressPercent: optionalNumberField(status, 'progress_percent', '$', 0),
    currentOperation: optionalStringField(status, 'current_operation', '$'),
    startTime: optionalStringField(status, 'start_time', '$'),
    lastUpdate: optionalStringField(status, 'last_update', '$'),
    vmPath: optionalStringField(status, 'vm_path', '$'),
  };
}
