// The one HTTP path every CRM adapter uses. It owns the rules the outbox depends on:
// bearer from the session, one refresh-and-retry on 401, a hard timeout, and the mapping of
// every failure to a CrmError kind (rate_limited / transient / auth / rejected) carrying the
// CRM's own message. Response bodies are zod-validated so a changed CRM API fails loudly.
//
// Ordinary error rates are absorbed per request: a few quick retries (full jitter) on 429, 5xx and
// network errors, a 429's Retry-After honoured up to a cap (and paced across the connection by its
// RequestBudget), so one refused request does not fail a whole multi-request step. A request that
// may already have been applied (timeout or 5xx after it was sent) is resent only when the adapter
// marked it idempotent; everything else surfaces to the caller as before. Inside an abort scope
// (crm/abort.ts: the outbox closing) every wait and the request itself stop at once.
import { z } from 'zod';
import { currentAbortSignal, sleep } from './abort.js';
import { type BackoffPolicy, backoffDelay } from '../../shared/retry.js';
import { RequestBudget } from './budget.js';
import { CrmError, type CrmSession } from './port.js';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface CrmRequest<T> {
  method?: HttpMethod;
  /** Absolute URL; `query` is appended. */
  url: string;
  query?: Record<string, string | number | undefined>;
  /** JSON body (sent as application/json). */
  json?: unknown;
  /** Multipart body, see `multipartForm`. Reusable, so the 401 retry can resend it. */
  form?: FormData;
  /** Schema of the success body; a 204/empty body is parsed as `undefined`. */
  schema: z.ZodType<T>;
  /** Extra headers for this request (e.g. If-Modified-Since, an API version); they override the defaults. */
  headers?: Record<string, string>;
  /**
   * Safe to send again when an earlier attempt may have been applied (timeout, 5xx): reads,
   * searches, PUT/PATCH/DELETE, and creates the adapter made idempotent (a unique key the CRM
   * enforces). Default: every method but POST. Any request is resent after a 429 or a connection
   * that never opened: the CRM applied nothing.
   */
  idempotent?: boolean;
}

/** The CRM's own words for an error, pulled out of its error body. */
export interface CrmErrorDetail {
  message: string;
  code?: string;
}

export interface CrmFetchOptions {
  fetch?: typeof fetch;
  /** Scheme of the Authorization header; default `Bearer` (Zoho wants `Zoho-oauthtoken`). */
  authScheme?: string;
  /** Per-attempt timeout (the answer read, a 401's refresh and resend included); default 15 s. */
  timeoutMs?: number;
  /** Vendor error body -> message; defaults to `extractCrmError`. */
  errorDetail?: (body: unknown, status: number) => CrmErrorDetail;
  /** Vendor-specific classification before the generic status rules (e.g. Salesforce's 403 REQUEST_LIMIT_EXCEEDED). */
  classify?: (status: number, detail: CrmErrorDetail, headers: Headers) => CrmError | undefined;
  /** Delay from vendor reset headers when a 429 carries no Retry-After. */
  rateLimitDelayMs?: (headers: Headers) => number | null;
  /** Clock for HTTP-date Retry-After; tests may pin it. */
  now?: () => number;
  /** The connection's request budget (declared in the provider's index.ts); without one, nothing is paced. */
  budget?: RequestBudget;
  retry?: RetryPolicy;
  random?: () => number;
}

export interface RetryPolicy {
  /** Attempts per request, the first included. */
  attempts: number;
  /** Longest Retry-After waited within the request; a longer one goes to the caller (the outbox pauses the CRM). */
  maxRetryAfterMs: number;
  backoff: BackoffPolicy;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, maxRetryAfterMs: 10_000, backoff: { baseMs: 250, capMs: 2_000 } };
const DEFAULT_TIMEOUT_MS = 15_000;
const MAX_CONNECTION_PAUSE_MS = 60_000;
/** Network errors raised before the request left this machine. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/** A request that never reached the CRM: resending it cannot apply anything twice. */
class NotSentError extends CrmError {}

/** A budget slot granted before its request was chosen (`takeSlot`). */
export interface BudgetSlot {
  ticket: number;
  /** Gives the slot back unspent (crmFetch releases a slot it was given). */
  release: () => void;
}

/**
 * Waits for room in the connection's budget before the request is known, so a batcher can gather
 * the work that arrives meanwhile and then spend the slot on the request it builds: pass the slot
 * to `crmFetch`, whose first attempt starts at once on it (its retries queue with the slot's
 * ticket). `path` stands for the request's path in the budget's windows.
 */
export async function takeSlot(opts: CrmFetchOptions, path: string): Promise<BudgetSlot> {
  if (!opts.budget) return { ticket: 0, release: () => undefined };
  const ticket = opts.budget.ticket();
  return { ticket, release: await opts.budget.acquire(path, ticket, currentAbortSignal()) };
}

