/**
 * The command loop every handler uses: read the stream, fold, decide, append with
 * the expected revision; on a concurrency conflict read again and decide again.
 */
import type { Decider } from '../domain/decider.js';
import { WrongExpectedVersionError, type EventStore, type Position } from '../eventstore/event-store.js';
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

/**
 * Commands on one stream from this process run one after another: they would
 * only lose to each other on the expected revision. Retries are left for the
 * conflicts that come from other instances.
 */
const streamQueues = new Map<string, Promise<void>>();

async function oneAtATime<T>(streamId: string, work: () => Promise<T>): Promise<T> {
  const previous = streamQueues.get(streamId) ?? Promise.resolve();
  let done!: () => void;
  const mine = previous.then(() => new Promise<void>((resolve) => (done = resolve)));
  streamQueues.set(streamId, mine);
  await previous;
  try {
    return await work();
  } finally {
    done();
    if (streamQueues.get(streamId) === mine) streamQueues.delete(streamId);
  }
}

/** The stream's current state and revision, folded from the cache and the events since. */
export async function loadState<C, E extends DomainEventShape, S>(
  store: EventStore,
  streamId: string,
  decider: Decider<C, E, S>,
): Promise<{ state: S; revision: number | null }> {
  const cached = cachedState<S>(store, streamId, decider);
  let state = cached?.state ?? decider.initialState;
  let revision = cached?.revision ?? null;
  const events = await store.readStream(streamId, revision === null ? {} : { fromRevision: revision + 1 });
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
  return oneAtATime(streamId, () => decideAndAppend(store, streamId, decider, commandFor, context));
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
        events.map((event) => ({ id: newEventId(), type: event.type, data: event.data as Record<string, unknown>, metadata: metadataOf(context, event.type) })),
        revision === null ? 'no_stream' : revision,
      );
      const next = events.reduce((s, e) => decider.evolve(s, e), state);
      rememberState(store, streamId, decider, next, result.nextExpectedRevision);
      return { events, state: next, position: result.position, revision: result.nextExpectedRevision };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      if (attempt >= MAX_ATTEMPTS) throw new ConcurrencyExhaustedError(streamId, attempt);
      // Someone else wrote first: back off a little (jittered) and decide again on fresh state.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }
}

/** The later of two positions (either may be null). */
export function laterPosition(store: EventStore, a: Position | null, b: Position | null): Position | null {
  if (a === null) return b;
  if (b === null) return a;
  return store.comparePositions(a, b) >= 0 ? a : b;
}
