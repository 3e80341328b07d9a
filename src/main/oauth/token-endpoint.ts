// Where the code exchange and refresh go: straight to the CRM for public PKCE clients, or
// through the bus token broker when the CRM insists on a client secret (which never ships in the app).
import type { CrmId, OAuthClientConfig } from '../crm/port.js';
import { CrmError } from '../crm/port.js';
import { type TokenSet, tokenSetFromResponse } from './token-set.js';

export interface CodeExchange {
  code: string;
  redirectUri: string;
  /** Null when the CRM does not take PKCE. */
  codeVerifier: string | null;
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
  fetch?: Fetch;
  now?: () => number;
}

/** RFC 6749 form-encoded token requests from a public client (no secret; PKCE proves the caller). */
export function directTokenEndpoint(opts: DirectTokenEndpointOptions): TokenEndpoint {
  const post = (params: Record<string, string>, previous: TokenSet | null) =>
    postForTokens(opts.fetch ?? fetch, opts.tokenUrl, {
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ ...params, client_id: opts.clientId }).toString(),
    }, opts.now ?? Date.now, previous);
  return {
    exchangeCode: ({ code, redirectUri, codeVerifier }) =>
      post({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, ...(codeVerifier ? { code_verifier: codeVerifier } : {}) }, null),
    refresh: (current) => post({ grant_type: 'refresh_token', refresh_token: requireRefreshToken(current) }, current),
  };
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
  const url = new URL(`/v1/oauth/${opts.crm}/token`, opts.busUrl).toString();
  const post = async (body: Record<string, string>, previous: TokenSet | null) =>
    postForTokens(opts.fetch ?? fetch, url, {
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${await opts.deviceToken()}` },
      body: JSON.stringify(body),
    }, opts.now ?? Date.now, previous);
  return {
    exchangeCode: ({ code, redirectUri, codeVerifier }) =>
      post({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, ...(codeVerifier ? { code_verifier: codeVerifier } : {}) }, null),
    refresh: (current) => post({ grant_type: 'refresh_token', refresh_token: requireRefreshToken(current) }, current),
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
    return directTokenEndpoint({ tokenUrl: config.tokenUrl, clientId: choice.clientId, fetch: choice.fetch, now: choice.now });
  }
  return brokerTokenEndpoint({ busUrl: choice.busUrl, crm, deviceToken: choice.deviceToken, fetch: choice.fetch, now: choice.now });
}

function requireRefreshToken(current: TokenSet): string {
  if (!current.refreshToken) throw new CrmError('auth', 'no refresh token: sign in again');
  return current.refreshToken;
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
