import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jitterOffsetSeconds } from '../../src/domain/cron.js';
import type { ScheduleCreated, ScheduleEvent } from '../../src/domain/events.js';
import { executionIdFor } from '../../src/domain/execution-ids.js';
import { dueRefusal, scheduleDecider, type ScheduleCommand, type ScheduleState } from '../../src/domain/schedule.js';
import { SCHEDULE_DEFAULTS, type ScheduleSettings } from '../../src/domain/schedule-fields.js';
import { given } from './given-when-then.js';

const CREATED_AT = '2026-05-01T09:30:00.000Z';

function created(settings: Partial<ScheduleSettings> = {}, id = 's1'): ScheduleCreated {
  return {
    type: 'ScheduleCreated',
    data: { schedule_id: id, ...SCHEDULE_DEFAULTS, name: 'Hourly', cron_expression: '0 * * * *', ...settings, created_at: CREATED_AT, created_by: 'alice' },
  };
}
const recordDue = (due_at: string, at = due_at, trigger: 'cron' | 'catchup' = 'cron'): ScheduleCommand => ({
  type: 'RecordDue',
  schedule_id: 's1',
  due_at,
  trigger,
  at,
  actor: 'ticker',
});
const due = (due_at: string, at = due_at, trigger: 'cron' | 'catchup' = 'cron', fire_at = due_at): ScheduleEvent => ({
  type: 'ExecutionDue',
  data: { schedule_id: 's1', execution_id: executionIdFor('s1', due_at), due_at, fire_at, trigger, at },
});
const catchUp = (at: string): ScheduleCommand => ({ type: 'RecordCatchUp', schedule_id: 's1', at, actor: 'ticker' });
const enabled = (at: string): ScheduleEvent => ({ type: 'ScheduleEnabled', data: { schedule_id: 's1', at } });
const disabled = (at: string): ScheduleEvent => ({ type: 'ScheduleDisabled', data: { schedule_id: 's1', at } });
const fold = (events: ScheduleEvent[]): ScheduleState => events.reduce(scheduleDecider.evolve, scheduleDecider.initialState);

const T10 = '2026-05-01T10:00:00.000Z';
const T11 = '2026-05-01T11:00:00.000Z';

describe('executionIdFor', () => {
  it('is the schedule id and the compact due instant', () => {
    assert.equal(executionIdFor('s1', '2026-05-01T10:00:00.000Z'), 's1-20260501T100000Z');
    assert.equal(executionIdFor('s1', new Date('2026-05-01T10:00:00Z')), 's1-20260501T100000Z');
    assert.equal(executionIdFor('s1', '2026-05-01T10:00:00.250Z'), 's1-20260501T100000250Z');
    assert.equal(executionIdFor('s1', '2026-05-01T12:00:00+02:00'), 's1-20260501T100000Z');
  });
});

