/**
 * The ticker on an SQLite event store, driven by a manual clock: due instants,
 * jitter, live edits, DST, catch-up after downtime, health and metrics.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { newCommandContext } from '../../src/commands/command-context.js';
import { newId } from '../../src/commands/ids.js';
import { runDecider } from '../../src/commands/run-decider.js';
import { jitterOffsetSeconds } from '../../src/domain/cron.js';
import { streamIds } from '../../src/domain/events.js';
import { executionIdFor } from '../../src/domain/execution-ids.js';
import { scheduleDecider, type ScheduleCommand } from '../../src/domain/schedule.js';
import type { ScheduleSettings } from '../../src/domain/schedule-fields.js';
import type { EventStore, RecordedEvent } from '../../src/eventstore/event-store.js';
import { openSqliteEventStore } from '../../src/eventstore/sql-event-store.js';
import { Ticker, type TickerMetric, type TickerOptions, type TimerPort } from '../../src/processes/ticker.js';
import { driveUntil, ManualClock } from '../support/manual-clock.js';

const logger = pino({ level: 'silent' });
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let dir: string;
let store: EventStore;
let clock: ManualClock;
const running: Ticker[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ticker-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const ticker of running.splice(0)) await ticker.stop();
  await store?.close();
});

/** A fresh store and clock for one test. */
async function fresh(start: string): Promise<void> {
  store = await openSqliteEventStore({ filename: join(dir, `${newId()}.sqlite`), pollIntervalMs: 20 });
  clock = new ManualClock(start);
}

async function startTicker(options: TickerOptions = {}, metrics?: TickerMetric[], timers: TimerPort = clock): Promise<Ticker> {
  const ticker = new Ticker({ store, clock, timers, logger }, { maxSleepMs: 6 * HOUR, ...options });
  if (metrics) ticker.metrics.subscribe((m) => metrics.push(m));
  running.push(ticker);
  await ticker.start();
  await ticker.whenIdle();
  return ticker;
}

async function stopTicker(ticker: Ticker): Promise<void> {
  await ticker.stop();
  running.splice(running.indexOf(ticker), 1);
}

/** A schedule command as the API would send it, at the clock's time. */
async function command(id: string, build: (meta: { at: string; actor: string }) => ScheduleCommand): Promise<void> {
  const context = newCommandContext({ actor: 'user:test', source: 'api', at: clock.now() });
  await runDecider(store, streamIds.schedule(id), scheduleDecider, () => build({ at: context.at, actor: context.actor }), context);
}

async function createSchedule(settings: Partial<ScheduleSettings>): Promise<string> {
  const id = newId();
  const parentId = settings.chain_parent_schedule_id;
  const parent = parentId ? { parent_id: parentId, exists: true, ancestor_ids: [parentId] } : null;
  await command(id, (meta) => ({ type: 'CreateSchedule', schedule_id: id, input: { name: `schedule ${id}`, ...settings }, parent, ...meta }));
  return id;
}

const updateSchedule = (id: string, changes: Partial<ScheduleSettings>) =>
  command(id, (meta) => ({ type: 'UpdateSchedule', schedule_id: id, changes, parent: null, ...meta }));
const setEnabled = (id: string, enabled: boolean) => command(id, (meta) => ({ type: 'SetScheduleEnabled', schedule_id: id, enabled, ...meta }));
const deleteSchedule = (id: string) =>
  command(id, (meta) => ({ type: 'DeleteSchedule', schedule_id: id, references: { group_ids: [], chain_child_ids: [], override_vm_ids: [] }, ...meta }));

async function log(): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let position: string | null = null;
  for (;;) {
    const page = await store.readAll({ after: position, maxCount: 1000 });
    if (page.length === 0) return events;
    events.push(...page);
    position = page[page.length - 1]!.position;
  }
}

interface DueData {
  schedule_id: string;
  execution_id: string;
  due_at: string;
  fire_at: string;
  trigger: string;
  at: string;
}
interface MissedData {
  schedule_id: string;
  due_instants: string[];
  count: number;
  last_due_at: string;
  reason: string;
}

