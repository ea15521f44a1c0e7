/** JSON schemas of the machine-group and membership routes. */
import { GROUP_RANGES } from '../../domain/vm-fields.js';
import { DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH } from '../../domain/schedule-fields.js';
import { idParam, nullable } from './common.js';

const priority = { type: 'integer', minimum: -1000000, maximum: 1000000 } as const;

const groupFields = {
  name: { type: 'string', minLength: 1, maxLength: NAME_MAX_LENGTH },
  description: nullable({ type: 'string', maxLength: DESCRIPTION_MAX_LENGTH }),
  schedule_id: nullable(idParam),
  max_concurrent_vms: { type: 'integer', minimum: GROUP_RANGES.max_concurrent_vms[0], maximum: GROUP_RANGES.max_concurrent_vms[1] },
  max_members: nullable({ type: 'integer', minimum: GROUP_RANGES.max_members[0], maximum: GROUP_RANGES.max_members[1] }),
  priority,
} as const;

export const createGroupBody = { type: 'object', required: ['name'], additionalProperties: false, properties: groupFields } as const;
export const updateGroupBody = { type: 'object', minProperties: 1, additionalProperties: false, properties: groupFields } as const;

export const deleteGroupQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { unassign_members: { type: 'boolean', default: false } },
} as const;

export const assignBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    vm_context_id: idParam,
    vm_context_ids: { type: 'array', minItems: 1, maxItems: 10000, uniqueItems: true, items: idParam },
    priority,
    enabled: { type: 'boolean' },
    move: { type: 'boolean' },
    schedule_override_id: nullable(idParam),
  },
  oneOf: [{ required: ['vm_context_id'] }, { required: ['vm_context_ids'] }],
} as const;

export const membershipChangesBody = {
  type: 'object',
  minProperties: 1,
  additionalProperties: false,
  properties: { priority, enabled: { type: 'boolean' }, schedule_override_id: nullable(idParam) },
} as const;

export const vmGroupBody = {
  type: 'object',
  required: ['group_id'],
  additionalProperties: false,
  properties: { group_id: nullable(idParam), priority, enabled: { type: 'boolean' } },
} as const;

export const groupMemberParams = {
  type: 'object',
  required: ['id', 'vmId'],
  additionalProperties: false,
  properties: { id: idParam, vmId: idParam },
} as const;
