// HighLevel provider: OAuth client settings and the adapter factory (registered in ../registry.ts).
import { RequestBudget } from '../budget.js';
import type { CrmProvider } from '../port.js';
import { createHighLevelAdapter } from './adapter.js';

export const highLevelProvider: CrmProvider = {
  id: 'highlevel',
  displayName: 'HighLevel',
  oauth(origin) {
    return {
      authorizeUrl: `${origin ?? 'https://marketplace.gohighlevel.com'}/oauth/chooselocation`,
      tokenUrl: `${origin ?? 'https://services.leadconnectorhq.com'}/oauth/token`,
      scopes: [
        'contacts.readonly',
        'contacts.write',
        'conversations.readonly',
        'conversations.write',
        'conversations/message.readonly',
        'conversations/message.write',
        'users.readonly', // resolve an agent's e-mail to their user id (users.json search-users)
      ],
      // The token endpoint requires client_secret and documents no PKCE: the bus brokers code
      // exchange and refresh so the secret never ships in the app.
      pkce: false,
      needsBroker: true,
      redirect: 'loopback',
    };
  },
  // Burst limit per app per location: 100 requests / 10 s (HighLevel rate-limits page).
  create: (session, opts) => createHighLevelAdapter(session, { ...opts, budget: new RequestBudget({ windows: [{ max: 100, perMs: 10_000 }] }) }),
};

export { createHighLevelAdapter } from './adapter.js';