describe('RecordDue', () => {
  it('records ExecutionDue with the deterministic execution id', () => {
    given(scheduleDecider, [created()]).when(recordDue(T10, '2026-05-01T10:00:00.300Z')).then([due(T10, '2026-05-01T10:00:00.300Z')]);
  });

  it('fire_at is the due instant plus the deterministic jitter offset', () => {
    const offset = jitterOffsetSeconds('s1', new Date(T10), 600);
    assert.ok(offset > 0 && offset < 600);
    const fire = new Date(Date.parse(T10) + offset * 1000).toISOString();
    given(scheduleDecider, [created({ jitter_seconds: 600 })]).when(recordDue(T10)).then([due(T10, T10, 'cron', fire)]);
  });

  it('two tickers: the same due instant again records nothing, nor does an older one', () => {
    const history = [created(), due(T11)];
    given(scheduleDecider, history).when(recordDue(T11)).then([]);
    given(scheduleDecider, history).when(recordDue(T10, T11)).then([]);
    assert.equal(dueRefusal(fold(history), new Date(T11), new Date(T11)), 'already_recorded');
  });

  it('two tickers racing: both decide on the same revision, the append with the expected revision lets one through, the other decides again and finds it recorded', () => {
    const first = scheduleDecider.decide(recordDue(T10), fold([created()]));
    assert.equal(first.length, 1);
    const afterFirst = fold([created(), ...first]);
    assert.deepEqual(scheduleDecider.decide(recordDue(T10), afterFirst), []);
  });

  it('advances last_due_at', () => {
    given(scheduleDecider, [created()])
      .when(recordDue(T10))
      .thenState((s) => {
        assert.ok(s.status === 'active');
        assert.equal(s.last_due_at, T10);
      });
  });

  it('records nothing for a disabled, deleted or chain schedule', () => {
    given(scheduleDecider, [created({ enabled: false })]).when(recordDue(T10)).then([]);
    given(scheduleDecider, [created(), disabled('2026-05-01T09:40:00.000Z')]).when(recordDue(T10)).then([]);
    given(scheduleDecider, [created(), { type: 'ScheduleDeleted', data: { schedule_id: 's1', name: 'Hourly', at: CREATED_AT } }])
      .when(recordDue(T10))
      .then([]);
    const chain = created({ schedule_type: 'chain', cron_expression: null, chain_parent_schedule_id: 'p1' });
    given(scheduleDecider, [chain]).when(recordDue(T10)).then([]);
    given(scheduleDecider).when(recordDue(T10)).then([]);
    assert.equal(dueRefusal(fold([chain]), new Date(T10), new Date(T10)), 'chain');
    assert.equal(dueRefusal(fold([]), new Date(T10), new Date(T10)), 'absent');
  });

  it('records nothing for an instant that is not due, before the enable time, or in the future', () => {
    const state = fold([created()]);
    assert.equal(dueRefusal(state, new Date('2026-05-01T10:30:00Z'), new Date('2026-05-01T10:30:00Z')), 'not_due');
    assert.equal(dueRefusal(state, new Date('2026-05-01T09:00:00Z'), new Date(T10)), 'before_enabled');
    assert.equal(dueRefusal(state, new Date(T11), new Date(T10)), 'in_the_future');
    assert.equal(dueRefusal(state, new Date(T10), new Date('2026-05-01T09:59:58Z')), null); // a clock a little ahead is fine
    const reEnabled = fold([created(), disabled('2026-05-01T09:40:00.000Z'), enabled('2026-05-01T10:00:00.000Z')]);
    assert.equal(dueRefusal(reEnabled, new Date(T10), new Date(T10)), 'before_enabled');
    assert.equal(dueRefusal(reEnabled, new Date(T11), new Date(T11)), null);
  });

  it('an edited expression takes effect on the next tick: instants of the old one are not due', () => {
    const edited: ScheduleEvent = {
      type: 'ScheduleUpdated',
      data: { schedule_id: 's1', changes: { cron_expression: '30 * * * *' }, updated_at: '2026-05-01T09:45:00.000Z' },
    };
    given(scheduleDecider, [created(), edited]).when(recordDue(T10)).then([]);
    given(scheduleDecider, [created(), edited])
      .when(recordDue('2026-05-01T10:30:00.000Z'))
      .then([due('2026-05-01T10:30:00.000Z')]);
  });

  it('refuses a malformed instant', () => {
    given(scheduleDecider, [created()]).when(recordDue('yesterday', T10)).thenThrows('ValidationError', '/due_at');
  });
});

describe('schedule state for the ticker', () => {
  it('enabled_at is the creation, then the last enable; cron_changed_at follows timing edits', () => {
    const s1 = fold([created()]);
    assert.ok(s1.status === 'active');
    assert.equal(s1.enabled_at, CREATED_AT);
    assert.equal(s1.cron_changed_at, CREATED_AT);
    assert.equal(s1.last_due_at, null);
    const s2 = fold([
      created(),
      disabled('2026-05-02T00:00:00.000Z'),
      enabled('2026-05-03T00:00:00.000Z'),
      { type: 'ScheduleUpdated', data: { schedule_id: 's1', changes: { max_concurrent_jobs: 3 }, updated_at: '2026-05-04T00:00:00.000Z' } },
    ]);
    assert.ok(s2.status === 'active');
    assert.equal(s2.enabled_at, '2026-05-03T00:00:00.000Z');
    assert.equal(s2.cron_changed_at, CREATED_AT);
    const s3 = fold([
      created(),
      { type: 'ScheduleUpdated', data: { schedule_id: 's1', changes: { timezone: 'Europe/London' }, updated_at: '2026-05-04T00:00:00.000Z' } },
    ]);
    assert.ok(s3.status === 'active');
    assert.equal(s3.cron_changed_at, '2026-05-04T00:00:00.000Z');
  });
});

describe('RecordMissedRuns', () => {
  const cmd = (over: Partial<Extract<ScheduleCommand, { type: 'RecordMissedRuns' }>> = {}): ScheduleCommand => ({
    type: 'RecordMissedRuns',
    schedule_id: 's1',
    due_instants: [T10, T11],
    reason: 'outside_catchup_window',
    at: '2026-05-01T12:30:00.000Z',
    actor: 'ticker',
    ...over,
  });

  it('records the instants, counted, and advances last_due_at', () => {
    given(scheduleDecider, [created()])
      .when(cmd())
      .then([
        {
          type: 'RunsMissed',
          data: {
            schedule_id: 's1',
            due_instants: [T10, T11],
            count: 2,
            count_exact: true,
            last_due_at: T11,
            reason: 'outside_catchup_window',
            at: '2026-05-01T12:30:00.000Z',
          },
        },
      ]);
    given(scheduleDecider, [created()])
      .when(cmd())
      .thenState((s) => assert.ok(s.status === 'active' && s.last_due_at === T11));
  });

  it('keeps at most 100 listed and counts the rest', () => {
    const many = Array.from({ length: 150 }, (_, i) => new Date(Date.parse(T10) + i * 60_000).toISOString());
    const [event] = scheduleDecider.decide(cmd({ due_instants: many, count: 400, last_due_at: '2026-05-01T20:00:00.000Z' }), fold([created()]));
    assert.ok(event?.type === 'RunsMissed');
    assert.equal(event.data.due_instants.length, 100);
    assert.equal(event.data.count, 400);
    assert.equal(event.data.last_due_at, '2026-05-01T20:00:00.000Z');
  });

  it('records nothing when already covered (a second ticker)', () => {
    given(scheduleDecider, [created(), due(T11)]).when(cmd()).then([]);
  });
});

