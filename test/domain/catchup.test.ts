import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CATCHUP_SCAN_LIMIT, planCatchUp, type CatchUpInput } from '../../src/domain/catchup.js';

const d = (iso: string) => new Date(iso);
const isoList = (dates: Date[]) => dates.map((x) => x.toISOString().slice(11, 16));

// Every 10 minutes; last run 10:00; back at 11:05 with a 30-minute window: 10:10..11:00 missed, 10:40..11:00 within the window.
const base: CatchUpInput = {
  expression: '*/10 * * * *',
  timezone: 'UTC',
  lastDueAt: d('2026-05-01T10:00:00Z'),
  enabledAt: d('2025-01-01T00:00:00Z'),
  now: d('2026-05-01T11:05:00Z'),
  policy: 'latest',
  windowMinutes: 30,
};

describe('planCatchUp', () => {
  it('latest: runs the newest within the window once, skips the rest; older ones are outside the window', () => {
    const plan = planCatchUp(base);
    assert.deepEqual(isoList(plan.run), ['11:00']);
    assert.deepEqual(isoList(plan.skippedByPolicy), ['10:40', '10:50']);
    assert.deepEqual(isoList(plan.missedOutsideWindow), ['10:10', '10:20', '10:30']);
    assert.deepEqual(plan.truncated, []);
    assert.deepEqual(plan.counts, { missedOutsideWindow: 3, skippedByPolicy: 2, truncated: 0 });
    assert.equal(plan.countsExact, true);
    assert.equal(plan.lastDueAt?.toISOString(), '2026-05-01T11:00:00.000Z');
  });

  it('all: runs each within the window, oldest first', () => {
    const plan = planCatchUp({ ...base, policy: 'all' });
    assert.deepEqual(isoList(plan.run), ['10:40', '10:50', '11:00']);
    assert.deepEqual(plan.skippedByPolicy, []);
    assert.deepEqual(plan.counts, { missedOutsideWindow: 3, skippedByPolicy: 0, truncated: 0 });
  });

  it('skip: runs none and records them', () => {
    const plan = planCatchUp({ ...base, policy: 'skip' });
    assert.deepEqual(plan.run, []);
    assert.deepEqual(isoList(plan.skippedByPolicy), ['10:40', '10:50', '11:00']);
    assert.deepEqual(plan.counts, { missedOutsideWindow: 3, skippedByPolicy: 3, truncated: 0 });
    assert.equal(plan.lastDueAt?.toISOString(), '2026-05-01T11:00:00.000Z');
  });

  it('an instant exactly at now - window is within the window', () => {
    const plan = planCatchUp({ ...base, now: d('2026-05-01T11:10:00Z'), policy: 'all' });
    assert.deepEqual(isoList(plan.run), ['10:40', '10:50', '11:00', '11:10']);
    assert.deepEqual(isoList(plan.missedOutsideWindow), ['10:10', '10:20', '10:30']);
  });

  it('a window of 0 keeps only an instant at now itself', () => {
    assert.deepEqual(planCatchUp({ ...base, windowMinutes: 0 }).run, []);
    assert.equal(planCatchUp({ ...base, windowMinutes: 0 }).counts.missedOutsideWindow, 6);
    assert.deepEqual(isoList(planCatchUp({ ...base, windowMinutes: 0, now: d('2026-05-01T11:00:00Z') }).run), ['11:00']);
  });

  it('all: at most 100, oldest first; the rest truncated and counted', () => {
    const plan = planCatchUp({ ...base, expression: '* * * * *', now: d('2026-05-01T13:00:00Z'), windowMinutes: 180, policy: 'all' });
    assert.equal(plan.run.length, 100);
    assert.equal(plan.run[0]?.toISOString(), '2026-05-01T10:01:00.000Z');
    assert.equal(plan.run[99]?.toISOString(), '2026-05-01T11:40:00.000Z');
    assert.equal(plan.truncated.length, 80);
    assert.equal(plan.truncated[0]?.toISOString(), '2026-05-01T11:41:00.000Z');
    assert.deepEqual(plan.counts, { missedOutsideWindow: 0, skippedByPolicy: 0, truncated: 80 });
    assert.equal(plan.newest.truncated?.toISOString(), '2026-05-01T13:00:00.000Z');
    assert.equal(plan.lastDueAt?.toISOString(), '2026-05-01T13:00:00.000Z');
  });

  it('a 3-day downtime with a */1 cron: counted exactly, listed at most 100, quickly', () => {
    const started = process.hrtime.bigint();
    const plan = planCatchUp({
      ...base,
      expression: '*/1 * * * *',
      lastDueAt: d('2026-05-01T10:00:00Z'),
      now: d('2026-05-04T10:00:30Z'),
      windowMinutes: 60,
      policy: 'latest',
    });
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    assert.deepEqual(isoList(plan.run), ['10:00']);
    assert.equal(plan.run[0]?.toISOString(), '2026-05-04T10:00:00.000Z');
    // 3 days of minutes = 4320 due instants: 60 within the window (09:01..10:00), 4260 before it.
    assert.deepEqual(plan.counts, { missedOutsideWindow: 4260, skippedByPolicy: 59, truncated: 0 });
    assert.equal(plan.countsExact, true);
    assert.equal(plan.missedOutsideWindow.length, 100);
    assert.equal(plan.missedOutsideWindow[0]?.toISOString(), '2026-05-01T10:01:00.000Z');
    assert.equal(plan.newest.missedOutsideWindow?.toISOString(), '2026-05-04T09:00:00.000Z');
    assert.equal(plan.skippedByPolicy.length, 59);
    assert.ok(elapsedMs < 5000, `took ${elapsedMs} ms`);
  });

  it('a year of a per-second cron: enumeration capped, counts estimated, newest exact', () => {
    const started = process.hrtime.bigint();
    const plan = planCatchUp({
      ...base,
      expression: '* * * * * *',
      lastDueAt: d('2025-05-01T10:00:00Z'),
      now: d('2026-05-01T10:00:30Z'),
      windowMinutes: 60,
      policy: 'latest',
    });
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(plan.run[0]?.toISOString(), '2026-05-01T10:00:30.000Z');
    assert.equal(plan.countsExact, false);
    // Every second after 2025-05-01T10:00:00 and before the window (2026-05-01T09:00:30).
    const exact = 365 * 86_400 + 30 - 3600 - 1;
    assert.ok(Math.abs(plan.counts.missedOutsideWindow - exact) <= exact * 0.001, `estimate ${plan.counts.missedOutsideWindow} vs ${exact}`);
    assert.equal(plan.counts.skippedByPolicy, 3600); // 09:00:30 .. 10:00:29
    assert.equal(plan.newest.missedOutsideWindow?.toISOString(), '2026-05-01T09:00:29.000Z');
    assert.equal(plan.missedOutsideWindow.length, 100);
    assert.ok(CATCHUP_SCAN_LIMIT <= 10_000);
    assert.ok(elapsedMs < 5000, `took ${elapsedMs} ms`);
  });

  it('no catch-up for a disabled period: enabling starts from the enable time', () => {
    const plan = planCatchUp({
      ...base,
      lastDueAt: d('2026-05-01T10:00:00Z'),
      enabledAt: d('2026-05-03T09:55:00Z'),
      now: d('2026-05-03T10:30:00Z'),
      windowMinutes: 60,
    });
    assert.deepEqual(isoList(plan.run), ['10:30']);
    assert.deepEqual(isoList(plan.skippedByPolicy), ['10:00', '10:10', '10:20']);
    assert.equal(plan.counts.missedOutsideWindow, 0);
  });

  it('nothing due: an empty plan', () => {
    const plan = planCatchUp({ ...base, now: d('2026-05-01T10:09:59Z') });
    assert.deepEqual(plan.run, []);
    assert.deepEqual(plan.counts, { missedOutsideWindow: 0, skippedByPolicy: 0, truncated: 0 });
    assert.equal(plan.lastDueAt, null);
    assert.deepEqual(planCatchUp({ ...base, now: d('2026-05-01T09:00:00Z') }).run, []);
  });

  it('never recorded: starts from the enable time (or creation)', () => {
    const plan = planCatchUp({ ...base, lastDueAt: null, enabledAt: d('2026-05-01T10:45:00Z') });
    assert.deepEqual(isoList(plan.run), ['11:00']);
    assert.deepEqual(isoList(plan.skippedByPolicy), ['10:50']);
    assert.equal(plan.counts.missedOutsideWindow, 0);
  });

  it('evaluates the cron in the schedule zone, across a DST change (spring forward shifts 01:30)', () => {
    const plan = planCatchUp({
      ...base,
      expression: '30 1 * * *',
      timezone: 'Europe/London',
      lastDueAt: d('2026-03-27T01:30:00Z'),
      now: d('2026-03-30T12:00:00Z'),
      windowMinutes: 5 * 24 * 60,
      policy: 'all',
    });
    // 28th 01:30 GMT; 29th 01:30 does not exist -> 02:30 BST = 01:30Z; 30th 01:30 BST = 00:30Z.
    assert.deepEqual(
      plan.run.map((x) => x.toISOString()),
      ['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z'],
    );
  });
});
