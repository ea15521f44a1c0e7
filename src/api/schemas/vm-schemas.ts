/** JSON schemas of the VM context routes. */
import { VM_STATUSES } from '../../domain/vm-fields.js';
import { idParam, pagingQuery, nullable } from './common.js';

const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength }) as const;

export const registerVmBody = {
  type: 'object',
  required: ['vm_name', 'vmware_vm_id', 'vm_path', 'vcenter_host', 'datacenter'],
  additionalProperties: false,
  properties: {
    vm_name: text(255),
    vmware_vm_id: text(255),
    vm_path: text(500),
    vcenter_host: text(255),
    datacenter: text(255),
    cpu_count: nullable({ type: 'integer', minimum: 1, maximum: 4096 }),
    memory_mb: nullable({ type: 'integer', minimum: 1, maximum: 268435456 }),
    os_type: nullable({ type: 'string', maxLength: 255 }),
    power_state: nullable({ type: 'string', maxLength: 50 }),
    vm_tools_version: nullable({ type: 'string', maxLength: 255 }),
  },
} as const;

export const vmListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: [...VM_STATUSES] },
    group_id: idParam,
    ungrouped: { type: 'boolean' },
    search: { type: 'string', minLength: 1, maxLength: 255 },
    ...pagingQuery,
  },
} as const;

export const vmStatusBody = {
  type: 'object',
  required: ['status'],
  additionalProperties: false,
  properties: { status: { type: 'string', enum: [...VM_STATUSES] }, reason: nullable({ type: 'string', maxLength: 4000 }) },
} as const;

export const schedulerSwitchBody = {
  type: 'object',
  required: ['enabled'],
  additionalProperties: false,
  properties: { enabled: { type: 'boolean' } },
} as const;
