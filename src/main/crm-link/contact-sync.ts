// Incremental contact sync for the local index: a sweep pages through `adapter.syncContacts`
// from the persisted cursor, files every page in the cache and the index, then sleeps until the
// next sweep. CRM trouble only delays it: rate limits wait for Retry-After (or back off),
// outages back off with jitter, a refusal waits a whole interval, and a lost grant stops it
// until the user signs in again (`start()`). Once every `fullPassEveryMs` a sweep starts from the
// beginning instead, and drops the contacts it no longer finds (deleted in the CRM).
import type { Logger } from 'pino';
import { CrmError, type CrmAdapter } from '../crm/port.js';
import type { ContactIndex } from '../contacts/index.js';
import { type BackoffPolicy, backoffDelay } from '../../shared/retry.js';
import type { ContactCache } from './contact-cache.js';

export interface ContactSyncOptions {
  adapter: CrmAdapter;
  cache: ContactCache;
  index: ContactIndex;
  /** Pause between sweeps once up to date. */
  intervalMs: number;
  /** How often a sweep re-reads the whole CRM to find deleted contacts. Default one day. */
  fullPassEveryMs?: number;
  now?: () => number;
  backoff: BackoffPolicy;
  random?: () => number;
  logger: Logger;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** How a sweep ended: 'synced' (up to date), 'auth' (stopped until sign-in), 'deferred' (retry scheduled). */
export type SweepOutcome = 'synced' | 'auth' | 'deferred' | 'stopped';

export class ContactSync {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<SweepOutcome> | null = null;
  private failures = 0;
  private stopped = true;

  constructor(private readonly opts: ContactSyncOptions) {}

  /** Sweeps now and keeps sweeping every interval (also after a stop on auth). */
  start(): void {
    this.stopped = false;
    void this.syncNow();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
  }

  /** Runs a sweep now, or joins the one under way. */
  syncNow(): Promise<SweepOutcome> {
    if (this.stopped) return Promise.resolve('stopped');
    this.clearTimer();
    this.running ??= this.sweep().finally(() => (this.running = null));
    return this.running;
  }

  private async sweep(): Promise<SweepOutcome> {
    const { adapter, cache, index, logger } = this.opts;
    const now = this.opts.now ?? Date.now;
    if (cache.passDue(now(), this.opts.fullPassEveryMs ?? DAY_MS)) cache.beginPass(now());
    let cursor = cache.cursor;
    let pages = 0;
    try {
      for (;;) {
        const page = await adapter.syncContacts(cursor);
        if (this.stopped) return 'stopped';
        cache.savePage(page.contacts, page.cursor);
        for (const contact of page.contacts) index.upsert(contact);
        cursor = page.cursor;
        pages++;
        if (!page.hasMore) break;
      }
    } catch (error) {
      return this.onFailure(error);
    }
    this.failures = 0;
    if (cache.inPass) {
      const gone = cache.finishPass(now());
      for (const id of gone) index.remove(id);
      logger.debug({ removed: gone.length }, 'full contact pass finished');
    }
    logger.debug({ pages, indexed: index.size }, 'contacts synced');
    this.schedule(this.opts.intervalMs);
    return 'synced';
  }

  private onFailure(error: unknown): SweepOutcome {
    if (this.stopped) return 'stopped';
    const crmError = error instanceof CrmError ? error : new CrmError('transient', (error as Error)?.message ?? String(error));
    const { logger, backoff, random, intervalMs } = this.opts;
    if (crmError.kind === 'auth') {
      logger.warn('contact sync stopped until the CRM is signed in again');
      return 'auth';
    }
    let delayMs: number;
    if (crmError.kind === 'rejected') delayMs = intervalMs; // retrying sooner cannot help
    else if (crmError.kind === 'rate_limited' && crmError.retryAfterMs !== null) delayMs = crmError.retryAfterMs;
    else delayMs = backoffDelay(this.failures++, backoff, random);
    logger.warn({ kind: crmError.kind, status: crmError.status, delayMs, err: crmError.message }, 'contact sync deferred');
    this.schedule(delayMs);
    return 'deferred';
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.clearTimer();
    this.timer = setTimeout(() => void this.syncNow(), delayMs);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
