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
  /** The era it was last moved to the recent end in (see `touch`). */
  era: number;
}

/** Enough for every hot aggregate of a large installation; older ones are folded again. */
const MAX_ENTRIES = 20_000;

/**
 * Recency is kept by era rather than on every use: a Map keeps insertion order, so
 * moving an entry to the recent end is a delete and a set, which a hot stream (an
 * execution taking thousands of commands) would pay on every command. An entry is
 * moved once per era (ERA_LENGTH uses), which keeps the least recently used first
 * but for the last era's order.
 */
const ERA_LENGTH = 1024;
let uses = 0;
let era = 0;

function nextUse(): number {
  uses += 1;
  if (uses >= ERA_LENGTH) {
    uses = 0;
    era += 1;
  }
  return era;
}

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
  const now = nextUse();
  if (entry.era !== now) {
    // The first key of the Map is the least recently used one.
    cache.delete(streamId);
    cache.set(streamId, entry);
    entry.era = now;
  }
  return { state: entry.state as S, revision: entry.revision };
}

export function rememberState(store: EventStore, streamId: string, decider: object, state: unknown, revision: number | null): void {
  const cache = cacheOf(store);
  const now = nextUse();
  const entry = cache.get(streamId);
  if (entry !== undefined && entry.era === now) {
    // Updated in place: it was moved to the recent end in this era already.
    entry.decider = decider;
    entry.state = state;
    entry.revision = revision;
    return;
  }
  cache.delete(streamId);
  cache.set(streamId, { decider, state, revision, era: now });
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
