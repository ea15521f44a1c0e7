/** vm_machine_groups: one row per live machine group. The seat ledger events need no columns. */
import type { RecordedEvent } from '../eventstore/event-store.js';
import { GROUP_DEFAULTS } from '../domain/vm-fields.js';
import { applyChanges, eventTime, readColumns, stringData, type ColumnKinds } from './event-data.js';
import type { Row, RowProjection } from './projection.js';

const SETTING_COLUMNS: ColumnKinds = {
  name: 'text',
  description: 'nullable-text',
  schedule_id: 'nullable-text',
  max_concurrent_vms: 'int',
  max_members: 'nullable-int',
  priority: 'int',
};

const SETTING_DEFAULTS = { ...GROUP_DEFAULTS, name: '' };

const GROUP_EVENTS = new Set(['MachineGroupCreated', 'MachineGroupUpdated', 'MachineGroupDeleted']);

function created(event: RecordedEvent, id: string): Row {
  const createdAt = eventTime(event, 'created_at');
  return {
    id,
    ...readColumns(event.data, SETTING_COLUMNS, SETTING_DEFAULTS),
    created_at: createdAt,
    updated_at: createdAt,
    created_by: stringData(event, 'created_by') ?? 'system',
  };
}

export const machineGroupsProjection: RowProjection = {
  name: 'machine-groups',
  version: 1,
  table: 'vm_machine_groups',
  key: 'id',

  keyOf(event) {
    return GROUP_EVENTS.has(event.type) ? stringData(event, 'group_id') : null;
  },

  apply(row, event) {
    switch (event.type) {
      case 'MachineGroupCreated':
        return created(event, stringData(event, 'group_id') ?? '');
      case 'MachineGroupUpdated': {
        if (!row) return row;
        const next = applyChanges(row, event.data.changes, SETTING_COLUMNS);
        next.updated_at = eventTime(event, 'updated_at');
        return next;
      }
      case 'MachineGroupDeleted':
        return null;
      default:
        return row;
    }
  },
};
