import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROBLEM_CONTENT_TYPE } from '../../http/problem.js';
import { buildIngestHarness, signedHeaders, webhookPayload, type IngestHarness } from '../testing.js';
import { MAX_WEBHOOK_BODY_BYTES } from './payload.js';

let h: IngestHarness;
let url: string;
beforeEach(async () => {
  h = await buildIngestHarness();
  url = `/v1/pbx/${h.pbx.id}/webhook`;
});
afterEach(() => h.close());

const post = (body: string, headers: Record<string, string>, path = url) => h.app.inject({ method: 'POST', url: path, payload: body, headers });

async function expectRefused(res: Awaited<ReturnType<typeof post>>, status: number, type: string) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(PROBLEM_CONTENT_TYPE);
  expect(res.json()).toMatchObject({ type: `urn:ringbridge:problem:${type}`, status, title: expect.any(String), detail: expect.any(String) });
  expect(await h.logged()).toHaveLength(0);
}

describe('webhook ingest', () => {
  it('accepts a signed call event, answers after it is in the log', async () => {
    const body = JSON.stringify(webhookPayload({ queue: '800' }));
    const res = await post(body, signedHeaders(h.secrets.webhookSecrets[0]!, body));
    expect(res.statusCode).toBe(200);
    const [logged] = await h.logged();
    expect(res.json()).toEqual({ eventId: logged!.event.id, duplicate: false });
    expect(logged!.event).toMatchObject({
      source: 'webhook', type: 'ringing', pbxCallId: 'call-1', queue: '800', agents: ['101'],
      caller: { e164: '+61298765432', name: 'Jane Citizen' }, callee: { extension: '101' },
    });
  });

  it('works over a real loopback socket', async () => {
    const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const body = JSON.stringify(webhookPayload({ durationSec: 42 }, 'call.ended'));
    const res = await fetch(`${address}${url}`, { method: 'POST', body, headers: signedHeaders(h.secrets.webhookSecrets[0]!, body) });
    expect(res.status).toBe(200);
    expect((await h.logged()).map((l) => [l.event.type, l.event.durationSec])).toEqual([['ended', 42]]);
  });

  it('accepts old and new secret during rotation, only the new one after retiring', async () => {
    const [old] = h.secrets.webhookSecrets;
    const fresh = await h.tenants.rotatePbxSecret(h.pbx.id, 'webhook');
    const a = JSON.stringify(webhookPayload({ callId: 'a' }));
    const b = JSON.stringify(webhookPayload({ callId: 'b' }));
    expect((await post(a, signedHeaders(old!, a))).statusCode).toBe(200);
    expect((await post(b, signedHeaders(fresh, b))).statusCode).toBe(200);
    await h.tenants.retireOldPbxSecrets(h.pbx.id, 'webhook');
    const c = JSON.stringify(webhookPayload({ callId: 'c' }));
    expect((await post(c, signedHeaders(old!, c))).statusCode).toBe(401);
    expect(await h.logged()).toHaveLength(2);
  });

  it('refuses a tampered body', async () => {
    const body = JSON.stringify(webhookPayload());
    const headers = signedHeaders(h.secrets.webhookSecrets[0]!, body);
    await expectRefused(await post(body.replace('0298765432', '0298765433'), headers), 401, 'bad-signature');
  });

  it('refuses a stale or future timestamp', async () => {
    const body = JSON.stringify(webhookPayload());
    const secret = h.secrets.webhookSecrets[0]!;
    await expectRefused(await post(body, signedHeaders(secret, body, { at: new Date(Date.now() - 6 * 60_000) })), 401, 'bad-signature');
    const res = await post(body, signedHeaders(secret, body, { at: new Date(Date.now() + 6 * 60_000) }));
    expect(res.json().detail).toMatch(/tolerance/);
  });

  it('refuses an unsigned delivery and one signed by another PBX', async () => {
    const body = JSON.stringify(webhookPayload());
    await expectRefused(await post(body, { 'content-type': 'application/json' }), 401, 'bad-signature');
    const other = await h.tenants.addPbx({ tenantId: h.tenantId, name: 'Other', baseUrl: 'https://b.test', defaultCountry: 'AU', apiClientId: null, connectorMode: 'bus' });
    await expectRefused(await post(body, signedHeaders(other.secrets.webhookSecrets[0]!, body)), 401, 'bad-signature');
  });

  it('refuses a replayed webhook-id with 409 and stores the event once', async () => {
    const body = JSON.stringify(webhookPayload());
    const headers = signedHeaders(h.secrets.webhookSecrets[0]!, body, { id: 'msg_replay' });
    expect((await post(body, headers)).statusCode).toBe(200);
    const replay = await post(body, headers);
    expect(replay.statusCode).toBe(409);
    expect(replay.headers['content-type']).toMatch(PROBLEM_CONTENT_TYPE);
    expect(await h.logged()).toHaveLength(1);
  });

  it('refuses an oversized body with 413', async () => {
    const body = JSON.stringify(webhookPayload({ from: { number: '0298765432', name: 'x'.repeat(MAX_WEBHOOK_BODY_BYTES) } }));
    await expectRefused(await post(body, signedHeaders(h.secrets.webhookSecrets[0]!, body)), 413, 'body-too-large');
  });

  it('refuses signed but malformed or mis-shaped bodies', async () => {
    const secret = h.secrets.webhookSecrets[0]!;
    await expectRefused(await post('{"type":', signedHeaders(secret, '{"type":')), 400, 'malformed-body');
    const wrong = JSON.stringify({ ...webhookPayload(), type: 'call.exploded' });
    await expectRefused(await post(wrong, signedHeaders(secret, wrong)), 422, 'invalid-payload');
    const badExt = JSON.stringify(webhookPayload({ extensions: ['10a'] }));
    await expectRefused(await post(badExt, signedHeaders(secret, badExt)), 422, 'invalid-payload');
  });

  it('refuses an unknown PBX with 404', async () => {
    const body = JSON.stringify(webhookPayload());
    await expectRefused(await post(body, signedHeaders(h.secrets.webhookSecrets[0]!, body), '/v1/pbx/pbx_unknown/webhook'), 404, 'unknown-pbx');
  });
});
