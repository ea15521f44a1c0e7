import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CronExpressionParser } from 'cron-parser';
import { DomainError } from '../../src/domain/decider.js';
import {
  cronFields,
  describeCron,
  fnv1a32,
  isIntervalCron,
  isValidTimeZone,
  jitterOffsetSeconds,
  localWallTime,
  nextDueInstant,
  nextDueInstants,
  validateCron,
} from '../../src/domain/cron.js';

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const between = (expr: string, zone: string, from: string, to: string): string[] =>
  iso(nextDueInstants(expr, zone, new Date(new Date(from).getTime() - 1), 500)).filter((t) => t <= new Date(to).toISOString());

describe('validateCron', () => {
  it('accepts 5-field expressions (seconds = 0)', () => {
    for (const e of ['30 1 * * *', '*/30 * * * *', '0 9-17 * * 1-5', '0 0 1 * *', '0 0 L * *', '0 0 * * MON-FRI', '15 0 * * 1#1', '0 0 1 JAN *', ' 0 0 * * * ']) {
      assert.equal(validateCron(e), null, e);
    }
    assert.deepEqual(cronFields('30 1 * * *'), ['0', '30', '1', '*', '*', '*']);
  });

  it('accepts 6-field expressions (seconds first)', () => {
    for (const e of ['*/10 * * * * *', '30 0 12 * * *', '0 30 1 * * *', '5,35 */2 * * * 0']) assert.equal(validateCron(e), null, e);
    assert.deepEqual(cronFields('15 30 1 * * *'), ['15', '30', '1', '*', '*', '*']);
  });

  it('refuses 4 and 7 fields, empty and garbage', () => {
    assert.match(validateCron('* * * *') ?? '', /5 fields .* or 6 fields.*got 4/);
    assert.match(validateCron('0 0 0 * * * 2026') ?? '', /got 7/);
    assert.match(validateCron('') ?? '', /empty/);
    assert.match(validateCron('   ') ?? '', /empty/);
    assert.notEqual(validateCron('a b c d e'), null);
    assert.notEqual(validateCron('@daily'), null);
    assert.notEqual(validateCron('every day at noon'), null);
  });

  it('refuses out-of-range values in 5-field expressions', () => {
    for (const e of ['60 * * * *', '* 24 * * *', '* * 32 * *', '* * 0 * *', '* * * 13 *', '* * * 0 *', '* * * * 8', '5-60 * * * *', '1-0 * * * *', '*/0 * * * *', '*/61 * * * *', '0 0 30 2 *', '0 0 * * 1#6', '1,,2 * * * *']) {
      const reason = validateCron(e);
      assert.notEqual(reason, null, e);
      assert.equal(typeof reason, 'string');
    }
  });

  it('refuses out-of-range seconds and hashed values', () => {
    assert.notEqual(validateCron('61 * * * * *'), null);
    assert.match(validateCron('H * * * *') ?? '', /H \(hashed random\)/);
  });

  it('classifies interval expressions', () => {
    assert.equal(isIntervalCron('*/30 * * * *'), true);
    assert.equal(isIntervalCron('0 * * * *'), true);
    assert.equal(isIntervalCron('* 1 * * *'), true);
    assert.equal(isIntervalCron('30 1 * * *'), false);
    assert.equal(isIntervalCron('0 1,2 * * *'), false);
  });
});

describe('isValidTimeZone', () => {
  it('accepts IANA names and UTC', () => {
    for (const z of ['UTC', 'Europe/London', 'America/New_York', 'Asia/Kolkata', 'Asia/Calcutta', 'Europe/Kyiv', 'America/Argentina/Buenos_Aires', 'Etc/UTC', 'Etc/GMT+2', 'Australia/Lord_Howe']) {
      assert.equal(isValidTimeZone(z), true, z);
    }
  });

  it('refuses offsets, wrong case and nonsense', () => {
    for (const z of ['+02:00', '-05:00', 'GMT+2', 'UTC+1', 'europe/london', 'utc', 'Nowhere/Land', '', 'Europe/London ', 'Mars/Olympus_Mons', '../etc/passwd']) {
      assert.equal(isValidTimeZone(z), false, z);
    }
  });
});

