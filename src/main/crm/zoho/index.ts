// Zoho CRM provider: OAuth client settings and the adapter factory (registered in ../registry.ts).
import { RequestBudget } from '../budget.js';
import type { CrmProvider } from '../port.js';
import { createZohoAdapter } from './adapter.js';
import { isZohoAccountsServer } from './mapping.js';

const ACCOUNTS_US = 'https://accounts.zoho.com';

export const zohoProvider: CrmProvider = {
  id: 'zoho',
  displayName: 'Zoho CRM',
  oauth(origin) {
    // Authorize always starts at the US accounts server; the code exchange and refreshes go to the
    // `accounts-server` the redirect names (Zoho multi-DC docs), if it is one of Zoho's.
    const accounts = origin ?? ACCOUNTS_US;
    return {
      authorizeUrl: `${accounts}/oauth/v2/auth`,
      tokenUrl: `${accounts}/oauth/v2/token`,
      scopes: [
        'ZohoCRM.modules.contacts.READ',
        'ZohoCRM.modules.leads.READ',
        'ZohoCRM.modules.calls.ALL',
        'ZohoCRM.modules.tasks.ALL',
        'ZohoCRM.modules.attachments.ALL',
        'ZohoCRM.users.READ',
        'ZohoCRM.org.READ',
      ],
      // Zoho documents comma-separated scopes.
      scopeSeparator: ',',
      // Without access_type=offline Zoho issues no refresh token (the agent would sign in every hour);
      // it issues one only on the first grant unless prompt=consent asks for consent again, so a
      // second sign-in (new device, revoked token) gets one too. Zoho accounts docs:
      // oauth/mobile-and-desktop-apps/get-authorization-code.html, oauth/web-apps/authorization.html.
      authorizeParams: { access_type: 'offline', prompt: 'consent' },
      // "Mobile-based" client: Zoho documents desktop apps as public clients using PKCE.
      pkce: true,
      needsBroker: false,
      redirect: 'custom-scheme',
      regionalTokenServer: {
        param: 'accounts-server',
        tokenPath: '/oauth/v2/token',
        allows: (server) => isZohoAccountsServer(server, origin),
      },
    };
  },
  // Concurrency per org: 5 on the Free edition, more on paid ones (Zoho's Kaizen #203).
  create: (session, opts) => createZohoAdapter(session, { ...opts, budget: new RequestBudget({ concurrency: 5 }) }),
};

export { createZohoAdapter, DEFAULT_CALL_KEY_FIELD } from './adapter.js';