/** A slot this instant when the budget has room and nobody waits (no tick spent), else null: then `takeSlot`. */
export function slotNow(opts: CrmFetchOptions, path: string): BudgetSlot | null {
  if (!opts.budget) return { ticket: 0, release: () => undefined };
  const ticket = opts.budget.ticket();
  const release = opts.budget.tryAcquire(path, ticket);
  return release ? { ticket, release } : null;
}

/**
 * Sends one CRM request and returns the validated body, or throws CrmError once its retries are
 * spent. A 401 triggers exactly one `session.refreshAfterUnauthorized()` and one resend. With a
 * `slot` (takeSlot) the first attempt goes out on it instead of asking the budget.
 */
export async function crmFetch<T>(session: CrmSession, req: CrmRequest<T>, opts: CrmFetchOptions = {}, slot?: BudgetSlot): Promise<T> {
  const budget = opts.budget ?? new RequestBudget();
  const policy = opts.retry ?? DEFAULT_RETRY;
  const ticket = slot?.ticket ?? budget.ticket();
  const path = new URL(req.url).pathname;
  const signal = currentAbortSignal();
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) {
      if (attempt === 1) slot?.release();
      throw signal.reason;
    }
    const release = attempt === 1 && slot ? slot.release : await budget.acquire(path, ticket, signal);
    let failure: unknown;
    try {
      return await attemptOnce(session, req, opts, signal);
    } catch (error) {
      failure = error;
    } finally {
      release();
    }
    const wait = retryWait(failure, req, attempt, policy, budget, opts.random);
    if (wait === null) throw failure;
    if (wait > 0) await sleep(wait, signal);
  }
}

/** How long to wait before resending, or null when this failure is the caller's to handle. */
function retryWait(error: unknown, req: CrmRequest<unknown>, attempt: number, policy: RetryPolicy, budget: RequestBudget, random?: () => number): number | null {
  if (!(error instanceof CrmError)) return null;
  // Every request on this connection waits a Retry-After out (a minute at most: a daily limit must
  // not hang lookups for hours; they meet the 429 again instead).
  if (error.status === 429 && error.retryAfterMs !== null) budget.pause(Math.min(error.retryAfterMs, MAX_CONNECTION_PAUSE_MS));
  if (attempt >= policy.attempts) return null;
  const jitter = backoffDelay(attempt - 1, policy.backoff, random);
  if (error.status === 429) {
    if (error.retryAfterMs === null) return jitter;
    return error.retryAfterMs > policy.maxRetryAfterMs ? null : 0; // the pause above is the wait
  }
  if (error.kind !== 'transient') return null;
  const idempotent = req.idempotent ?? (req.method ?? 'GET') !== 'POST';
  return idempotent || error instanceof NotSentError ? jitter : null;
}

async function attemptOnce<T>(session: CrmSession, req: CrmRequest<T>, opts: CrmFetchOptions, abort: AbortSignal | undefined): Promise<T> {
  const attempt = attemptSignal(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, abort);
  try {
    let res = await send(req, await session.accessToken(), opts, attempt.signal, abort);
    if (res.status === 401) {
      await res.body?.cancel();
      res = await send(req, await refreshOrAuthError(session), opts, attempt.signal, abort);
      if (res.status === 401) {
        const detail = await readErrorDetail(res, opts);
        throw new CrmError('auth', `CRM refused the refreshed token: ${detail.message}`, 401);
      }
    }
    if (!res.ok) throw await toCrmError(res, opts);
    return await parseBody(res, req.schema);
  } finally {
    attempt.dispose();
  }
}

/**
 * An attempt's signal: its timeout, or the caller's abort. Built by hand, not with
 * `AbortSignal.any([abort, AbortSignal.timeout(ms)])`: Node 20 may garbage-collect a timeout
 * signal held only by `any()`, which then never fires (nodejs/node#57736), and a request to a
 * CRM that does not answer would hang for good.
 */
function attemptSignal(timeoutMs: number, abort: AbortSignal | undefined): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
  const onAbort = () => controller.abort(abort!.reason);
  if (abort?.aborted) onAbort();
  else abort?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      abort?.removeEventListener('abort', onAbort);
    },
  };
}