describe('localWallTime', () => {
  it('shows one instant in each zone asked, also when asked again (answers repeat their upcoming runs)', () => {
    const instant = new Date('2026-07-01T12:00:00.750Z');
    for (let round = 0; round < 2; round++) {
      assert.equal(localWallTime(instant, 'Europe/London'), '2026-07-01T13:00:00+01:00');
      assert.equal(localWallTime(instant, 'America/New_York'), '2026-07-01T08:00:00-04:00');
      assert.equal(localWallTime(instant, 'Asia/Kolkata'), '2026-07-01T17:30:00+05:30');
      assert.equal(localWallTime(instant, 'UTC'), '2026-07-01T12:00:00+00:00');
    }
  });
});

describe('nextDueInstants: Europe/London spring forward (2026-03-29)', () => {
  it('a daily fixed time inside the gap fires once, shifted forward by the gap', () => {
    const runs = nextDueInstants('30 1 * * *', 'Europe/London', new Date('2026-03-27T12:00:00Z'), 4);
    assert.deepEqual(iso(runs), ['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z']);
    assert.equal(localWallTime(runs[1] as Date, 'Europe/London'), '2026-03-29T02:30:00+01:00');
  });

  it('finds the shifted instant from any point after the clocks went forward, before it', () => {
    // The ticker asks "what is next" from just before each instant: 01:29:59.999Z is
    // already past the change (01:00Z), yet 01:30Z (wall 01:30, shifted to 02:30 BST) is still due.
    for (const after of ['2026-03-29T01:00:00.000Z', '2026-03-29T01:15:00.000Z', '2026-03-29T01:29:59.999Z']) {
      assert.deepEqual(iso(nextDueInstants('30 1 * * *', 'Europe/London', new Date(after), 1)), ['2026-03-29T01:30:00.000Z'], after);
    }
    assert.deepEqual(iso(nextDueInstants('30 1 * * *', 'Europe/London', new Date('2026-03-29T01:30:00.000Z'), 1)), ['2026-03-30T00:30:00.000Z']);
  });

  it('fires exactly once on 03-29', () => {
    assert.deepEqual(between('30 1 * * *', 'Europe/London', '2026-03-29T00:00:00Z', '2026-03-29T22:59:59Z'), ['2026-03-29T01:30:00.000Z']);
  });

  it('*/30 fires only at real instants: none is invented for the missing hour', () => {
    assert.deepEqual(between('*/30 * * * *', 'Europe/London', '2026-03-29T00:00:00Z', '2026-03-29T02:00:00Z'), [
      '2026-03-29T00:00:00.000Z',
      '2026-03-29T00:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-29T01:30:00.000Z',
      '2026-03-29T02:00:00.000Z',
    ]);
    const walls = nextDueInstants('*/30 * * * *', 'Europe/London', new Date('2026-03-28T23:59:00Z'), 5).map((d) => localWallTime(d, 'Europe/London'));
    assert.deepEqual(walls, ['2026-03-29T00:00:00+00:00', '2026-03-29T00:30:00+00:00', '2026-03-29T02:00:00+01:00', '2026-03-29T02:30:00+01:00', '2026-03-29T03:00:00+01:00']);
  });

  it('an hourly wildcard expression skips the missing hour', () => {
    assert.deepEqual(between('0 * * * *', 'Europe/London', '2026-03-29T00:00:00Z', '2026-03-29T03:00:00Z'), [
      '2026-03-29T00:00:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-29T02:00:00.000Z',
      '2026-03-29T03:00:00.000Z',
    ]);
  });

  it('a wildcard minute inside the missing hour does not fire that day', () => {
    const runs = nextDueInstants('* 1 * * *', 'Europe/London', new Date('2026-03-28T23:57:00Z'), 1);
    assert.deepEqual(iso(runs), ['2026-03-30T00:00:00.000Z']);
  });

  it('two fixed times that land on the same instant fire once', () => {
    assert.deepEqual(between('0 1,2 * * *', 'Europe/London', '2026-03-29T00:00:00Z', '2026-03-29T22:00:00Z'), ['2026-03-29T01:00:00.000Z']);
  });
});

