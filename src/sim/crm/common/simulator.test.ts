import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { s256, startCrmSimulator, type CrmSimulator } from './index.js';

let sim: CrmSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(extra: Partial<Parameters<typeof startCrmSimulator>[0]> = {}) {
  sim = await startCrmSimulator({
    oauth: { authorizePath: '/oauth/authorize', tokenPath: '/oauth/token', revokePath: '/oauth/revoke', requirePkce: true },
    openapi: resolve(import.meta.dirname, '../hubspot/openapi/crm-calls-v3.json'),
    routes: (app) => {
      app.post('/crm/v3/objects/calls', async (_req, reply) =>
        reply.code(201).send({ id: '1', properties: {}, createdAt: new Date().toISOString(), updatedAt: new Date().toISOString(), archived: false }),
      );
      app.get('/crm/v3/objects/calls/:id', async () => ({ id: 2 })); // wrong: id must be a string
    },
    ...extra,
  });
  return sim;
}

const post = (s: CrmSimulator, token: string, body: unknown) =>
  fetch(`${s.url}/crm/v3/objects/calls`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('CRM simulator harness', () => {
  it('runs the authorization-code flow with PKCE S256 and refuses a wrong verifier', async () => {
    const s = await start();
    const verifier = randomBytes(32).toString('base64url');
    const authorize = (challenge: string) =>
      fetch(`${s.url}/oauth/authorize?response_type=code&client_id=sim-client&redirect_uri=${encodeURIComponent('http://127.0.0.1:5555/cb')}&state=xyz&code_challenge=${challenge}&code_challenge_method=S256`, { redirect: 'manual' });
    const redirect = new URL((await authorize(s256(verifier))).headers.get('location')!);
    expect(redirect.searchParams.get('state')).toBe('xyz');
    const exchange = (code: string, codeVerifier: string) =>
      fetch(`${s.url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'sim-client', code, redirect_uri: 'http://127.0.0.1:5555/cb', code_verifier: codeVerifier }) });
    const bad = await exchange(redirect.searchParams.get('code')!, 'not-the-verifier');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_grant' });

    const second = new URL((await authorize(s256(verifier))).headers.get('location')!);
    const ok = await exchange(second.searchParams.get('code')!, verifier);
    const tokens = (await ok.json()) as { access_token: string; refresh_token: string };
    expect((await post(s, tokens.access_token, { properties: { hs_timestamp: '2026-01-01T00:00:00Z' }, associations: [] })).status).toBe(201);

    await fetch(`${s.url}/oauth/revoke`, { method: 'POST', body: new URLSearchParams({ token: tokens.refresh_token }) });
    const refresh = await fetch(`${s.url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'sim-client', refresh_token: tokens.refresh_token }) });
    expect(await refresh.json()).toMatchObject({ error: 'invalid_grant' });
    s.assertNoSpecViolations();
  });

  it('refuses authorization without a code challenge when PKCE is required', async () => {
    const s = await start();
    const res = await fetch(`${s.url}/oauth/authorize?client_id=sim-client&redirect_uri=${encodeURIComponent('http://127.0.0.1:1/cb')}`, { redirect: 'manual' });
    expect(res.status).toBe(400);
  });

  it('rejects expired bearer tokens and injects queued faults once each', async () => {
    const s = await start();
    const { accessToken } = s.oauth.issueTokens();
    const body = { properties: { hs_timestamp: '2026-01-01T00:00:00Z' }, associations: [] };
    s.faults.next({ status: 429, retryAfterSec: 7 });
    const limited = await post(s, accessToken, body);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect((await post(s, accessToken, body)).status).toBe(201);
    s.faults.expireTokens();
    expect((await post(s, accessToken, body)).status).toBe(401);
    expect(s.requestsTo('POST', '/crm/v3/objects/calls').map((r) => r.status)).toEqual([429, 201, 401]);
  });

  it('fails every nth request with the faults in turn until restored', async () => {
    const s = await start();
    const { accessToken } = s.oauth.issueTokens();
    const body = { properties: { hs_timestamp: '2026-01-01T00:00:00Z' }, associations: [] };
    s.faults.every(3, [{ status: 429, retryAfterSec: 1 }, { status: 503 }]);
    for (let i = 0; i < 7; i++) await post(s, accessToken, body);
    s.faults.restore();
    await post(s, accessToken, body);
    await post(s, accessToken, body);
    expect(s.requestsTo('POST', '/crm/v3/objects/calls').map((r) => r.status)).toEqual([201, 201, 429, 201, 201, 503, 201, 201, 201]);
  });

  it('fails requests at a seeded random rate: the same seed fails the same requests, OAuth never', async () => {
    const s = await start();
    const { accessToken } = s.oauth.issueTokens();
    const body = { properties: { hs_timestamp: '2026-01-01T00:00:00Z' }, associations: [] };
    const run = async (seed: number) => {
      s.faults.random({ seed, rate: 0.25, kinds: { timeout: 0 }, retryAfterSec: 2 });
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) statuses.push((await post(s, accessToken, body)).status);
      s.faults.restore();
      return statuses;
    };
    const first = await run(7);
    expect(await run(7)).toEqual(first);
    expect(await run(8)).not.toEqual(first);
    const failed = first.filter((status) => status !== 201);
    expect(failed.length).toBeGreaterThan(3);
    expect(failed.length).toBeLessThan(20);
    expect(new Set(failed)).toEqual(new Set([429, 500, 503]));
    expect(s.requests.find((r) => r.status === 429)).toBeDefined();
    s.faults.random({ seed: 7, rate: 1 });
    const refresh = await fetch(`${s.url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'sim-client', refresh_token: s.oauth.issueTokens().refreshToken }) });
    expect(refresh.status).toBe(200);
    expect(() => s.faults.random({ seed: 1, rate: 1.5 })).toThrow(/rate/);
  });

  it('a random timeout applies the write and never answers', async () => {
    const s = await start();
    const { accessToken } = s.oauth.issueTokens();
    s.faults.random({ seed: 3, rate: 1, kinds: { rateLimit: 0, serverError: 0, unavailable: 0 }, timeoutMode: 'close' });
    await expect(post(s, accessToken, { properties: { hs_timestamp: '2026-01-01T00:00:00Z' }, associations: [] })).rejects.toThrow();
    expect(s.requestsTo('POST', '/crm/v3/objects/calls').map((r) => r.fault)).toEqual(['timeoutAfterApply']);
    expect(s.faults.randomFired).toMatchObject({ timeout: 1, rateLimit: 0 });
  });

  it('applies the write, then drops the answer on timeoutAfterApply', async () => {
    const s = await start();
    const { accessToken } = s.oauth.issueTokens();
    s.faults.next({ timeoutAfterApply: true, mode: 'close' });
    await expect(post(s, accessToken, { properties: { hs_timestamp: '2026-01-01T00:00:00Z' }, associations: [] })).rejects.toThrow();
    expect(s.requestsTo('POST', '/crm/v3/objects/calls')[0]!.fault).toBe('timeoutAfterApply');
  });

  it('records requests and responses that break the OpenAPI file', async () => {
    const s = await start();
    const { accessToken } = s.oauth.issueTokens();
    const missingAssociations = await post(s, accessToken, { properties: { hs_timestamp: 'x' } });
    expect(missingAssociations.status).toBe(400);
    await fetch(`${s.url}/crm/v3/objects/calls/5`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(s.specViolations.join('\n')).toMatch(/request: body must have required property 'associations'/);
    expect(s.specViolations.join('\n')).toMatch(/response 200: body/);
    expect(() => s.assertNoSpecViolations()).toThrow(/contract violated/);
  });
});
