/**
 * The service on the EventStoreDB adapter, end to end, against the in-process double
 * (test/support/esdb-double): the server drops every subscription mid-run, and a write
 * meets Unavailable and NotLeader answers. (The scheduler scenarios themselves run on
 * this backend too: execution-manager.e2e.test.ts with backend 'esdb'.)
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import grpc from '@grpc/grpc-js';
import { streamIds } from '../../src/domain/events.js';
import { APPEND_RETRY_DELAYS_MS } from '../../src/eventstore/esdb-event-store.js';
import { referenceSnapshot, snapshotReadModels } from '../projections/read-model-snapshot.js';
import { ended, harness, type Harness } from '../support/e2e-harness.js';
import type { EsdbDouble } from '../support/esdb-double/server.js';
import { statusError } from '../support/esdb-double/messages.js';
import { logLength, startTestService } from '../support/test-service.js';

/** The ticker, the projection runner and the execution process manager each follow $all. */
const SUBSCRIBERS = 3;
/** Past the ticker's (1 s) and the process manager's (5 s) wait before subscribing again, both on the manual clock. */
const RESUBSCRIBE_CLOCK_MS = 5_000;

describe('the service on EventStoreDB (the in-process double), end to end', () => {
  it('resubscribes the projections, the ticker and the process manager from their checkpoints after the server drops them mid-run: no effect lost or repeated', async () => {
    const names = ['d-1', 'd-2', 'd-3', 'd-4', 'd-5', 'd-6'];
    const h = await harness({
      backend: 'esdb',
      start: '2026-05-01T10:00:00.000Z',
      vmNames: names,
      scripts: Object.fromEntries(names.map((name) => [name, { pollsToFinish: 3 }])),
    });
    const scheduleId = await h.createSchedule({ max_concurrent_jobs: 10, retry_attempts: 0 });
    const groupId = await h.createGroup(scheduleId, { max_concurrent_vms: 2 });
    for (const name of names) await h.assign(groupId, await h.registerVm(name));
    const trigger = await h.api.post(`/schedules/${scheduleId}/trigger`, { reason: 'e2e' });
    assert.equal(trigger.status, 202, JSON.stringify(trigger.body));
    const executionId = String(trigger.body.execution_id);

    // Mid-run: two jobs requested; dropped with an error status, as a node shutting down does.
    await h.runUntil(async () => h.fake.replicationPosts().length >= 2, 10 * 60_000);
    await dropSubscriptionsAndResume(h, statusError(grpc.status.UNAVAILABLE, 'Server Is Shutting Down'));
    // Later: three jobs done; this time the server ends the subscriptions without an error.
    await h.runUntil(async () => h.fake.jobs().filter((job) => job.status === 'completed').length >= 3, 30 * 60_000);
    await dropSubscriptionsAndResume(h, null);
    await h.runUntil(async () => ended(await h.execution(executionId)), 30 * 60_000, 5000);

    const state = await h.execution(executionId);
    assert.ok(state.status !== 'absent');
    assert.equal(state.status, 'completed');
    assert.deepEqual([state.ended?.jobs_created, state.ended?.jobs_completed, state.ended?.jobs_failed], [6, 6, 0]);
    // Nothing repeated: one OMA call and one JobRequested per VM.
    assert.equal(h.fake.replicationPosts().length, 6);
    assert.deepEqual(h.fake.jobs().map((job) => job.vmName).sort(), names);
    const types = (await h.service.store.readStream(streamIds.execution(executionId))).map((event) => event.type);
    assert.equal(types.filter((type) => type === 'JobRequested').length, 6);
    // Nothing lost or applied twice: the read models are those a replay of the log builds.
    const head = await h.service.store.headPosition();
    assert.ok(head !== null && (await h.service.projections.waitForPosition(head, 10_000)));
    assert.deepEqual(await snapshotReadModels(h.service.readDb), await referenceSnapshot(h.service.store));
    const read = await h.api.get(`/executions/${executionId}`);
    assert.equal(read.body.status, 'completed');
  });

  it('answers a write whose append met Unavailable (even after it landed) and NotLeader as one write; a node down past the retries fails it, writing nothing', async () => {
    const service = await startTestService('esdb');
    const double = service.esdb!;
    try {
      double.faults.inject({ kind: 'unavailable', when: 'after-write' });
      double.faults.inject({ kind: 'not-leader', when: 'before-write' });
      const created = await service.app.inject({ method: 'POST', url: '/api/v1/schedules', payload: { name: 'nightly', cron_expression: '0 2 * * *' } });
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(double.faults.injected, 2);
      const scheduleId = String(created.json().id);
      assert.deepEqual((await service.store.readStream(streamIds.schedule(scheduleId))).map((event) => event.type), ['ScheduleCreated']);

      const before = await logLength(service);
      double.faults.inject({ kind: 'unavailable', when: 'before-write' }, APPEND_RETRY_DELAYS_MS.length + 1);
      const refused = await service.app.inject({ method: 'POST', url: '/api/v1/schedules', payload: { name: 'hourly', cron_expression: '0 * * * *' } });
      assert.equal(refused.statusCode, 503, refused.body);
      assert.equal(refused.json().error, 'Unavailable');
      assert.match(refused.json().message, /event store/);
      assert.equal(await logLength(service), before);
    } finally {
      await service.dispose();
    }
  });
});

/** Drops every subscription from the server side, lets the consumers see it, then moves the clock past their resubscribe waits. */
async function dropSubscriptionsAndResume(h: Harness, error: Parameters<EsdbDouble['dropSubscriptions']>[0]): Promise<void> {
  const double = h.esdb!;
  assert.equal(double.dropSubscriptions(error), SUBSCRIBERS);
  await sleep(100); // the errors reach the consumers, which arm their resubscribe timers
  h.clock.set(h.clock.now().getTime() + RESUBSCRIBE_CLOCK_MS);
  const deadline = Date.now() + 10_000;
  while (double.liveSubscriptions < SUBSCRIBERS) {
    assert.ok(Date.now() < deadline, `only ${double.liveSubscriptions} of ${SUBSCRIBERS} subscribed again`);
    await sleep(10);
  }
}
