import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ScheduleCreated, ScheduleEvent } from '../../src/domain/events.js';
import { normalizeName, scheduleDecider, type ChainParentFacts, type ScheduleCommand } from '../../src/domain/schedule.js';
import { SCHEDULE_DEFAULTS, SCHEDULE_RANGES, type ScheduleSettings } from '../../src/domain/schedule-fields.js';
import { given } from './given-when-then.js';

const AT = '2026-05-01T10:00:00.000Z';
const LATER = '2026-05-02T10:00:00.000Z';
const meta = { at: AT, actor: 'alice' };

function create(input: Partial<ScheduleSettings> & { name: string }, parent: ChainParentFacts | null = null, id = 's1'): ScheduleCommand {
  return { type: 'CreateSchedule', schedule_id: id, input, parent, ...meta };
}

function created(settings: Partial<ScheduleSettings> & { name: string }, id = 's1'): ScheduleCreated {
  return {
    type: 'ScheduleCreated',
    data: { schedule_id: id, ...SCHEDULE_DEFAULTS, cron_expression: '0 2 * * *', ...settings, created_at: AT, created_by: 'alice' },
  };
}

function update(changes: Partial<ScheduleSettings>, parent: ChainParentFacts | null = null): ScheduleCommand {
  return { type: 'UpdateSchedule', schedule_id: 's1', changes, parent, at: LATER, actor: 'bob' };
}

const nightly = created({ name: 'Nightly' });
const parentFacts = (ancestors: string[] = ['p1'], exists = true): ChainParentFacts => ({ parent_id: 'p1', exists, ancestor_ids: ancestors });