async function dues(id: string): Promise<DueData[]> {
  return (await log()).filter((e) => e.type === 'ExecutionDue' && e.data.schedule_id === id).map((e) => e.data as unknown as DueData);
}
async function missed(id: string): Promise<MissedData[]> {
  return (await log()).filter((e) => e.type === 'RunsMissed' && e.data.schedule_id === id).map((e) => e.data as unknown as MissedData);
}
const dueAts = (list: DueData[]) => list.map((d) => d.due_at);
const iso = (ms: number) => new Date(ms).toISOString();

/** Every `stepMs` instant in [from, to], as ISO strings. */
function every(stepMs: number, from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += stepMs) out.push(iso(t));
  return out;
}

describe('Ticker: due instants', () => {
  it('records each due instant at its fire instant and sleeps until the next one', async () => {
    await fresh('2026-05-01T10:02:00Z');
    const id = await createSchedule({ cron_expression: '*/15 * * * *' });
    const metrics: TickerMetric[] = [];
    const ticker = await startTicker({}, metrics);
    assert.equal(ticker.health().next_due_at, '2026-05-01T10:15:00.000Z');
    // Asleep until the earliest entry: no per-second polling.
    assert.equal(clock.nextDeadline()?.toISOString(), '2026-05-01T10:15:00.000Z');
    assert.equal(clock.pendingTimers, 1);

    await driveUntil(clock, [ticker], '2026-05-01T11:05:00Z');
    const recorded = await dues(id);
    assert.deepEqual(dueAts(recorded), every(15 * MINUTE, '2026-05-01T10:15:00Z', '2026-05-01T11:00:00Z'));
    for (const due of recorded) {
      assert.equal(due.execution_id, executionIdFor(id, due.due_at));
      assert.equal(due.trigger, 'cron');
      assert.equal(due.fire_at, due.due_at);
      assert.ok(Date.parse(due.at) - Date.parse(due.fire_at) < 1000, `recorded within a second: ${due.at} for ${due.fire_at}`);
    }
    const lags = metrics.filter((m) => m.type === 'due_recorded').map((m) => (m.type === 'due_recorded' ? m.lag_ms : -1));
    assert.deepEqual(lags, [0, 0, 0, 0]);
    const events = (await log()).filter((e) => e.type === 'ExecutionDue');
    assert.ok(events.every((e) => e.metadata.source === 'ticker' && e.metadata.actor === 'ticker'));
    assert.equal(ticker.health().next_due_at, '2026-05-01T11:15:00.000Z');
    assert.equal(clock.nextDeadline()?.toISOString(), '2026-05-01T11:15:00.000Z');
  });

  it('wakes at least every maxSleepMs, and stays asleep between (heartbeat)', async () => {
    await fresh('2026-05-01T10:00:30Z');
    await createSchedule({ cron_expression: '0 12 * * *' });
    const ticker = await startTicker({ maxSleepMs: 1000 });
    assert.equal(clock.nextDeadline()?.toISOString(), '2026-05-01T10:00:31.000Z');
    const before = ticker.health();
    assert.equal(before.healthy, true);
    assert.equal(before.loop_interval_ms, 1000);
    assert.equal(before.last_loop_at, '2026-05-01T10:00:30.000Z');
    await driveUntil(clock, [ticker], '2026-05-01T10:00:35Z');
    assert.equal(ticker.health().last_loop_at, '2026-05-01T10:00:35.000Z');
    assert.equal(ticker.health().schedules, 1);
  });

  it('fires at the due instant plus the deterministic jitter', async () => {
    await fresh('2026-05-01T09:50:00Z');
    const id = await createSchedule({ cron_expression: '0 * * * *', jitter_seconds: 900 });
    const due = new Date('2026-05-01T10:00:00Z');
    const offset = jitterOffsetSeconds(id, due, 900);
    const fire = due.getTime() + offset * 1000;
    const ticker = await startTicker();
    assert.equal(clock.nextDeadline()?.getTime(), fire);
    await driveUntil(clock, [ticker], fire - 1);
    assert.deepEqual(await dues(id), [], 'nothing before the fire instant');
    await driveUntil(clock, [ticker], fire);
    const [recorded] = await dues(id);
    assert.equal(recorded?.due_at, due.toISOString());
    assert.equal(recorded?.fire_at, iso(fire));
    assert.equal(recorded?.at, iso(fire));
  });

  it('does not tick chain schedules, disabled ones or deleted ones', async () => {
    await fresh('2026-05-01T10:00:00Z');
    const parent = await createSchedule({ cron_expression: '*/5 * * * *' });
    await createSchedule({ schedule_type: 'chain', cron_expression: null, chain_parent_schedule_id: parent });
    const off = await createSchedule({ cron_expression: '*/5 * * * *', enabled: false });
    const gone = await createSchedule({ cron_expression: '*/5 * * * *' });
    await deleteSchedule(gone);
    const ticker = await startTicker();
    assert.equal(ticker.health().schedules, 1);
    await driveUntil(clock, [ticker], '2026-05-01T10:30:00Z');
    const all = (await log()).filter((e) => e.type === 'ExecutionDue');
    assert.equal(all.length, 6);
    assert.ok(all.every((e) => e.data.schedule_id === parent));
    assert.deepEqual(await dues(off), []);
  });
});

