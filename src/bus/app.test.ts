// buildApp from ports alone (memory log, in-memory SQLite tenants, fake PBX): the routes a bus
// must expose, and the OAuth broker only when a CRM client is configured.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp, type BusDeps } from './app.js';
import { createSqliteAuditLog } from './audit/sqlite.js';
import { createIngestor } from './ingest/normalise.js';
import { createMemoryEventLog } from './log/memory/index.js';
import { createRecordingService } from './recordings/index.js';
import { createSqliteTenantStore } from './tenants/sqlite/store.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function app(extra: Partial<BusDeps> = {}): Promise<FastifyInstance> {
  const log = createMemoryEventLog();
  const tenants = createSqliteTenantStore({ path: ':memory:', masterKey: randomBytes(32) });
  const audit = createSqliteAuditLog({ db: tenants.db });
  const built = await buildApp({
    log,
    tenants,
    contacts: tenants,
    audit,
    ingestor: createIngestor({ log, tenants }),
    dial: { dial: async () => ({ ok: false, e164: null, code: 'pbx_error', message: 'no PBX in this test' }) },
    recordings: createRecordingService({ log, audit, secret: randomBytes(32), publicUrl: 'http://bus.test' }),
    pbx: { openRecording: async () => Promise.reject(new Error('no PBX in this test')) },
    publicUrl: 'http://bus.test',
    ...extra,
  });
  apps.push(built);
  built.addHook('onClose', () => tenants.close());
  await built.ready();
  return built;
}

describe('buildApp', () => {
  it('serves every route group, answering unknown paths with problem+json', async () => {
    const bus = await app();
    const routes: Array<[string, string]> = [
      ['GET', '/health'], ['GET', '/ready'], ['POST', '/v1/pair'], ['GET', '/v1/agent/ws'], ['GET', '/v1/recordings/*'],
      ['POST', '/v1/pbx/:pbxId/webhook'], ['GET', '/v1/pbx/:pbxId/3cx/lookup'], ['POST', '/v1/pbx/:pbxId/3cx/journal'],
      ['POST', '/v1/pbx/:pbxId/connector/observations'],
    ];
    for (const [method, url] of routes) expect(bus.hasRoute({ method, url }), `${method} ${url}`).toBe(true);
    const missing = await bus.inject({ url: '/nope' });
    expect([missing.statusCode, missing.headers['content-type']]).toEqual([404, 'application/problem+json; charset=utf-8']);
  });

  it('has no OAuth broker unless a CRM client is configured', async () => {
    const without = await app();
    expect((await without.inject({ method: 'POST', url: '/v1/oauth/highlevel/token', payload: {} })).statusCode).toBe(404);
    const withBroker = await app({ oauthClients: { highlevel: { clientId: 'id', clientSecret: 'secret', tokenUrl: 'https://crm.test/token' } } });
    // Present, and refusing a caller without a device token.
    expect((await withBroker.inject({ method: 'POST', url: '/v1/oauth/highlevel/token', payload: {} })).statusCode).toBe(401);
  });

  it('turns unready on drain while staying alive', async () => {
    const bus = await app();
    expect((await bus.inject({ url: '/ready' })).statusCode).toBe(200);
    bus.drain();
    expect((await bus.inject({ url: '/ready' })).statusCode).toBe(503);
    expect((await bus.inject({ url: '/health' })).statusCode).toBe(200);
  });
});
