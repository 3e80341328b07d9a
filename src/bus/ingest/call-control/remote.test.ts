// A connector beside an unreachable PBX posting to the bus: remote sink -> connectorRoutes ->
// the real normaliser -> the log, over real HTTP on loopback.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startPbxSimulator, type PbxSimulator } from '../../../sim/3cx/index.js';
import { createMemoryEventLog } from '../../log/memory/index.js';
import type { EventLog } from '../../log/port.js';
import { pbxApiFor } from '../../pbx/api.js';
import { eventually, fakeTenants } from '../../pbx/testing.js';
import { createIngestor } from '../normalise.js';
import type { CallObservation, Ingestor } from '../observation.js';
import { CallControlConnector } from './connector.js';
import { sqliteObservationQueue } from './remote-queue.js';
import { createRemoteSink, type RemoteSink } from './remote-sink.js';
import { runRemoteConnector } from './remote.js';
import { connectorRoutes } from './routes.js';
import { pino } from 'pino';

const TOKEN = 'ctok_' + 'a'.repeat(40);
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function bus(opts: { ingestor?: (real: Ingestor) => Ingestor } = {}) {
  const tenants = fakeTenants();
  tenants.put({ pbx: { id: 'pbx_1', tenantId: 't_1', baseUrl: 'http://unused', connectorMode: 'remote' }, secrets: { connectorTokens: ['ctok_old_' + 'b'.repeat(40), TOKEN] } });
  tenants.put({ pbx: { id: 'pbx_2', tenantId: 't_2', baseUrl: 'http://unused', connectorMode: 'remote' }, secrets: { connectorTokens: ['ctok_' + 'c'.repeat(40)] } });
  const log = createMemoryEventLog();
  const real = createIngestor({ log, tenants });
  const app: FastifyInstance = Fastify();
  await app.register(connectorRoutes, { ingestor: opts.ingestor?.(real) ?? real, tenants });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  cleanup.push(() => app.close(), () => log.close());
  return { url, log };
}

async function all(log: EventLog, tenantId: string) {
  return (await log.read(tenantId, { since: 0, limit: 1000 })).events.map((e) => e.event);
}

function observation(n: number): CallObservation {
  return {
    tenantId: 'ignored', pbxId: 'ignored', source: 'call-control', type: 'ringing', direction: 'inbound', pbxCallId: String(5000 + n),
    caller: { raw: '+4930123456', name: null }, callee: { raw: '101', name: null }, extensions: ['101'], queue: null, agents: ['101'],
    pbxTime: new Date(), durationSec: null, recording: null, deliveryId: `cc:pbx_1:${5000 + n}:101:1:ringing`,
  };
}

/** A bus, a simulated PBX and a connector beside it posting through the remote sink, connected. */
async function connectedPbx(): Promise<{ log: EventLog; sim: PbxSimulator }> {
  const { url, log } = await bus();
  const sim = await startPbxSimulator();
  cleanup.push(() => sim.close());
  const sink = createRemoteSink({ busUrl: url, pbxId: 'pbx_1', connectorToken: TOKEN, retry: { initialMs: 5, maxMs: 20 } });
  // The remote side does not know the tenant; the bus takes it from the authenticated PBX.
  const api = pbxApiFor({ baseUrl: sim.baseUrl, clientId: '900', clientSecret: 'sim-api-key' }, { pbxId: 'pbx_1', tenantId: 'assigned-by-bus' });
  const connector = new CallControlConnector({ api, sink, recordingPoll: { attempts: 20, intervalMs: 5 } });
  cleanup.push(() => sink.close(), () => connector.stop());
  const ready = once(connector, 'ready');
  connector.start();
  await ready;
  return { log, sim };
}

