/**
 * Reading the log for the audit trail: page by page (never the whole log in one
 * read), the filters, and the bounded pages of the API.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readAuditPage, scanEventLog } from '../../src/audit/event-log-scan.js';
import type { EventFilter } from '../../src/audit/event-filter.js';
import type { EventMetadata, EventStore, ReadAllOptions, ReadStreamOptions, RecordedEvent } from '../../src/eventstore/event-store.js';
import { openSqliteEventStore } from '../../src/eventstore/sql-event-store.js';

const metadata = (actor: string, minute: number): EventMetadata => ({
  actor,
  source: 'api',
  correlation_id: 'c',
  causation_id: null,
  request_id: null,
  timestamp: new Date(Date.UTC(2026, 4, 1, 10, minute)).toISOString(),
  schema_version: 1,
});

/** Every read the scan makes, with its options. */
function recordingReads(store: EventStore) {
  const readAll: ReadAllOptions[] = [];
  const readStream: ReadStreamOptions[] = [];
  const wrapped: EventStore = Object.create(store, {
    readAll: { value: (options: ReadAllOptions = {}) => (readAll.push(options), store.readAll(options)) },
    readStream: { value: (id: string, options: ReadStreamOptions = {}) => (readStream.push(options), store.readStream(id, options)) },
  }) as EventStore;
  return { store: wrapped, readAll, readStream };
}

async function collect(store: EventStore, filter: EventFilter, pageSize: number): Promise<RecordedEvent[]> {
  const found: RecordedEvent[] = [];
  for await (const page of scanEventLog(store, filter, pageSize)) found.push(...page.matches);
  return found;
}

describe('scanning the event log for the audit trail', () => {
  let dir: string;
  let store: EventStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'audit-scan-'));
    store = await openSqliteEventStore({ filename: join(dir, 'events.sqlite'), pollIntervalMs: 20 });
    // 60 events over three streams, one a minute from 10:00: a-0..19, b-0..19, c-0..19 interleaved.
    for (let i = 0; i < 20; i++) {
      for (const [n, stream] of ['a', 'b', 'c'].entries()) {
        const minute = i * 3 + n;
        await store.append(`schedule-${stream}`, [{ type: i % 2 === 0 ? 'ScheduleUpdated' : 'ScheduleEnabled', data: { i }, metadata: metadata(stream === 'b' ? 'bob' : 'alice', minute) }], i === 0 ? 'no_stream' : i - 1);
      }
    }
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the log in pages of the given size, never all at once', async () => {
    const reads = recordingReads(store);
    const all = await collect(reads.store, {}, 7);
    assert.equal(all.length, 60);
    assert.ok(reads.readAll.length >= 60 / 7, `${reads.readAll.length} pages`);
    assert.ok(reads.readAll.every((options) => options.maxCount === 7));
  });

  it('reads only the named stream, by revision pages, when the filter names one', async () => {
    const reads = recordingReads(store);
    const found = await collect(reads.store, { stream: 'schedule-b' }, 6);
    assert.deepEqual(found.map((event) => event.revision), Array.from({ length: 20 }, (_, i) => i));
    assert.equal(reads.readAll.length, 0);
    assert.deepEqual(reads.readStream.map((options) => options.fromRevision), [0, 6, 12, 18]);
  });

  it('filters by prefix, type, actor, time range and position', async () => {
    assert.equal((await collect(store, { stream: 'schedule-*' }, 10)).length, 60);
    assert.equal((await collect(store, { stream: 'group-*' }, 10)).length, 0);
    assert.ok((await collect(store, { types: ['ScheduleEnabled'] }, 10)).every((event) => event.type === 'ScheduleEnabled'));
    assert.equal((await collect(store, { actor: 'bob' }, 10)).length, 20);
    const range = await collect(store, { from: new Date('2026-05-01T10:10:00Z'), to: new Date('2026-05-01T10:20:00Z') }, 10);
    assert.deepEqual([range.length, range[0]?.metadata.timestamp], [10, '2026-05-01T10:10:00.000Z']);
    const all = await collect(store, {}, 100);
    const tail = await collect(store, { after: all[49]!.position }, 8);
    assert.deepEqual(tail.map((event) => event.id), all.slice(50).map((event) => event.id));
    const streamTail = await collect(store, { stream: 'schedule-a', after: all[49]!.position }, 8);
    assert.ok(streamTail.length > 0 && streamTail.every((event) => store.comparePositions(event.position, all[49]!.position) > 0));
    assert.deepEqual(await collect(store, { after: all[59]!.position }, 8), [], 'nothing after the head');
  });

  it('answers a page of at most `limit` events, and where to go on', async () => {
    const first = await readAuditPage(store, { actor: 'bob' }, 15);
    assert.equal(first.events.length, 15);
    assert.equal(first.hasMore, true);
    assert.equal(first.nextAfter, first.events[14]!.position);
    const rest = await readAuditPage(store, { actor: 'bob', after: first.nextAfter }, 15);
    assert.equal(rest.events.length, 5);
    assert.deepEqual([rest.hasMore, rest.nextAfter], [false, null]);
  });

  it('stops a rare filter after its scan budget, saying where it stopped', async () => {
    const page = await readAuditPage(store, { types: ['NoSuchEvent'] }, 10, 20);
    assert.deepEqual(page.events, []);
    assert.equal(page.hasMore, true);
    const all = await collect(store, {}, 100);
    const stoppedAt = all.findIndex((event) => event.position === page.nextAfter);
    assert.equal(stoppedAt, 19, 'stopped after the 20 events of its budget');
    // 40 events remain: a budget of 50 reads past the end, so the answer knows there is no more.
    const end = await readAuditPage(store, { types: ['NoSuchEvent'], after: page.nextAfter }, 10, 50);
    assert.deepEqual([end.events, end.hasMore, end.nextAfter], [[], false, null]);
  });
});
