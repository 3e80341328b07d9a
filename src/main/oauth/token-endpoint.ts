// Where the code exchange and refresh go: straight to the CRM for public PKCE clients, or
// through the bus token broker when the CRM insists on a client secret (which never ships in the app).
import type { CrmId } from '../../shared/crm.js';
import { oauthTokenPath, type BrokerTokenRequest } from '../../shared/oauth-broker.js';
import type { OAuthClientConfig, RegionalTokenServer } from '../crm/port.js';
import { CrmError } from '../crm/port.js';
import { type TokenSet, tokenSetFromResponse } from './token-set.js';

export interface CodeExchange {
  code: string;
  redirectUri: string;
  /** Null when the CRM does not take PKCE. */
  codeVerifier: string | null;
  /** The accounts server a multi-data-centre CRM named on the redirect (Zoho's `accounts-server`), as sent. */
  tokenServer?: string | null;
}

export interface TokenEndpoint {
  exchangeCode(input: CodeExchange): Promise<TokenSet>;
  /** Throws CrmError('auth') when the grant is dead (invalid_grant). */
  refresh(current: TokenSet): Promise<TokenSet>;
}

type Fetch = typeof fetch;
const TOKEN_TIMEOUT_MS = 15_000;

export interface DirectTokenEndpointOptions {
  tokenUrl: string;
  clientId: string;
  /** Multi-data-centre CRMs: exchange and refresh go to the accounts server the redirect named. */
  regional?: RegionalTokenServer;
  fetch?: Fetch;
  now?: () => number;
}

/** RFC 6749 form-encoded token requests from a public client (no secret; PKCE proves the caller). */
export function directTokenEndpoint(opts: DirectTokenEndpointOptions): TokenEndpoint {
  const post = (url: string, params: BrokerTokenRequest, previous: TokenSet | null) =>
    postForTokens(opts.fetch ?? fetch, url, {
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ ...params, client_id: opts.clientId }).toString(),
    }, opts.now ?? Date.now, previous);
  const { regional } = opts;
  return {
    async exchangeCode({ code, redirectUri, codeVerifier, tokenServer }) {
      // Checked before anything is sent: the code never goes to a server the CRM does not own.
      const server = regional && tokenServer ? trustedTokenServer(regional, tokenServer, 'rejected') : null;
      const tokens = await post(server ? `${server}${regional!.tokenPath}` : opts.tokenUrl, codeGrant({ code, redirectUri, codeVerifier }), null);
      // Kept with the tokens: every refresh of this grant goes to the same server.
      if (server) tokens.context[regional!.param] = server;
      return tokens;
    },
    refresh(current) {
      const stored = regional ? current.context[regional.param] : undefined;
      // A stored server that is no longer trusted cannot be refreshed against: sign in again.
      const url = stored ? `${trustedTokenServer(regional!, stored, 'auth')}${regional!.tokenPath}` : opts.tokenUrl;
      return post(url, refreshGrant(current), current);
    },
  };
}

/** The origin of a named accounts server, or CrmError(kind) when it is not a bare origin the CRM owns. */
function trustedTokenServer(regional: RegionalTokenServer, named: string, kind: 'rejected' | 'auth'): string {
  let url: URL | null = null;
  try {
    url = new URL(named);
  } catch {
    url = null;
  }
  const bareOrigin = url !== null && !url.username && !url.password && url.pathname === '/' && !url.search && !url.hash;
  if (!url || !bareOrigin || !regional.allows(url)) {
    const shown = named.slice(0, 80).replace(/[^\x20-\x7e]/g, '?');
    throw new CrmError(kind, `the CRM named an accounts server Ringbridge does not know (${shown}); nothing was sent to it`);
  }
  return url.origin;
}

export interface BrokerTokenEndpointOptions {
  /** Bus base URL, e.g. https://bus.example.com */
  busUrl: string;
  crm: CrmId;
  /** The device credential from pairing (read from the secret store on each call). */
  deviceToken: () => Promise<string> | string;
  fetch?: Fetch;
  now?: () => number;
}

/** POST /v1/oauth/:crm/token on the bus, which adds the client secret and returns the CRM's answer unchanged. */
export function brokerTokenEndpoint(opts: BrokerTokenEndpointOptions): TokenEndpoint {
  const url = new URL(oauthTokenPath(opts.crm), opts.busUrl).toString();
  const post = async (body: BrokerTokenRequest, previous: TokenSet | null) =>
    postForTokens(opts.fetch ?? fetch, url, {
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${await opts.deviceToken()}` },
      body: JSON.stringify(body),
    }, opts.now ?? Date.now, previous);
  return {
    exchangeCode: (input) => post(codeGrant(input), null),
    refresh: (current) => post(refreshGrant(current), current),
  };
}

export interface EndpointChoice {
  clientId: string;
  busUrl: string;
  deviceToken: () => Promise<string> | string;
  fetch?: Fetch;
  now?: () => number;
}

/** Direct only when the CRM takes PKCE from a public client; anything needing a secret goes via the bus. */
export function tokenEndpointFor(crm: CrmId, config: OAuthClientConfig, choice: EndpointChoice): TokenEndpoint {
  if (config.pkce && !config.needsBroker) {
    return directTokenEndpoint({ tokenUrl: config.tokenUrl, clientId: choice.clientId, regional: config.regionalTokenServer, fetch: choice.fetch, now: choice.now });
  }
  return brokerTokenEndpoint({ busUrl: choice.busUrl, crm, deviceToken: choice.deviceToken, fetch: choice.fetch, now: choice.now });
}

// The RFC 6749 grants: a form to the CRM, or the broker's JSON body (which the bus sends on as that form).
function codeGrant({ code, redirectUri, codeVerifier }: CodeExchange): BrokerTokenRequest {
  return { grant_type: 'authorization_code', code, redirect_uri: redirectUri, ...(codeVerifier ? { code_verifier: codeVerifier } : {}) };
}

function refreshGrant(current: TokenSet): BrokerTokenRequest {
  if (!current.refreshToken) throw new CrmError('auth', 'no refresh token: sign in again');
  return { grant_type: 'refresh_token', refresh_token: current.refreshToken };
}

async function postForTokens(
  doFetch: Fetch,
  url: string,
  init: { headers: Record<string, string>; body: string },
  now: () => number,
  previous: TokenSet | null,
): Promise<TokenSet> {
  let response: Response;
  try {
    response = await doFetch(url, { method: 'POST', ...init, signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS) });
  } catch (error) {
    // The request (with code or refresh token) is never part of the message.
    throw new CrmError('transient', `token endpoint unreachable: ${(error as Error).name}`);
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return tokenSetFromResponse(response.status, body, response.headers.get('retry-after'), now(), previous);
}
