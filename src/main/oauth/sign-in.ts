// The native-app sign-in (RFC 8252): authorize in the system browser with PKCE S256 and state,
// catch the redirect, exchange the code (directly or via the bus broker), keep the tokens in the
// vault. Only non-secret account context is returned to the caller (and so to the UI).
import type { OAuthClientConfig } from '../crm/port.js';
import type { CrmId } from '../../shared/crm.js';
import type { AuthStatus } from './auth-status.js';
import { createPkcePair, createState } from './pkce.js';
import { listenOnLoopback, type RedirectCatcher, type SchemeRedirects } from './redirect.js';
import type { TokenEndpoint } from './token-endpoint.js';
import type { TokenVault } from './token-vault.js';

export interface SignInOptions {
  crm: CrmId;
  config: OAuthClientConfig;
  clientId: string;
  endpoint: TokenEndpoint;
  vault: TokenVault;
  status: AuthStatus;
  /** Opens the system browser; the Electron glue passes its checked openExternal. */
  openBrowser: (url: string) => Promise<void>;
  /** Required when the CRM redirects to the app's scheme. */
  schemeRedirects?: SchemeRedirects;
  loopbackHost?: '127.0.0.1' | 'localhost';
  timeoutMs?: number;
}

/** Callback parameters that are protocol mechanics rather than account context. */
const NOT_CONTEXT = new Set(['code', 'state', 'scope', 'session_state', 'iss']);

export async function signIn(opts: SignInOptions): Promise<{ context: Record<string, string> }> {
  const { config } = opts;
  const state = createState();
  const pkce = config.pkce ? createPkcePair() : null;
  const catcher = await openRedirectCatcher(opts, state);
  try {
    const authorize = new URL(config.authorizeUrl);
    const params: Record<string, string> = {
      ...config.authorizeParams,
      response_type: 'code',
      client_id: opts.clientId,
      redirect_uri: catcher.redirectUri,
      state,
      ...(config.scopes.length > 0 ? { scope: config.scopes.join(config.scopeSeparator ?? ' ') } : {}),
      ...(pkce ? { code_challenge: pkce.challenge, code_challenge_method: pkce.method } : {}),
    };
    for (const [key, value] of Object.entries(params)) authorize.searchParams.set(key, value);
    await opts.openBrowser(authorize.toString());

    const callback = await catcher.result;
    const tokens = await opts.endpoint.exchangeCode({
      code: callback.get('code') as string,
      redirectUri: catcher.redirectUri,
      codeVerifier: pkce?.verifier ?? null,
      tokenServer: config.regionalTokenServer ? callback.get(config.regionalTokenServer.param) : null,
    });
    // Callback extras (Zoho's location/accounts-server, HighLevel's locationId...) are account context too.
    for (const [key, value] of callback) if (!NOT_CONTEXT.has(key) && !(key in tokens.context)) tokens.context[key] = value;
    await opts.vault.save(opts.crm, tokens);
    opts.status.grantRestored(opts.crm);
    return { context: { ...tokens.context } };
  } finally {
    await catcher.close();
  }
}

function openRedirectCatcher(opts: SignInOptions, state: string): Promise<RedirectCatcher> | RedirectCatcher {
  if (opts.config.redirect === 'custom-scheme') {
    if (!opts.schemeRedirects) throw new Error(`${opts.crm} redirects to the app scheme, but no scheme handler is wired`);
    return opts.schemeRedirects.expect(state, opts.timeoutMs);
  }
  return listenOnLoopback({ state, host: opts.loopbackHost, timeoutMs: opts.timeoutMs });
}