describe('nextDueInstants: Europe/London fall back (2026-10-25)', () => {
  it('a daily fixed time in the repeated hour fires once, at the first instant (BST)', () => {
    const runs = nextDueInstants('30 1 * * *', 'Europe/London', new Date('2026-10-23T12:00:00Z'), 4);
    assert.deepEqual(iso(runs), ['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z', '2026-10-27T01:30:00.000Z']);
    assert.equal(localWallTime(runs[1] as Date, 'Europe/London'), '2026-10-25T01:30:00+01:00');
    assert.deepEqual(between('30 1 * * *', 'Europe/London', '2026-10-24T23:00:00Z', '2026-10-25T23:59:59Z'), ['2026-10-25T00:30:00.000Z']);
  });

  it('does not fire again in the second pass when asked from between the passes', () => {
    const runs = nextDueInstants('30 1 * * *', 'Europe/London', new Date('2026-10-25T00:30:00Z'), 1);
    assert.deepEqual(iso(runs), ['2026-10-26T01:30:00.000Z']);
  });

  it('*/30 fires at every real instant: 5 between 00:00Z and 02:00Z', () => {
    assert.deepEqual(between('*/30 * * * *', 'Europe/London', '2026-10-25T00:00:00Z', '2026-10-25T02:00:00Z'), [
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T01:30:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ]);
    const walls = nextDueInstants('*/30 * * * *', 'Europe/London', new Date('2026-10-24T23:59:00Z'), 5).map((d) => localWallTime(d, 'Europe/London'));
    assert.deepEqual(walls, ['2026-10-25T01:00:00+01:00', '2026-10-25T01:30:00+01:00', '2026-10-25T01:00:00+00:00', '2026-10-25T01:30:00+00:00', '2026-10-25T02:00:00+00:00']);
  });

  it('*/30 asked from inside the first pass still gets the second pass', () => {
    assert.deepEqual(iso(nextDueInstants('*/30 * * * *', 'Europe/London', new Date('2026-10-25T00:10:00Z'), 3)), [
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T01:30:00.000Z',
    ]);
    assert.deepEqual(iso(nextDueInstants('*/30 * * * *', 'Europe/London', new Date('2026-10-25T01:10:00Z'), 2)), ['2026-10-25T01:30:00.000Z', '2026-10-25T02:00:00.000Z']);
  });

  it('a wildcard minute in the repeated hour runs through both passes', () => {
    assert.deepEqual(iso(nextDueInstants('* 1 * * *', 'Europe/London', new Date('2026-10-25T00:57:00Z'), 4)), [
      '2026-10-25T00:58:00.000Z',
      '2026-10-25T00:59:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T01:01:00.000Z',
    ]);
  });
});

