// The bus token broker: a paired agent gets the CRM's token answer with the client secret added
// by the bus; nobody else gets anything, and the secret never reaches a log line.
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startCrmSimulator, type CrmSimulator } from '../../src/sim/crm/common/index.js';
import { AuthStatus } from '../../src/main/oauth/auth-status.js';
import { createCrmSession } from '../../src/main/oauth/session.js';
import { signIn } from '../../src/main/oauth/sign-in.js';
import { brokerTokenEndpoint } from '../../src/main/oauth/token-endpoint.js';
import { TokenVault } from '../../src/main/oauth/token-vault.js';
import { MemorySecretStore } from '../../src/main/storage/secret-store.js';
import { ConfigError } from '../../src/bus/config.js';
import type { Agent } from '../../src/bus/tenants/port.js';
import { oauthBrokerRoutes, oauthClientsFromEnv } from '../../src/bus/oauth-broker/index.js';

const SECRET = 'highlevel-client-secret-value';
const DEVICE_TOKEN = 'device-token-of-agent-101-abcdef';
const agent: Agent = { id: 'a1', tenantId: 't1', extension: '101', pbxId: 'p1', name: 'Ann', crmUser: null, revokedAt: null };

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(context?: Record<string, string>) {
  const sim: CrmSimulator = await startCrmSimulator({
    oauth: { authorizePath: '/oauth/chooselocation', tokenPath: '/oauth/token', clientSecret: SECRET, tokenExtras: () => ({ locationId: 'loc-9', userType: 'Location' }) },
    routes: () => undefined,
  });
  cleanups.push(() => sim.close());
  const lines: string[] = [];
  const logStream = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
  const bus = Fastify({ loggerInstance: pino({ level: 'trace' }, logStream) });
  await bus.register(oauthBrokerRoutes, {
    clients: { highlevel: { clientId: sim.oauth.clientId, clientSecret: SECRET, tokenUrl: `${sim.url}/oauth/token`, context } },
    authenticate: async (token) => (token === DEVICE_TOKEN ? agent : null),
  });
  const busUrl = await bus.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => bus.close());
  return { sim, bus, busUrl, lines };
}

async function browserVisit(url: string) {
  const res = await fetch(url, { redirect: 'manual' });
  await fetch(res.headers.get('location')!);
}

