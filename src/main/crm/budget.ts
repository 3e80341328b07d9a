// A client-side request budget per CRM connection (one per adapter, so per token): bursts wait
// for room instead of being refused. Each provider declares its vendor's documented limits in its
// index.ts; http.ts takes a slot before every attempt and pauses the whole budget for a 429's
// Retry-After. Waiters are served oldest first and a retried request keeps its place in line, so
// a pause paces every request without starving any. `retryWithin` gives a whole operation with a
// deadline (the screen-pop lookup) further tries within its time budget.
import { type BackoffPolicy, backoffDelay } from '../../shared/retry.js';
import { sleep } from './abort.js';
import { CrmError } from './port.js';

/** At most `max` requests started in any rolling `perMs`. */
export interface RequestWindow {
  max: number;
  perMs: number;
  /** Only requests whose URL path matches count against this window (HubSpot's search limit); default all. */
  path?: RegExp;
  /** Requests whose URL path matches do not count (HubSpot's searches, exempt from its 10 s window). */
  except?: RegExp;
}

const counts = (window: RequestWindow, path: string) => (!window.path || window.path.test(path)) && !window.except?.test(path);

export interface BudgetSpec {
  windows?: RequestWindow[];
  /** Requests in flight at once (Zoho's and Salesforce's concurrency limits). */
  concurrency?: number;
}

/** A window frees a slot this much (fraction of its length) after the vendor would, so network jitter cannot land one request too many in the vendor's window. */
const WINDOW_MARGIN = 0.1;

interface Waiter {
  ticket: number;
  path: string;
  grant: (release: () => void) => void;
}

export class RequestBudget {
  private readonly windows: Array<{ window: RequestWindow; starts: number[] }>;
  private readonly concurrency: number;
  /** Sorted by ticket: the order requests first asked. */
  private readonly waiters: Waiter[] = [];
  private inFlight = 0;
  private pausedUntil = 0;
  private nextTicket = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    spec: BudgetSpec = {},
    private readonly now: () => number = Date.now,
  ) {
    for (const w of spec.windows ?? []) {
      if (!(w.max >= 1 && w.perMs > 0)) throw new Error(`request window needs max >= 1 and perMs > 0 (got ${w.max}/${w.perMs})`);
    }
    if (spec.concurrency !== undefined && !(spec.concurrency >= 1)) throw new Error(`request concurrency must be >= 1 (got ${spec.concurrency})`);
    this.windows = (spec.windows ?? []).map((window) => ({ window, starts: [] }));
    this.concurrency = spec.concurrency ?? Infinity;
  }

  /** A place in line; pass it to every `acquire` of one request's attempts. */
  ticket(): number {
    return this.nextTicket++;
  }

  /**
   * Resolves with `release` once a request to `path` may start; call `release` when its answer is read.
   * Rejects with the abort reason, leaving the line, if `signal` aborts first.
   */
  acquire(path: string, ticket: number = this.ticket(), signal?: AbortSignal): Promise<() => void> {
    return new Promise((grant, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        this.pump();
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        ticket,
        path,
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          grant(release);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const at = this.waiters.findIndex((w) => w.ticket > ticket);
      this.waiters.splice(at < 0 ? this.waiters.length : at, 0, waiter);
      this.pump();
    });
  }

  /**
   * `release` for a request to `path` that may start right now (nobody waiting, nothing held), without
   * the promise `acquire` gives and its tick; null when it would have to wait.
   */
  tryAcquire(path: string, ticket: number = this.ticket()): (() => void) | null {
    const now = this.now();
    if (this.waiters.length > 0 || this.pausedUntil > now || this.inFlight >= this.concurrency || this.freeAt(path, now) > now) return null;
    let release: (() => void) | null = null;
    this.start({ ticket, path, grant: (r) => (release = r) }, now);
    return release;
  }

  /** The CRM asked everyone to wait (Retry-After): nothing starts before then. */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
    this.pump();
  }

  /** Starts every waiter that fits, oldest first; a waiter held only by its own window lets others pass. */
  private pump(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.waiters.length === 0) return;
    const now = this.now();
    let wakeAt = this.pausedUntil;
    if (this.pausedUntil <= now) {
      wakeAt = Infinity;
      for (let i = 0; i < this.waiters.length && this.inFlight < this.concurrency; ) {
        const waiter = this.waiters[i]!;
        const freeAt = this.freeAt(waiter.path, now);
        if (freeAt > now) {
          wakeAt = Math.min(wakeAt, freeAt);
          i++;
        } else {
          this.waiters.splice(i, 1);
          this.start(waiter, now);
        }
      }
    }
    // Held by concurrency only: the next release pumps.
    if (this.waiters.length > 0 && wakeAt !== Infinity) this.timer = setTimeout(() => this.pump(), Math.max(1, wakeAt - now));
  }

  /** When every window this path counts against has room again. */
  private freeAt(path: string, now: number): number {
    let at = now;
    for (const { window, starts } of this.windows) {
      if (!counts(window, path)) continue;
      const span = window.perMs * (1 + WINDOW_MARGIN);
      while (starts.length > 0 && starts[0]! <= now - span) starts.shift();
      if (starts.length >= window.max) at = Math.max(at, starts[starts.length - window.max]! + span);
    }
    return at;
  }

  private start(waiter: Waiter, now: number): void {
    for (const { window, starts } of this.windows) if (counts(window, waiter.path)) starts.push(now);
    this.inFlight++;
    let released = false;
    waiter.grant(() => {
      if (released) return;
      released = true;
      this.inFlight--;
      this.pump();
    });
  }
}

/** Backoff between tries of an operation without a Retry-After to go by. */
const OPERATION_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 4_000 };

/**
 * Runs `op`, and again after a rate limit or transient failure (Retry-After honoured, else
 * full-jitter backoff) while the next try can still start within `budgetMs`: for work with a
 * deadline, like naming a caller while the phone rings. The last failure is thrown.
 */
export async function retryWithin<T>(budgetMs: number, op: () => Promise<T>, opts: { now?: () => number; random?: () => number } = {}): Promise<T> {
  const now = opts.now ?? Date.now;
  const deadline = now() + budgetMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (error) {
      if (!(error instanceof CrmError) || (error.kind !== 'rate_limited' && error.kind !== 'transient')) throw error;
      const wait = error.retryAfterMs ?? backoffDelay(attempt, OPERATION_BACKOFF, opts.random);
      if (now() + wait > deadline) throw error;
      await sleep(wait);
    }
  }
}