describe('Ticker: live changes, without a restart', () => {
  it('a cron edit takes effect on the next tick', async () => {
    await fresh('2026-05-01T10:00:30Z');
    const id = await createSchedule({ cron_expression: '0 * * * *' });
    const ticker = await startTicker();
    await driveUntil(clock, [ticker], '2026-05-01T10:20:00Z');
    await updateSchedule(id, { cron_expression: '*/10 * * * *' });
    await ticker.whenIdle();
    assert.equal(ticker.health().next_due_at, '2026-05-01T10:30:00.000Z');
    await driveUntil(clock, [ticker], '2026-05-01T11:00:00Z');
    assert.deepEqual(dueAts(await dues(id)), ['2026-05-01T10:30:00.000Z', '2026-05-01T10:40:00.000Z', '2026-05-01T10:50:00.000Z', '2026-05-01T11:00:00.000Z']);
  });

  it('a time zone edit takes effect on the next tick', async () => {
    await fresh('2026-05-01T08:00:00Z');
    const id = await createSchedule({ cron_expression: '0 9 * * *' });
    const ticker = await startTicker();
    await driveUntil(clock, [ticker], '2026-05-01T10:00:00Z');
    await updateSchedule(id, { timezone: 'America/New_York' });
    await driveUntil(clock, [ticker], '2026-05-03T00:00:00Z');
    // 09:00 UTC once, then 09:00 in New York (EDT, UTC-4).
    assert.deepEqual(dueAts(await dues(id)), ['2026-05-01T09:00:00.000Z', '2026-05-01T13:00:00.000Z', '2026-05-02T13:00:00.000Z']);
  });

  it('disable removes the schedule; enable starts from the enable time, with no catch-up', async () => {
    await fresh('2026-05-01T10:00:30Z');
    const id = await createSchedule({ cron_expression: '*/10 * * * *', catchup_policy: 'all' });
    const ticker = await startTicker();
    await driveUntil(clock, [ticker], '2026-05-01T10:15:00Z');
    await setEnabled(id, false);
    await ticker.whenIdle();
    assert.equal(ticker.health().schedules, 0);
    assert.equal(ticker.health().next_due_at, null);
    await driveUntil(clock, [ticker], '2026-05-01T11:05:00Z');
    await setEnabled(id, true);
    await ticker.whenIdle();
    assert.equal(ticker.health().next_due_at, '2026-05-01T11:10:00.000Z');
    await driveUntil(clock, [ticker], '2026-05-01T11:30:00Z');
    assert.deepEqual(dueAts(await dues(id)), ['2026-05-01T10:10:00.000Z', '2026-05-01T11:10:00.000Z', '2026-05-01T11:20:00.000Z', '2026-05-01T11:30:00.000Z']);
    assert.deepEqual(await missed(id), []);
  });

  it('delete removes the schedule', async () => {
    await fresh('2026-05-01T10:00:30Z');
    const id = await createSchedule({ cron_expression: '*/10 * * * *' });
    const ticker = await startTicker();
    await driveUntil(clock, [ticker], '2026-05-01T10:15:00Z');
    await deleteSchedule(id);
    await ticker.whenIdle();
    assert.equal(ticker.health().schedules, 0);
    await driveUntil(clock, [ticker], '2026-05-01T11:00:00Z');
    assert.deepEqual(dueAts(await dues(id)), ['2026-05-01T10:10:00.000Z']);
  });

  it('a schedule created while asleep wakes the loop for its earlier instant', async () => {
    await fresh('2026-05-01T10:00:30Z');
    await createSchedule({ cron_expression: '0 18 * * *' });
    const ticker = await startTicker();
    assert.equal(clock.nextDeadline()?.toISOString(), '2026-05-01T16:00:30.000Z', 'asleep for maxSleepMs');
    const id = await createSchedule({ cron_expression: '5 10 * * *' });
    await ticker.whenIdle();
    assert.equal(clock.nextDeadline()?.toISOString(), '2026-05-01T10:05:00.000Z');
    assert.equal(ticker.health().schedules, 2);
    await driveUntil(clock, [ticker], '2026-05-01T10:06:00Z');
    const [recorded] = await dues(id);
    assert.equal(recorded?.at, '2026-05-01T10:05:00.000Z');
  });

  it('skips an instant another writer recorded already, and plans the one after', async () => {
    await fresh('2026-05-01T10:00:30Z');
    const id = await createSchedule({ cron_expression: '*/10 * * * *' });
    const ticker = await startTicker();
    // Another instance records 10:10 a little early (within the decider's clock tolerance).
    clock.set('2026-05-01T10:09:58Z');
    const context = newCommandContext({ actor: 'ticker', source: 'ticker', at: clock.now() });
    await runDecider(store, streamIds.schedule(id), scheduleDecider, () => ({ type: 'RecordDue' as const, schedule_id: id, due_at: '2026-05-01T10:10:00.000Z', trigger: 'cron' as const, at: context.at, actor: 'ticker' }), context);
    await ticker.whenIdle();
    assert.equal(ticker.health().next_due_at, '2026-05-01T10:20:00.000Z');
    await driveUntil(clock, [ticker], '2026-05-01T10:20:00Z');
    assert.deepEqual(dueAts(await dues(id)), ['2026-05-01T10:10:00.000Z', '2026-05-01T10:20:00.000Z']);
  });
});

