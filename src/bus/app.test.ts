// buildApp from ports alone (memory log, in-memory SQLite tenants, fake PBX): the routes a bus
// must expose, and the OAuth broker only when a CRM client is configured.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { LevelWithSilent } from 'pino';
import { buildApp, type BusDeps } from './app.js';
import { createSqliteAuditLog } from './audit/sqlite.js';
import { createIngestor } from './ingest/normalise.js';
import { createMemoryEventLog } from '../../test/support/memory-event-log.js';
import { createBusLogger } from './logger.js';
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
    dial: {
      dial: async () => ({ ok: false, e164: null, code: 'pbx_error', message: 'no PBX in this test' }),
      control: async () => ({ ok: false, e164: null, code: 'pbx_error', message: 'no PBX in this test' }),
      presence: async () => ({ ok: false, e164: null, code: 'pbx_error', message: 'no PBX in this test' }),
    },
    recordings: createRecordingService({ log, audit, agents: tenants, secret: randomBytes(32), publicUrl: 'http://bus.test' }),
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

function capturingLogger(level: LevelWithSilent) {
  const lines: Array<{ level: number; msg: string; [key: string]: unknown }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { logger: createBusLogger(level, sink), lines };
}

const WARN = 40;

describe('request logging', () => {
  it('writes no line for a request that went well at info, and records every refusal at warn', async () => {
    const { logger, lines } = capturingLogger('info');
    const bus = await app({ logger });
    expect((await bus.inject({ url: '/health' })).statusCode).toBe(200);
    expect(lines).toEqual([]);

    await bus.inject({ method: 'POST', url: '/v1/pbx/pbx_unknown/webhook', payload: '{}' });
    await bus.inject({ method: 'POST', url: '/v1/pbx/pbx_unknown/connector/observations', payload: {} });
    await bus.inject({ method: 'POST', url: '/v1/pair', payload: { code: 'AAAA-BBBB-CCCC' }, remoteAddress: '192.0.2.10' });
    await bus.inject({ url: '/v1/recordings/not-a-grant' });
    expect(lines.map((l) => [l.level, l.msg, l.status, l.reason])).toEqual([
      [WARN, 'ingest refused', 404, 'unknown-pbx'],
      [WARN, 'connector post refused', 404, 'unknown-pbx'],
      [WARN, 'pairing refused', 404, 'pairing-code-not-found'],
      [WARN, 'recording download refused', 403, 'invalid-recording-link'],
    ]);
    expect(lines[2]).toMatchObject({ ip: '192.0.2.10', route: '/v1/pair' });
    expect(JSON.stringify(lines)).not.toContain('AAAA-BBBB-CCCC');
  });

  it('keeps one line per request at debug', async () => {
    const { logger, lines } = capturingLogger('debug');
    const bus = await app({ logger });
    await bus.inject({ url: '/health' });
    expect(lines.map((l) => l.msg)).toEqual(['request completed']);
    expect(lines[0]).toMatchObject({ req: { method: 'GET', url: '/health' }, res: { statusCode: 200 } });
  });
});

describe('trusted proxies', () => {
  // Enough wrong pairing codes from one client address to be blocked (the route's default limit).
  async function exhaustPairing(bus: FastifyInstance, forwardedFor: string): Promise<void> {
    for (let i = 0; i < 10; i++) {
      await bus.inject({ method: 'POST', url: '/v1/pair', payload: { code: 'AAAA-BBBB-CCCC' }, remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': forwardedFor } });
    }
  }
  const pairFrom = (bus: FastifyInstance, forwardedFor: string) =>
    bus.inject({ method: 'POST', url: '/v1/pair', payload: { code: 'AAAA-BBBB-CCCC' }, remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': forwardedFor } });

  it('limits pairing per client behind a trusted proxy', async () => {
    const bus = await app({ trustProxy: ['127.0.0.1'] });
    await exhaustPairing(bus, '203.0.113.7');
    expect((await pairFrom(bus, '203.0.113.7')).statusCode).toBe(429);
    // Another client behind the same proxy is not blocked with it.
    expect((await pairFrom(bus, '198.51.100.20')).statusCode).toBe(404);
  });

  it('ignores X-Forwarded-For by default, so a client cannot dodge the limit by inventing addresses', async () => {
    const bus = await app();
    await exhaustPairing(bus, '203.0.113.7');
    expect((await pairFrom(bus, '198.51.100.20')).statusCode).toBe(429);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const bus = await app({ trustProxy: ['10.0.0.0/8'] });
    await exhaustPairing(bus, '203.0.113.7');
    expect((await pairFrom(bus, '198.51.100.20')).statusCode).toBe(429);
  });
});
