// Per-user OAuth against the simulators' OAuth server: the browser leg, the loopback and scheme
// redirects, token storage, refresh ahead of expiry and the one "sign in again" signal.
import { afterEach, describe, expect, it } from 'vitest';
import type { CrmSimulator } from '../../sim/crm/common/index.js';
import { CrmError } from '../crm/port.js';
import { MemorySecretStore } from '../storage/secret-store.js';
import { AuthStatus } from './auth-status.js';
import { pkceChallenge } from './pkce.js';
import { SchemeRedirects, SignInError, listenOnLoopback } from './redirect.js';
import { createCrmSession } from './session.js';
import { signIn } from './sign-in.js';
import { directTokenEndpoint, type TokenEndpoint } from './token-endpoint.js';
import { TokenVault } from './token-vault.js';
import { oauthConfig, scriptedBrowser, startOAuthSim } from '../../../test/support/oauth-harness.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(simOptions: Parameters<typeof startOAuthSim>[0] = {}) {
  const sim = await startOAuthSim({ requirePkce: true, ...simOptions });
  cleanups.push(() => sim.close());
  const secrets = new MemorySecretStore();
  const vault = new TokenVault(secrets);
  const status = new AuthStatus();
  const endpoint = directTokenEndpoint({ tokenUrl: `${sim.url}/oauth/token`, clientId: sim.oauth.clientId });
  return { sim, secrets, vault, status, endpoint };
}

/** Stores a token set that is about to expire, issued by the simulator. */
async function storeSoonExpiring(sim: CrmSimulator, vault: TokenVault, msLeft = 30_000) {
  const issued = sim.oauth.issueTokens();
  await vault.save('hubspot', { accessToken: issued.accessToken, refreshToken: issued.refreshToken, expiresAt: Date.now() + msLeft, context: {} });
  return issued;
}

