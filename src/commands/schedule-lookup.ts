import { streamIds } from '../domain/events.js';
import { scheduleDecider } from '../domain/schedule.js';
import type { EventStore } from '../eventstore/event-store.js';
import { loadState } from './run-decider.js';

/** Whether a schedule exists and is not deleted, read from its stream (not a read model). */
export async function scheduleIsLive(store: EventStore, id: string | null | undefined): Promise<boolean> {
  if (!id) return false;
  return (await loadState(store, streamIds.schedule(id), scheduleDecider)).state.status === 'active';
}
