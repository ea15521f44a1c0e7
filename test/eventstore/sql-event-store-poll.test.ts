import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RecordedEvent } from '../../src/eventstore/event-store.js';
import { openMariaDbEventLog } from '../../src/eventstore/mariadb-event-log.js';
import type { SqlEventLog } from '../../src/eventstore/sql-event-common.js';
import { SqlEventStore } from '../../src/eventstore/sql-event-store.js';
import { openSqliteEventLog } from '../../src/eventstore/sqlite-event-log.js';
import { newEvent } from '../support/event-store-fixtures.js';
import { createTestDatabase, type TestDatabase } from '../support/mariadb.js';

/**
 * The SQL store polls the head of the log for other processes' appends while a
 * subscription waits: at its interval while they append, four times less often once none
 * has for 40 intervals (a single or an idle service), and at the interval again as soon
 * as a poll sees another process's append. Its own appends reach its subscriptions
 * without a poll and leave the pace alone.
 */

const POLL_MS = 20;
const SLOW_POLL_MS = 4 * POLL_MS;
const QUIET_AFTER_MS = 40 * POLL_MS;
/** Node may fire a timer a millisecond before its time (rounding); a slow poll is never earlier than this after the one before. */
const SLOW_GAP_FLOOR_MS = SLOW_POLL_MS - 2;

interface Storage {
  openLog(): Promise<SqlEventLog>;
}

describe('SQLite event store: poll pace', () => {
  let directory = '';
  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'es-poll-'));
  });
  after(() => rm(directory, { recursive: true, force: true }));
  defineTests({ openLog: () => openSqliteEventLog(join(directory, 'events.sqlite')) });
});

describe('MariaDB event store: poll pace', () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase('t_espoll');
  });
  after(() => database?.drop());
  defineTests({ openLog: () => openMariaDbEventLog({ url: database.url }) });
});

function defineTests(storage: Storage): void {
  it('polls slowly while the log is quiet, sees another process append within a slow interval, then polls at its interval again', async () => {
    const log = await storage.openLog();
    const polls = recordPolls(log);
    const store = new SqlEventStore(log, POLL_MS);
    const other = new SqlEventStore(await storage.openLog(), POLL_MS);
    const seen: RecordedEvent[] = [];
    const subscription = store.subscribeToAll({ after: await store.headPosition() }).subscribe((event) => seen.push(event));
    try {
      await delay(QUIET_AFTER_MS + 3 * SLOW_POLL_MS);
      const quietFrom = polls.length;
      await delay(6 * SLOW_POLL_MS);
      const quietGaps = gapsOf(polls.slice(quietFrom));
      assert.ok(quietGaps.length >= 2, `the store still polls while quiet (${quietGaps.length + 1} polls)`);
      assert.ok(
        quietGaps.every((gap) => gap >= SLOW_GAP_FLOOR_MS),
        `quiet polls at least ${SLOW_POLL_MS} ms apart, not ${POLL_MS}: gaps ${quietGaps.map((gap) => gap.toFixed(0)).join(', ')}`,
      );

      const event = newEvent('AppendedElsewhere');
      const appendedAt = performance.now();
      await other.append(`poll-${randomUUID()}`, [event], 'no_stream');
      await waitFor(() => seen.some((recorded) => recorded.id === event.id), 10_000);
      const seenAfterMs = performance.now() - appendedAt;
      // One slow interval at most, plus the read (slack for a loaded machine).
      assert.ok(seenAfterMs < SLOW_POLL_MS + 1000, `seen ${seenAfterMs.toFixed(0)} ms after the append`);

      const movedFrom = polls.length;
      await waitFor(() => polls.length >= movedFrom + 6, 10_000);
      const movedGaps = gapsOf(polls.slice(movedFrom, movedFrom + 6));
      assert.ok(
        movedGaps.some((gap) => gap < SLOW_GAP_FLOOR_MS),
        `after the log moved the store polls at its interval again: gaps ${movedGaps.map((gap) => gap.toFixed(0)).join(', ')}`,
      );
    } finally {
      subscription.unsubscribe();
      await other.close();
      await store.close();
    }
  });

  it('its own appends reach its subscription at once and leave the poll slow', async () => {
    const log = await storage.openLog();
    const polls = recordPolls(log);
    const store = new SqlEventStore(log, POLL_MS);
    const seen: RecordedEvent[] = [];
    const subscription = store.subscribeToAll({ after: await store.headPosition() }).subscribe((event) => seen.push(event));
    try {
      await delay(QUIET_AFTER_MS + 3 * SLOW_POLL_MS);
      const from = polls.length;
      for (let i = 0; i < 5; i++) {
        const event = newEvent('AppendedHere');
        const appendedAt = performance.now();
        await store.append(`poll-${randomUUID()}`, [event], 'no_stream');
        await waitFor(() => seen.some((recorded) => recorded.id === event.id), 10_000);
        // Woken by the append itself, not by a poll (a slow one is up to 80 ms away).
        assert.ok(performance.now() - appendedAt < SLOW_POLL_MS + 1000, 'own event delivered');
        await delay(SLOW_POLL_MS);
      }
      await delay(3 * SLOW_POLL_MS);
      const gaps = gapsOf(polls.slice(from));
      assert.ok(gaps.length >= 2, `the store still polls (${gaps.length + 1} polls)`);
      assert.ok(
        gaps.every((gap) => gap >= SLOW_GAP_FLOOR_MS),
        `polls stay at least ${SLOW_POLL_MS} ms apart through own appends: gaps ${gaps.map((gap) => gap.toFixed(0)).join(', ')}`,
      );
    } finally {
      subscription.unsubscribe();
      await store.close();
    }
  });
}

/** Records when the log's head is read (the store's poll), as performance.now() times. */
function recordPolls(log: SqlEventLog): number[] {
  const times: number[] = [];
  const headPosition = log.headPosition.bind(log);
  log.headPosition = () => {
    times.push(performance.now());
    return headPosition();
  };
  return times;
}

function gapsOf(times: readonly number[]): number[] {
  return times.slice(1).map((time, index) => time - times[index]!);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await delay(5);
  }
}
