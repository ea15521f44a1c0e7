/** Folding a stream as of an instant (src/audit/stream-replay.ts), shared by the CLI and the API. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { aggregateOfStream } from '../../src/audit/stream-aggregates.js';
import { replayStream, unknownStreamMessage } from '../../src/audit/stream-replay.js';
import type { EventMetadata, EventStore, RecordedEvent } from '../../src/eventstore/event-store.js';
import { openSqliteEventStore } from '../../src/eventstore/sql-event-store.js';

const metadata = (timestamp: string): EventMetadata => ({ actor: 'process-manager', source: 'process-manager', correlation_id: 'c', causation_id: null, request_id: null, timestamp, schema_version: 1 });

const plan = ['vm-a', 'vm-b'].map((id, i) => ({ vm_context_id: id, vm_name: id, group_id: 'g1', group_priority: 0, member_priority: i }));

describe('replaying a stream as of an instant', () => {
  let dir: string;
  let store: EventStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'audit-replay-'));
    store = await openSqliteEventStore({ filename: join(dir, 'events.sqlite'), pollIntervalMs: 20 });
    await store.append(
      'execution-e1',
      [
        {
          type: 'ExecutionScheduled',
          data: { execution_id: 'e1', schedule_id: 's1', scheduled_at: '2026-05-01T10:00:00.000Z', not_before: '2026-05-01T10:00:00.000Z', trigger: 'manual', triggered_by: 'manual:ann', reason: null, group_id: null, force: false, parent_execution_id: null, at: '2026-05-01T09:00:00.000Z' },
          metadata: { ...metadata('2026-05-01T09:00:00.000Z'), schema_version: 2 },
        },
        {
          type: 'ExecutionStarted',
          data: { started_at: '2026-05-01T10:00:00.000Z', settings: { max_concurrent_jobs: 1, retry_attempts: 0, retry_delay_minutes: 0, replication_type: 'auto' }, plan },
          metadata: metadata('2026-05-01T10:00:00.000Z'),
        },
        { type: 'VmSkipped', data: { vm_context_id: 'vm-b', conflict_type: 'vm_disabled', reason: 'disabled', at: '2026-05-01T10:05:00.000Z' }, metadata: metadata('2026-05-01T10:05:00.000Z') },
        // Decided before the previous event (another instance's clock), appended after it.
        { type: 'VmSkipped', data: { vm_context_id: 'vm-a', conflict_type: 'vm_disabled', reason: 'disabled', at: '2026-05-01T10:04:00.000Z' }, metadata: metadata('2026-05-01T10:04:00.000Z') },
      ],
      'no_stream',
    );
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('folds with the decider of the stream prefix into plain JSON (Maps as objects)', async () => {
    const folded: RecordedEvent[] = [];
    const replay = await replayStream(store, 'execution-e1', new Date('2026-05-01T10:01:00Z'), { onEvent: (event) => folded.push(event), pageSize: 1 });
    assert.ok(replay);
    assert.equal(replay.aggregate, 'execution');
    assert.equal(replay.revision, 1);
    assert.equal(replay.event_count, 2);
    assert.deepEqual(folded.map((event) => event.type), ['ExecutionScheduled', 'ExecutionStarted']);
    const state = replay.state as { status: string; index: Record<string, number>; vms: Array<{ vm_context_id: string; phase: string }> };
    assert.equal(state.status, 'running');
    assert.deepEqual(state.index, { 'vm-a': 0, 'vm-b': 1 }, 'the Map of the state survives JSON');
    assert.deepEqual(JSON.parse(JSON.stringify(replay.state)), replay.state);
  });

  it('stops at the first event decided after the instant: the state of a prefix of the stream', async () => {
    const replay = await replayStream(store, 'execution-e1', new Date('2026-05-01T10:04:30Z'));
    assert.equal(replay?.event_count, 2, 'the 10:04 event came after the 10:05 one, so it is not folded either');
    const later = await replayStream(store, 'execution-e1', new Date('2026-05-01T10:05:00Z'));
    assert.equal(later?.event_count, 4);
    assert.deepEqual((later?.state as { vms: Array<{ phase: string }> }).vms.map((vm) => vm.phase), ['skipped', 'skipped']);
  });

  it('finds nothing for a stream without events or of no aggregate, and says which', async () => {
    assert.equal(await replayStream(store, 'execution-none', new Date()), null);
    assert.equal(unknownStreamMessage('execution-none'), 'stream execution-none has no events');
    assert.equal(await replayStream(store, 'ticket-1', new Date()), null);
    assert.match(unknownStreamMessage('ticket-1'), /not a stream of any aggregate/);
    assert.equal(aggregateOfStream('schedule-'), null, 'a prefix alone names no stream');
    assert.deepEqual(
      ['schedule-x', 'group-x', 'vm-x', 'execution-x', 'reservation-schedule-name-x'].map((id) => aggregateOfStream(id)?.kind),
      ['schedule', 'machine-group', 'vm-context', 'execution', 'reservation'],
    );
  });
});
