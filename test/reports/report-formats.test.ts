import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { humanAge } from '../../src/reports/age-format.js';
import { csvField, csvRecord } from '../../src/reports/csv-format.js';
import { parseInstant, rangeOf } from '../../src/reports/report-range.js';
import { parseCsv } from './cli-run.js';

describe('CSV fields (RFC 4180)', () => {
  it('quotes only what needs it and doubles quotes', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField(42.5), '42.5');
    assert.equal(csvField(null), '');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField('cr\rhere'), '"cr\rhere"');
  });

  it('reads back as the values written, whatever they hold', () => {
    const values = ['', 'x', '"', '""', ',', '\r\n', '{"vms":[{"a":1,"b":"c, d"}]}', 'trailing space ', ' é ✓'];
    assert.deepEqual(parseCsv(csvRecord(values) + csvRecord(['1', '2'])), [values, ['1', '2']]);
  });
});

describe('report instants and ranges', () => {
  it('takes ISO-8601 date-times with a zone, and nothing else', () => {
    assert.equal(parseInstant('2026-05-20T12:00:00Z')?.toISOString(), '2026-05-20T12:00:00.000Z');
    assert.equal(parseInstant('2026-05-20T14:00:00.250+02:00')?.toISOString(), '2026-05-20T12:00:00.250Z');
    assert.equal(parseInstant('2026-05-20T12:00Z')?.toISOString(), '2026-05-20T12:00:00.000Z');
    for (const text of ['2026-05-20', '2026-05-20T12:00:00', '2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-05-20T24:00:00Z', 'yesterday', '']) {
      assert.equal(parseInstant(text), null, text);
    }
  });

  it('fills a missing end with now and a missing start with 7 days before the end', () => {
    const now = new Date('2026-05-20T12:00:00Z');
    const iso = (range: { from: Date; to: Date }) => [range.from.toISOString(), range.to.toISOString()];
    assert.deepEqual(iso(rangeOf({}, now)), ['2026-05-13T12:00:00.000Z', '2026-05-20T12:00:00.000Z']);
    assert.deepEqual(iso(rangeOf({ to: new Date('2026-05-10T00:00:00Z') }, now)), ['2026-05-03T00:00:00.000Z', '2026-05-10T00:00:00.000Z']);
    assert.deepEqual(iso(rangeOf({ from: new Date('2026-05-01T00:00:00Z') }, now)), ['2026-05-01T00:00:00.000Z', '2026-05-20T12:00:00.000Z']);
  });
});

describe('ages for people', () => {
  it('shows the two largest units', () => {
    assert.deepEqual(
      [0, 45, 60, 45 * 60, 3 * 3600 + 12 * 60 + 59, 10 * 3600, 86_400 * 2 + 5 * 3600 + 59, -5].map(humanAge),
      ['0s', '45s', '1m', '45m', '3h 12m', '10h 0m', '2d 5h', '0s'],
    );
  });
});