describe('sign-in (RFC 8252 loopback + PKCE)', () => {
  it('signs in through the browser, stores tokens only in the secret store and returns only context', async () => {
    const { sim, secrets, vault, status, endpoint } = await setup({ tokenExtras: () => ({ hub_id: '4242' }) });
    const browser = scriptedBrowser();
    const signedIn: string[] = [];
    status.signedIn.on((crm) => signedIn.push(crm));

    const result = await signIn({ crm: 'hubspot', config: oauthConfig(sim), clientId: sim.oauth.clientId, endpoint, vault, status, openBrowser: browser.openBrowser });

    const visit = browser.visits[0]!;
    expect(visit.authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(visit.authorizeUrl.searchParams.get('scope')).toBe('contacts.read calls.write');
    expect(visit.callbackUrl.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(visit.page).toMatchObject({ status: 200, body: expect.stringContaining('close this tab') });
    expect(result.context).toEqual({ hub_id: '4242' });
    expect(JSON.stringify(result)).not.toMatch(/at-|rt-/);
    const stored = await vault.load('hubspot');
    expect(sim.oauth.checkAccessToken(stored!.accessToken)).toBe('ok');
    expect(stored!.expiresAt).toBeGreaterThan(Date.now());
    expect(await secrets.get('crm.hubspot.tokens')).toContain(stored!.refreshToken);
    expect(signedIn).toEqual(['hubspot']);
  });

  it('sends the verifier matching the challenge, and a wrong verifier gets no tokens', async () => {
    const { sim, vault, status, endpoint } = await setup();
    const seen: string[] = [];
    const tampering: TokenEndpoint = {
      exchangeCode: (input) => {
        seen.push(input.codeVerifier!);
        return endpoint.exchangeCode({ ...input, codeVerifier: `${input.codeVerifier!.slice(1)}x` });
      },
      refresh: endpoint.refresh,
    };
    const browser = scriptedBrowser();
    await expect(
      signIn({ crm: 'hubspot', config: oauthConfig(sim), clientId: sim.oauth.clientId, endpoint: tampering, vault, status, openBrowser: browser.openBrowser }),
    ).rejects.toMatchObject({ kind: 'auth', message: expect.stringContaining('code_verifier mismatch') });
    expect(pkceChallenge(seen[0]!)).toBe(browser.visits[0]!.authorizeUrl.searchParams.get('code_challenge'));
    expect(await vault.load('hubspot')).toBeNull();
  });

  it('refuses a callback with the wrong state, then completes with the right one', async () => {
    const { sim, vault, status, endpoint } = await setup();
    let forged: { status: number; body: string } | null = null;
    const browser = scriptedBrowser({
      deliver: false,
    });
    const openBrowser = async (url: string) => {
      await browser.openBrowser(url);
      const real = browser.visits[0]!.callbackUrl;
      const forgedUrl = new URL(real);
      forgedUrl.searchParams.set('state', 'attacker-state');
      const res = await fetch(forgedUrl);
      forged = { status: res.status, body: await res.text() };
      expect(sim.oauth.tokenCalls.authorization_code).toBe(0);
      await fetch(real);
    };
    await signIn({ crm: 'hubspot', config: oauthConfig(sim), clientId: sim.oauth.clientId, endpoint, vault, status, openBrowser });
    expect(forged).toMatchObject({ status: 400, body: expect.stringContaining('not recognised') });
    expect(sim.oauth.tokenCalls.authorization_code).toBe(1);
  });

  it('answers 404 on any other path of the loopback listener and keeps waiting', async () => {
    const catcher = await listenOnLoopback({ state: 'good-state', timeoutMs: 10_000 });
    cleanups.push(() => catcher.close());
    const base = new URL(catcher.redirectUri);
    const wrong = await fetch(new URL('/favicon.ico?code=c&state=good-state', base));
    expect(wrong.status).toBe(404);
    const post = await fetch(`${catcher.redirectUri}?code=c&state=good-state`, { method: 'POST' });
    expect(post.status).toBe(404);
    const ok = await fetch(`${catcher.redirectUri}?code=the-code&state=good-state`);
    expect(ok.status).toBe(200);
    expect((await catcher.result).get('code')).toBe('the-code');
    // One-shot: the listener is gone after the accepted callback.
    await expect(fetch(`${catcher.redirectUri}?code=again&state=good-state`)).rejects.toThrow();
  });

  it('gives up after the timeout and when the user denies access', async () => {
    const catcher = await listenOnLoopback({ state: 's', timeoutMs: 50 });
    await expect(catcher.result).rejects.toMatchObject({ code: 'timeout' });
    await expect(fetch(catcher.redirectUri)).rejects.toThrow();

    const denied = await listenOnLoopback({ state: 's2', timeoutMs: 10_000 });
    const page = await fetch(`${denied.redirectUri}?error=access_denied&state=s2`);
    expect(page.status).toBe(200);
    await expect(denied.result).rejects.toBeInstanceOf(SignInError);
    await expect(denied.result).rejects.toMatchObject({ code: 'denied' });
  });

  it('completes through the app scheme when the CRM redirects there, ignoring foreign URLs', async () => {
    const { sim, vault, status, endpoint } = await setup({ allowRedirect: (uri) => uri.startsWith('ringbridge://') });
    const scheme = new SchemeRedirects('ringbridge://oauth/callback');
    const browser = scriptedBrowser();
    const openBrowser = async (url: string) => {
      await browser.openBrowser(url);
      const callback = browser.visits[0]!.callbackUrl.toString();
      expect(scheme.deliver(callback.replace(/state=[^&]+/, 'state=wrong'))).toBe(false);
      expect(scheme.deliver(callback.replace('oauth/callback', 'other/path'))).toBe(false);
      expect(scheme.deliver('not a url')).toBe(false);
      expect(scheme.deliver(callback)).toBe(true);
    };
    await signIn({ crm: 'zoho', config: oauthConfig(sim, { redirect: 'custom-scheme' }), clientId: sim.oauth.clientId, endpoint, vault, status, openBrowser, schemeRedirects: scheme });
    expect(await vault.load('zoho')).not.toBeNull();
  });
});

describe('CrmSession', () => {
  it('refreshes ahead of expiry once for many concurrent callers', async () => {
    const { sim, vault, status, endpoint } = await setup({ rotateRefreshTokens: true });
    const old = await storeSoonExpiring(sim, vault);
    const session = await createCrmSession({ crm: 'hubspot', vault, endpoint, status });
    cleanups.push(() => session.close());

    const tokens = await Promise.all(Array.from({ length: 20 }, () => session.accessToken()));
    expect(sim.oauth.tokenCalls.refresh_token).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(old.accessToken);
    expect(sim.oauth.checkAccessToken(tokens[0])).toBe('ok');
    // The rotated refresh token was stored: the next forced refresh works.
    const concurrent401s = await Promise.all([session.refreshAfterUnauthorized(), session.refreshAfterUnauthorized()]);
    expect(sim.oauth.tokenCalls.refresh_token).toBe(2);
    expect(concurrent401s[0]).toBe(concurrent401s[1]);
    expect((await vault.load('hubspot'))!.accessToken).toBe(concurrent401s[0]);
  });

  it('refreshes short-lived tokens at half-life rather than on every call', async () => {
    const { sim, vault, status, endpoint } = await setup();
    const issued = sim.oauth.issueTokens();
    const now = Date.now();
    await vault.save('hubspot', { accessToken: issued.accessToken, refreshToken: issued.refreshToken, expiresAt: now + 60_000, obtainedAt: now, context: {} });
    const session = await createCrmSession({ crm: 'hubspot', vault, endpoint, status });
    cleanups.push(() => session.close());
    expect(await session.accessToken()).toBe(issued.accessToken);
    await vault.save('hubspot', { accessToken: issued.accessToken, refreshToken: issued.refreshToken, expiresAt: now + 20_000, obtainedAt: now - 40_000, context: {} });
    expect(await session.accessToken()).not.toBe(issued.accessToken);
    expect(sim.oauth.tokenCalls.refresh_token).toBe(1);
  });

  it('does not refresh a token with time left', async () => {
    const { sim, vault, status, endpoint } = await setup();
    const issued = await storeSoonExpiring(sim, vault, 30 * 60_000);
    const session = await createCrmSession({ crm: 'hubspot', vault, endpoint, status });
    expect(await session.accessToken()).toBe(issued.accessToken);
    expect(sim.oauth.tokenCalls.refresh_token).toBe(0);
  });

  it('turns a revoked grant into CrmError(auth) with one sign-in signal, and recovers after signing in again', async () => {
    const { sim, vault, status, endpoint } = await setup();
    await storeSoonExpiring(sim, vault);
    const session = await createCrmSession({ crm: 'hubspot', vault, endpoint, status });
    cleanups.push(() => session.close());
    const prompts: string[] = [];
    status.signInRequired.on(({ crm }) => prompts.push(crm));
    sim.faults.revokeGrant();

    const results = await Promise.allSettled(Array.from({ length: 5 }, () => session.accessToken()));
    const later = await Promise.allSettled([session.accessToken(), session.refreshAfterUnauthorized()]);
    for (const r of [...results, ...later]) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(CrmError);
      expect((r as PromiseRejectedResult).reason.kind).toBe('auth');
    }
    expect(prompts).toEqual(['hubspot']);
    expect(sim.oauth.tokenCalls.refresh_token).toBe(1); // no retry loop against the CRM

    const browser = scriptedBrowser();
    await signIn({ crm: 'hubspot', config: oauthConfig(sim), clientId: sim.oauth.clientId, endpoint, vault, status, openBrowser: browser.openBrowser });
    expect(sim.oauth.checkAccessToken(await session.accessToken())).toBe('ok');
    expect(prompts).toEqual(['hubspot']);
  });

  it('re-reads stored tokens before giving up when another writer rotated the refresh token', async () => {
    const { sim, vault, status, endpoint } = await setup({ rotateRefreshTokens: true });
    const first = await storeSoonExpiring(sim, vault);
    // Another writer refreshes with the same refresh token first and stores the result; ours then
    // presents the rotated-away token and gets invalid_grant.
    const racing: TokenEndpoint = {
      exchangeCode: endpoint.exchangeCode,
      refresh: async (current) => {
        const winner = await endpoint.refresh(current);
        await vault.save('hubspot', winner);
        return endpoint.refresh(current);
      },
    };
    const session = await createCrmSession({ crm: 'hubspot', vault, endpoint: racing, status });
    cleanups.push(() => session.close());
    const prompts: unknown[] = [];
    status.signInRequired.on((p) => prompts.push(p));

    const token = await session.accessToken();
    expect(token).not.toBe(first.accessToken);
    expect(token).toBe((await vault.load('hubspot'))!.accessToken);
    expect(sim.oauth.checkAccessToken(token)).toBe('ok');
    expect(prompts).toEqual([]);
  });

  it('says "sign in" once when nothing is stored', async () => {
    const { vault, status, endpoint } = await setup();
    const session = await createCrmSession({ crm: 'salesforce', vault, endpoint, status });
    const prompts: unknown[] = [];
    status.signInRequired.on((p) => prompts.push(p));
    await expect(session.accessToken()).rejects.toMatchObject({ kind: 'auth' });
    await expect(session.accessToken()).rejects.toMatchObject({ kind: 'auth' });
    expect(prompts).toHaveLength(1);
  });
});
