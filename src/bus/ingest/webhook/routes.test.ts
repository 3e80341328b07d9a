import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../../../test/support/redis-server.js';
import { openStorage, type BusStorage } from '../../compose.js';
import { PROBLEM_CONTENT_TYPE } from '../../http/problem.js';
import { buildIngestHarness, ingestApp, signedHeaders, webhookPayload, type IngestHarness } from '../../../../test/support/ingest-harness.js';
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

  it('answers an identical retry (same webhook-id and body, signed anew) with 200, duplicate and the first eventId, storing and pushing nothing', async () => {
    const heard: number[] = [];
    h.log.subscribe((_tenant, logged) => heard.push(logged.offset));
    const secret = h.secrets.webhookSecrets[0]!;
    const body = JSON.stringify(webhookPayload());
    const first = await post(body, signedHeaders(secret, body, { id: 'msg_retry' }));
    expect(first.json()).toMatchObject({ duplicate: false });
    // A Standard Webhooks retry: same id and payload, a later attempt timestamp, so another signature.
    const retry = await post(body, signedHeaders(secret, body, { id: 'msg_retry', at: new Date(Date.now() + 60_000) }));
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual({ eventId: first.json().eventId, duplicate: true });
    expect(await h.logged()).toHaveLength(1);
    expect(heard).toEqual([1]);
  });

  it('refuses a webhook-id reused with a different body with 409, storing nothing', async () => {
    const secret = h.secrets.webhookSecrets[0]!;
    const body = JSON.stringify(webhookPayload());
    expect((await post(body, signedHeaders(secret, body, { id: 'msg_reused' }))).statusCode).toBe(200);
    const other = body.replace('0298765432', '0298765433');
    const reused = await post(other, signedHeaders(secret, other, { id: 'msg_reused' }));
    expect(reused.statusCode).toBe(409);
    expect(reused.json()).toMatchObject({ type: 'urn:ringbridge:problem:delivery-id-reused', detail: expect.stringMatching(/different body.*nothing was stored/) });
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

describe.each(['sqlite', 'redis'] as const)('webhook ingest across a bus restart (%s storage)', (engine) => {
  let redis: RedisServer | undefined;
  let dataDir: string;
  const open = () => openStorage({ dataDir, redisUrl: redis?.url ?? null, masterKey: null }, pino({ level: 'silent' }));
  const running: Array<{ app: FastifyInstance; storage: BusStorage }> = [];
  /** A bus node: the ingest routes over storage opened from the data directory (and Redis). */
  async function startNode() {
    const storage = await open();
    const node = { app: await ingestApp(storage), storage };
    running.push(node);
    return node;
  }
  async function stop(node: { app: FastifyInstance; storage: BusStorage }) {
    running.splice(running.indexOf(node), 1);
    await node.app.close();
    await node.storage.close();
  }
  beforeAll(async () => {
    if (engine === 'redis') redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'rb-webhook-'));
  });
  afterEach(async () => {
    for (const node of [...running]) await stop(node);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('still refuses the webhook-id with a different body, and still answers an identical retry as a duplicate of the first event', async () => {
    const first = await startNode();
    const tenant = await first.storage.tenants.createTenant({ name: 'Acme' });
    const { pbx, secrets } = await first.storage.tenants.addPbx({
      tenantId: tenant.id, name: 'Main', baseUrl: 'https://pbx.acme.test', defaultCountry: 'AU', apiClientId: null, connectorMode: 'bus',
    });
    const secret = secrets.webhookSecrets[0]!;
    const post = (app: FastifyInstance, body: string) =>
      app.inject({ method: 'POST', url: `/v1/pbx/${pbx.id}/webhook`, payload: body, headers: signedHeaders(secret, body, { id: 'msg_restart' }) });
    const body = JSON.stringify(webhookPayload());
    const stored = await post(first.app, body);
    expect(stored.json()).toMatchObject({ duplicate: false });
    // Where the bus keeps its log, it keeps delivery ids: Redis when it has one (every node), else the SQLite log.
    expect(first.storage.log.deliveries).toBe(engine === 'sqlite' ? first.storage.deliveries : undefined);
    await stop(first);

    const second = await startNode();
    expect((await post(second.app, body.replace('0298765432', '0298765433'))).statusCode).toBe(409);
    await stop(second);

    const third = await startNode();
    const retry = await post(third.app, body);
    expect([retry.statusCode, retry.json()]).toEqual([200, { eventId: stored.json().eventId, duplicate: true }]);
    expect((await third.storage.log.read(tenant.id, { since: 0, limit: 10 })).events).toHaveLength(1);
  });
});
