// Zoho CRM's API limits at Zoho's numbers: API credits over a rolling 24 hours and concurrent calls
// per app and org, both by edition (Zoho's "Credit calculation and concurrency in Zoho CRM APIs"
// Kaizen post, https://help.zoho.com/portal/en/community/topic/credit-calculation-and-concurrency-in-zoho-crm-apis).
// Over either limit Zoho answers 429 (v8 status-codes page: "Number of API requests for the 24 hour
// period is exceeded or the concurrency limit of the user for the app is exceeded").
import type { RateLimitDecision } from '../common/index.js';
import { DAY_MS, RollingWindow } from '../common/rolling-window.js';
import { zohoError } from './errors.js';

export type ZohoEdition = 'free' | 'standard' | 'professional' | 'enterprise' | 'ultimate';

/** Credits: base + per user licence, capped; concurrency: calls in progress at once. */
export const ZOHO_EDITIONS: Readonly<Record<ZohoEdition, { concurrency: number; base: number; perUser: number; max: number }>> = {
  free: { concurrency: 5, base: 5_000, perUser: 0, max: 5_000 },
  standard: { concurrency: 10, base: 50_000, perUser: 250, max: 100_000 },
  professional: { concurrency: 15, base: 50_000, perUser: 500, max: 1_000_000 },
  enterprise: { concurrency: 20, base: 50_000, perUser: 1_000, max: 2_000_000 },
  ultimate: { concurrency: 25, base: 50_000, perUser: 2_000, max: Number.POSITIVE_INFINITY },
};

export interface ZohoLimitOptions {
  edition: ZohoEdition;
  userLicences: number;
  /** Credits the org already spent in the current 24 hours (other integrations). */
  creditsUsed: number;
  now: () => number;
}

export class ZohoLimits {
  readonly concurrency: number;
  /** Credits; each is free again 24 hours after it was spent. */
  private readonly window: RollingWindow;
  private inFlight = 0;

  constructor(opts: ZohoLimitOptions) {
    const e = ZOHO_EDITIONS[opts.edition];
    this.window = new RollingWindow(Math.min(e.max, e.base + e.perUser * opts.userLicences), DAY_MS, opts.now);
    this.window.take(opts.creditsUsed);
    this.concurrency = e.concurrency;
  }

  get credits(): number {
    return this.window.limit;
  }

  /** For each API call (the harness's rateLimit hook): refuse it, or count its credit. Every call costs at least one. */
  decide(): RateLimitDecision | null {
    if (this.window.remaining === 0) {
      return { refuse: { status: 429, body: zohoError('LIMIT_EXCEEDED', 'API credits for the last 24 hours are used up') } };
    }
    if (this.inFlight >= this.concurrency) {
      return { refuse: { status: 429, body: zohoError('TOO_MANY_REQUESTS', 'Concurrency limit for the app and org reached') } };
    }
    this.window.take(1);
    return null;
  }

  /** A call the limits let through is in progress until its response closes (answered or dropped). */
  track(response: { once(event: 'close', listener: () => void): unknown }): void {
    this.inFlight++;
    response.once('close', () => {
      this.inFlight--;
    });
  }
}