describe('CreateSchedule', () => {
  it('applies the defaults', () => {
    given(scheduleDecider).when(create({ name: 'Nightly', cron_expression: '0 2 * * *' })).then([nightly]);
  });

  it('keeps enabled:false, skip_if_running:false and 0 values exactly', () => {
    const input = {
      name: 'Quiet',
      cron_expression: '0 2 * * *',
      enabled: false,
      skip_if_running: false,
      retry_attempts: 0,
      retry_delay_minutes: 0,
      chain_delay_minutes: 0,
      catchup_window_minutes: 0,
      jitter_seconds: 0,
    };
    const [event] = given(scheduleDecider).when(create(input)).then([created(input)]);
    assert.equal(event?.type === 'ScheduleCreated' && event.data.enabled, false);
    given(scheduleDecider)
      .when(create(input))
      .thenState((s) => {
        assert.ok(s.status === 'active');
        {
          assert.equal(s.settings.enabled, false);
          assert.equal(s.settings.skip_if_running, false);
          assert.equal(s.settings.retry_attempts, 0);
          assert.equal(s.created_by, 'alice');
          assert.equal(s.updated_at, AT);
        }
      });
  });

  it('keeps every given field', () => {
    const input: ScheduleSettings = {
      name: 'Full',
      description: 'all fields',
      schedule_type: 'cron',
      cron_expression: '*/15 * * * * *',
      timezone: 'Europe/London',
      chain_parent_schedule_id: null,
      chain_delay_minutes: 5,
      chain_trigger_on: 'completion',
      replication_type: 'incremental',
      max_concurrent_jobs: 7,
      retry_attempts: 2,
      retry_delay_minutes: 15,
      enabled: true,
      skip_if_running: false,
      catchup_policy: 'all',
      catchup_window_minutes: 120,
      jitter_seconds: 30,
    };
    given(scheduleDecider).when(create(input)).then([created(input)]);
  });

  it('trims the name and the cron expression', () => {
    given(scheduleDecider)
      .when(create({ name: '  Nightly  ', cron_expression: ' 0 2 * * * ' }))
      .then([nightly]);
  });

  it('ignores fields it does not know', () => {
    const input = { name: 'Nightly', cron_expression: '0 2 * * *', bogus: 1 } as Partial<ScheduleSettings> & { name: string };
    given(scheduleDecider).when(create(input)).then([nightly]);
  });

  it('refuses a second create on the same stream', () => {
    given(scheduleDecider, [nightly]).when(create({ name: 'Again', cron_expression: '0 2 * * *' })).thenThrows('Conflict', 'already exists');
  });

  describe('name and description', () => {
    it('refuses an empty or blank name', () => {
      given(scheduleDecider).when(create({ name: '', cron_expression: '0 2 * * *' })).thenThrows('ValidationError', '/name');
      given(scheduleDecider).when(create({ name: '   ', cron_expression: '0 2 * * *' })).thenThrows('ValidationError', '/name');
    });

    it('accepts 1 and 255 characters, refuses 256', () => {
      given(scheduleDecider).when(create({ name: 'a', cron_expression: '0 2 * * *' })).then([created({ name: 'a' })]);
      given(scheduleDecider).when(create({ name: 'a'.repeat(255), cron_expression: '0 2 * * *' })).then([created({ name: 'a'.repeat(255) })]);
      given(scheduleDecider).when(create({ name: 'a'.repeat(256), cron_expression: '0 2 * * *' })).thenThrows('ValidationError', '/name');
    });

    it('counts characters, not UTF-16 units (as the API schema does)', () => {
      const emoji = '\u{1F680}'.repeat(255);
      given(scheduleDecider).when(create({ name: emoji, cron_expression: '0 2 * * *' })).then([created({ name: emoji })]);
      given(scheduleDecider).when(create({ name: `${emoji}x`, cron_expression: '0 2 * * *' })).thenThrows('ValidationError', '/name');
    });

    it('accepts a description of 4000 characters, refuses 4001', () => {
      const d = 'd'.repeat(4000);
      given(scheduleDecider).when(create({ name: 'N', cron_expression: '0 2 * * *', description: d })).then([created({ name: 'N', description: d })]);
      given(scheduleDecider).when(create({ name: 'N', cron_expression: '0 2 * * *', description: `${d}x` })).thenThrows('ValidationError', '/description');
    });
  });

  describe('ranges', () => {
    for (const [field, [min, max]] of Object.entries(SCHEDULE_RANGES)) {
      it(`${field}: ${min} and ${max} pass, ${min - 1}, ${max + 1} and fractions fail`, () => {
        for (const ok of [min, max]) {
          given(scheduleDecider)
            .when(create({ name: 'N', cron_expression: '0 2 * * *', [field]: ok }))
            .then([created({ name: 'N', [field]: ok })]);
        }
        for (const bad of [min - 1, max + 1, min + 0.5]) {
          given(scheduleDecider)
            .when(create({ name: 'N', cron_expression: '0 2 * * *', [field]: bad }))
            .thenThrows('ValidationError', `/${field}`);
        }
      });
    }

    it('refuses a number given as a string', () => {
      const input = { name: 'N', cron_expression: '0 2 * * *', retry_attempts: '3' } as unknown as Partial<ScheduleSettings> & { name: string };
      given(scheduleDecider).when(create(input)).thenThrows('ValidationError', '/retry_attempts');
    });
  });

  describe('enumerations and booleans', () => {
    it('refuses unknown values, naming the field', () => {
      const bad = (extra: Record<string, unknown>) => ({ name: 'N', cron_expression: '0 2 * * *', ...extra }) as Partial<ScheduleSettings> & { name: string };
      given(scheduleDecider).when(create(bad({ schedule_type: 'weekly' }))).thenThrows('ValidationError', '/schedule_type');
      given(scheduleDecider).when(create(bad({ replication_type: 'delta' }))).thenThrows('ValidationError', '/replication_type');
      given(scheduleDecider).when(create(bad({ chain_trigger_on: 'failure' }))).thenThrows('ValidationError', '/chain_trigger_on');
      given(scheduleDecider).when(create(bad({ catchup_policy: 'some' }))).thenThrows('ValidationError', '/catchup_policy');
      given(scheduleDecider).when(create(bad({ enabled: 'false' }))).thenThrows('ValidationError', '/enabled');
      given(scheduleDecider).when(create(bad({ skip_if_running: 0 }))).thenThrows('ValidationError', '/skip_if_running');
    });

    it('names every bad field in one refusal', () => {
      const error = given(scheduleDecider)
        .when(create({ name: '', cron_expression: '61 * * * *', retry_attempts: 11 }))
        .thenThrows('ValidationError', '/cron_expression');
      assert.deepEqual(
        error.details.map((d) => d.path),
        ['/name', '/retry_attempts', '/cron_expression'],
      );
    });
  });

  describe('cron schedules', () => {
    it('require a cron expression', () => {
      given(scheduleDecider).when(create({ name: 'N' })).thenThrows('ValidationError', '/cron_expression');
      given(scheduleDecider).when(create({ name: 'N', cron_expression: null })).thenThrows('ValidationError', '/cron_expression');
    });

    it('refuse invalid expressions: bad values, 4 and 7 fields', () => {
      for (const expr of ['60 2 * * *', '0 25 * * *', '* * * *', '0 0 0 * * * 2026', 'nonsense']) {
        given(scheduleDecider).when(create({ name: 'N', cron_expression: expr })).thenThrows('ValidationError', '/cron_expression');
      }
    });

    it('accept 6-field expressions', () => {
      given(scheduleDecider).when(create({ name: 'N', cron_expression: '30 0 2 * * *' })).then([created({ name: 'N', cron_expression: '30 0 2 * * *' })]);
    });

    it('refuse a chain parent', () => {
      given(scheduleDecider)
        .when(create({ name: 'N', cron_expression: '0 2 * * *', chain_parent_schedule_id: 'p1' }, parentFacts()))
        .thenThrows('ValidationError', '/chain_parent_schedule_id');
    });

    it('refuse a zone that is not IANA', () => {
      for (const tz of ['+02:00', 'GMT+1', 'Mars/Base', 'europe/london']) {
        given(scheduleDecider).when(create({ name: 'N', cron_expression: '0 2 * * *', timezone: tz })).thenThrows('ValidationError', '/timezone');
      }
      given(scheduleDecider)
        .when(create({ name: 'N', cron_expression: '0 2 * * *', timezone: 'America/New_York' }))
        .then([created({ name: 'N', timezone: 'America/New_York' })]);
    });
  });

  describe('chain schedules', () => {
    const chain = (extra: Partial<ScheduleSettings> = {}) => ({ name: 'Follow', schedule_type: 'chain' as const, chain_parent_schedule_id: 'p1', ...extra });

    it('follow an existing parent, without a cron expression', () => {
      given(scheduleDecider)
        .when(create(chain({ chain_delay_minutes: 10, chain_trigger_on: 'completion' }), parentFacts(['p1', 'p0'])))
        .then([created({ ...chain({ chain_delay_minutes: 10, chain_trigger_on: 'completion' }), cron_expression: null })]);
    });

    it('refuse a missing parent', () => {
      given(scheduleDecider).when(create({ name: 'Follow', schedule_type: 'chain' })).thenThrows('ValidationError', '/chain_parent_schedule_id');
    });

    it('refuse an unknown parent', () => {
      given(scheduleDecider).when(create(chain(), parentFacts([], false))).thenThrows('ValidationError', 'unknown schedule p1');
    });

    it('refuse a cron expression', () => {
      given(scheduleDecider).when(create(chain({ cron_expression: '0 2 * * *' }), parentFacts())).thenThrows('ValidationError', '/cron_expression');
    });

    it('refuse the schedule itself as parent', () => {
      given(scheduleDecider)
        .when(create(chain({ chain_parent_schedule_id: 's1' }), { parent_id: 's1', exists: false, ancestor_ids: [] }))
        .thenThrows('Conflict', 'cannot follow itself');
    });

    it('refuse a cycle through two hops (s1 -> p1 -> p0 -> s1) as a Conflict naming the chain', () => {
      const current = created({ name: 'Root' });
      given(scheduleDecider, [current])
        .when(update({ schedule_type: 'chain', cron_expression: null, chain_parent_schedule_id: 'p1' }, parentFacts(['p1', 'p0', 's1'])))
        .thenThrows('Conflict', '/chain_parent_schedule_id');
      given(scheduleDecider, [current])
        .when(update({ schedule_type: 'chain', cron_expression: null, chain_parent_schedule_id: 'p1' }, parentFacts(['p1', 'p0', 's1'])))
        .thenThrows('Conflict', 'chain cycle');
    });

    it('throw a plain error when the handler gave no facts for the parent', () => {
      assert.throws(() => scheduleDecider.decide(create(chain(), null), scheduleDecider.initialState), /facts/);
    });
  });
});

