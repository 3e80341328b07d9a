// OAuth client-credentials tokens for a 3CX API client. 3CX keeps one active token per client id
// (a new one invalidates the old, NOTES 1.2), so exactly one TokenSource may exist per client id
// in a process: TokenRegistry enforces that, and concurrent callers share one in-flight request.
import { FormData, request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { PbxApiError } from './errors.js';
import { TokenErrorSchema, TokenResponseSchema } from './wire.js';

/**
 * 3CX reports expires_in in seconds since 20.0.9 and in minutes before (NOTES 1.2), and the answer
 * does not say which. When the token is a JWT carrying `iat` and `exp`, their difference is the
 * PBX's own word for the lifetime in seconds (a difference, so clock skew does not matter) and
 * settles the unit. Otherwise expires_in is read as seconds: for a pre-20.0.9 PBX that is the
 * shorter of the two readings, so the token is replaced early (one extra token request) rather than
 * presented after it expired (a 401: a refused WebSocket upgrade, events late).
 */
const MAX_REFRESH_AHEAD_MS = 60_000;

const JwtLifetimeSchema = z.object({ iat: z.number().int(), exp: z.number().int() }).refine((c) => c.exp > c.iat);

/** Lifetime in seconds from a JWT access token's own claims, or null when it is not one. */
function jwtLifetimeSec(token: string): number | null {
  const parts = token.split('.');
  const payload = parts[1];
  if (parts.length !== 3 || !payload) return null;
  try {
    const claims = JwtLifetimeSchema.safeParse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
    return claims.success ? claims.data.exp - claims.data.iat : null;
  } catch {
    return null;
  }
}

/** Milliseconds after issue at which a token with this expires_in is replaced. */
function refreshAfterMs(expiresInSec: number): number {
  const lifetimeMs = expiresInSec * 1000;
  return lifetimeMs - Math.min(MAX_REFRESH_AHEAD_MS, lifetimeMs / 5);
}

export interface TokenSourceOptions {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  dispatcher?: Dispatcher;
  now?: () => number;
}

export class TokenSource {
  private current: { token: string; refreshAt: number } | null = null;
  private inFlight: Promise<string> | null = null;
  private readonly now: () => number;

  constructor(private readonly opts: TokenSourceOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** A token valid for a while yet; fetched or refreshed ahead of expiry. */
  async get(): Promise<string> {
    if (this.current && this.now() < this.current.refreshAt) return this.current.token;
    return this.fetchOnce();
  }

  /** The PBX refused `stale` (401): fetch a new one unless someone already did. */
  async refresh(stale: string): Promise<string> {
    if (this.current && this.current.token !== stale && this.now() < this.current.refreshAt) return this.current.token;
    this.current = null;
    return this.fetchOnce();
  }

  private fetchOnce(): Promise<string> {
    this.inFlight ??= this.fetchToken().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async fetchToken(): Promise<string> {
    // multipart/form-data, as both official 3CX examples send it.
    const form = new FormData();
    form.set('client_id', this.opts.clientId);
    form.set('client_secret', this.opts.clientSecret);
    form.set('grant_type', 'client_credentials');
    // The lifetime counts from the request, not the answer: a slow answer must not stretch it.
    const issuedAt = this.now();
    const res = await request(new URL('/connect/token', this.opts.baseUrl), { method: 'POST', body: form, dispatcher: this.opts.dispatcher });
    const body: unknown = await res.body.json().catch(() => null);
    if (res.statusCode !== 200) {
      const err = TokenErrorSchema.safeParse(body);
      const detail = err.success ? `${err.data.error}${err.data.error_description ? `: ${err.data.error_description}` : ''}` : `HTTP ${res.statusCode}`;
      throw new PbxApiError(`3CX token request for client ${this.opts.clientId} failed (${detail})`, res.statusCode);
    }
    const parsed = TokenResponseSchema.safeParse(body);
    if (!parsed.success) throw new PbxApiError('3CX token response is malformed', res.statusCode);
    this.current = { token: parsed.data.access_token, refreshAt: issuedAt + refreshAfterMs(jwtLifetimeSec(parsed.data.access_token) ?? parsed.data.expires_in) };
    return parsed.data.access_token;
  }
}

/** One TokenSource per (PBX URL, client id) in this process. */
export class TokenRegistry {
  private readonly sources = new Map<string, { source: TokenSource; secret: string }>();

  constructor(private readonly defaults: Pick<TokenSourceOptions, 'dispatcher' | 'now'> = {}) {}

  sourceFor(opts: Omit<TokenSourceOptions, 'dispatcher' | 'now'>): TokenSource {
    const key = `${new URL(opts.baseUrl).origin} ${opts.clientId}`;
    const known = this.sources.get(key);
    // A rotated secret needs a fresh source; the old token dies with the next issue anyway.
    if (known && known.secret === opts.clientSecret) return known.source;
    const source = new TokenSource({ ...this.defaults, ...opts });
    this.sources.set(key, { source, secret: opts.clientSecret });
    return source;
  }
}