describe('remote connector -> bus', () => {
  it('delivers every transition of a simulated call into the PBX\'s tenant log', async () => {
    const { log, sim } = await connectedPbx();

    const call = await sim.placeCall({ kind: 'inbound', from: '+4930123456', fromName: 'Ada', to: '101' });
    await eventually(async () => expect((await all(log, 't_1')).map((e) => e.type)).toEqual(['ringing', 'answered', 'ended', 'recording_ready']));
    const events = await all(log, 't_1');
    expect(events.every((e) => e.tenantId === 't_1' && e.pbxId === 'pbx_1' && e.source === 'call-control' && e.pbxCallId === String(call.callid))).toBe(true);
    expect(events[0]!.caller).toMatchObject({ raw: '+4930123456', e164: '+4930123456', name: 'Ada' });
    expect(events[3]!.recording?.pbxRecordingId).toBe(String(call.recordingIds[0]));
    expect(await all(log, 't_2')).toEqual([]);
  });

  it('carries who answered a queue call across to the bus', async () => {
    const { log, sim } = await connectedPbx();

    await sim.placeCall({ kind: 'queue', from: '+4930123456', queue: '800', agents: ['101', '102'], answeredBy: '102' });
    await eventually(async () => expect((await all(log, 't_1')).some((e) => e.type === 'recording_ready')).toBe(true));
    const answered = (await all(log, 't_1')).filter((e) => e.type === 'answered');
    expect(answered).toEqual([expect.objectContaining({ agents: ['101', '102'], answeredBy: '102' })]);
  });

  it('keeps observations while the bus fails and delivers each once when it recovers', async () => {
    let failuresLeft = 3;
    const { url, log } = await bus({
      ingestor: (real) => ({
        ingest: async (o) => {
          // The first item of a batch goes in, then the bus "crashes": the resend must not double it.
          const result = await real.ingest(o);
          if (failuresLeft-- > 0) throw new Error('disk full');
          return result;
        },
      }),
    });
    const sink: RemoteSink = createRemoteSink({ busUrl: url, pbxId: 'pbx_1', connectorToken: TOKEN, retry: { initialMs: 5, maxMs: 20 } });
    cleanup.push(() => sink.close());
    for (let i = 0; i < 5; i++) await sink(observation(i));
    await sink.flush();
    expect(sink.pending()).toBe(0);
    const events = await all(log, 't_1');
    expect(events.map((e) => e.pbxCallId)).toEqual(['5000', '5001', '5002', '5003', '5004']);
  });

  it('refuses wrong tokens, another PBX\'s token and malformed batches with problem details, storing nothing', async () => {
    const { url, log } = await bus();
    const post = async (pbxId: string, auth: string | null, body: unknown) => {
      const res = await request(`${url}/v1/pbx/${pbxId}/connector/observations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
        body: JSON.stringify(body),
      });
      return { status: res.statusCode, type: res.headers['content-type'], body: (await res.body.json()) as { type?: string } };
    };
    const good = { observations: [{ ...observation(1), pbxTime: new Date().toISOString(), tenantId: undefined, pbxId: undefined, source: undefined }] };
    expect(await post('pbx_1', null, good)).toMatchObject({ status: 401, type: expect.stringContaining('application/problem+json') });
    expect(await post('pbx_1', 'ctok_' + 'c'.repeat(40), good)).toMatchObject({ status: 401 });
    expect(await post('pbx_9', TOKEN, good)).toMatchObject({ status: 404 });
    expect(await post('pbx_1', TOKEN, { observations: [{ type: 'exploded' }] })).toMatchObject({ status: 400, body: { type: expect.stringContaining('invalid-request') } });
    expect(await post('pbx_1', TOKEN, { observations: [] })).toMatchObject({ status: 400 });
    expect(await all(log, 't_1')).toEqual([]);
    // The rotated-out token still works until retired; the good batch goes in once even if sent twice.
    expect(await post('pbx_1', 'ctok_old_' + 'b'.repeat(40), good)).toMatchObject({ status: 200 });
    expect(await post('pbx_1', TOKEN, good)).toMatchObject({ status: 200 });
    expect(await all(log, 't_1')).toHaveLength(1);
  });

  it('keeps what it saw across a connector restart while the bus is down, and sends it once when the bus is back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-connector-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const queueFile = join(dir, 'queue.db');
    // The first run sees three calls ring while the bus is down, then stops without a goodbye.
    const before = createRemoteSink({ busUrl: 'http://127.0.0.1:9', pbxId: 'pbx_1', connectorToken: TOKEN, queue: sqliteObservationQueue(queueFile), retry: { initialMs: 1000, maxMs: 1000 } });
    cleanup.push(() => before.close());
    for (let i = 0; i < 3; i++) await before(observation(i));

    const { url, log } = await bus();
    const after = createRemoteSink({ busUrl: url, pbxId: 'pbx_1', connectorToken: TOKEN, queue: sqliteObservationQueue(queueFile), retry: { initialMs: 5, maxMs: 20 } });
    cleanup.push(() => after.close());
    expect(after.pending()).toBe(3);
    await after(observation(3));
    await after.flush();
    expect((await all(log, 't_1')).map((e) => e.pbxCallId)).toEqual(['5000', '5001', '5002', '5003']);
    expect(after.pending()).toBe(0);
  });

  it('bounds its queue while the bus is unreachable', async () => {
    const sink = createRemoteSink({ busUrl: 'http://127.0.0.1:9', pbxId: 'pbx_1', connectorToken: TOKEN, maxQueue: 3, retry: { initialMs: 1000, maxMs: 1000 } });
    cleanup.push(() => sink.close());
    for (let i = 0; i < 3; i++) await sink(observation(i));
    await expect(sink(observation(3))).rejects.toThrow(/queue full/);
    expect(sink.pending()).toBe(3);
  });

  it('runs as the standalone remote process would: PBX on one side, bus on the other', async () => {
    const { url, log } = await bus();
    const sim = await startPbxSimulator();
    cleanup.push(() => sim.close());
    const running = await runRemoteConnector(
      { pbxUrl: sim.baseUrl, clientId: '900', clientSecret: 'sim-api-key', busUrl: url, pbxId: 'pbx_1', connectorToken: TOKEN, queueFile: ':memory:' },
      pino({ level: 'silent' }),
    );
    cleanup.push(() => running.stop());
    await eventually(() => expect(sim.openSockets()).toBe(1));
    await sim.placeCall({ kind: 'outbound', from: '101', to: '+4930555111', answer: false });
    await eventually(async () => expect((await all(log, 't_1')).map((e) => `${e.type}:${e.direction}`)).toEqual(['ringing:outbound', 'missed:outbound']));
  });
});