async function refreshOrAuthError(session: CrmSession): Promise<string> {
  try {
    return await session.refreshAfterUnauthorized();
  } catch (err) {
    if (err instanceof CrmError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    // A session that fails without classifying is treated like a network problem, except a dead grant.
    throw /invalid_grant/i.test(message)
      ? new CrmError('auth', `Sign in again: ${message}`, null)
      : new CrmError('transient', `Token refresh failed: ${message}`, null);
  }
}

async function send(req: CrmRequest<unknown>, token: string, opts: CrmFetchOptions, signal: AbortSignal, abort: AbortSignal | undefined): Promise<Response> {
  const url = new URL(req.url);
  for (const [key, value] of Object.entries(req.query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  const headers: Record<string, string> = {
    authorization: `${opts.authScheme ?? 'Bearer'} ${token}`,
    accept: 'application/json',
  };
  let body: string | FormData | undefined;
  if (req.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(req.json);
  } else if (req.form) {
    body = req.form; // fetch sets the multipart boundary itself
  }
  for (const [name, value] of Object.entries(req.headers ?? {})) headers[name.toLowerCase()] = value;
  const doFetch = opts.fetch ?? globalThis.fetch;
  try {
    return await doFetch(url, { method: req.method ?? 'GET', headers, body, signal });
  } catch (err) {
    // Abandoned, not failed: the caller (the outbox closing) must not mistake it for a CRM answer.
    if (abort?.aborted) throw abort.reason;
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    const reason = timedOut ? 'timed out' : `network error (${describeCause(err)})`;
    const message = `${req.method ?? 'GET'} ${url.pathname} ${reason}`;
    if (!timedOut && NOT_SENT_CODES.has(causeCode(err))) throw new NotSentError('transient', message, null);
    // The write may or may not have been applied: callers retry idempotently (search by callKey first).
    throw new CrmError('transient', message, null);
  }
}

function causeCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === 'string' ? cause.code : '';
}

function describeCause(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : err.message;
}

async function parseBody<T>(res: Response, schema: z.ZodType<T>): Promise<T> {
  const text = await res.text();
  let data: unknown = undefined;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      throw new CrmError('transient', `CRM answered ${res.status} with a body that is not JSON`, res.status);
    }
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    // A body we cannot read will not get better by retrying: surface it for attention.
    throw new CrmError('rejected', `Unexpected CRM response: ${z.prettifyError(parsed.error)}`, res.status);
  }
  return parsed.data;
}

async function readErrorDetail(res: Response, opts: CrmFetchOptions): Promise<CrmErrorDetail> {
  const text = await res.text().catch(() => '');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* plain-text error body */
  }
  return (opts.errorDetail ?? extractCrmError)(body, res.status);
}

async function toCrmError(res: Response, opts: CrmFetchOptions): Promise<CrmError> {
  const detail = await readErrorDetail(res, opts);
  const vendor = opts.classify?.(res.status, detail, res.headers);
  if (vendor) return vendor;
  const delay = res.status === 429 ? (retryAfterMs(res.headers, opts.now ?? Date.now) ?? opts.rateLimitDelayMs?.(res.headers) ?? null) : null;
  return crmErrorOf(res.status, detail, delay);
}

/**
 * The CrmError kind of an HTTP status with the CRM's words: also for the per-item errors of a
 * batch answer, so an item fails as it would have alone.
 */
export function crmErrorOf(status: number, detail: CrmErrorDetail, retryAfter: number | null = null): CrmError {
  const text = detail.code ? `${detail.message} (${detail.code})` : detail.message;
  if (status === 429) return new CrmError('rate_limited', text, 429, retryAfter);
  if (status >= 500 || status === 408) return new CrmError('transient', text, status);
  if (detail.code === 'invalid_grant') return new CrmError('auth', text, status);
  return new CrmError('rejected', text, status);
}

/** Retry-After in delta-seconds or HTTP-date form (RFC 9110 §10.2.3), as milliseconds from now. */
export function retryAfterMs(headers: Headers, now: () => number = Date.now): number | null {
  const value = headers.get('retry-after')?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now());
}

/**
 * Best-effort reading of the error bodies our CRMs send: Salesforce `[{message, errorCode}]`,
 * HubSpot `{message, category, errors:[…]}`, Zoho `{code, message}` or `{data:[{code, message}]}`,
 * HighLevel `{message: string | string[]}`, OAuth `{error, error_description}`.
 */
export function extractCrmError(body: unknown, status: number): CrmErrorDetail {
  const first = Array.isArray(body) ? body[0] : body;
  if (typeof first === 'string' && first.trim()) return { message: first.trim().slice(0, 500) };
  if (first && typeof first === 'object') {
    const o = first as Record<string, unknown>;
    const nested = Array.isArray(o.data) ? o.data[0] : undefined;
    if (nested && typeof nested === 'object') return extractCrmError(nested, status);
    const message = [o.message, o.error_description, o.error].find(
      (m) => (typeof m === 'string' && m.length > 0) || Array.isArray(m),
    );
    const code = [o.errorCode, o.code, o.category, o.error].find((c) => typeof c === 'string') as string | undefined;
    if (message !== undefined) {
      return { message: Array.isArray(message) ? message.join('; ') : String(message), code };
    }
  }
  return { message: `HTTP ${status}` };
}

/** Builds a multipart body: text fields plus one file part. */
export function multipartForm(
  fields: Record<string, string>,
  file: { field: string; fileName: string; contentType: string; data: Uint8Array },
): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append(file.field, new Blob([file.data], { type: file.contentType }), file.fileName);
  return form;
}

/** Schema for endpoints whose success body we ignore (204, or a body we don't read). */
export const IgnoredBody = z.unknown();
