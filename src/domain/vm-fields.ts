/** VM context fields and statuses (spec/readmodels.sql, vm_replication_contexts). */

export const VM_STATUSES = [
  'discovered',
  'replicating',
  'ready_for_failover',
  'failed_over_test',
  'failed_over_live',
  'completed',
  'failed',
  'cleanup_required',
] as const;
export type VmStatus = (typeof VM_STATUSES)[number];

/** What identifies a VM and what discovery or registration tells of it. */
export interface VmDescription {
  vm_name: string;
  vmware_vm_id: string;
  vm_path: string;
  vcenter_host: string;
  datacenter: string;
  cpu_count: number | null;
  memory_mb: number | null;
  os_type: string | null;
  power_state: string | null;
  vm_tools_version: string | null;
}

/** Group fields (spec/domain.md, Machine group). */
export interface GroupSettings {
  name: string;
  description: string | null;
  schedule_id: string | null;
  max_concurrent_vms: number;
  max_members: number | null;
  priority: number;
}

export const GROUP_DEFAULTS: Omit<GroupSettings, 'name'> = {
  description: null,
  schedule_id: null,
  max_concurrent_vms: 5,
  max_members: null,
  priority: 0,
};

export const GROUP_RANGES = {
  max_concurrent_vms: [1, 1000],
  max_members: [1, 100000],
} as const;

export interface MembershipSettings {
  priority: number;
  enabled: boolean;
  schedule_override_id: string | null;
}
