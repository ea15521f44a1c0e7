/**
 * Event versions: an event stored in an older schema version reads in the current
 * shape through the UpcastingEventStore, for the store's readers (readStream,
 * readAll, subscribeToAll), for command handling (the decider folds it) and for
 * the projections (the read model shows the upcasted field). The registered
 * upcaster: ExecutionScheduled v1 (no not_before) -> v2 (not_before = scheduled_at).
 * The decorator is the same around every adapter: checked here around SQLite,
 * MariaDB and EventStoreDB (test/support/esdb-double).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { firstValueFrom, take, toArray } from 'rxjs';
import { decideExecution, processManagerContext } from '../../src/commands/execution-process-commands.js';
import { DomainError } from '../../src/domain/decider.js';
import { currentSchemaVersion, upcastEventData } from '../../src/domain/event-upcasters.js';
import { streamIds } from '../../src/domain/events.js';
import type { EventMetadata, EventStore, NewEvent } from '../../src/eventstore/event-store.js';
import { openEventStoreDb } from '../../src/eventstore/esdb-event-store.js';
import { openMariaDbEventStore, openSqliteEventStore } from '../../src/eventstore/sql-event-store.js';
import { UpcastingEventStore } from '../../src/eventstore/upcasting-event-store.js';
import { readExecutionDetails } from '../../src/projections/executions.projection.js';
import { apiClient } from '../support/api-client.js';
import { ManualClock } from '../support/manual-clock.js';
import { startEsdbDouble } from '../support/esdb-double/server.js';
import { createTestDatabase } from '../support/mariadb.js';
import { startTestService, type TestService } from '../support/test-service.js';

const metadata = (timestamp: string, schemaVersion: number | null): EventMetadata => {
  const base = { actor: 'tester', source: 'api', correlation_id: 'c-1', causation_id: null, request_id: null, timestamp } as const;
  // null: an event stored before versions were recorded, with no schema_version at all.
  return (schemaVersion === null ? base : { ...base, schema_version: schemaVersion }) as EventMetadata;
};

/** ExecutionScheduled as release 1 wrote it: no not_before. */
function executionScheduledV1(executionId: string, scheduledAt: string, at: string): NewEvent {
  return {
    type: 'ExecutionScheduled',
    data: {
      execution_id: executionId,
      schedule_id: 'sched-1',
      scheduled_at: scheduledAt,
      trigger: 'manual',
      triggered_by: 'manual:tester',
      reason: null,
      group_id: null,
      force: false,
      parent_execution_id: null,
      at,
    },
    metadata: metadata(at, 1),
  };
}

/** A fresh adapter of each kind and how to remove it afterwards. */
const adapters: Record<string, () => Promise<{ store: EventStore; remove(): Promise<void> }>> = {
  SQLite: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'upcasting-'));
    return { store: await openSqliteEventStore({ filename: join(dir, 'events.sqlite'), pollIntervalMs: 20 }), remove: () => rm(dir, { recursive: true, force: true }) };
  },
  MariaDB: async () => {
    const database = await createTestDatabase('t_upcast');
    return { store: await openMariaDbEventStore({ url: database.url, pollIntervalMs: 20 }), remove: () => database.drop() };
  },
  // On the in-process double of test/support/esdb-double.
  EventStoreDB: async () => {
    const double = await startEsdbDouble();
    return { store: await openEventStoreDb({ connectionString: double.url }), remove: () => double.close() };
  },
};

