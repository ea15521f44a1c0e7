/**
 * Folded aggregate states kept between commands, per event store: a command then
 * reads only the events appended since (usually none) instead of the whole stream.
 * Correct with other writers too: the stream is always read from the cached
 * revision on, and an append still carries the expected revision.
 */
import type { EventStore } from '../eventstore/event-store.js';

interface Entry {
  /** The decider the state was folded with: a stream is only ever folded by one. */
  decider: object;
  state: unknown;
  revision: number | null;
}

/** Enough for every hot aggregate of a large installation; older ones are folded again. */
const MAX_ENTRIES = 20_000;

const caches = new WeakMap<EventStore, Map<string, Entry>>();

function cacheOf(store: EventStore): Map<string, Entry> {
  let cache = caches.get(store);
  if (!cache) {
    cache = new Map();
    caches.set(store, cache);
  }
  return cache;
}

export function cachedState<S>(store: EventStore, streamId: string, decider: object): { state: S; revision: number | null } | null {
  const cache = cacheOf(store);
  const entry = cache.get(streamId);
  if (!entry || entry.decider !== decider) return null;
  // Touch: a Map keeps insertion order, so the first key is the least recently used.
  cache.delete(streamId);
  cache.set(streamId, entry);
  return { state: entry.state as S, revision: entry.revision };
}

export function rememberState(store: EventStore, streamId: string, decider: object, state: unknown, revision: number | null): void {
  const cache = cacheOf(store);
  cache.delete(streamId);
  cache.set(streamId, { decider, state, revision });
  if (cache.size > MAX_ENTRIES) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
}

/**
 * Caches the initial state for a stream named by an id just generated (nanoid), so the
 * command that creates it decides without reading a stream that cannot exist yet; the
 * append's `no_stream` expectation still catches a collision (then it reads and decides again).
 */
export function assumeNewStream(store: EventStore, streamId: string, decider: { initialState: unknown }): void {
  if (cacheOf(store).has(streamId)) return;
  rememberState(store, streamId, decider, decider.initialState, null);
}
