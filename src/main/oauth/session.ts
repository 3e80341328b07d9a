// CrmSession over stored tokens: refresh ahead of expiry, one refresh at a time per CRM
// (concurrent callers share it), re-read the vault before declaring a grant dead (rotating
// refresh tokens), and turn a dead grant into CrmError('auth') plus one sign-in signal.
import { CrmError, type CrmSession } from '../crm/port.js';
import type { CrmId } from '../../shared/crm.js';
import type { AuthStatus } from './auth-status.js';
import type { TokenEndpoint } from './token-endpoint.js';
import type { TokenSet } from './token-set.js';
import type { TokenVault } from './token-vault.js';

export interface CrmSessionOptions {
  crm: CrmId;
  vault: TokenVault;
  endpoint: TokenEndpoint;
  status: AuthStatus;
  /** Refresh when fewer than this many ms are left; default 2 minutes. */
  refreshAheadMs?: number;
  now?: () => number;
}

export interface ManagedCrmSession extends CrmSession {
  /** Stops listening to vault changes. */
  close(): void;
}

const DEFAULT_REFRESH_AHEAD_MS = 120_000;

export async function createCrmSession(opts: CrmSessionOptions): Promise<ManagedCrmSession> {
  const { crm, vault, endpoint, status } = opts;
  const now = opts.now ?? Date.now;
  const ahead = opts.refreshAheadMs ?? DEFAULT_REFRESH_AHEAD_MS;
  let tokens: TokenSet | null = await vault.load(crm);
  let inflight: Promise<TokenSet> | null = null;
  // A new sign-in (or a refresh elsewhere) replaces the tokens: pick them up on next use.
  const unsubscribe = vault.changed.on((changed) => {
    if (changed === crm && !inflight) tokens = null;
  });

  // Short-lived tokens (shorter than twice the margin) are refreshed at half-life, not on every call.
  const isFresh = (t: TokenSet) => {
    if (t.expiresAt === null) return true;
    const margin = t.obtainedAt === undefined ? ahead : Math.min(ahead, (t.expiresAt - t.obtainedAt) / 2);
    return t.expiresAt - now() > margin;
  };

  async function current(): Promise<TokenSet> {
    if (status.needsSignIn(crm)) throw new CrmError('auth', `sign in to ${crm} again`);
    tokens ??= await vault.load(crm);
    if (!tokens) throw lose('not signed in');
    return tokens;
  }

  function lose(reason: string): CrmError {
    status.grantLost(crm, reason);
    return new CrmError('auth', `sign in to ${crm} again: ${reason}`);
  }

  /** Single-flight: every caller that finds `stale` in use joins the one refresh. */
  function refreshOnce(stale: TokenSet): Promise<TokenSet> {
    inflight ??= refresh(stale).finally(() => {
      inflight = null;
    });
    return inflight;
  }

  async function refresh(stale: TokenSet): Promise<TokenSet> {
    // Someone may already have replaced the tokens we saw (another window, a sign-in).
    const stored = await vault.load(crm);
    if (!stored) throw lose('not signed in');
    if (stored.accessToken !== stale.accessToken && isFresh(stored)) return (tokens = stored);
    let next: TokenSet;
    try {
      next = await endpoint.refresh(stored);
    } catch (error) {
      if (!(error instanceof CrmError) || error.kind !== 'auth') throw error;
      // Rotating refresh tokens: if the vault got a newer grant meanwhile, use it rather than give up.
      const again = await vault.load(crm);
      if (again && again.refreshToken !== stored.refreshToken) {
        if (isFresh(again)) return (tokens = again);
        try {
          next = await endpoint.refresh(again);
        } catch (retryError) {
          if (retryError instanceof CrmError && retryError.kind === 'auth') throw lose(retryError.message);
          throw retryError;
        }
      } else {
        throw lose(error.message);
      }
    }
    await vault.save(crm, next);
    return (tokens = next);
  }

  return {
    async accessToken() {
      if (inflight) return (await inflight).accessToken;
      const t = await current();
      return (isFresh(t) ? t : await refreshOnce(t)).accessToken;
    },
    async refreshAfterUnauthorized() {
      // Several requests hitting 401 together share the refresh already under way.
      if (inflight) return (await inflight).accessToken;
      return (await refreshOnce(await current())).accessToken;
    },
    get context() {
      return tokens?.context ?? {};
    },
    close: unsubscribe,
  };
}
