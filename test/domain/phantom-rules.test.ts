import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_PHANTOM_THRESHOLDS, phantomVerdict, type PhantomJobFacts, type VmaJobReport } from '../../src/domain/phantom-rules.js';

const START = '2026-05-01T10:00:00.000Z';
const after = (minutes: number, extraMs = 0) => new Date(Date.parse(START) + minutes * 60_000 + extraMs);
const job = (over: Partial<PhantomJobFacts> = {}): PhantomJobFacts => ({
  status: 'replicating',
  progress_percent: 40,
  started_at: START,
  last_progress_at: START,
  ...over,
});
const verdict = (j: PhantomJobFacts, vma: VmaJobReport, now: Date) => phantomVerdict({ job: j, vma, now, thresholds: DEFAULT_PHANTOM_THRESHOLDS });

describe('phantomVerdict', () => {
  it('a healthy job is not a phantom', () => {
    assert.deepEqual(verdict(job(), { status: 'running', progress_percent: 41 }, after(10)), { phantom: false });
    assert.deepEqual(verdict(job(), 'unknown', after(600)), { phantom: false });
  });

  it('rule 1: the VMA answers 404', () => {
    const v = verdict(job(), 'not_found', after(1));
    assert.equal(v.phantom && v.reason, 'vma_not_found');
  });

  it('rule 2: no progress for longer than 2 h and the VMA unreachable (strictly longer)', () => {
    assert.deepEqual(verdict(job(), 'unreachable', after(120)), { phantom: false });
    const v = verdict(job(), 'unreachable', after(120, 1));
    assert.equal(v.phantom && v.reason, 'no_progress_vma_unreachable');
    // Progress since: not silent.
    assert.deepEqual(verdict(job({ last_progress_at: after(60).toISOString() }), 'unreachable', after(121)), { phantom: false });
    // Silent, but the VMA answers: not rule 2.
    assert.deepEqual(verdict(job(), { status: 'running', progress_percent: 40 }, after(500)), { phantom: false });
    // No progress update at all: counted from the start.
    const none = verdict(job({ last_progress_at: null }), 'unreachable', after(121));
    assert.equal(none.phantom && none.reason, 'no_progress_vma_unreachable');
  });

  it('rule 3: replicating at 0 % more than 30 min after the start', () => {
    const zero = job({ progress_percent: 0 });
    assert.deepEqual(verdict(zero, 'unknown', after(30)), { phantom: false });
    const v = verdict(zero, 'unknown', after(30, 1));
    assert.equal(v.phantom && v.reason, 'zero_progress');
    // Another status at 0 %: not rule 3.
    assert.deepEqual(verdict(job({ status: 'provisioning', progress_percent: 0 }), 'unknown', after(45)), { phantom: false });
    // Progress seen by the VMA: not a phantom.
    assert.deepEqual(verdict(zero, { status: 'running', progress_percent: 3 }, after(45)), { phantom: false });
  });

  it('rule 4: completed below 100 %', () => {
    const v = verdict(job({ status: 'completed', progress_percent: 99.5 }), 'unknown', after(1));
    assert.equal(v.phantom && v.reason, 'completed_below_100');
    assert.deepEqual(verdict(job({ status: 'completed', progress_percent: 100 }), 'unknown', after(1)), { phantom: false });
    const vma = verdict(job(), { status: 'completed', progress_percent: 80 }, after(1));
    assert.equal(vma.phantom && vma.reason, 'completed_below_100');
  });

  it('thresholds are configuration', () => {
    const thresholds = { noProgressHours: 1, zeroProgressMinutes: 5 };
    const silent = phantomVerdict({ job: job(), vma: 'unreachable', now: after(61), thresholds });
    assert.equal(silent.phantom && silent.reason, 'no_progress_vma_unreachable');
    const zero = phantomVerdict({ job: job({ progress_percent: 0 }), vma: 'unknown', now: after(6), thresholds });
    assert.equal(zero.phantom && zero.reason, 'zero_progress');
  });
});