describe('UpdateSchedule', () => {
  it('emits only the fields that changed', () => {
    given(scheduleDecider, [nightly])
      .when(update({ name: 'Nightly', cron_expression: '0 3 * * *', retry_attempts: 3, timezone: 'Europe/London' }))
      .then([{ type: 'ScheduleUpdated', data: { schedule_id: 's1', changes: { cron_expression: '0 3 * * *', timezone: 'Europe/London' }, updated_at: LATER } }]);
  });

  it('a no-op update emits nothing', () => {
    given(scheduleDecider, [nightly]).when(update({ name: ' Nightly ', cron_expression: '0 2 * * *', enabled: true })).then([]);
    given(scheduleDecider, [nightly]).when(update({})).then([]);
  });

  it('turns enabled into ScheduleDisabled / ScheduleEnabled', () => {
    given(scheduleDecider, [nightly]).when(update({ enabled: false })).then([{ type: 'ScheduleDisabled', data: { schedule_id: 's1', at: LATER } }]);
    const disabled = created({ name: 'Nightly', enabled: false });
    given(scheduleDecider, [disabled])
      .when(update({ enabled: true, max_concurrent_jobs: 4 }))
      .then([
        { type: 'ScheduleUpdated', data: { schedule_id: 's1', changes: { max_concurrent_jobs: 4 }, updated_at: LATER } },
        { type: 'ScheduleEnabled', data: { schedule_id: 's1', at: LATER } },
      ]);
  });

  it('sets 0 and false values', () => {
    given(scheduleDecider, [nightly])
      .when(update({ retry_attempts: 0, skip_if_running: false }))
      .thenState((s) => {
        assert.ok(s.status === 'active');
        assert.equal(s.settings.retry_attempts, 0);
        assert.equal(s.settings.skip_if_running, false);
        assert.equal(s.updated_at, LATER);
      });
  });

  it('validates the merged result', () => {
    given(scheduleDecider, [nightly]).when(update({ cron_expression: '0 0 * *' })).thenThrows('ValidationError', '/cron_expression');
    given(scheduleDecider, [nightly]).when(update({ max_concurrent_jobs: 0 })).thenThrows('ValidationError', '/max_concurrent_jobs');
    given(scheduleDecider, [nightly]).when(update({ cron_expression: null })).thenThrows('ValidationError', '/cron_expression');
    // switching to chain without clearing the cron expression
    given(scheduleDecider, [nightly])
      .when(update({ schedule_type: 'chain', chain_parent_schedule_id: 'p1' }, parentFacts()))
      .thenThrows('ValidationError', '/cron_expression');
  });

  it('switches a cron schedule to a chain schedule', () => {
    given(scheduleDecider, [nightly])
      .when(update({ schedule_type: 'chain', cron_expression: null, chain_parent_schedule_id: 'p1' }, parentFacts()))
      .then([
        {
          type: 'ScheduleUpdated',
          data: { schedule_id: 's1', changes: { schedule_type: 'chain', cron_expression: null, chain_parent_schedule_id: 'p1' }, updated_at: LATER },
        },
      ]);
  });

  it('on a chain schedule, unrelated changes need no chain facts; a new parent is checked', () => {
    const follower = created({ name: 'Follow', schedule_type: 'chain', cron_expression: null, chain_parent_schedule_id: 'p1' });
    given(scheduleDecider, [follower])
      .when(update({ chain_delay_minutes: 30 }))
      .then([{ type: 'ScheduleUpdated', data: { schedule_id: 's1', changes: { chain_delay_minutes: 30 }, updated_at: LATER } }]);
    given(scheduleDecider, [follower])
      .when(update({ chain_parent_schedule_id: 'p2' }, { parent_id: 'p2', exists: false, ancestor_ids: [] }))
      .thenThrows('ValidationError', 'unknown schedule p2');
    given(scheduleDecider, [follower])
      .when(update({ chain_parent_schedule_id: 's1' }))
      .thenThrows('Conflict', 'cannot follow itself');
  });

  it('is NotFound on an absent or deleted schedule', () => {
    given(scheduleDecider).when(update({ name: 'X' })).thenThrows('NotFound');
    const deleted: ScheduleEvent = { type: 'ScheduleDeleted', data: { schedule_id: 's1', name: 'Nightly', at: AT } };
    given(scheduleDecider, [nightly, deleted]).when(update({ name: 'X' })).thenThrows('NotFound');
  });
});

