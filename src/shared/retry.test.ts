import { describe, expect, it } from 'vitest';
import { backoffDelay, pause } from './retry.js';

const policy = { baseMs: 500, capMs: 30_000 };

describe('backoffDelay', () => {
  it('doubles the ceiling with each attempt', () => {
    const top = (attempt: number) => backoffDelay(attempt, policy, () => 0.999_999);
    expect([0, 1, 2, 3].map(top)).toEqual([499, 999, 1999, 3999]);
  });

  it('never exceeds the cap, however many attempts failed', () => {
    for (const attempt of [6, 7, 30, 31, 1_000, Number.MAX_SAFE_INTEGER]) {
      expect(backoffDelay(attempt, policy, () => 0.999_999)).toBe(29_999);
    }
  });

  it('is a whole number of milliseconds spread over the whole range (full jitter)', () => {
    expect(backoffDelay(4, policy, () => 0)).toBe(0);
    expect(backoffDelay(4, policy, () => 0.5)).toBe(4_000);
    for (let i = 0; i < 1_000; i++) {
      const delay = backoffDelay(3, policy);
      expect(Number.isInteger(delay)).toBe(true);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(4_000);
    }
  });
});

describe('pause', () => {
  it('resolves true once the time has passed', async () => {
    await expect(pause(1, new AbortController().signal)).resolves.toBe(true);
  });

  it('ends with false as soon as the signal aborts, not when the time is up', async () => {
    const stop = new AbortController();
    const paused = pause(3_600_000, stop.signal);
    stop.abort();
    await expect(paused).resolves.toBe(false);
  });

  it('does not wait at all on a signal that already aborted', async () => {
    await expect(pause(3_600_000, AbortSignal.abort())).resolves.toBe(false);
  });
});
