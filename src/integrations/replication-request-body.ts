/**
 * The body of `POST /api/v1/replications`, built exactly as
 * spec/integrations.md maps it. Pure, so the mapping is tested without HTTP.
 */
import type { ReplicationType } from '../domain/schedule-fields.js';
import type { DiscoveredDisk, DiscoveredNetwork, StartReplicationRequest } from './replication-gateway.js';

/** OMA-side settings that come from configuration (old bug: hard-coded). */
export interface ReplicationTargetSettings {
  osseaConfigId: number;
  /** Null: the field is omitted and the OMA applies its own default network. */
  targetNetwork: string | null;
}

export interface ReplicationSourceVm {
  id: string;
  name: string;
  path: string;
  datacenter: string;
  cpus: number;
  memory_mb: number;
  power_state: string;
  os_type: string;
  vmx_version: string;
  disks: DiscoveredDisk[];
  networks: DiscoveredNetwork[];
}

export interface ReplicationRequestBody {
  source_vm: ReplicationSourceVm;
  ossea_config_id: number;
  replication_type?: OmaReplicationType;
  target_network?: string;
  vcenter_host: string;
  datacenter: string;
  schedule_execution_id: string;
  vm_group_id: string;
  scheduled_by: 'scheduler-service';
  start_replication: true;
}

export type OmaReplicationType = 'initial' | 'incremental';

/** Schedule vocabulary -> OMA vocabulary; `auto` has no OMA word: the field is left out so the OMA decides. */
export function omaReplicationType(type: ReplicationType): OmaReplicationType | undefined {
  switch (type) {
    case 'full':
      return 'initial';
    case 'incremental':
      return 'incremental';
    case 'auto':
      return undefined;
  }
}

export function buildReplicationRequestBody(request: StartReplicationRequest, target: ReplicationTargetSettings): ReplicationRequestBody {
  const { vm } = request;
  const replicationType = omaReplicationType(request.replicationType);
  return {
    source_vm: {
      id: vm.id,
      name: vm.name,
      path: vm.path,
      datacenter: vm.datacenter,
      cpus: vm.num_cpu,
      memory_mb: vm.memory_mb,
      power_state: vm.power_state,
      os_type: vm.guest_os,
      vmx_version: vm.vmx_version,
      disks: vm.disks,
      networks: vm.networks,
    },
    ossea_config_id: target.osseaConfigId,
    ...(replicationType === undefined ? {} : { replication_type: replicationType }),
    ...(target.targetNetwork === null ? {} : { target_network: target.targetNetwork }),
    vcenter_host: request.vcenterHost,
    datacenter: request.datacenter,
    schedule_execution_id: request.scheduleExecutionId,
    vm_group_id: request.vmGroupId,
    scheduled_by: 'scheduler-service',
    start_replication: true,
  };
}
