/**
 * The command loop every handler uses: read the stream, fold, decide, append with
 * the expected revision; on a concurrency conflict read again and decide again.
 */
import type { Decider } from '../domain/decider.js';
import { WrongExpectedVersionError, type EventStore, type NewEvent, type Position, type RecordedEvent } from '../eventstore/event-store.js';
import { cachedState, rememberState } from './aggregate-cache.js';
import { metadataOf, type CommandContext } from './command-context.js';
import { newEventId } from './event-ids.js';

export interface DomainEventShape {
  type: string;
  data: object;
}

export interface DecisionResult<E, S> {
  events: E[];
  /** State after the decision (before it when nothing was appended). */
  state: S;
  /** Position of the last appended event; null when the decision appended nothing. */
  position: Position | null;
  /** Revision of the stream after the decision, or null when the stream is absent. */
  revision: number | null;
}

export class ConcurrencyExhaustedError extends Error {
  override readonly name = 'ConcurrencyExhaustedError';
  constructor(readonly streamId: string, attempts: number) {
    super(`stream ${streamId} kept changing: gave up after ${attempts} attempts`);
  }
}

const MAX_ATTEMPTS = 8;

/** At most this many commands are decided into one append. */
const MAX_COMMANDS_PER_APPEND = 64;

/**
 * Commands on one stream from this process run one after another: they would only
 * lose to each other on the expected revision. Retries are left for the conflicts
 * that come from other instances. Commands that queue up behind a running one are
 * then decided in turn, each on the state the ones before it left, and appended
 * together: a hot stream (an execution dispatching thousands of VMs) pays one append
 * and one projection pass per group instead of one per command.
 */
interface PendingCommand {
  commandFor: (state: unknown) => unknown;
  context: CommandContext;
  resolve: (result: DecisionResult<DomainEventShape, unknown>) => void;
  reject: (error: unknown) => void;
}

interface StreamLane {
  pending: PendingCommand[];
  running: boolean;
}

const lanes = new WeakMap<EventStore, Map<string, StreamLane>>();

function laneOf(store: EventStore, streamId: string): StreamLane {
  let byStream = lanes.get(store);
  if (!byStream) {
    byStream = new Map();
    lanes.set(store, byStream);
  }
  let lane = byStream.get(streamId);
  if (!lane) {
    lane = { pending: [], running: false };
    byStream.set(streamId, lane);
  }
  return lane;
}

async function drainLane(store: EventStore, streamId: string, decider: Decider<unknown, DomainEventShape, unknown>, lane: StreamLane): Promise<void> {
  try {
    while (lane.pending.length > 0) {
      const group = lane.pending.splice(0, MAX_COMMANDS_PER_APPEND);
      if (group.length === 1) {
        const [only] = group as [PendingCommand];
        await decideAndAppend(store, streamId, decider, only.commandFor, only.context).then(only.resolve, only.reject);
      } else {
        await decideGroupAndAppend(store, streamId, decider, group);
      }
    }
  } finally {
    lane.running = false;
    if (lane.pending.length === 0) lanes.get(store)?.delete(streamId);
  }
}

/** The stream's current state and revision, folded from the cache and the events since. */
export async function loadState<C, E extends DomainEventShape, S>(
  store: EventStore,
  streamId: string,
  decider: Decider<C, E, S>,
): Promise<{ state: S; revision: number | null }> {
  const cached = cachedState<S>(store, streamId, decider);
  const events = await store.readStream(streamId, { fromRevision: nextRevisionOf(cached) });
  return foldRead(store, streamId, decider, cached, events);
}

/** loadState of several streams of one decider, read together (EventStore.readStreams); in the order given. */
export async function loadStates<C, E extends DomainEventShape, S>(
  store: EventStore,
  streamIds: readonly string[],
  decider: Decider<C, E, S>,
): Promise<Array<{ state: S; revision: number | null }>> {
  const cached = streamIds.map((streamId) => cachedState<S>(store, streamId, decider));
  const reads = await store.readStreams(streamIds.map((streamId, i) => ({ streamId, fromRevision: nextRevisionOf(cached[i] ?? null) })));
  return streamIds.map((streamId, i) => foldRead(store, streamId, decider, cached[i] ?? null, reads[i]!));
}

