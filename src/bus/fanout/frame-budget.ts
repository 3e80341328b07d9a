// How many frames an agent socket may still send: a token bucket, refilled continuously.
import { performance } from 'node:perf_hooks';

export class FrameBudget {
  private tokens: number;
  private refilledAt = performance.now();

  /** `burst` frames at once, then `perSecond` on average (0: never refilled). */
  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
  ) {
    this.tokens = burst;
  }

  /** Spends one frame; false when the budget is exhausted. */
  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
