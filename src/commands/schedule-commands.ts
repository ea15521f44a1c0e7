/** Command handlers of the Schedule aggregate: create, update, enable, delete. */
import { streamIds } from '../domain/events.js';
import { normalizeName, scheduleDecider, type ChainParentFacts, type ScheduleReferences, type ScheduleState } from '../domain/schedule.js';
import type { ScheduleSettings } from '../domain/schedule-fields.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import type { CommandContext } from './command-context.js';
import { assumeNewStream } from './aggregate-cache.js';
import { newId } from './ids.js';
import { release, withReservation, type Reservation } from './reservations.js';
import { laterPosition, loadState, runDecider } from './run-decider.js';

export interface ScheduleCommandDeps {
  store: EventStore;
  /** Who still points at a schedule; answered from the read models. */
  referencesTo(scheduleId: string): Promise<ScheduleReferences>;
}

export interface CommandOutcome {
  id: string;
  /** Position the read models must reach for the caller to read its own write. */
  position: Position | null;
}

/** Chains are short; anything deeper is treated as a cycle-safe stop. */
const MAX_CHAIN_DEPTH = 1000;

async function scheduleState(store: EventStore, id: string): Promise<ScheduleState> {
  return (await loadState(store, streamIds.schedule(id), scheduleDecider)).state;
}

/** Facts about a proposed chain parent: whether it exists and every id up its chain. */
async function chainParentFacts(store: EventStore, parentId: string | null | undefined): Promise<ChainParentFacts | null> {
  if (!parentId) return null;
  const parent = await scheduleState(store, parentId);
  if (parent.status !== 'active') return { parent_id: parentId, exists: false, ancestor_ids: [] };
  const ancestorIds = [parentId];
  let next = parent.settings.chain_parent_schedule_id;
  while (next && !ancestorIds.includes(next) && ancestorIds.length < MAX_CHAIN_DEPTH) {
    ancestorIds.push(next);
    const ancestor = await scheduleState(store, next);
    next = ancestor.status === 'active' ? ancestor.settings.chain_parent_schedule_id : null;
  }
  if (next && ancestorIds.includes(next)) ancestorIds.push(next);
  return { parent_id: parentId, exists: true, ancestor_ids: ancestorIds };
}

function nameReservation(name: string, ownerId: string): Reservation {
  return { kind: 'schedule-name', value: name.trim(), ownerId, takenMessage: `a schedule named "${name.trim()}"`, field: '/name' };
}

/** A holder owns a schedule name while it is live and still called so. */
function holderOwnsName(store: EventStore) {
  return async (holderId: string, key: string) => {
    const state = await scheduleState(store, holderId);
    return state.status === 'active' && normalizeName(state.settings.name) === key;
  };
}

export async function createSchedule(
  deps: ScheduleCommandDeps,
  input: Partial<ScheduleSettings> & { name: string },
  context: CommandContext,
): Promise<CommandOutcome> {
  const { store } = deps;
  const id = newId();
  const parent = await chainParentFacts(store, input.chain_parent_schedule_id);
  const command = { type: 'CreateSchedule' as const, schedule_id: id, input, parent, at: context.at, actor: context.actor };
  // Refuse bad input before the name is reserved, so a refusal takes nothing.
  scheduleDecider.decide(command, scheduleDecider.initialState);
  assumeNewStream(store, streamIds.schedule(id), scheduleDecider);
  const result = await withReservation(store, nameReservation(input.name, id), holderOwnsName(store), context, () =>
    runDecider(store, streamIds.schedule(id), scheduleDecider, () => command, context),
  );
  return { id, position: result.position };
}

export async function updateSchedule(deps: ScheduleCommandDeps, id: string, changes: Partial<ScheduleSettings>, context: CommandContext): Promise<CommandOutcome> {
  const { store } = deps;
  const commandOn = async (state: ScheduleState) => {
    const currentParent = state.status === 'active' ? state.settings.chain_parent_schedule_id : null;
    const parentId = 'chain_parent_schedule_id' in changes ? changes.chain_parent_schedule_id : currentParent;
    return { type: 'UpdateSchedule' as const, schedule_id: id, changes, parent: await chainParentFacts(store, parentId), at: context.at, actor: context.actor };
  };
  const decide = () => runDecider(store, streamIds.schedule(id), scheduleDecider, commandOn, context);
  // Without a new name there is no rename to prepare: runDecider alone (it reads what it needs).
  if (changes.name === undefined) return { id, position: (await decide()).position };
  const before = await scheduleState(store, id);
  if (before.status !== 'active' || normalizeName(changes.name) === normalizeName(before.settings.name)) {
    return { id, position: (await decide()).position };
  }
  // A rename: validate the whole change before taking the new name, release the old one after.
  scheduleDecider.decide(await commandOn(before), before);
  const result = await withReservation(store, nameReservation(changes.name, id), holderOwnsName(store), context, decide);
  const released = await release(store, nameReservation(before.settings.name, id), context);
  return { id, position: laterPosition(store, result.position, released) };
}

export async function setScheduleEnabled(deps: ScheduleCommandDeps, id: string, enabled: boolean, context: CommandContext): Promise<CommandOutcome> {
  const result = await runDecider(deps.store, streamIds.schedule(id), scheduleDecider, () => ({ type: 'SetScheduleEnabled' as const, schedule_id: id, enabled, at: context.at, actor: context.actor }), context);
  return { id, position: result.position };
}

export async function deleteSchedule(deps: ScheduleCommandDeps, id: string, context: CommandContext): Promise<CommandOutcome> {
  const { store } = deps;
  const result = await runDecider(
    store,
    streamIds.schedule(id),
    scheduleDecider,
    async () => ({ type: 'DeleteSchedule' as const, schedule_id: id, references: await deps.referencesTo(id), at: context.at, actor: context.actor }),
    context,
  );
  const before = result.state;
  let position = result.position;
  if (before.status === 'deleted') {
    position = laterPosition(store, position, await release(store, nameReservation(before.settings.name, id), context));
  }
  return { id, position };
}
