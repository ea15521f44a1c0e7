/** JSON schemas of the discovery routes. */
const host = { type: 'string', minLength: 1, maxLength: 255 } as const;
const filter = { type: 'string', minLength: 1, maxLength: 1000 } as const;
const vmNames = { type: 'array', minItems: 1, maxItems: 10000, uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 255 } } as const;

export const discoverBody = {
  type: 'object',
  required: ['vcenter', 'datacenter'],
  additionalProperties: false,
  properties: { vcenter: host, datacenter: host, filter },
} as const;

export const addVmsBody = {
  type: 'object',
  required: ['vcenter', 'datacenter', 'vm_names'],
  additionalProperties: false,
  properties: { vcenter: host, datacenter: host, vm_names: vmNames },
} as const;

export const bulkAddBody = {
  type: 'object',
  required: ['vcenter', 'datacenter'],
  additionalProperties: false,
  properties: { vcenter: host, datacenter: host, filter, selected_vms: vmNames },
} as const;
