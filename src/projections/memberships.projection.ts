/**
 * vm_group_memberships: a VM's membership of its (one) group, keyed by the VM.
 * An assignment replaces the row, so a move leaves exactly one row; the row's id is
 * the membership id of the latest assignment.
 */
import type { RecordedEvent } from '../eventstore/event-store.js';
import { applyChanges, eventTime, stringData, type ColumnKinds } from './event-data.js';
import type { Row, RowProjection } from './projection.js';
import { flag } from './row-codec.js';

const SETTING_COLUMNS: ColumnKinds = {
  priority: 'int',
  enabled: 'flag',
  schedule_override_id: 'nullable-text',
};

const MEMBERSHIP_EVENTS = new Set(['VmAssignedToGroup', 'VmMembershipUpdated', 'VmUnassignedFromGroup']);

function assigned(event: RecordedEvent, contextId: string): Row {
  const data = event.data;
  return {
    // membership_id is always there; the fallback only keeps a malformed event deterministic and unique.
    id: stringData(event, 'membership_id') ?? `${contextId}@${event.position}`,
    group_id: stringData(event, 'group_id') ?? '',
    vm_context_id: contextId,
    enabled: typeof data.enabled === 'boolean' ? flag(data.enabled) : 1,
    priority: typeof data.priority === 'number' && Number.isFinite(data.priority) ? Math.trunc(data.priority) : 0,
    schedule_override_id: typeof data.schedule_override_id === 'string' ? data.schedule_override_id : null,
    added_at: eventTime(event, 'added_at'),
    added_by: stringData(event, 'added_by') ?? 'system',
  };
}

/** Whether the event speaks of the group the row holds (a stale group id changes nothing). */
function sameGroup(row: Row, event: RecordedEvent): boolean {
  return row.group_id === stringData(event, 'group_id');
}

export const membershipsProjection: RowProjection = {
  name: 'memberships',
  version: 1,
  table: 'vm_group_memberships',
  key: 'vm_context_id',

  keyOf(event) {
    return MEMBERSHIP_EVENTS.has(event.type) ? stringData(event, 'context_id') : null;
  },

  apply(row, event) {
    switch (event.type) {
      case 'VmAssignedToGroup':
        return assigned(event, stringData(event, 'context_id') ?? '');
      case 'VmMembershipUpdated':
        return row && sameGroup(row, event) ? applyChanges(row, event.data.changes, SETTING_COLUMNS) : row;
      case 'VmUnassignedFromGroup':
        return row && sameGroup(row, event) ? null : row;
      default:
        return row;
    }
  },
};
