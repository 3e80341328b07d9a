// OAuth 2.0 authorization-code server for the CRM simulators: authorize redirect with a code,
// token exchange with client check and PKCE S256 verification, refresh, expiry and revocation.
// Errors use the RFC 6749 shape `{error, error_description}` that all four CRMs document.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

export interface OAuthSimOptions {
  /** GET; redirects to redirect_uri with code and state. */
  authorizePath: string;
  /** POST form-urlencoded; grant_type authorization_code | refresh_token. */
  tokenPath: string;
  /** POST form `token=`; revokes the whole grant. Omit if the CRM has none. */
  revokePath?: string;
  clientId?: string;
  /** When set, the token endpoint demands it (HubSpot, HighLevel); when unset the client is public. */
  clientSecret?: string;
  /** Authorization requests without an S256 code_challenge are refused. */
  requirePkce?: boolean;
  /** Access token lifetime; default 1800 s. */
  accessTtlSec?: number;
  /** Salesforce sends no expires_in. */
  sendExpiresIn?: boolean;
  /** Issue a new refresh token on every refresh (Zoho does not, HubSpot may). */
  rotateRefreshTokens?: boolean;
  /** Vendor fields added to every token response (instance_url, hub_id, api_domain, locationId…). */
  tokenExtras?: () => Record<string, unknown>;
  /** Vendor fields added to the redirect (Zoho: location, accounts-server). */
  redirectExtras?: () => Record<string, string>;
  /** Vendor shape of token-endpoint errors; default RFC 6749 `{error, error_description}`. */
  errorBody?: (error: string, description: string, status: number) => unknown;
  /** Redirect URIs the app registered; default: any http loopback URI. */
  allowRedirect?: (uri: string) => boolean;
  /**
   * Whether an authorization grants a refresh token, from its query and whether this client already
   * holds a live refresh-token grant; default always (Zoho: only with access_type=offline, and on a
   * repeat grant only with prompt=consent).
   */
  grantsRefreshToken?: (authorize: Record<string, string | undefined>, heldBefore: boolean) => boolean;
}

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  expiresInSec: number;
}

interface Grant {
  id: string;
  revoked: boolean;
  /** Has a refresh token (offline access). */
  offline: boolean;
}

type Minted = Omit<IssuedTokens, 'refreshToken'> & { refreshToken: string | null };

interface PendingCode {
  grant: Grant;
  clientId: string;
  redirectUri: string;
  challenge: string | null;
  used: boolean;
}

const isLoopback = (uri: string): boolean => /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//.test(uri);

export class OAuthServer {
  private readonly codes = new Map<string, PendingCode>();
  private readonly access = new Map<string, { grant: Grant; expiresAt: number }>();
  private readonly refresh = new Map<string, Grant>();
  private readonly grants: Grant[] = [];
  /** Token endpoint calls by grant_type, for tests that count refreshes. */
  readonly tokenCalls = { authorization_code: 0, refresh_token: 0 };

  constructor(readonly options: OAuthSimOptions) {}

  get clientId(): string {
    return this.options.clientId ?? 'sim-client';
  }

  /** Tokens for a fresh grant without the browser leg (most adapter tests start signed in). */
  issueTokens(): IssuedTokens {
    const grant: Grant = { id: token('grant'), revoked: false, offline: true };
    this.grants.push(grant);
    const minted = this.mint(grant, null);
    return { ...minted, refreshToken: minted.refreshToken! }; // an offline grant always has one
  }

  /** Every access token issued so far stops working; refresh tokens still do. */
  expireTokens(): void {
    for (const entry of this.access.values()) entry.expiresAt = 0;
  }

  /** The user uninstalled the app / an admin revoked access: refresh answers invalid_grant. */
  revokeGrant(): void {
    for (const grant of this.grants) grant.revoked = true;
  }

  /** 'ok' | 'expired' | 'invalid' for a bearer token. */
  checkAccessToken(bearer: string | undefined): 'ok' | 'expired' | 'invalid' {
    const entry = bearer ? this.access.get(bearer) : undefined;
    if (!entry || entry.grant.revoked) return 'invalid';
    return entry.expiresAt <= Date.now() ? 'expired' : 'ok';
  }

  isOAuthPath(path: string): boolean {
    const o = this.options;
    return path === o.authorizePath || path === o.tokenPath || path === o.revokePath;
  }