describe('SetScheduleEnabled', () => {
  const set = (enabled: boolean): ScheduleCommand => ({ type: 'SetScheduleEnabled', schedule_id: 's1', enabled, at: LATER, actor: 'bob' });

  it('disables and enables', () => {
    given(scheduleDecider, [nightly]).when(set(false)).then([{ type: 'ScheduleDisabled', data: { schedule_id: 's1', at: LATER } }]);
    given(scheduleDecider, [nightly, { type: 'ScheduleDisabled', data: { schedule_id: 's1', at: AT } }])
      .when(set(true))
      .then([{ type: 'ScheduleEnabled', data: { schedule_id: 's1', at: LATER } }]);
  });

  it('emits nothing when already so', () => {
    given(scheduleDecider, [nightly]).when(set(true)).then([]);
    given(scheduleDecider, [created({ name: 'Off', enabled: false })]).when(set(false)).then([]);
  });

  it('is NotFound on an absent schedule', () => {
    given(scheduleDecider).when(set(true)).thenThrows('NotFound');
  });
});

describe('DeleteSchedule', () => {
  const del = (references = { group_ids: [] as string[], chain_child_ids: [] as string[], override_vm_ids: [] as string[] }): ScheduleCommand => ({
    type: 'DeleteSchedule',
    schedule_id: 's1',
    references,
    at: LATER,
    actor: 'bob',
  });

  it('deletes an unreferenced schedule', () => {
    given(scheduleDecider, [nightly]).when(del()).then([{ type: 'ScheduleDeleted', data: { schedule_id: 's1', name: 'Nightly', at: LATER } }]);
    given(scheduleDecider, [nightly])
      .when(del())
      .thenState((s) => assert.equal(s.status, 'deleted'));
  });

  it('is a Conflict naming the groups, chain children and VM overrides that reference it', () => {
    given(scheduleDecider, [nightly]).when(del({ group_ids: ['g1', 'g2'], chain_child_ids: [], override_vm_ids: [] })).thenThrows('Conflict', 'g1, g2');
    given(scheduleDecider, [nightly]).when(del({ group_ids: [], chain_child_ids: ['c7'], override_vm_ids: [] })).thenThrows('Conflict', 'c7');
    given(scheduleDecider, [nightly]).when(del({ group_ids: [], chain_child_ids: [], override_vm_ids: ['vm9'] })).thenThrows('Conflict', 'vm9');
  });

  it('is NotFound when absent or already deleted', () => {
    given(scheduleDecider).when(del()).thenThrows('NotFound');
    given(scheduleDecider, [nightly, { type: 'ScheduleDeleted', data: { schedule_id: 's1', name: 'Nightly', at: AT } }])
      .when(del())
      .thenThrows('NotFound');
  });
});

describe('evolve', () => {
  it('replays a history into the current settings', () => {
    const state = [
      nightly,
      { type: 'ScheduleUpdated', data: { schedule_id: 's1', changes: { cron_expression: '0 4 * * *', retry_attempts: 0 }, updated_at: LATER } },
      { type: 'ScheduleDisabled', data: { schedule_id: 's1', at: LATER } },
    ].reduce((s, e) => scheduleDecider.evolve(s, e as ScheduleEvent), scheduleDecider.initialState);
    assert.ok(state.status === 'active');
    assert.equal(state.settings.cron_expression, '0 4 * * *');
    assert.equal(state.settings.retry_attempts, 0);
    assert.equal(state.settings.enabled, false);
    assert.equal(state.created_at, AT);
    assert.equal(state.updated_at, LATER);
  });
});

describe('normalizeName', () => {
  it('trims and lowercases', () => {
    assert.equal(normalizeName('  Nightly Backup '), 'nightly backup');
  });
});
