// Capped exponential backoff with full jitter (delay uniformly in [0, min(cap, base * 2^attempt)]):
// many agents retrying a CRM that just came back do not arrive in lockstep. The default cap is a
// minute: a CRM that answers again is tried again within one, never left for minutes.
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 60_000 };

export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
