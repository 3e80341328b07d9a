// One CRM connection for the agent core: the provider's OAuth config, the right token endpoint
// (direct PKCE or bus broker), the refreshing session and the adapter built on it.
import type { CrmAdapter, CrmProvider, OAuthClientConfig } from '../crm/port.js';
import type { AuthStatus } from './auth-status.js';
import type { SchemeRedirects } from './redirect.js';
import { createCrmSession, type ManagedCrmSession } from './session.js';
import { signIn } from './sign-in.js';
import { tokenEndpointFor } from './token-endpoint.js';
import type { TokenVault } from './token-vault.js';

export interface CrmConnectionOptions {
  provider: CrmProvider;
  /** The app's OAuth client id for this CRM (public; the secret, if any, stays on the bus). */
  clientId: string;
  busUrl: string;
  deviceToken: () => Promise<string> | string;
  vault: TokenVault;
  status: AuthStatus;
  /** Overrides the vendor hosts (simulators). */
  origin?: string;
  fetch?: typeof fetch;
}

export interface CrmConnection {
  readonly config: OAuthClientConfig;
  readonly session: ManagedCrmSession;
  readonly adapter: CrmAdapter;
  /** Browser sign-in; resolves with non-secret account context only. */
  signIn(openBrowser: (url: string) => Promise<void>, opts?: { schemeRedirects?: SchemeRedirects; timeoutMs?: number }): Promise<{ context: Record<string, string> }>;
  /** Forgets the tokens (sign out of the CRM). */
  signOut(): Promise<void>;
  close(): void;
}

export async function connectCrm(opts: CrmConnectionOptions): Promise<CrmConnection> {
  const crm = opts.provider.id;
  const config = opts.provider.oauth(opts.origin);
  const endpoint = tokenEndpointFor(crm, config, { clientId: opts.clientId, busUrl: opts.busUrl, deviceToken: opts.deviceToken, fetch: opts.fetch });
  const session = await createCrmSession({ crm, vault: opts.vault, endpoint, status: opts.status });
  const adapter = opts.provider.create(session, { origin: opts.origin, fetch: opts.fetch });
  return {
    config,
    session,
    adapter,
    signIn: (openBrowser, extra = {}) =>
      signIn({ crm, config, clientId: opts.clientId, endpoint, vault: opts.vault, status: opts.status, openBrowser, ...extra }),
    signOut: () => opts.vault.clear(crm),
    close: session.close,
  };
}
