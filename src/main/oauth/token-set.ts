// The token set we keep per CRM, and how an OAuth token-endpoint answer becomes one (or a CrmError).
import { z } from 'zod';
import { CrmError } from '../crm/port.js';

export interface TokenSet {
  accessToken: string;
  /** Null where the CRM issues none (or the grant had no offline access). */
  refreshToken: string | null;
  /** Epoch ms; null when the CRM does not say (Salesforce): then we only refresh after a 401. */
  expiresAt: number | null;
  /** Epoch ms the token was issued (with expiresAt: its lifetime, which bounds the refresh margin). */
  obtainedAt?: number;
  /** Non-secret account facts from the token response and callback (instance_url, api_domain, locationId...). */
  context: Record<string, string>;
}

export const TokenSetSchema = z.object({
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1).nullable(),
  expiresAt: z.number().nullable(),
  obtainedAt: z.number().optional(),
  context: z.record(z.string(), z.string()),
});

const TokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1).optional(),
  expires_in: z.union([z.number(), z.string().regex(/^\d+$/)]).optional(),
});

const OAuthErrorSchema = z.looseObject({
  error: z.string(),
  error_description: z.string().optional(),
});

/** Fields that are secrets or token mechanics, never copied into `context`. */
const NOT_CONTEXT = new Set(['access_token', 'refresh_token', 'id_token', 'expires_in', 'token_type', 'signature']);

/**
 * Error codes meaning the grant itself is gone (revoked, expired, already used). Zoho answers
 * `invalid_code` (with HTTP 200) for a dead refresh token; everyone else says `invalid_grant`.
 */
const DEAD_GRANT = new Set(['invalid_grant', 'invalid_code']);

/** Turns a token-endpoint answer into a TokenSet; `previous` supplies what a refresh response may omit. */
export function tokenSetFromResponse(
  status: number,
  body: unknown,
  retryAfter: string | null,
  now: number,
  previous: TokenSet | null = null,
): TokenSet {
  const oauthError = OAuthErrorSchema.safeParse(body);
  if (status >= 200 && status < 300 && !oauthError.success) {
    const parsed = TokenResponseSchema.safeParse(body);
    if (!parsed.success) throw new CrmError('transient', 'token endpoint returned an unreadable token response', status);
    const { access_token, refresh_token, expires_in } = parsed.data;
    const context: Record<string, string> = { ...previous?.context };
    for (const [key, value] of Object.entries(parsed.data)) {
      if (NOT_CONTEXT.has(key)) continue;
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') context[key] = String(value);
    }
    return {
      accessToken: access_token,
      // Non-rotating CRMs omit refresh_token on refresh: keep the one we had.
      refreshToken: refresh_token ?? previous?.refreshToken ?? null,
      expiresAt: expires_in === undefined ? null : now + Number(expires_in) * 1000,
      obtainedAt: now,
      context,
    };
  }
  throw tokenEndpointError(status, oauthError.success ? oauthError.data : null, retryAfter);
}

export function tokenEndpointError(
  status: number,
  oauthError: { error: string; error_description?: string } | null,
  retryAfter: string | null,
): CrmError {
  const detail = oauthError ? `${oauthError.error}${oauthError.error_description ? `: ${oauthError.error_description}` : ''}` : `HTTP ${status}`;
  if (oauthError && DEAD_GRANT.has(oauthError.error)) return new CrmError('auth', `sign-in expired or revoked (${detail})`, status);
  if (status === 429) return new CrmError('rate_limited', `token endpoint rate limited (${detail})`, status, retryAfterMs(retryAfter));
  if (status >= 500 || status === 408) return new CrmError('transient', `token endpoint unavailable (${detail})`, status);
  return new CrmError('rejected', `token endpoint refused the request (${detail})`, status);
}

/** Retry-After as delay-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