describe('nextDueInstants: other zones and forms', () => {
  it('America/New_York: 02:30 on the spring-forward day runs at 03:30 EDT; 01:30 in the fall back once (EDT)', () => {
    assert.deepEqual(iso(nextDueInstants('30 2 * * *', 'America/New_York', new Date('2026-03-07T12:00:00Z'), 3)), [
      '2026-03-08T07:30:00.000Z',
      '2026-03-09T06:30:00.000Z',
      '2026-03-10T06:30:00.000Z',
    ]);
    assert.deepEqual(iso(nextDueInstants('30 1 * * *', 'America/New_York', new Date('2026-10-31T12:00:00Z'), 3)), [
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
      '2026-11-03T06:30:00.000Z',
    ]);
    assert.equal(localWallTime(new Date('2026-03-08T07:30:00Z'), 'America/New_York'), '2026-03-08T03:30:00-04:00');
  });

  it('evaluates cron in the schedule zone, not the server zone', () => {
    assert.deepEqual(iso(nextDueInstants('0 9 * * 1-5', 'America/New_York', new Date('2026-07-03T12:00:00Z'), 2)), ['2026-07-03T13:00:00.000Z', '2026-07-06T13:00:00.000Z']);
  });

  it('UTC', () => {
    assert.deepEqual(iso(nextDueInstants('0 0 * * *', 'UTC', new Date('2026-01-01T00:00:00Z'), 2)), ['2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z']);
    assert.deepEqual(iso(nextDueInstants('*/15 * * * *', 'UTC', new Date('2026-01-01T00:07:00Z'), 3)), [
      '2026-01-01T00:15:00.000Z',
      '2026-01-01T00:30:00.000Z',
      '2026-01-01T00:45:00.000Z',
    ]);
  });

  it('is strictly after `after`', () => {
    assert.deepEqual(iso(nextDueInstants('0 0 * * *', 'UTC', new Date('2026-01-02T00:00:00Z'), 1)), ['2026-01-03T00:00:00.000Z']);
    assert.deepEqual(iso(nextDueInstants('0 0 * * *', 'UTC', new Date('2026-01-01T23:59:59.999Z'), 1)), ['2026-01-02T00:00:00.000Z']);
  });

  it('6-field expressions fire on seconds', () => {
    assert.deepEqual(iso(nextDueInstants('*/10 * * * * *', 'UTC', new Date('2026-01-01T00:00:05.500Z'), 3)), [
      '2026-01-01T00:00:10.000Z',
      '2026-01-01T00:00:20.000Z',
      '2026-01-01T00:00:30.000Z',
    ]);
    assert.deepEqual(iso(nextDueInstants('15 30 1 * * *', 'Europe/London', new Date('2026-03-28T12:00:00Z'), 1)), ['2026-03-29T01:30:15.000Z']);
  });

  it('day-of-month and day-of-week, L and #', () => {
    assert.deepEqual(iso(nextDueInstants('0 0 L * *', 'UTC', new Date('2026-02-01T00:00:00Z'), 2)), ['2026-02-28T00:00:00.000Z', '2026-03-31T00:00:00.000Z']);
    assert.deepEqual(iso(nextDueInstants('0 0 * * 1#1', 'UTC', new Date('2026-02-01T00:00:00Z'), 1)), ['2026-02-02T00:00:00.000Z']);
    assert.deepEqual(iso(nextDueInstants('0 0 29 2 *', 'UTC', new Date('2026-01-01T00:00:00Z'), 1)), ['2028-02-29T00:00:00.000Z']);
  });

  it('a 30-minute DST zone (Australia/Lord_Howe), where cron-parser alone skips or loops', () => {
    // 2026-10-04 02:00 -> 02:30: 02:15 does not exist and is shifted to 02:45.
    assert.deepEqual(iso(nextDueInstants('15 2 * * *', 'Australia/Lord_Howe', new Date('2026-10-03T00:00:00Z'), 2)), ['2026-10-03T15:45:00.000Z', '2026-10-04T15:15:00.000Z']);
    // 2026-04-05 02:00 -> 01:30: hourly keeps going across the repeated half hour.
    assert.deepEqual(iso(nextDueInstants('0 * * * *', 'Australia/Lord_Howe', new Date('2026-04-04T13:00:00Z'), 3)), [
      '2026-04-04T14:00:00.000Z',
      '2026-04-04T15:30:00.000Z',
      '2026-04-04T16:30:00.000Z',
    ]);
  });

  it('results are ascending and distinct over a year of an interval expression', () => {
    const runs = nextDueInstants('*/20 * * * *', 'Europe/London', new Date('2026-01-01T00:00:00Z'), 30000);
    assert.equal(runs.length, 30000);
    for (let i = 1; i < runs.length; i++) assert.ok((runs[i] as Date).getTime() > (runs[i - 1] as Date).getTime());
  });

  it('count 0 gives nothing; invalid input is a ValidationError naming the field', () => {
    assert.deepEqual(nextDueInstants('0 0 * * *', 'UTC', new Date('2026-01-01T00:00:00Z'), 0), []);
    assert.throws(() => nextDueInstants('0 0 * *', 'UTC', new Date(0), 1), (e: unknown) => e instanceof DomainError && e.details[0]?.path === '/cron_expression');
    assert.throws(() => nextDueInstants('0 0 * * *', '+02:00', new Date(0), 1), (e: unknown) => e instanceof DomainError && e.details[0]?.path === '/timezone');
    assert.equal(nextDueInstant('0 0 * * *', 'UTC', new Date('2026-01-01T12:00:00Z'))?.toISOString(), '2026-01-02T00:00:00.000Z');
  });

  it('computes the next run of 10,000 schedules quickly', () => {
    const zones = ['Europe/London', 'UTC', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney'];
    const now = new Date('2026-05-01T10:00:00Z');
    const started = performance.now();
    for (let i = 0; i < 10000; i++) {
      const next = nextDueInstants(`${i % 60} ${i % 24} * * ${i % 7 === 0 ? '1-5' : '*'}`, zones[i % zones.length] as string, now, 1);
      assert.equal(next.length, 1);
    }
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 3000, `took ${elapsed} ms`);
  });
});

