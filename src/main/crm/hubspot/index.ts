// HubSpot provider: one registration line in registry.ts lists `hubspotProvider`.
import { RequestBudget } from '../budget.js';
import type { CrmProvider } from '../port.js';
import { HubSpotAdapter } from './adapter.js';

export const HUBSPOT_API_ORIGIN = 'https://api.hubapi.com';
export const HUBSPOT_APP_ORIGIN = 'https://app.hubspot.com';
const CRM_SEARCH_PATH = /^\/crm\/v3\/objects\/[^/]+\/search$/;

export const hubspotProvider: CrmProvider = {
  id: 'hubspot',
  displayName: 'HubSpot',
  oauth: (origin) => ({
    authorizeUrl: `${origin ?? HUBSPOT_APP_ORIGIN}/oauth/authorize`,
    tokenUrl: `${origin ?? HUBSPOT_API_ORIGIN}/oauth/v1/token`,
    // owners.read: the agent's e-mail -> numeric owner id (GET /crm/v3/owners).
    scopes: ['oauth', 'crm.objects.contacts.read', 'crm.objects.contacts.write', 'crm.objects.owners.read', 'files'],
    // The token endpoint accepts code_verifier (spec); we always send S256, but HubSpot still
    // requires the client secret, so the bus broker does the exchange and refresh.
    pkce: true,
    needsBroker: true,
    // HubSpot allows http only for host `localhost` (documented as for development).
    redirect: 'loopback',
  }),
  create: (session, opts = {}) =>
    new HubSpotAdapter(session, {
      apiOrigin: opts.origin ?? HUBSPOT_API_ORIGIN,
      appOrigin: session.context.appOrigin ?? opts.origin ?? HUBSPOT_APP_ORIGIN,
      http: {
        fetch: opts.fetch,
        // HubSpot's 429 carries no Retry-After in the docs; its rolling window is the delay.
        rateLimitDelayMs: (h) => Number(h.get('x-hubspot-ratelimit-interval-milliseconds')) || null,
        // Public OAuth apps: 100 requests / 10 s per account; CRM search: 4 / s per token (HubSpot
        // changelog), and exempt from the 10 s window (the official files' x-hubspot-rate-limit-exemptions).
        budget: new RequestBudget({ windows: [{ max: 100, perMs: 10_000, except: CRM_SEARCH_PATH }, { max: 4, perMs: 1_000, path: CRM_SEARCH_PATH }] }),
      },
    }),
};

export { HubSpotAdapter, CALL_KEY_PROPERTY, CALL_TO_CONTACT_TYPE_ID, RECORDINGS_FOLDER } from './adapter.js';