describe('oauth broker', () => {
  it('exchanges the code and refreshes with the secret the app never sees', async () => {
    const { sim, busUrl, lines } = await setup();
    const vault = new TokenVault(new MemorySecretStore());
    const status = new AuthStatus();
    const endpoint = brokerTokenEndpoint({ busUrl, crm: 'highlevel', deviceToken: () => DEVICE_TOKEN });
    const config = { authorizeUrl: `${sim.url}/oauth/chooselocation`, tokenUrl: 'unused-by-the-app', scopes: ['contacts.readonly'], pkce: false, needsBroker: true, redirect: 'loopback' as const };

    const { context } = await signIn({ crm: 'highlevel', config, clientId: sim.oauth.clientId, endpoint, vault, status, openBrowser: browserVisit });
    expect(context).toMatchObject({ locationId: 'loc-9', userType: 'Location' });
    const first = await vault.load('highlevel');
    expect(sim.oauth.checkAccessToken(first!.accessToken)).toBe('ok');

    const session = await createCrmSession({ crm: 'highlevel', vault, endpoint, status });
    const refreshed = await session.refreshAfterUnauthorized();
    expect(refreshed).not.toBe(first!.accessToken);
    expect(sim.oauth.checkAccessToken(refreshed)).toBe('ok');
    const tokenRequests = sim.requestsTo('POST', '/oauth/token');
    expect(tokenRequests.map((r) => (r.body as Record<string, string>).client_secret)).toEqual([SECRET, SECRET]);

    const log = lines.join('');
    expect(log).toContain('brokered token request');
    for (const secret of [SECRET, DEVICE_TOKEN, first!.accessToken, first!.refreshToken!, refreshed]) expect(log).not.toContain(secret);
    session.close();
  });

  it("gives the signed-in session the app's HighLevel Call provider id, which no token answer names (without it every call log is refused)", async () => {
    const { sim, busUrl } = await setup({ conversationProviderId: 'app-call-provider-7' });
    const vault = new TokenVault(new MemorySecretStore());
    const endpoint = brokerTokenEndpoint({ busUrl, crm: 'highlevel', deviceToken: () => DEVICE_TOKEN });
    const config = { authorizeUrl: `${sim.url}/oauth/chooselocation`, tokenUrl: 'unused-by-the-app', scopes: ['contacts.readonly'], pkce: false, needsBroker: true, redirect: 'loopback' as const };
    const { context } = await signIn({ crm: 'highlevel', config, clientId: sim.oauth.clientId, endpoint, vault, status: new AuthStatus(), openBrowser: browserVisit });
    expect(context).toMatchObject({ locationId: 'loc-9', conversationProviderId: 'app-call-provider-7' });
    // A refusal stays the CRM's own answer.
    const refused = await fetch(`${busUrl}/v1/oauth/highlevel/token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEVICE_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: 'rt-unknown' }),
    });
    expect(await refused.json()).toEqual({ error: 'invalid_grant', error_description: 'refresh token revoked or unknown' });
  });

  it('passes the CRM refusal through unchanged (a revoked grant stays invalid_grant)', async () => {
    const { sim, busUrl } = await setup();
    const res = await fetch(`${busUrl}/v1/oauth/highlevel/token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEVICE_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: 'rt-unknown' }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'invalid_grant', error_description: 'refresh token revoked or unknown' });
    expect(sim.oauth.tokenCalls.refresh_token).toBe(1);
  });

  it('refuses callers without a valid device token, bad bodies and unconfigured CRMs', async () => {
    const { sim, busUrl } = await setup();
    const post = (path: string, body: unknown, token?: string) =>
      fetch(`${busUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const refresh = { grant_type: 'refresh_token', refresh_token: 'rt-x' };

    for (const token of [undefined, 'not-a-known-device-token']) {
      const res = await post('/v1/oauth/highlevel/token', refresh, token);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    const bad = await post('/v1/oauth/highlevel/token', { grant_type: 'authorization_code', code: 'c' }, DEVICE_TOKEN);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ status: 400, title: 'Invalid token request' });
    const notJson = await post('/v1/oauth/highlevel/token', '{not json', DEVICE_TOKEN);
    expect(notJson.status).toBe(400);
    expect(notJson.headers.get('content-type')).toContain('application/problem+json');
    const unknown = await post('/v1/oauth/zoho/token', refresh, DEVICE_TOKEN);
    expect(unknown.status).toBe(404);
    expect(sim.oauth.tokenCalls).toEqual({ authorization_code: 0, refresh_token: 0 });
  });

  it('reads clients from the environment and refuses half a configuration', () => {
    expect(
      oauthClientsFromEnv({
        RINGBRIDGE_OAUTH_HIGHLEVEL_CLIENT_ID: 'id',
        RINGBRIDGE_OAUTH_HIGHLEVEL_CLIENT_SECRET: 'secret',
        RINGBRIDGE_OAUTH_HIGHLEVEL_TOKEN_URL: 'https://services.leadconnectorhq.com/oauth/token',
      }),
    ).toEqual({ highlevel: { clientId: 'id', clientSecret: 'secret', tokenUrl: 'https://services.leadconnectorhq.com/oauth/token' } });
    expect(
      oauthClientsFromEnv({
        RINGBRIDGE_OAUTH_HIGHLEVEL_CLIENT_ID: 'id',
        RINGBRIDGE_OAUTH_HIGHLEVEL_CLIENT_SECRET: 'secret',
        RINGBRIDGE_OAUTH_HIGHLEVEL_TOKEN_URL: 'https://services.leadconnectorhq.com/oauth/token',
        RINGBRIDGE_OAUTH_HIGHLEVEL_CONVERSATION_PROVIDER_ID: 'prov-1',
      }).highlevel?.context,
    ).toEqual({ conversationProviderId: 'prov-1' });
    expect(() => oauthClientsFromEnv({ RINGBRIDGE_OAUTH_ZOHO_CLIENT_ID: 'id' })).toThrow(ConfigError);
    expect(() => oauthClientsFromEnv({ RINGBRIDGE_OAUTH_ZOHO_CLIENT_SECRET: 'top-secret' })).not.toThrow(/top-secret/);
  });
});
