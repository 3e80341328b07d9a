// A CrmSession backed by a simulator's token endpoint, for adapter tests and the demo. The real
// app's session (token store, refresh ahead of expiry) lives in the agent's oauth module.
import { CrmError, type CrmSession } from '../../../main/crm/port.js';
import type { CrmSimulator } from './simulator.js';

export interface SimSession extends CrmSession {
  /** How many refreshes the adapter asked for. */
  readonly refreshCount: number;
}

/** Signs in directly (no browser leg) and refreshes through the simulator's real token endpoint. */
export function simSession(sim: CrmSimulator, context: Record<string, string> = {}): SimSession {
  let tokens = sim.oauth.issueTokens();
  let refreshCount = 0;
  return {
    context,
    get refreshCount() {
      return refreshCount;
    },
    accessToken: async () => tokens.accessToken,
    refreshAfterUnauthorized: async () => {
      refreshCount++;
      const o = sim.oauth.options;
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: sim.oauth.clientId });
      if (o.clientSecret !== undefined) form.set('client_secret', o.clientSecret);
      const res = await fetch(new URL(o.tokenPath, sim.url), { method: 'POST', body: form });
      const body = (await res.json()) as { access_token?: string; refresh_token?: string; error?: string };
      if (!res.ok || !body.access_token) {
        throw new CrmError(body.error === 'invalid_grant' ? 'auth' : 'transient', `refresh failed: ${body.error ?? res.status}`, res.status);
      }
      tokens = { accessToken: body.access_token, refreshToken: body.refresh_token ?? tokens.refreshToken, expiresInSec: 0 };
      return tokens.accessToken;
    },
  };
}
