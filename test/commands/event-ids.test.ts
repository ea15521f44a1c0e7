import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newEventId } from '../../src/commands/event-ids.js';

/** What every UUID check takes (the ESDB client's accepts versions 1-5 only). */
const UUID_V4_LAYOUT = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('event ids', () => {
  it('are UUIDs in the version 4 layout', () => {
    for (let i = 0; i < 1000; i++) assert.match(newEventId(), UUID_V4_LAYOUT);
  });

  it('only grow, also past 4,096 in one millisecond, and never repeat', () => {
    const ids = Array.from({ length: 20_000 }, () => newEventId());
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} then ${ids[i]}`);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('begin with the time in milliseconds', () => {
    const before = Date.now();
    const id = newEventId();
    const ms = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    // At or a little after now: a burst of more than 4,096 ids in a millisecond counts on into the next ones.
    assert.ok(ms >= before && ms < before + 60_000, `${ms} against ${before}`);
  });
});
