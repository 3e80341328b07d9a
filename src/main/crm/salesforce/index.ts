// Salesforce provider: one registration line in registry.ts lists `salesforceProvider`.
import { RequestBudget } from '../budget.js';
import { CrmError, type CrmProvider } from '../port.js';
import { SalesforceAdapter } from './adapter.js';

export const SALESFORCE_LOGIN_ORIGIN = 'https://login.salesforce.com';

export const salesforceProvider: CrmProvider = {
  id: 'salesforce',
  displayName: 'Salesforce',
  oauth: (origin) => ({
    authorizeUrl: `${origin ?? SALESFORCE_LOGIN_ORIGIN}/services/oauth2/authorize`,
    tokenUrl: `${origin ?? SALESFORCE_LOGIN_ORIGIN}/services/oauth2/token`,
    scopes: ['api', 'refresh_token'],
    pkce: true,
    // A connected app with "Require Secret for Web Server Flow" off takes PKCE instead of the secret.
    needsBroker: false,
    redirect: 'loopback',
  }),
  create: (session, opts = {}) => {
    const instanceUrl = session.context.instance_url ?? session.context.instanceUrl ?? opts.origin;
    if (!instanceUrl) throw new CrmError('auth', 'Salesforce session has no instance_url; sign in again');
    return new SalesforceAdapter(session, {
      instanceUrl,
      http: {
        fetch: opts.fetch,
        // The org's daily API allocation answers 403 REQUEST_LIMIT_EXCEEDED, not 429.
        classify: (status, detail) =>
          detail.code === 'REQUEST_LIMIT_EXCEEDED' ? new CrmError('rate_limited', detail.message, status) : undefined,
        // Concurrent long-running requests: 5 in Developer/Trial orgs, 25 in production (limits cheatsheet).
        budget: new RequestBudget({ concurrency: 5 }),
      },
    });
  },
};

export { SalesforceAdapter, soqlString } from './adapter.js';
