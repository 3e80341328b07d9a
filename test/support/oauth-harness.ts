// Test support: a CRM OAuth server (the simulators' shared harness) and a scripted "system browser".
import { startCrmSimulator, type CrmSimulator, type OAuthSimOptions } from '../../src/sim/crm/common/index.js';
import type { OAuthClientConfig } from '../../src/main/crm/port.js';

export async function startOAuthSim(options: Partial<OAuthSimOptions> = {}): Promise<CrmSimulator> {
  return startCrmSimulator({
    oauth: { authorizePath: '/oauth/authorize', tokenPath: '/oauth/token', ...options },
    routes: () => undefined,
  });
}

export function oauthConfig(sim: CrmSimulator, overrides: Partial<OAuthClientConfig> = {}): OAuthClientConfig {
  return {
    authorizeUrl: `${sim.url}/oauth/authorize`,
    tokenUrl: `${sim.url}/oauth/token`,
    scopes: ['contacts.read', 'calls.write'],
    pkce: true,
    needsBroker: false,
    redirect: 'loopback',
    ...overrides,
  };
}

export interface BrowserVisit {
  authorizeUrl: URL;
  /** Where the CRM redirected the browser (the app's redirect_uri with code and state). */
  callbackUrl: URL;
  /** What the app's loopback page answered. */
  page: { status: number; body: string } | null;
}

/**
 * Plays the user in the system browser: opens the authorize URL, lets the CRM redirect, and
 * (unless `tamper` changes it, or `deliver` is false) follows the redirect to the app.
 */
export function scriptedBrowser(opts: { tamper?: (callback: URL) => URL | void; deliver?: boolean } = {}) {
  const visits: BrowserVisit[] = [];
  const openBrowser = async (url: string) => {
    const authorizeUrl = new URL(url);
    const res = await fetch(authorizeUrl, { redirect: 'manual' });
    if (res.status !== 302) throw new Error(`authorize answered ${res.status}: ${await res.text()}`);
    let callbackUrl = new URL(res.headers.get('location')!);
    callbackUrl = opts.tamper?.(callbackUrl) ?? callbackUrl;
    const visit: BrowserVisit = { authorizeUrl, callbackUrl, page: null };
    visits.push(visit);
    if (opts.deliver === false || callbackUrl.protocol !== 'http:') return;
    const page = await fetch(callbackUrl);
    visit.page = { status: page.status, body: await page.text() };
  };
  return { openBrowser, visits };
}