describe('nextDueInstants agrees with cron-parser where cron-parser follows the rules', () => {
  // cron-parser (tz option) matches the rules for London-style 1-hour transitions
  // with fixed times and minute/hour wildcards; it differs for hour steps
  // (`15 */2 * * *`: it invents a run in the gap and drops the repeat), for
  // fixed hours with wildcard minutes (`* 1 * * *`) and for 30-minute zones.
  // Six hours before each 2026 transition.
  const windows: Record<string, string[]> = {
    'Europe/London': ['2026-03-28T19:00:00Z', '2026-10-24T19:00:00Z'],
    'America/New_York': ['2026-03-08T01:00:00Z', '2026-11-01T00:00:00Z'],
    'Europe/Berlin': ['2026-03-28T19:00:00Z', '2026-10-24T19:00:00Z'],
    'Australia/Sydney': ['2026-04-04T10:00:00Z', '2026-10-03T10:00:00Z'],
  };
  const expressions = ['30 1 * * *', '0 2 * * *', '30 2 * * *', '*/30 * * * *', '0 * * * *', '0 1,2,3 * * *', '*/7 * * * *', '0 9-17 * * 1-5', '45 1 * * 0'];
  for (const [zone, starts] of Object.entries(windows)) {
    it(zone, () => {
      for (const expression of expressions) {
        for (const start of starts) {
          const from = new Date(start);
          const ours = iso(nextDueInstants(expression, zone, from, 100));
          const theirs = CronExpressionParser.parse(`0 ${expression}`, { currentDate: from, tz: zone })
            .take(100)
            .map((d) => d.toDate().toISOString());
          assert.deepEqual(ours, theirs, `${expression} from ${start}`);
        }
      }
    });
  }
});