/** The first revision a cached state has not seen (0: none cached, or an absent stream cached). */
function nextRevisionOf(cached: { revision: number | null } | null): number {
  return cached === null || cached.revision === null ? 0 : cached.revision + 1;
}

/** The cached state (or the initial one) with the events read since folded onto it, remembered. */
function foldRead<C, E extends DomainEventShape, S>(
  store: EventStore,
  streamId: string,
  decider: Decider<C, E, S>,
  cached: { state: S; revision: number | null } | null,
  events: readonly RecordedEvent[],
): { state: S; revision: number | null } {
  let state = cached?.state ?? decider.initialState;
  let revision = cached?.revision ?? null;
  for (const recorded of events) {
    state = decider.evolve(state, { type: recorded.type, data: recorded.data } as unknown as E);
    revision = recorded.revision;
  }
  if (events.length > 0 || !cached) rememberState(store, streamId, decider, state, revision);
  return { state, revision };
}

/**
 * The cached state when `accept` takes it, else the stream's current state (loadState).
 * For checks made before a command whose own append (with its expected revision)
 * decides again on fresh state: a refusal is always decided on fresh state.
 */
export async function stateAcceptedFromCache<C, E extends DomainEventShape, S>(
  store: EventStore,
  streamId: string,
  decider: Decider<C, E, S>,
  accept: (state: S) => boolean,
): Promise<{ state: S; revision: number | null }> {
  const cached = cachedState<S>(store, streamId, decider);
  if (cached && accept(cached.state)) return cached;
  return loadState(store, streamId, decider);
}

/**
 * Runs `decide` on the stream's current state and appends the result.
 * `commandFor` is called again after each conflict, so facts it gathers stay fresh.
 */
export async function runDecider<C, E extends DomainEventShape, S>(
  store: EventStore,
  streamId: string,
  decider: Decider<C, E, S>,
  commandFor: (state: S) => C | Promise<C>,
  context: CommandContext,
): Promise<DecisionResult<E, S>> {
  return new Promise<DecisionResult<E, S>>((resolve, reject) => {
    const lane = laneOf(store, streamId);
    lane.pending.push({
      commandFor: commandFor as (state: unknown) => unknown,
      context,
      resolve: resolve as (result: DecisionResult<DomainEventShape, unknown>) => void,
      reject,
    });
    if (lane.running) return;
    // Started on a microtask, as awaiting a queue was: the caller's own code after
    // this call runs before its `commandFor` does.
    lane.running = true;
    queueMicrotask(() => void drainLane(store, streamId, decider as unknown as Decider<unknown, DomainEventShape, unknown>, lane));
  });
}

async function decideAndAppend<C, E extends DomainEventShape, S>(
  store: EventStore,
  streamId: string,
  decider: Decider<C, E, S>,
  commandFor: (state: S) => C | Promise<C>,
  context: CommandContext,
): Promise<DecisionResult<E, S>> {
  // The first attempt decides on the cached state without reading: the expected
  // revision of the append catches anything it missed. A refusal or a no-op decided
  // on it is checked again on fresh state, since no append would catch those.
  let trustCache = true;
  for (let attempt = 1; ; attempt++) {
    const cached = trustCache ? cachedState<S>(store, streamId, decider) : null;
    trustCache = false;
    const { state, revision } = cached ?? (await loadState(store, streamId, decider));
    let events: E[];
    try {
      events = decider.decide(await commandFor(state), state);
    } catch (error) {
      if (cached) continue;
      throw error;
    }
    if (events.length === 0) {
      if (cached) continue;
      return { events, state, position: null, revision };
    }
    try {
      const result = await store.append(
        streamId,
        events.map((event) => newEventOf(event, context)),
        revision === null ? 'no_stream' : revision,
      );
      const next = events.reduce((s, e) => decider.evolve(s, e), state);
      rememberState(store, streamId, decider, next, result.nextExpectedRevision);
      return { events, state: next, position: result.position, revision: result.nextExpectedRevision };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      if (attempt >= MAX_ATTEMPTS) throw new ConcurrencyExhaustedError(streamId, attempt);
      // Someone else wrote first: back off a little (jittered) and decide again on fresh state.
      await conflictBackoff(attempt);
    }
  }
}

