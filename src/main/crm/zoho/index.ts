// Zoho CRM provider: OAuth client settings and the adapter factory (registered in ../registry.ts).
import type { CrmProvider } from '../port.js';
import { createZohoAdapter } from './adapter.js';

const ACCOUNTS_US = 'https://accounts.zoho.com';

export const zohoProvider: CrmProvider = {
  id: 'zoho',
  displayName: 'Zoho CRM',
  oauth(origin) {
    // Authorize always starts at the US accounts server; the token call must go to the
    // `accounts-server` the redirect names (the oauth module reads it from the callback).
    const accounts = origin ?? ACCOUNTS_US;
    return {
      authorizeUrl: `${accounts}/oauth/v2/auth`,
      tokenUrl: `${accounts}/oauth/v2/token`,
      scopes: [
        'ZohoCRM.modules.contacts.READ',
        'ZohoCRM.modules.leads.READ',
        'ZohoCRM.modules.calls.ALL',
        'ZohoCRM.modules.attachments.ALL',
        'ZohoCRM.users.READ',
        'ZohoCRM.org.READ',
      ],
      // "Mobile-based" client: Zoho documents desktop apps as public clients using PKCE.
      pkce: true,
      needsBroker: false,
      redirect: 'custom-scheme',
    };
  },
  create: (session, opts) => createZohoAdapter(session, opts),
};

export { createZohoAdapter, DEFAULT_CALL_KEY_FIELD } from './adapter.js';