describe('cron-parser by itself at DST boundaries (characterization, for the ticker)', () => {
  const raw = (expr: string, zone: string, from: string, n: number) =>
    CronExpressionParser.parse(expr, { currentDate: new Date(from), tz: zone })
      .take(n)
      .map((d) => d.toDate().toISOString());

  it('London: shifts a fixed gap time forward, fires a repeated fixed time once, */30 at real instants', () => {
    assert.deepEqual(raw('0 30 1 * * *', 'Europe/London', '2026-03-28T12:00:00Z', 1), ['2026-03-29T01:30:00.000Z']);
    assert.deepEqual(raw('0 30 1 * * *', 'Europe/London', '2026-10-24T12:00:00Z', 2), ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    assert.deepEqual(raw('0 */30 * * * *', 'Europe/London', '2026-10-24T23:59:00Z', 5), [
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T01:30:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ]);
  });

  it('differs from the rules: a wildcard minute in a fixed repeated hour runs only in the first pass', () => {
    assert.deepEqual(raw('0 * 1 * * *', 'Europe/London', '2026-10-25T00:58:00Z', 2), ['2026-10-25T00:59:00.000Z', '2026-10-26T01:00:00.000Z']);
  });

  it('differs from the rules: an hour step invents a shifted run in the gap', () => {
    assert.deepEqual(raw('0 15 */2 * * *', 'America/New_York', '2026-03-08T05:00:00Z', 2), ['2026-03-08T05:15:00.000Z', '2026-03-08T07:15:00.000Z']);
  });

  it('differs from the rules: skips a gap time for the day in a 30-minute DST zone', () => {
    assert.deepEqual(raw('0 15 2 * * *', 'Australia/Lord_Howe', '2026-10-03T00:00:00Z', 1), ['2026-10-04T15:15:00.000Z']);
  });
});

describe('localWallTime', () => {
  it('gives the wall time with the zone offset at that instant', () => {
    assert.equal(localWallTime(new Date('2026-03-29T01:30:00Z'), 'Europe/London'), '2026-03-29T02:30:00+01:00');
    assert.equal(localWallTime(new Date('2026-01-15T12:00:00Z'), 'Europe/London'), '2026-01-15T12:00:00+00:00');
    assert.equal(localWallTime(new Date('2026-01-15T12:00:00Z'), 'UTC'), '2026-01-15T12:00:00+00:00');
    assert.equal(localWallTime(new Date('2026-01-15T12:00:00Z'), 'Asia/Kolkata'), '2026-01-15T17:30:00+05:30');
    assert.equal(localWallTime(new Date('2026-01-15T03:00:00Z'), 'America/New_York'), '2026-01-14T22:00:00-05:00');
    assert.equal(localWallTime(new Date('2026-01-01T00:00:00Z'), 'Pacific/Kiritimati'), '2026-01-01T14:00:00+14:00');
  });
});

describe('describeCron', () => {
  it('describes common expressions', () => {
    assert.equal(describeCron('30 1 * * *'), 'At 01:30');
    assert.equal(describeCron('0 6,18 * * SAT,SUN'), 'At 06:00 and 18:00, on Saturday and Sunday');
    assert.equal(describeCron('0 0 * * 1-5'), 'At 00:00, on Monday through Friday');
    assert.equal(describeCron('0 0 L * *'), 'At 00:00, on the last day of the month');
    assert.equal(describeCron('* * * * *'), 'Every minute');
    assert.equal(describeCron('0 * * * *'), 'Every hour');
    assert.equal(describeCron('0 0 1 JAN,JUL *'), 'At 00:00, on day 1 of the month, in January and July');
    assert.equal(describeCron('15 0 * * 1#1'), 'At 00:15, on the 1st Monday of the month');
    assert.equal(describeCron('*/30 * * * *'), 'Every 30 minutes');
    assert.equal(describeCron('*/10 * * * * *'), 'Every 10 seconds');
    assert.equal(describeCron('5 * * * *'), 'At 5 minutes past the hour');
    assert.equal(describeCron('*/15 9-17 * * 1-5'), 'Every 15 minutes, between 09:00 and 17:59, on Monday through Friday');
    assert.equal(describeCron('0 0 1,15 * *'), 'At 00:00, on days 1 and 15 of the month');
    assert.equal(describeCron('0 0 5 * 1'), 'At 00:00, on day 5 of the month or on Monday');
    assert.equal(describeCron('30 0 12 * * *'), 'At 12:00:30');
  });

  it('refuses an invalid expression', () => {
    assert.throws(() => describeCron('nope'), DomainError);
  });
});

describe('jitterOffsetSeconds', () => {
  const due = new Date('2026-05-01T02:00:00Z');

  it('is 0 without jitter', () => {
    assert.equal(jitterOffsetSeconds('s1', due, 0), 0);
  });

  it('is deterministic and within [0, jitter)', () => {
    const a = jitterOffsetSeconds('s1', due, 600);
    assert.equal(jitterOffsetSeconds('s1', due, 600), a);
    for (let i = 0; i < 500; i++) {
      const j = jitterOffsetSeconds(`schedule-${i}`, new Date(due.getTime() + i * 60000), 600);
      assert.ok(Number.isInteger(j) && j >= 0 && j < 600, String(j));
    }
    assert.equal(jitterOffsetSeconds('s1', due, 1), 0);
  });

  it('spreads schedules over the range', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(Math.floor(jitterOffsetSeconds(`schedule-${i}`, due, 3600) / 360));
    assert.ok(seen.size >= 8, `only ${seen.size} of 10 buckets used`);
  });

  it('uses FNV-1a', () => {
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
    assert.equal(fnv1a32('foobar'), 0xbf9cf968);
  });
});
