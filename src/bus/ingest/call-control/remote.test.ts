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
import { createMemoryEventLog } from '../../../../test/support/memory-event-log.js';
import type { EventLog } from '../../log/port.js';
import { pbxApiFor } from '../../pbx/api.js';
import { agent, eventually, fakeTenants, memoryAudit } from '../../../../test/support/pbx-fakes.js';
import { createIngestor } from '../normalise.js';
import type { CallObservation, Ingestor } from '../observation.js';
import { CallControlConnector } from './connector.js';
import { sqliteObservationQueue } from './remote-queue.js';
import { createRemoteSink, type RemoteSink } from './remote-sink.js';
import { runRemoteConnector } from './remote.js';
import { connectorRoutes } from './routes.js';
import { pino } from 'pino';
import { createDialService } from '../../dial/service.js';
import { createPbxGateway } from '../../pbx/gateway.js';
import { createConnectorRelay, type ConnectorRelayOptions } from '../../pbx/relay.js';
import { recordingRoutes } from '../../recordings/routes.js';
import { createRecordingService } from '../../recordings/service.js';

const TOKEN = 'ctok_' + 'a'.repeat(40);
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

/**
 * The bus side of remote mode: connector routes with the command relay, dialling and recording
 * downloads through the gateway. The bus knows neither the PBX's address nor its API key.
 */
async function bus(opts: { ingestor?: (real: Ingestor) => Ingestor; relay?: ConnectorRelayOptions; keyOnBusFor?: PbxSimulator } = {}) {
  const tenants = fakeTenants();
  // `keyOnBusFor`: an admin gave the bus the PBX's real address and API key anyway.
  const reach = opts.keyOnBusFor ? { baseUrl: opts.keyOnBusFor.baseUrl, apiClientSecret: 'sim-api-key' } : { baseUrl: 'https://pbx.unreachable.invalid', apiClientSecret: null };
  tenants.put({ pbx: { id: 'pbx_1', tenantId: 't_1', baseUrl: reach.baseUrl, connectorMode: 'remote' }, secrets: { connectorTokens: ['ctok_old_' + 'b'.repeat(40), TOKEN], apiClientSecret: reach.apiClientSecret } });
  tenants.put({ pbx: { id: 'pbx_2', tenantId: 't_2', baseUrl: 'http://unused', connectorMode: 'remote' }, secrets: { connectorTokens: ['ctok_' + 'c'.repeat(40)] } });
  const log = createMemoryEventLog();
  const real = createIngestor({ log, tenants });
  const relay = createConnectorRelay(opts.relay);
  const gateway = createPbxGateway({ tenants, relay });
  const audit = memoryAudit();
  const recordings = createRecordingService({ log, audit, agents: { getAgent: async (id) => (id === alice.id ? alice : null) }, secret: 'k'.repeat(32), publicUrl: 'http://placeholder' });
  const app: FastifyInstance = Fastify();
  await app.register(connectorRoutes, { ingestor: opts.ingestor?.(real) ?? real, tenants, relay });
  await app.register(recordingRoutes, { service: recordings, gateway, audit });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  cleanup.push(() => app.close(), () => log.close());
  const dial = createDialService({ tenants, gateway, audit });
  /** What an agent's recording request and download amount to: the grant, then GET on the link. */
  const download = async (eventId: string) => {
    const grant = await recordings.grant(alice, eventId);
    if (!grant.ok) throw new Error(`no grant: ${grant.message}`);
    const res = await request(`${url}${new URL(grant.url).pathname}`);
    return { status: res.statusCode, type: res.headers['content-type'], bytes: Buffer.from(await res.body.arrayBuffer()) };
  };
  return { url, log, dial, download, audit };
}

const alice = agent({ tenantId: 't_1', pbxId: 'pbx_1', extension: '101' });

