// Waiting between tries, one way for both programs. Capped exponential backoff with full jitter
// (a delay uniform in [0, min(cap, base * 2^attempt))): many agents or connectors retrying a server
// that just came back do not arrive in lockstep. And a pause that a stop ends at once.
import { setTimeout } from 'node:timers/promises';

export interface BackoffPolicy {
  /** Ceiling of the first delay (attempt 0); it doubles with each attempt. */
  baseMs: number;
  /** The ceiling grows no further than this. */
  capMs: number;
}

export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** Waits `ms`: true when the time passed, false as soon as `signal` aborts (or if it already had). */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return setTimeout(ms, true, { signal }).catch(() => false);
}
