// Remote connector mode through the whole bus over loopback HTTP: the connector beside the PBX is
// the only party holding the PBX's API key, and the bus is given an address it cannot reach. Live
// events, click-to-dial and recording downloads all travel over the connector's outbound HTTPS.
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runRemoteConnector } from '../../src/bus/ingest/call-control/index.js';
import type { RunningBus } from '../../src/bus/server.js';
import type { PbxSimulator } from '../../src/sim/3cx/index.js';
import { Agent, callerNumber, fromCaller, provisionSite, Resources, SIM_CLIENT, startSim, startTestBus, type Site } from '../support/e2e.js';

const RECORDING_BYTES = 96 * 1024;
const res = new Resources();
let bus: RunningBus;
let sim: PbxSimulator;
let site: Site;
afterAll(() => res.cleanup());

beforeAll(async () => {
  bus = await startTestBus(res);
  sim = await startSim(res, { recordingBytes: RECORDING_BYTES });
  site = await provisionSite(bus, sim, { extensions: ['101', '102'], connectorMode: 'remote', apiKeyOnBus: false, baseUrl: 'https://pbx.unreachable.invalid', attachForms: false });
  res.add(
    await runRemoteConnector(
      {
        pbxUrl: sim.baseUrl,
        clientId: SIM_CLIENT.clientId,
        clientSecret: SIM_CLIENT.secret,
        busUrl: bus.url,
        pbxId: site.pbx.id,
        connectorToken: site.secrets.connectorTokens[0]!,
        queueFile: ':memory:',
      },
      pino({ enabled: false }),
    ),
    (c) => c.stop(),
  );
  // A hook, not a test: expect.poll is for tests only.
  await vi.waitFor(() => expect(sim.openSockets(), 'the remote connector to open its Call Control socket').toBeGreaterThan(0), { timeout: 10_000, interval: 10 });
});

describe('remote connector mode over loopback HTTP', () => {
  it('remote connector mode: click-to-dial and recording download work with no PBX key on the bus and one token owner', async () => {
    expect(bus.connectors.connectors.has(site.pbx.id)).toBe(false);
    const a101 = await Agent.connect(res, bus.wsUrl, site.tokens['101']!);
    a101.socket.send({ t: 'dial', reqId: 'd1', number: '(02) 9876 5555' });
    expect(await a101.reply('d1')).toMatchObject({ t: 'dial_result', ok: true, e164: '+61298765555', error: null });
    expect(sim.makeCallRequests).toEqual([{ dn: '101', deviceId: expect.stringContaining('sip:101@'), destination: '+61298765555' }]);

    await sim.placeCall({ kind: 'inbound', from: callerNumber(41).raw, to: '101', talkSec: 8 });
    const [ready] = (await a101.eventsUntil((e) => fromCaller(41)(e) && e.type === 'recording_ready')).slice(-1);
    a101.socket.send({ t: 'recording', reqId: 'r1', eventId: ready!.event.id });
    const granted = await a101.reply('r1');
    if (granted.t !== 'recording_url') throw new Error(`expected a link, got ${JSON.stringify(granted)}`);
    const download = await request(granted.url);
    const audio = Buffer.from(await download.body.arrayBuffer());
    expect([download.statusCode, download.headers['content-type'], audio.length, audio.subarray(0, 4).toString('ascii')]).toEqual([200, 'audio/x-wav', RECORDING_BYTES, 'RIFF']);

    // One token owner: the connector's first token served the socket, the dial and the download.
    expect(sim.tokensIssued(SIM_CLIENT.clientId)).toBe(1);
    const audit = await bus.storage.audit.list(site.tenantId);
    expect(audit.map((e) => [e.action, e.result]).sort()).toEqual([['dial', 'ok'], ['recording', 'ok']]);
  });

  it("a colleague still cannot fetch another agent's recording through the connector", async () => {
    const a101 = await Agent.connect(res, bus.wsUrl, site.tokens['101']!);
    const a102 = await Agent.connect(res, bus.wsUrl, site.tokens['102']!);
    await sim.placeCall({ kind: 'inbound', from: callerNumber(42).raw, to: '101', talkSec: 3 });
    const [ready] = (await a101.eventsUntil((e) => fromCaller(42)(e) && e.type === 'recording_ready')).slice(-1);
    a102.socket.send({ t: 'recording', reqId: 'r2', eventId: ready!.event.id });
    expect(await a102.reply('r2')).toMatchObject({ t: 'error', code: 'forbidden' });
  });
});