/** An event as the store appends it, stamped with the command's metadata. */
function newEventOf(event: DomainEventShape, context: CommandContext): NewEvent {
  return { id: newEventId(), type: event.type, data: event.data as Record<string, unknown>, metadata: metadataOf(context, event.type) };
}

/** After losing on the expected revision: back off a little (jittered) before deciding again on fresh state. */
function conflictBackoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
}

type GroupOutcome = { error: unknown } | { events: DomainEventShape[]; state: unknown };

/**
 * Several queued commands of one stream: each decided on the state the ones before it
 * leave, all their events appended at once with the expected revision. A command
 * refused (or deciding nothing) settles alone; the others still append. As in
 * decideAndAppend, the cached state is tried first and a refusal or no-op decided on it
 * sends the whole group to fresh state; a conflict decides the whole group again.
 */
async function decideGroupAndAppend(store: EventStore, streamId: string, decider: Decider<unknown, DomainEventShape, unknown>, group: readonly PendingCommand[]): Promise<void> {
  let trustCache = true;
  for (let attempt = 1; ; attempt++) {
    const cached = trustCache ? cachedState<unknown>(store, streamId, decider) : null;
    trustCache = false;
    let settled: { state: unknown; revision: number | null };
    try {
      settled = cached ?? (await loadState(store, streamId, decider));
    } catch (error) {
      for (const command of group) command.reject(error);
      return;
    }
    let current = settled.state;
    const outcomes: GroupOutcome[] = [];
    let doubtful = false;
    for (const command of group) {
      try {
        const events = decider.decide(await command.commandFor(current), current);
        if (events.length === 0 && cached) doubtful = true;
        current = events.reduce((s, e) => decider.evolve(s, e), current);
        outcomes.push({ events, state: current });
      } catch (error) {
        if (cached) doubtful = true;
        outcomes.push({ error });
      }
      if (doubtful) break;
    }
    if (doubtful) continue;

    const toAppend = outcomes.flatMap((outcome, i) =>
      'events' in outcome
        ? outcome.events.map((event) => newEventOf(event, group[i]!.context))
        : [],
    );
    let position: Position | null = null;
    if (toAppend.length > 0) {
      try {
        const result = await store.append(streamId, toAppend, settled.revision === null ? 'no_stream' : settled.revision);
        rememberState(store, streamId, decider, current, result.nextExpectedRevision);
        position = result.position;
      } catch (error) {
        const retry = error instanceof WrongExpectedVersionError && attempt < MAX_ATTEMPTS;
        if (retry) {
          await conflictBackoff(attempt);
          continue;
        }
        const failure = error instanceof WrongExpectedVersionError ? new ConcurrencyExhaustedError(streamId, attempt) : error;
        for (const command of group) command.reject(failure);
        return;
      }
    }
    // Each command's revision is the stream's right after its own events.
    let revision = settled.revision ?? -1;
    outcomes.forEach((outcome, i) => {
      const command = group[i]!;
      if ('error' in outcome) {
        command.reject(outcome.error);
        return;
      }
      revision += outcome.events.length;
      command.resolve({ events: outcome.events, state: outcome.state, position: outcome.events.length > 0 ? position : null, revision: revision < 0 ? null : revision });
    });
    return;
  }
}

/** The later of two positions (either may be null). */
export function laterPosition(store: EventStore, a: Position | null, b: Position | null): Position | null {
  if (a === null) return b;
  if (b === null) return a;
  return store.comparePositions(a, b) >= 0 ? a : b;
}
