// Zoho data centres in the token exchange: an EU user's code and refresh token go to the EU
// accounts server the redirect names (`accounts-server`), never to the fixed US token URL, and a
// redirect naming a server that is not Zoho's stops the sign-in before anything is sent.
import { afterEach, describe, expect, it } from 'vitest';
import { zohoProvider } from '../crm/zoho/index.js';
import { AuthStatus } from './auth-status.js';
import { SchemeRedirects } from './redirect.js';
import { createCrmSession } from './session.js';
import { signIn } from './sign-in.js';
import { tokenEndpointFor } from './token-endpoint.js';
import { TokenVault } from './token-vault.js';
import { MemorySecretStore } from '../storage/secret-store.js';
import { startZohoSimulator, type ZohoSimulator } from '../../sim/crm/zoho/index.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function twoDataCentres() {
  const us = await startZohoSimulator({ location: 'us' });
  const eu = await startZohoSimulator({ location: 'eu' });
  cleanups.push(() => us.close(), () => eu.close());
  // The app is configured with the US accounts server, as shipped (simulator origin in place of accounts.zoho.com).
  const config = zohoProvider.oauth(us.url);
  const endpoint = tokenEndpointFor('zoho', config, { clientId: us.oauth.clientId, busUrl: 'http://127.0.0.1:9', deviceToken: () => 'unused' });
  const vault = new TokenVault(new MemorySecretStore());
  const status = new AuthStatus();
  const scheme = new SchemeRedirects('ringbridge://oauth/callback');
  return { us, eu, config, endpoint, vault, status, scheme };
}

/**
 * The user's account lives in `dc`: Zoho's US login hands the browser to that DC, which issues the
 * code and redirects to the app's scheme with `location` and `accounts-server`.
 */
function browserOfUserIn(dc: ZohoSimulator, scheme: SchemeRedirects, tamper: (callback: URL) => void = () => undefined) {
  return async (authorizeUrl: string) => {
    const atUsersDc = new URL(authorizeUrl);
    const own = new URL(dc.url);
    atUsersDc.host = own.host;
    const res = await fetch(atUsersDc, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const callback = new URL(res.headers.get('location')!);
    tamper(callback);
    expect(scheme.deliver(callback.toString())).toBe(true);
  };
}

describe('Zoho sign-in across data centres', () => {
  it('exchanges the code and refreshes at the EU accounts server the redirect names, then calls the EU API', async () => {
    const { us, eu, config, endpoint, vault, status, scheme } = await twoDataCentres();
    expect(new URL(config.tokenUrl).origin).toBe(us.url); // the fixed URL the exchange must not use

    const { context } = await signIn({
      crm: 'zoho', config, clientId: us.oauth.clientId, endpoint, vault, status,
      openBrowser: browserOfUserIn(eu, scheme), schemeRedirects: scheme,
    });

    expect(context).toMatchObject({ location: 'eu', 'accounts-server': eu.url, api_domain: eu.url });
    expect([eu.oauth.tokenCalls.authorization_code, us.oauth.tokenCalls.authorization_code]).toEqual([1, 0]);

    const session = await createCrmSession({ crm: 'zoho', vault, endpoint, status });
    cleanups.push(() => session.close());
    await session.refreshAfterUnauthorized();
    expect([eu.oauth.tokenCalls.refresh_token, us.oauth.tokenCalls.refresh_token]).toEqual([1, 0]);
    expect(eu.oauth.checkAccessToken(await session.accessToken())).toBe('ok');

    // The adapter built on that session talks to the EU data centre too.
    const ada = eu.addRecord('Contacts', { Full_Name: 'Ada Lovelace', Phone: '+442071838750' });
    const crm = zohoProvider.create(session, { origin: us.url });
    expect((await crm.findContactsByPhone('+442071838750')).map((c) => c.id)).toEqual([ada.id]);
    expect(us.requests.filter((r) => !r.path.startsWith('/oauth/'))).toEqual([]);
    eu.assertNoSpecViolations();
  });

  it('stops a sign-in whose redirect names a server that is not a Zoho accounts server, sending it nothing', async () => {
    const { us, eu, config, endpoint, vault, status, scheme } = await twoDataCentres();
    const hostile = ['https://accounts.zoho.eu.attacker.example', 'https://accounts.zoho.eu/oauth/v2/token?x=', 'javascript:alert(1)'];
    for (const server of hostile) {
      const attempt = signIn({
        crm: 'zoho', config, clientId: us.oauth.clientId, endpoint, vault, status, schemeRedirects: scheme,
        openBrowser: browserOfUserIn(eu, scheme, (callback) => callback.searchParams.set('accounts-server', server)),
      });
      await expect(attempt).rejects.toMatchObject({ kind: 'rejected', message: expect.stringContaining('accounts server Ringbridge does not know') });
    }
    expect([eu.oauth.tokenCalls.authorization_code, us.oauth.tokenCalls.authorization_code]).toEqual([0, 0]);
    expect(await vault.load('zoho')).toBeNull();
  });
});

describe('Zoho offline access', () => {
  it('zoho: sign-in requests offline access; the agent keeps logging after the access token expires (refresh)', async () => {
    const { us, config, endpoint, vault, status, scheme } = await twoDataCentres();
    const authorizeUrls: URL[] = [];
    const browser = browserOfUserIn(us, scheme);
    const signInOnce = () =>
      signIn({
        crm: 'zoho', config, clientId: us.oauth.clientId, endpoint, vault, status, schemeRedirects: scheme,
        openBrowser: (url) => (authorizeUrls.push(new URL(url)), browser(url)),
      });
    await signInOnce();

    expect(Object.fromEntries(authorizeUrls[0]!.searchParams)).toMatchObject({ access_type: 'offline', prompt: 'consent' });
    expect(authorizeUrls[0]!.searchParams.get('scope')).toBe(config.scopes.join(','));

    const session = await createCrmSession({ crm: 'zoho', vault, endpoint, status });
    cleanups.push(() => session.close());
    const crm = zohoProvider.create(session, { origin: us.url });
    const logCall = (n: number) => crm.logCall({
      callKey: `t:pbx:call-${n}:101`, direction: 'inbound', from: '+14155550132', to: '+14155550100',
      startedAt: '2026-03-02T09:15:04.000Z', answeredAt: '2026-03-02T09:15:10.000Z', durationSec: 60,
      outcome: 'answered', subject: `Call ${n}`, notes: '', contact: null, ownerId: null,
    });
    await logCall(1);
    us.faults.expireTokens(); // an hour later
    await logCall(2);
    expect(us.oauth.tokenCalls.refresh_token).toBe(1);
    expect(us.records.Calls.map((c) => c.Subject)).toEqual(['Call 1', 'Call 2']);
    expect(status.needsSignIn('zoho')).toBe(false);

    // Signing in again (Zoho issues a refresh token only on the first grant unless consent is asked
    // again) still leaves the agent able to refresh.
    await signInOnce();
    expect((await vault.load('zoho'))?.refreshToken).toEqual(expect.any(String));
    us.faults.expireTokens();
    await logCall(3);
    expect(us.oauth.tokenCalls.refresh_token).toBe(2);
    us.assertNoSpecViolations();
  });
});