/** The standalone connector process, the only party holding the PBX's API key. */
async function remoteConnector(busUrl: string, sim: PbxSimulator) {
  const running = await runRemoteConnector(
    { pbxUrl: sim.baseUrl, clientId: '900', clientSecret: 'sim-api-key', busUrl, pbxId: 'pbx_1', connectorToken: TOKEN, queueFile: ':memory:' },
    pino({ level: 'silent' }),
  );
  cleanup.push(() => running.stop());
  await eventually(() => expect(sim.openSockets()).toBe(1));
  return running;
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
  const sink = createRemoteSink({ busUrl: url, pbxId: 'pbx_1', connectorToken: TOKEN, retry: { baseMs: 5, capMs: 20 } });
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
    const sink: RemoteSink = createRemoteSink({ busUrl: url, pbxId: 'pbx_1', connectorToken: TOKEN, retry: { baseMs: 5, capMs: 20 } });
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
    const before = createRemoteSink({ busUrl: 'http://127.0.0.1:9', pbxId: 'pbx_1', connectorToken: TOKEN, queue: sqliteObservationQueue(queueFile), retry: { baseMs: 1000, capMs: 1000 } });
    cleanup.push(() => before.close());
    for (let i = 0; i < 3; i++) await before(observation(i));

    const { url, log } = await bus();
    const after = createRemoteSink({ busUrl: url, pbxId: 'pbx_1', connectorToken: TOKEN, queue: sqliteObservationQueue(queueFile), retry: { baseMs: 5, capMs: 20 } });
    cleanup.push(() => after.close());
    expect(after.pending()).toBe(3);
    await after(observation(3));
    await after.flush();
    expect((await all(log, 't_1')).map((e) => e.pbxCallId)).toEqual(['5000', '5001', '5002', '5003']);
    expect(after.pending()).toBe(0);
  });

  it('bounds its queue while the bus is unreachable', async () => {
    const sink = createRemoteSink({ busUrl: 'http://127.0.0.1:9', pbxId: 'pbx_1', connectorToken: TOKEN, maxQueue: 3, retry: { baseMs: 1000, capMs: 1000 } });
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

describe('remote connector mode: makecall and recordings over the connector', () => {
  it('remote connector mode: click-to-dial and recording download work with no PBX key on the bus and one token owner', async () => {
    const { url, log, dial, download, audit } = await bus();
    const sim = await startPbxSimulator({ recordingBytes: 300_000 });
    cleanup.push(() => sim.close());
    await remoteConnector(url, sim);

    expect(await dial.dial(alice, '030 123456')).toEqual({ ok: true, e164: '+4930123456', pbxCallId: expect.stringMatching(/^\d+$/) });
    expect(sim.makeCallRequests).toEqual([{ dn: '101', deviceId: expect.stringContaining('sip:101@'), destination: '+4930123456' }]);

    await sim.placeCall({ kind: 'inbound', from: '+4930999888', to: '101' });
    await eventually(async () => expect((await all(log, 't_1')).some((e) => e.type === 'recording_ready')).toBe(true));
    const ready = (await all(log, 't_1')).find((e) => e.type === 'recording_ready')!;
    const got = await download(ready.id);
    expect([got.status, got.type, got.bytes.length, got.bytes.toString('ascii', 0, 4)]).toEqual([200, 'audio/x-wav', 300_000, 'RIFF']);

    // The connector's token was the only one ever issued: nobody took it from anybody.
    expect(sim.tokensIssued('900')).toBe(1);
    await eventually(() => expect(audit.entries.map((e) => [e.action, e.result])).toEqual([['dial', 'ok'], ['recording', 'ok']]));
  });

  it('remote connector mode: a key left on the bus is not used, so the connector stays the only token owner', async () => {
    const sim = await startPbxSimulator();
    cleanup.push(() => sim.close());
    const { url, dial } = await bus({ keyOnBusFor: sim });
    await remoteConnector(url, sim);
    expect((await dial.dial(alice, '+4930123456')).ok).toBe(true);
    expect((await dial.dial(alice, '+4930123457')).ok).toBe(true);
    expect(sim.makeCallRequests.map((r) => r.destination)).toEqual(['+4930123456', '+4930123457']);
    expect(sim.tokensIssued('900')).toBe(1);
    expect(sim.openSockets()).toBe(1);
  });

  it('maps what goes wrong to the problems direct mode gives, and audits it the same way', async () => {
    const { url, log, dial, download, audit } = await bus({ relay: { pickupTimeoutMs: 300, maxRecordingBytes: 100_000 } });
    // No connector yet: the request is not collected, the dial fails fast as "the PBX could not".
    expect(await dial.dial(alice, '+4930123456')).toMatchObject({ ok: false, code: 'pbx_error', message: 'The PBX could not place the call right now.' });

    const sim = await startPbxSimulator({ recordingBytes: 300_000 });
    cleanup.push(() => sim.close());
    await remoteConnector(url, sim);
    sim.faults.refuseMakeCall('Outbound rule denies this destination');
    expect(await dial.dial(alice, '+4930123456')).toMatchObject({ ok: false, code: 'pbx_error', message: 'Outbound rule denies this destination' });
    await sim.placeCall({ kind: 'inbound', from: '+4930999888', to: '101' }); // recorded, for the download below
    sim.faults.failNextRest(1, 502);
    expect(await dial.dial(alice, '+4930123456')).toMatchObject({ ok: false, code: 'pbx_error', message: 'The PBX could not place the call right now.' });

    // Larger than the bus relays (100 kB here): refused before a byte moves.
    await eventually(async () => expect((await all(log, 't_1')).some((e) => e.type === 'recording_ready')).toBe(true));
    const ready = (await all(log, 't_1')).find((e) => e.type === 'recording_ready')!;
    const tooBig = await download(ready.id);
    expect([tooBig.status, JSON.parse(tooBig.bytes.toString()).type]).toEqual([502, 'urn:ringbridge:problem:pbx-unavailable']);

    expect(audit.entries.map((e) => [e.action, e.result, e.detail])).toEqual([
      ['dial', 'error', expect.stringMatching(/pbx_error: no connector of PBX pbx_1 collected/)],
      ['dial', 'error', 'pbx_error: Outbound rule denies this destination'],
      ['dial', 'error', expect.stringMatching(/pbx_error: .*HTTP 502/)],
      ['recording', 'error', expect.stringMatching(/300\d* bytes; the bus takes at most 100000/)],
    ]);
    expect(sim.tokensIssued('900')).toBe(1);
  });

  it('refuses a wrong token, malformed or unknown answers and non-audio uploads, changing nothing', async () => {
    const { url, dial, audit } = await bus({ relay: { pickupTimeoutMs: 10_000 } });
    const commands = `${url}/v1/pbx/pbx_1/connector/commands`;
    const call = async (path: string, init: { method?: 'GET' | 'POST'; token?: string; type?: string; body?: string } = {}) => {
      const res = await request(`${commands}${path}`, {
        method: init.method ?? 'POST',
        headers: { authorization: `Bearer ${init.token ?? TOKEN}`, ...(init.type ? { 'content-type': init.type } : {}) },
        body: init.body,
      });
      return { status: res.statusCode, body: (await res.body.text()) };
    };
    expect(await call('?waitSec=0', { method: 'GET', token: 'ctok_' + 'c'.repeat(40) })).toMatchObject({ status: 401 });
    expect(await call('?waitSec=3600', { method: 'GET' })).toMatchObject({ status: 400 });
    expect(await call('?waitSec=0', { method: 'GET' })).toEqual({ status: 200, body: '{"commands":[]}' });

    const dialled = dial.dial(alice, '+4930123456');
    const polled = await call('?waitSec=5', { method: 'GET' });
    const [command] = (JSON.parse(polled.body) as { commands: Array<{ id: string; kind: string; extension: string; destination: string }> }).commands;
    expect(command).toMatchObject({ kind: 'makecall', extension: '101', destination: '+4930123456' });
    const answer = (body: unknown, id = command!.id) => call(`/${id}/answer`, { type: 'application/json', body: JSON.stringify(body) });
    expect(await answer({ kind: 'makecall', ok: 'yes' })).toMatchObject({ status: 400 });
    expect(await answer({ kind: 'failed', status: null, message: 'x' }, 'A'.repeat(24))).toMatchObject({ status: 404 });
    expect(await call(`/${command!.id}/recording`, { type: 'text/html', body: '<script>' })).toMatchObject({ status: 415 });
    expect(await call(`/${command!.id}/recording`, { type: 'audio/x-wav', body: 'RIFF' })).toMatchObject({ status: 404 });
    expect(audit.entries).toEqual([]);
    // Still waiting for its real answer, which goes through once.
    expect(await answer({ kind: 'makecall', ok: true, pbxCallId: '77', reason: null })).toMatchObject({ status: 204 });
    expect(await answer({ kind: 'makecall', ok: true, pbxCallId: '78', reason: null })).toMatchObject({ status: 404 });
    expect(await dialled).toEqual({ ok: true, e164: '+4930123456', pbxCallId: '77' });
  });
});
