import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cachedState, rememberState } from '../../src/commands/aggregate-cache.js';
import type { EventStore } from '../../src/eventstore/event-store.js';

describe('the aggregate cache', () => {
  const decider = {};

  it('gives back the last state remembered for a stream, and nothing for another decider', () => {
    const store = {} as EventStore;
    rememberState(store, 'schedule-1', decider, { name: 'a' }, 0);
    rememberState(store, 'schedule-1', decider, { name: 'b' }, 1);
    assert.deepEqual(cachedState(store, 'schedule-1', decider), { state: { name: 'b' }, revision: 1 });
    assert.equal(cachedState(store, 'schedule-1', {}), null);
    assert.equal(cachedState({} as EventStore, 'schedule-1', decider), null, 'each event store has its own cache');
  });

  it('keeps the recently used streams when full, and drops the least recently used', () => {
    const store = {} as EventStore;
    const full = 20_000;
    for (let i = 0; i < full; i++) rememberState(store, `vm-${i}`, decider, i, 0);
    assert.deepEqual(cachedState(store, 'vm-0', decider), { state: 0, revision: 0 }, 'the oldest, used again');
    for (let i = 0; i < 10; i++) rememberState(store, `new-${i}`, decider, i, 0);
    assert.notEqual(cachedState(store, 'vm-0', decider), null, 'kept: used after the others');
    for (let i = 1; i <= 10; i++) assert.equal(cachedState(store, `vm-${i}`, decider), null, `vm-${i} dropped`);
    assert.notEqual(cachedState(store, 'vm-11', decider), null);
    assert.notEqual(cachedState(store, 'new-9', decider), null);
  });
});
