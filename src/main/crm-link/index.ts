/**
 * The agent's CRM link (issue 5 in the agent process): sign-in, reconnect, outbox, contact sync.
 *
 *   const link = await createCrmLink({ core, dataDir, secretStore, openBrowser, clientIds, logger,
 *                                      origins?, busUrl?, deviceToken?, appRedirectUri? });
 *   core.start();                       after the link (and every other listener) is attached
 *   link.status() / link.onStatus(fn)   { crm, state: 'signed_out'|'signed_in'|'sign_in_required', account?, reason? }
 *   link.signIn(crmId) / link.signOut() throws CrmLinkError { code: 'not_configured'|'in_progress'|'sign_in_failed' }
 *   link.retry(callKey)                 the recent-calls retry button
 *   link.callRecordUrl(callKey)         "Open in CRM" once the call is logged
 *   link.handleAppUrl(url)              ringbridge:// redirects (Zoho signs in through the app scheme)
 *   link.syncContacts()                 sync now; link.close() on quit (before core.close())
 */
export { createCrmLink, CrmLinkError, DEFAULT_APP_REDIRECT_URI, type CrmLink, type CrmLinkOptions, type CrmLinkState, type CrmLinkStatus } from './link.js';
export type { SweepOutcome } from './contact-sync.js';
