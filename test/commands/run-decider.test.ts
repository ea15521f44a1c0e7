import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { metadataOf, newCommandContext } from '../../src/commands/command-context.js';
import { ConcurrencyExhaustedError, runDecider } from '../../src/commands/run-decider.js';
import type { Decider } from '../../src/domain/decider.js';
import type { EventStore } from '../../src/eventstore/event-store.js';
import { openSqliteEventStore } from '../../src/eventstore/sql-event-store.js';

/** A counter that refuses to pass 3: enough to see decisions made on fresh state. */
type Incremented = { type: 'Incremented'; data: { to: number } };
const counter: Decider<{ type: 'Increment' }, Incremented, number> = {
  initialState: 0,
  evolve: (_state, event) => event.data.to,
  decide: (_command, state) => (state >= 3 ? [] : [{ type: 'Incremented', data: { to: state + 1 } }]),
};

const context = newCommandContext({ actor: 'tester', source: 'cli', at: new Date('2026-11-28T12:00:00Z'), requestId: 'req-1' });

describe('the command loop', () => {
  let store: EventStore;
  before(async () => {
    store = await openSqliteEventStore({ filename: ':memory:' });
  });
  after(async () => store.close());

  const appendBehindItsBack = async (streamId: string, to: number) => {
    const events = await store.readStream(streamId);
    await store.append(streamId, [{ id: randomUUID(), type: 'Incremented', data: { to }, metadata: metadataOf(context, 'Incremented') }], events.length === 0 ? 'no_stream' : events.length - 1);
  };

  it('stamps metadata and appends with the expected revision', async () => {
    const result = await runDecider(store, 'counter-a', counter, () => ({ type: 'Increment' as const }), context);
    assert.deepEqual([result.state, result.revision], [1, 0]);
    const [event] = await store.readStream('counter-a');
    assert.deepEqual(
      [event?.metadata.actor, event?.metadata.source, event?.metadata.request_id, event?.metadata.correlation_id, event?.metadata.timestamp],
      ['tester', 'cli', 'req-1', 'req-1', '2026-11-28T12:00:00.000Z'],
    );
  });

  it('decides again on fresh state when another writer got in first', async () => {
    let attempts = 0;
    const result = await runDecider(
      store,
      'counter-b',
      counter,
      async () => {
        attempts += 1;
        if (attempts === 1) await appendBehindItsBack('counter-b', 1);
        return { type: 'Increment' as const };
      },
      context,
    );
    assert.equal(attempts, 2);
    assert.equal(result.state, 2, 'the second decision saw the other writer');
    assert.deepEqual((await store.readStream('counter-b')).map((e) => e.data.to), [1, 2]);
  });

  it('decides on the cached state first, and recovers when another writer made it stale', async () => {
    await runDecider(store, 'counter-e', counter, () => ({ type: 'Increment' as const }), context);
    await appendBehindItsBack('counter-e', 2);
    let attempts = 0;
    const result = await runDecider(store, 'counter-e', counter, () => ((attempts += 1), { type: 'Increment' as const }), context);
    assert.equal(attempts, 2, 'the stale cached decision lost on the expected revision, then a fresh one won');
    assert.equal(result.state, 3);
    assert.deepEqual((await store.readStream('counter-e')).map((e) => e.data.to), [1, 2, 3]);
  });

  it('checks a no-op decided on cached state against fresh state', async () => {
    type Switched = { type: 'Switched'; data: { on: boolean } };
    const light: Decider<{ type: 'TurnOn' }, Switched, boolean> = {
      initialState: false,
      evolve: (_state, event) => event.data.on,
      decide: (_command, on) => (on ? [] : [{ type: 'Switched', data: { on: true } }]),
    };
    await runDecider(store, 'light-1', light, () => ({ type: 'TurnOn' as const }), context);
    // Another instance turns it off; this process's cache still says on.
    await store.append('light-1', [{ id: randomUUID(), type: 'Switched', data: { on: false }, metadata: metadataOf(context, 'Switched') }], 0);
    const result = await runDecider(store, 'light-1', light, () => ({ type: 'TurnOn' as const }), context);
    assert.equal(result.events.length, 1, 'turned on again, not skipped as a no-op');
    assert.deepEqual((await store.readStream('light-1')).map((e) => e.data.on), [true, false, true]);
  });

  it('appends nothing when the decision is empty', async () => {
    for (let i = 0; i < 5; i++) await runDecider(store, 'counter-c', counter, () => ({ type: 'Increment' as const }), context);
    assert.equal((await store.readStream('counter-c')).length, 3);
  });

  it('gives up with a typed error when the stream never stops changing', async () => {
    let to = 0;
    await assert.rejects(
      runDecider(
        store,
        'counter-d',
        { ...counter, decide: (_c, state) => [{ type: 'Incremented', data: { to: state + 100 } }] },
        async () => {
          await appendBehindItsBack('counter-d', ++to);
          return { type: 'Increment' as const };
        },
        context,
      ),
      ConcurrencyExhaustedError,
    );
  });

  describe('commands queued on one stream', () => {
    type Step = { type: 'Step'; refuse?: boolean };
    type Stepped = { type: 'Stepped'; data: { to: number } };
    const stepper: Decider<Step, Stepped, number> = {
      initialState: 0,
      evolve: (_state, event) => event.data.to,
      decide: (command, state) => {
        if (command.refuse) throw new Error(`step refused at ${state}`);
        return [{ type: 'Stepped', data: { to: state + 1 } }];
      },
    };
    /** The store, counting its appends. */
    const counting = (inner: EventStore): { store: EventStore; appends: () => number } => {
      let appends = 0;
      const store = Object.create(inner) as EventStore;
      store.append = (...args: Parameters<EventStore['append']>) => ((appends += 1), inner.append(...args));
      return { store, appends: () => appends };
    };

    it('decides each on the state the ones before it left, and appends them together', async () => {
      const { store: countingStore, appends } = counting(store);
      const results = await Promise.all(Array.from({ length: 10 }, () => runDecider(countingStore, 'steps-a', stepper, () => ({ type: 'Step' as const }), context)));
      assert.deepEqual(results.map((r) => r.state), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'each answer is the state right after its own step');
      assert.deepEqual(results.map((r) => r.revision), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.deepEqual((await countingStore.readStream('steps-a')).map((e) => e.data.to), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.ok(appends() < 10, `10 commands took ${appends()} appends`);
    });

    it('settles a refused command alone: the others of its group are appended', async () => {
      const outcomes = await Promise.allSettled(
        [false, false, true, false].map((refuse) => runDecider(store, 'steps-b', stepper, () => ({ type: 'Step' as const, refuse }), context)),
      );
      assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      assert.match(String((outcomes[2] as PromiseRejectedResult).reason), /step refused at 2/);
      assert.deepEqual((await store.readStream('steps-b')).map((e) => e.data.to), [1, 2, 3]);
    });

    it('decides a whole group again when another writer got in first', async () => {
      await runDecider(store, 'steps-c', stepper, () => ({ type: 'Step' as const }), context);
      let interfered = false;
      const results = await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          runDecider(
            store,
            'steps-c',
            stepper,
            async () => {
              if (i === 2 && !interfered) {
                interfered = true;
                const events = await store.readStream('steps-c');
                await store.append('steps-c', [{ id: randomUUID(), type: 'Stepped', data: { to: 100 }, metadata: metadataOf(context, 'Stepped') }], events.length - 1);
              }
              return { type: 'Step' as const };
            },
            context,
          ),
        ),
      );
      const stream = (await store.readStream('steps-c')).map((e) => e.data.to);
      assert.ok(stream.includes(100), 'the other writer\'s event stays');
      assert.deepEqual(stream, [1, 100, 101, 102, 103, 104], 'the group of four decided again on top of it');
      assert.deepEqual(results.map((r) => r.state), [101, 102, 103, 104]);
    });
  });
});