  register(app: FastifyInstance): void {
    const o = this.options;
    const outsideSpec = { outsideSpec: true };

    app.get(o.authorizePath, { config: outsideSpec }, async (req, reply) => {
      const q = req.query as Record<string, string | undefined>;
      const redirectUri = q.redirect_uri ?? '';
      if (q.client_id !== this.clientId || !(o.allowRedirect ?? isLoopback)(redirectUri)) {
        return reply.code(400).send({ error: 'invalid_request', error_description: 'unknown client_id or redirect_uri' });
      }
      if (q.code_challenge && q.code_challenge_method !== 'S256') {
        return reply.code(400).send({ error: 'invalid_request', error_description: 'only S256 code_challenge_method' });
      }
      if (o.requirePkce && !q.code_challenge) {
        return reply.code(400).send({ error: 'invalid_request', error_description: 'code_challenge required' });
      }
      const heldBefore = this.grants.some((g) => g.offline && !g.revoked);
      const grant: Grant = { id: token('grant'), revoked: false, offline: o.grantsRefreshToken?.(q, heldBefore) ?? true };
      this.grants.push(grant);
      const code = token('code');
      this.codes.set(code, { grant, clientId: this.clientId, redirectUri, challenge: q.code_challenge ?? null, used: false });
      const target = new URL(redirectUri);
      target.searchParams.set('code', code);
      if (q.state !== undefined) target.searchParams.set('state', q.state);
      for (const [k, v] of Object.entries(o.redirectExtras?.() ?? {})) target.searchParams.set(k, v);
      return reply.redirect(target.href, 302);
    });

    app.post(o.tokenPath, { config: outsideSpec }, async (req, reply) => {
      const form = (req.body ?? {}) as Record<string, string | undefined>;
      const fail = (status: number, error: string, description: string) =>
        reply.code(status).send(o.errorBody?.(error, description, status) ?? { error, error_description: description });
      if (form.client_id !== this.clientId) return fail(401, 'invalid_client', 'unknown client_id');
      if (o.clientSecret !== undefined && form.client_secret !== o.clientSecret) {
        return fail(401, 'invalid_client', 'client_secret missing or wrong');
      }
      if (form.grant_type === 'authorization_code') {
        this.tokenCalls.authorization_code++;
        const pending = this.codes.get(form.code ?? '');
        if (!pending || pending.used || pending.grant.revoked) return fail(400, 'invalid_grant', 'authorization code invalid or used');
        if (pending.redirectUri !== form.redirect_uri) return fail(400, 'invalid_grant', 'redirect_uri mismatch');
        if (pending.challenge !== null) {
          if (!form.code_verifier) return fail(400, 'invalid_grant', 'code_verifier required');
          if (s256(form.code_verifier) !== pending.challenge) return fail(400, 'invalid_grant', 'code_verifier mismatch');
        }
        pending.used = true;
        return reply.send(this.tokenBody(this.mint(pending.grant, null)));
      }
      if (form.grant_type === 'refresh_token') {
        this.tokenCalls.refresh_token++;
        const grant = this.refresh.get(form.refresh_token ?? '');
        if (!grant || grant.revoked) return fail(400, 'invalid_grant', 'refresh token revoked or unknown');
        const rotated = o.rotateRefreshTokens ? null : form.refresh_token!;
        if (o.rotateRefreshTokens) this.refresh.delete(form.refresh_token!);
        return reply.send(this.tokenBody(this.mint(grant, rotated)));
      }
      return fail(400, 'unsupported_grant_type', `grant_type ${form.grant_type ?? '(none)'}`);
    });

    if (o.revokePath) {
      app.post(o.revokePath, { config: outsideSpec }, async (req, reply) => {
        const form = (req.body ?? {}) as Record<string, string | undefined>;
        const t = form.token ?? '';
        const grant = this.refresh.get(t) ?? this.access.get(t)?.grant;
        if (grant) grant.revoked = true;
        return reply.code(200).send({});
      });
    }
  }

  private mint(grant: Grant, keepRefresh: string | null): Minted {
    const ttl = this.options.accessTtlSec ?? 1800;
    const accessToken = token('at');
    this.access.set(accessToken, { grant, expiresAt: Date.now() + ttl * 1000 });
    if (!grant.offline) return { accessToken, refreshToken: null, expiresInSec: ttl };
    const refreshToken = keepRefresh ?? token('rt');
    this.refresh.set(refreshToken, grant);
    return { accessToken, refreshToken, expiresInSec: ttl };
  }

  private tokenBody(t: Minted): Record<string, unknown> {
    return {
      access_token: t.accessToken,
      ...(t.refreshToken === null ? {} : { refresh_token: t.refreshToken }),
      token_type: 'bearer',
      ...(this.options.sendExpiresIn === false ? {} : { expires_in: t.expiresInSec }),
      ...this.options.tokenExtras?.(),
    };
  }
}

/** base64url(SHA-256(verifier)), RFC 7636 §4.2. */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

function token(prefix: string): string {
  return `${prefix}-${randomBytes(18).toString('base64url')}`;
}
