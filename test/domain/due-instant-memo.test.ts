import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextDueInstants } from '../../src/domain/cron.js';
import { firstDueInstantAfter } from '../../src/domain/due-instant-memo.js';

/** Deterministic pseudo-random instants in [start, start + spanMs). */
function* instants(seed: number, start: number, spanMs: number, count: number): Generator<Date> {
  let state = seed;
  for (let n = 0; n < count; n += 1) {
    state = (state * 1103515245 + 12345) % 2147483648;
    yield new Date(start + Math.floor((state / 2147483648) * spanMs));
  }
}

describe('next-run memo', () => {
  const cases: Array<[expression: string, timezone: string]> = [
    ['0 18 * * *', 'UTC'],
    ['*/30 * * * *', 'Europe/London'],
    ['30 1 * * *', 'Europe/London'],
    ['0 */2 * * *', 'America/New_York'],
    ['15 3 1 * *', 'Asia/Tokyo'],
  ];
  // Across both 2026 DST changes in London and New York.
  const start = Date.parse('2026-03-01T00:00:00.000Z');
  const span = 250 * 24 * 3600 * 1000;

  for (const [expression, timezone] of cases) {
    it(`answers as nextDueInstants does for ${expression} in ${timezone}, in and out of order`, () => {
      const sorted = [...instants(expression.length * 7919, start, span, 300)].sort((a, b) => a.getTime() - b.getTime());
      const shuffled = [...instants(timezone.length * 104729, start, span, 100)];
      for (const after of [...sorted, ...shuffled]) {
        const expected = nextDueInstants(expression, timezone, after, 1)[0] ?? null;
        assert.deepEqual(firstDueInstantAfter(expression, timezone, after), expected, `after ${after.toISOString()}`);
      }
    });
  }

  it('includes the instants around a due time exactly', () => {
    const due = new Date('2026-11-28T18:00:00.000Z');
    assert.equal(firstDueInstantAfter('0 18 * * *', 'UTC', new Date(due.getTime() - 1))?.toISOString(), due.toISOString());
    assert.equal(firstDueInstantAfter('0 18 * * *', 'UTC', due)?.toISOString(), '2026-11-29T18:00:00.000Z');
  });

  it('throws on an invalid expression, like nextDueInstants', () => {
    assert.throws(() => firstDueInstantAfter('not cron', 'UTC', new Date(start)));
  });
});

describe('dueInstantsAfter', () => {
  it('answers exactly what nextDueInstants answers, for any count, across DST', async () => {
    const { dueInstantsAfter } = await import('../../src/domain/due-instant-memo.js');
    for (const [expression, zone] of [['*/30 * * * *', 'Europe/London'], ['30 1 * * *', 'Europe/London'], ['0 9 * * 1-5', 'America/New_York']] as const) {
      for (let hour = 0; hour < 72; hour += 7) {
        const after = new Date(Date.parse('2026-10-23T00:00:00Z') + hour * 3_600_000);
        for (const count of [1, 5, 40]) {
          assert.deepEqual(
            dueInstantsAfter(expression, zone, after, count).map((d) => d.toISOString()),
            nextDueInstants(expression, zone, after, count).map((d) => d.toISOString()),
            `${expression} ${zone} after ${after.toISOString()} x${count}`,
          );
        }
      }
    }
  });
});