describe('RecordCatchUp', () => {
  // Every 10 minutes, last recorded 10:00, back at 11:05; window 30 minutes.
  const every10 = (settings: Partial<ScheduleSettings>) => [
    created({ cron_expression: '*/10 * * * *', catchup_window_minutes: 30, ...settings }),
    due(T10),
  ];
  const NOW = '2026-05-01T11:05:00.000Z';
  const missed = (reason: string, instants: string[], last: string, count = instants.length): ScheduleEvent =>
    ({
      type: 'RunsMissed',
      data: {
        schedule_id: 's1',
        due_instants: instants.map((t) => `2026-05-01T${t}:00.000Z`),
        count,
        count_exact: true,
        last_due_at: `2026-05-01T${last}:00.000Z`,
        reason,
        at: NOW,
      },
    }) as ScheduleEvent;
  const catchupDue = (t: string) => due(`2026-05-01T${t}:00.000Z`, NOW, 'catchup');

  it('latest: drops those outside the window, runs the newest, skips the rest', () => {
    given(scheduleDecider, every10({ catchup_policy: 'latest' }))
      .when(catchUp(NOW))
      .then([
        missed('outside_catchup_window', ['10:10', '10:20', '10:30'], '10:30'),
        missed('catchup_policy_skip', ['10:40', '10:50'], '10:50'),
        catchupDue('11:00'),
      ]);
  });

  it('all: runs each within the window, oldest first', () => {
    given(scheduleDecider, every10({ catchup_policy: 'all' }))
      .when(catchUp(NOW))
      .then([missed('outside_catchup_window', ['10:10', '10:20', '10:30'], '10:30'), catchupDue('10:40'), catchupDue('10:50'), catchupDue('11:00')]);
  });

  it('all: past 100, the rest is recorded as catchup_limit', () => {
    const events = scheduleDecider.decide(
      catchUp('2026-05-01T13:00:00.000Z'),
      fold([created({ cron_expression: '* * * * *', catchup_policy: 'all', catchup_window_minutes: 180 }), due(T10)]),
    );
    const limit = events.find((e) => e.type === 'RunsMissed');
    assert.ok(limit?.type === 'RunsMissed');
    assert.equal(limit.data.reason, 'catchup_limit');
    assert.equal(limit.data.count, 80);
    assert.equal(events.filter((e) => e.type === 'ExecutionDue').length, 100);
  });

  it('skip: runs none and records the miss', () => {
    given(scheduleDecider, every10({ catchup_policy: 'skip' }))
      .when(catchUp(NOW))
      .then([
        missed('outside_catchup_window', ['10:10', '10:20', '10:30'], '10:30'),
        missed('catchup_policy_skip', ['10:40', '10:50', '11:00'], '11:00'),
      ]);
  });

  it('is safe to repeat: a second ticker finds nothing left', () => {
    const history = every10({ catchup_policy: 'latest' });
    const first = scheduleDecider.decide(catchUp(NOW), fold(history));
    given(scheduleDecider, [...history, ...first]).when(catchUp(NOW)).then([]);
    given(scheduleDecider, [...history, ...first]).when(recordDue('2026-05-01T11:00:00.000Z', NOW)).then([]);
    given(scheduleDecider, [...history, ...first])
      .when(recordDue('2026-05-01T11:10:00.000Z'))
      .then([due('2026-05-01T11:10:00.000Z')]);
  });

  it('no catch-up for the disabled period: enabling starts from the enable time', () => {
    given(scheduleDecider, [...every10({ catchup_policy: 'all', catchup_window_minutes: 600 }), disabled('2026-05-01T10:05:00.000Z'), enabled('2026-05-01T10:55:00.000Z')])
      .when(catchUp(NOW))
      .then([catchupDue('11:00')]);
  });

  it('nothing for a disabled schedule', () => {
    given(scheduleDecider, [...every10({}), disabled('2026-05-01T10:05:00.000Z')]).when(catchUp(NOW)).then([]);
  });

  it('a 3-day downtime with a */1 cron: one append, counted', () => {
    const events = scheduleDecider.decide(
      catchUp('2026-05-04T10:00:30.000Z'),
      fold([created({ cron_expression: '*/1 * * * *', catchup_window_minutes: 60 }), due(T10)]),
    );
    assert.deepEqual(
      events.map((e) =>
        e.type === 'RunsMissed' ? `${e.data.reason}:${e.data.count}:${e.data.due_instants.length}` : e.type === 'ExecutionDue' ? `${e.type}:${e.data.due_at}` : e.type,
      ),
      ['outside_catchup_window:4260:100', 'catchup_policy_skip:59:59', 'ExecutionDue:2026-05-04T10:00:00.000Z'],
    );
  });
});