for (const [name, open] of Object.entries(adapters)) describe(`UpcastingEventStore around the ${name} adapter`, () => {
  let remove: () => Promise<void>;
  let inner: EventStore;
  let store: UpcastingEventStore;
  before(async () => {
    ({ store: inner, remove } = await open());
    store = new UpcastingEventStore(inner, upcastEventData);
    const v1 = executionScheduledV1('e-old', '2026-05-01T10:00:00.000Z', '2026-05-01T09:00:00.000Z');
    await inner.append('execution-e-old', [v1], 'no_stream');
    const v2 = executionScheduledV1('e-new', '2026-05-01T10:00:00.000Z', '2026-05-01T09:00:00.000Z');
    await inner.append('execution-e-new', [{ ...v2, data: { ...v2.data, not_before: '2026-05-01T10:05:00.000Z' }, metadata: metadata('2026-05-01T09:00:00.000Z', 2) }], 'no_stream');
    await inner.append('schedule-s-legacy', [{ type: 'ScheduleEnabled', data: { schedule_id: 's-legacy', at: '2026-05-01T09:00:00.000Z' }, metadata: metadata('2026-05-01T09:00:00.000Z', null) }], 'no_stream');
    await inner.append('execution-e-future', [{ ...executionScheduledV1('e-future', '2026-05-01T10:00:00.000Z', '2026-05-01T09:00:00.000Z'), metadata: metadata('2026-05-01T09:00:00.000Z', 3) }], 'no_stream');
  });
  after(async () => {
    await store.close();
    await remove();
  });

  it('reads a version-1 event in the current shape from readStream, readAll and subscribeToAll', async () => {
    const [fromStream] = await store.readStream('execution-e-old');
    assert.equal(fromStream?.data.not_before, '2026-05-01T10:00:00.000Z', 'not_before defaults to the due instant');
    assert.equal(fromStream?.metadata.schema_version, 2);
    const fromAll = (await store.readAll()).find((event) => event.streamId === 'execution-e-old');
    assert.equal(fromAll?.data.not_before, '2026-05-01T10:00:00.000Z');
    const subscribed = await firstValueFrom(store.subscribeToAll().pipe(take(4), toArray()));
    assert.equal(subscribed.find((event) => event.streamId === 'execution-e-old')?.data.not_before, '2026-05-01T10:00:00.000Z');
  });

  it('leaves the stored event as it was: the log is not rewritten', async () => {
    const [stored] = await inner.readStream('execution-e-old');
    assert.equal('not_before' in (stored?.data ?? {}), false);
    assert.equal(stored?.metadata.schema_version, 1);
  });

  it('passes events of the current version (and of a later release) through unchanged', async () => {
    const [current] = await store.readStream('execution-e-new');
    assert.equal(current?.data.not_before, '2026-05-01T10:05:00.000Z');
    const [later] = await store.readStream('execution-e-future');
    assert.equal('not_before' in (later?.data ?? {}), false);
    assert.equal(later?.metadata.schema_version, 3);
  });

  it('reads an event stored without a schema version as version 1', async () => {
    const [legacy] = await store.readStream('schedule-s-legacy');
    assert.equal(legacy?.metadata.schema_version, 1);
    assert.deepEqual(legacy?.data, { schedule_id: 's-legacy', at: '2026-05-01T09:00:00.000Z' });
  });
});

describe('a version-1 event in a running service (SQLite)', () => {
  const clock = new ManualClock('2026-05-01T09:00:00.000Z');
  let service: TestService;
  before(async () => {
    service = await startTestService('sqlite', {}, { ticker: false, processManager: false, clock });
  });
  after(async () => service.dispose());

  const innerOf = (store: EventStore): EventStore => {
    assert.ok(store instanceof UpcastingEventStore, 'the service reads through the upcasting store');
    return store.inner;
  };

  it('is folded in the current shape by command handling and shown so by the read model', async () => {
    const scheduledAt = '2026-05-01T10:00:00.000Z';
    const appended = await innerOf(service.store).append(streamIds.execution('e-v1'), [executionScheduledV1('e-v1', scheduledAt, clock.now().toISOString())], 'no_stream');

    // Projections: the execution's details show not_before.
    assert.equal(await service.projections.waitForPosition(appended.position, 5_000), true);
    const row = (await service.readDb.knex('schedule_executions').where({ id: 'e-v1' }).first()) as { execution_details: unknown; status: string };
    assert.equal(row.status, 'scheduled');
    assert.equal(readExecutionDetails(row.execution_details).not_before, scheduledAt);

    // Domain: the decider folded not_before, so the execution may not start before it...
    const start = (at: string) =>
      decideExecution(
        service.store,
        'e-v1',
        () => ({
          type: 'StartExecution',
          execution_id: 'e-v1',
          at,
          actor: 'process-manager',
          schedule: { exists: true, enabled: true, skip_if_running: false, max_concurrent_jobs: 1, retry_attempts: 0, retry_delay_minutes: 0, replication_type: 'auto' },
          running_execution_ids: [],
          plan: [],
        }),
        processManagerContext(new Date(at)),
      );
    await assert.rejects(start('2026-05-01T09:30:00.000Z'), (error: unknown) => error instanceof DomainError && error.kind === 'Conflict' && error.message.includes(`may not start before ${scheduledAt}`));
    // ...and starts from then on.
    const started = await start(scheduledAt);
    assert.deepEqual(started.events.map((event) => event.type).slice(0, 1), ['ExecutionStarted']);
  });

  it('is written by commands in the current version of each event type', async () => {
    const api = apiClient(service.app);
    const created = await api.post('/schedules', { name: 'Versioned', cron_expression: '0 2 * * *' });
    assert.equal(created.status, 201);
    const triggered = await api.post(`/schedules/${created.body.id}/trigger`, {});
    assert.equal(triggered.status, 202);
    const [scheduled] = await innerOf(service.store).readStream(streamIds.execution(triggered.body.execution_id));
    assert.equal(scheduled?.type, 'ExecutionScheduled');
    assert.equal(scheduled?.metadata.schema_version, 2);
    assert.equal(currentSchemaVersion('ExecutionScheduled'), 2);
    const [scheduleCreated] = await innerOf(service.store).readStream(streamIds.schedule(created.body.id));
    assert.equal(scheduleCreated?.metadata.schema_version, 1, 'a type whose shape never changed stays at version 1');
  });
});
