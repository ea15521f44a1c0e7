import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_RETRY_DELAY_MS, retryAt, retryDelayMs } from '../../src/domain/retry-backoff.js';

const MIN = 60_000;

describe('retryDelayMs: retry_delay_minutes * 2^(attempt-1), capped at 24 h', () => {
  it('doubles each retry', () => {
    assert.equal(retryDelayMs(30, 1), 30 * MIN);
    assert.equal(retryDelayMs(30, 2), 60 * MIN);
    assert.equal(retryDelayMs(30, 3), 120 * MIN);
    assert.equal(retryDelayMs(30, 4), 240 * MIN);
  });

  it('caps at 24 h', () => {
    assert.equal(MAX_RETRY_DELAY_MS, 24 * 60 * MIN);
    assert.equal(retryDelayMs(1440, 1), MAX_RETRY_DELAY_MS);
    assert.equal(retryDelayMs(1440, 2), MAX_RETRY_DELAY_MS);
    assert.equal(retryDelayMs(720, 2), MAX_RETRY_DELAY_MS);
    assert.equal(retryDelayMs(720, 1), 720 * MIN);
    assert.equal(retryDelayMs(30, 10), MAX_RETRY_DELAY_MS); // 30 * 512 min > 24 h
    assert.equal(retryDelayMs(30, 1000), MAX_RETRY_DELAY_MS);
  });

  it('a zero delay stays zero', () => {
    assert.equal(retryDelayMs(0, 1), 0);
    assert.equal(retryDelayMs(0, 50), 0);
  });

  it('refuses attempt numbers below 1 and negative delays', () => {
    assert.throws(() => retryDelayMs(30, 0), RangeError);
    assert.throws(() => retryDelayMs(30, 1.5), RangeError);
    assert.throws(() => retryDelayMs(-1, 1), RangeError);
  });

  it('retryAt adds the delay to the failure instant', () => {
    assert.equal(retryAt('2026-05-01T10:00:00.000Z', 30, 2), '2026-05-01T11:00:00.000Z');
    assert.equal(retryAt('2026-05-01T10:00:00.000Z', 1440, 3), '2026-05-02T10:00:00.000Z');
  });
});