describe('Ticker: DST in Europe/London', () => {
  it('2026-03-29 (spring forward): a daily 01:30 fires once each day; */30 at every real instant', async () => {
    await fresh('2026-03-27T12:00:00Z');
    const daily = await createSchedule({ cron_expression: '30 1 * * *', timezone: 'Europe/London' });
    const halfHourly = await createSchedule({ cron_expression: '*/30 * * * *', timezone: 'Europe/London' });
    const ticker = await startTicker();
    await driveUntil(clock, [ticker], '2026-03-31T00:00:00Z');
    // 01:30 does not exist on 03-29: shifted forward by the gap to 02:30 BST (01:30Z).
    assert.deepEqual(dueAts(await dues(daily)), ['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
    // London's offsets are whole hours: the real instants with a wall time at :00 or :30 are every half hour in UTC.
    const halfHours = dueAts(await dues(halfHourly));
    assert.deepEqual(halfHours, every(30 * MINUTE, '2026-03-27T12:30:00Z', '2026-03-31T00:00:00Z'));
    // The local day of 03-29 (00:00 GMT to 24:00 BST) has 23 hours: 46 instants.
    assert.equal(halfHours.filter((t) => t >= '2026-03-29T00:00:00.000Z' && t < '2026-03-29T23:00:00.000Z').length, 46);
    assert.equal(new Set(halfHours).size, halfHours.length);
  });

  it('2026-10-25 (fall back): a daily 01:30 fires once, at the first instant; */30 at every real instant', async () => {
    await fresh('2026-10-23T12:00:00Z');
    const daily = await createSchedule({ cron_expression: '30 1 * * *', timezone: 'Europe/London' });
    const halfHourly = await createSchedule({ cron_expression: '*/30 * * * *', timezone: 'Europe/London' });
    const ticker = await startTicker();
    await driveUntil(clock, [ticker], '2026-10-27T00:00:00Z');
    // 01:30 happens twice on 10-25: once, at 01:30 BST (00:30Z).
    assert.deepEqual(dueAts(await dues(daily)), ['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    const halfHours = dueAts(await dues(halfHourly));
    assert.deepEqual(halfHours, every(30 * MINUTE, '2026-10-23T12:30:00Z', '2026-10-27T00:00:00Z'));
    // The local day of 10-25 (00:00 BST to 24:00 GMT) has 25 hours: 50 instants, the repeated hour twice.
    assert.equal(halfHours.filter((t) => t >= '2026-10-24T23:00:00.000Z' && t < '2026-10-26T00:00:00.000Z').length, 50);
  });
});

describe('Ticker: after downtime', () => {
  it('applies each catch-up policy within the window; what it drops is recorded and counted', async () => {
    await fresh('2026-05-01T10:00:30Z');
    const common = { cron_expression: '*/10 * * * *', catchup_window_minutes: 60 };
    const latest = await createSchedule({ ...common, catchup_policy: 'latest' });
    const all = await createSchedule({ ...common, catchup_policy: 'all' });
    const skip = await createSchedule({ ...common, catchup_policy: 'skip' });
    const first = await startTicker();
    await driveUntil(clock, [first], '2026-05-01T10:15:00Z');
    await stopTicker(first);

    // Down for about three hours: 10:20 ... 13:10 are missed (18 instants); the window is 12:15 .. 13:15.
    clock.advance(3 * HOUR);
    const metrics: TickerMetric[] = [];
    const second = await startTicker({}, metrics);
    const inWindow = every(10 * MINUTE, '2026-05-01T12:20:00Z', '2026-05-01T13:10:00Z');
    const outside = every(10 * MINUTE, '2026-05-01T10:20:00Z', '2026-05-01T12:10:00Z');

    const byReason = (list: MissedData[]) => Object.fromEntries(list.map((m) => [m.reason, { count: m.count, instants: m.due_instants }]));
    // latest: the newest once; the rest of the window skipped by policy.
    const latestDues = await dues(latest);
    assert.deepEqual(dueAts(latestDues), ['2026-05-01T10:10:00.000Z', '2026-05-01T13:10:00.000Z']);
    assert.equal(latestDues[1]?.trigger, 'catchup');
    assert.deepEqual(byReason(await missed(latest)), {
      outside_catchup_window: { count: 12, instants: outside },
      catchup_policy_skip: { count: 5, instants: inWindow.slice(0, -1) },
    });
    // all: each instant of the window, oldest first.
    const allDues = await dues(all);
    assert.deepEqual(dueAts(allDues), ['2026-05-01T10:10:00.000Z', ...inWindow]);
    assert.ok(allDues.slice(1).every((d) => d.trigger === 'catchup'));
    assert.deepEqual(byReason(await missed(all)), { outside_catchup_window: { count: 12, instants: outside } });
    // skip: nothing runs; all recorded as missed.
    assert.deepEqual(dueAts(await dues(skip)), ['2026-05-01T10:10:00.000Z']);
    assert.deepEqual(byReason(await missed(skip)), {
      outside_catchup_window: { count: 12, instants: outside },
      catchup_policy_skip: { count: 6, instants: inWindow },
    });

    // Counted per schedule by the metrics.
    const missedCounts = new Map<string, number>();
    for (const m of metrics) if (m.type === 'runs_missed') missedCounts.set(m.schedule_id, (missedCounts.get(m.schedule_id) ?? 0) + m.count);
    assert.deepEqual(Object.fromEntries(missedCounts), { [latest]: 17, [all]: 12, [skip]: 18 });

    // Then back to normal ticks.
    await driveUntil(clock, [second], '2026-05-01T13:20:00Z');
    for (const id of [latest, all, skip]) {
      const last = (await dues(id)).at(-1);
      assert.equal(last?.due_at, '2026-05-01T13:20:00.000Z');
      assert.equal(last?.trigger, 'cron');
    }
  });

  it('catches up from the enable time, never over the disabled period', async () => {
    await fresh('2026-05-01T10:00:30Z');
    const id = await createSchedule({ cron_expression: '*/10 * * * *', catchup_policy: 'all', catchup_window_minutes: 600 });
    const first = await startTicker();
    await driveUntil(clock, [first], '2026-05-01T10:05:00Z');
    await setEnabled(id, false);
    await stopTicker(first);
    clock.set('2026-05-01T13:02:00Z');
    await setEnabled(id, true); // while no ticker runs
    clock.set('2026-05-01T13:25:00Z');
    const second = await startTicker();
    assert.deepEqual(dueAts(await dues(id)), ['2026-05-01T13:10:00.000Z', '2026-05-01T13:20:00.000Z']);
    assert.deepEqual(await missed(id), []);
    assert.equal(second.health().next_due_at, '2026-05-01T13:30:00.000Z');
  });

  it('a restart within a due instant records nothing twice and misses nothing', async () => {
    await fresh('2026-05-01T10:00:30Z');
    const id = await createSchedule({ cron_expression: '*/10 * * * *' });
    const first = await startTicker();
    await driveUntil(clock, [first], '2026-05-01T10:10:00Z');
    await stopTicker(first);
    const second = await startTicker();
    await driveUntil(clock, [second], '2026-05-01T10:30:00Z');
    assert.deepEqual(dueAts(await dues(id)), every(10 * MINUTE, '2026-05-01T10:10:00Z', '2026-05-01T10:30:00Z'));
    assert.deepEqual(await missed(id), []);
  });

  it('a stall longer than stallMs (a clock jump) goes through catch-up', async () => {
    await fresh('2026-05-01T10:00:30Z');
    const id = await createSchedule({ cron_expression: '*/10 * * * *', catchup_policy: 'skip' });
    const ticker = await startTicker({ stallMs: 5 * MINUTE });
    await driveUntil(clock, [ticker], '2026-05-01T10:10:00Z');
    clock.set('2026-05-01T10:45:00Z'); // the loop sleeps past 10:20, 10:30, 10:40
    await ticker.whenIdle();
    assert.deepEqual(dueAts(await dues(id)), ['2026-05-01T10:10:00.000Z']);
    const [skipped] = await missed(id);
    assert.deepEqual(skipped?.due_instants, every(10 * MINUTE, '2026-05-01T10:20:00Z', '2026-05-01T10:40:00Z'));
    assert.equal(ticker.health().next_due_at, '2026-05-01T10:50:00.000Z');
  });
});

describe('Ticker: health', () => {
  it('is unhealthy when the loop stops ticking, and after stop', async () => {
    await fresh('2026-05-01T10:00:00Z');
    await createSchedule({ cron_expression: '0 * * * *' });
    // Timers that never fire: the loop stalls while the clock moves on.
    const frozen: TimerPort = { setTimeout: () => () => undefined };
    const ticker = new Ticker({ store, clock, timers: frozen, logger }, { maxSleepMs: 1000 });
    running.push(ticker);
    assert.equal(ticker.health().healthy, false, 'not before start');
    await ticker.start();
    assert.equal(ticker.health().healthy, true);
    clock.advance(2000);
    assert.equal(ticker.health().healthy, true, 'within twice the interval');
    clock.advance(1);
    assert.equal(ticker.health().healthy, false);
    assert.equal(ticker.health().last_loop_at, '2026-05-01T10:00:00.000Z');

    const live = await startTicker({ maxSleepMs: 1000 });
    assert.equal(live.health().healthy, true);
    await stopTicker(live);
    assert.equal(live.health().healthy, false);
  });

  it('retries a failed record later instead of spinning', async () => {
    await fresh('2026-05-01T10:00:30Z');
    const id = await createSchedule({ cron_expression: '*/10 * * * *' });
    let failing = true;
    let attempts = 0;
    const realAppend = store.append.bind(store);
    store.append = async (...args) => {
      if (args[0] === streamIds.schedule(id)) {
        attempts += 1;
        if (failing) throw new Error('database unavailable');
      }
      return realAppend(...args);
    };
    const ticker = await startTicker({ retryDelayMs: 1000 });
    await driveUntil(clock, [ticker], '2026-05-01T10:10:00Z');
    assert.equal(attempts, 1);
    await driveUntil(clock, [ticker], '2026-05-01T10:10:05Z');
    assert.equal(attempts, 3, 'retried after 1 s, then 2 s');
    failing = false;
    await driveUntil(clock, [ticker], '2026-05-01T10:10:10Z');
    assert.deepEqual(dueAts(await dues(id)), ['2026-05-01T10:10:00.000Z']);
    assert.equal(ticker.health().next_due_at, '2026-05-01T10:20:00.000Z');
  });
});
