// Least privilege through the whole bus: a dial request on the agent's socket becomes a 3CX
// makecall from that agent's own extension; a recording is streamed only for the agent's own call.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBus } from '../../src/bus/server.js';
import type { PbxSimulator } from '../../src/sim/3cx/index.js';
import { Agent, callerNumber, connectorReady, fromCaller, provisionSite, Resources, startSim, startTestBus, type Site } from '../support/e2e.js';

const RECORDING_BYTES = 48 * 1024;
const res = new Resources();
let bus: RunningBus;
let sim: PbxSimulator;
let site: Site;
let other: Site;
afterAll(() => res.cleanup());

beforeAll(async () => {
  bus = await startTestBus(res);
  sim = await startSim(res, { recordingBytes: RECORDING_BYTES });
  site = await provisionSite(bus, sim, { extensions: ['101', '102'] });
  other = await provisionSite(bus, await startSim(res), { tenantName: 'Globex', extensions: ['101'] });
  await connectorReady(bus, site.pbx.id);
});

describe('click-to-dial', () => {
  it("places the call from the requesting agent's own extension, number normalised to E.164", async () => {
    const a101 = await Agent.connect(res, bus.wsUrl, site.tokens['101']!);
    const a102 = await Agent.connect(res, bus.wsUrl, site.tokens['102']!);
    a101.socket.send({ t: 'dial', reqId: 'd1', number: '(02) 9876 5555' });
    expect(await a101.reply('d1')).toMatchObject({ t: 'dial_result', ok: true, e164: '+61298765555', error: null });
    a102.socket.send({ t: 'dial', reqId: 'd2', number: '+61 3 9123 4567' });
    expect(await a102.reply('d2')).toMatchObject({ t: 'dial_result', ok: true, e164: '+61391234567' });

    expect(sim.makeCallRequests.map((r) => [r.dn, r.destination])).toEqual([
      ['101', '+61298765555'],
      ['102', '+61391234567'],
    ]);
    expect(sim.makeCallRequests[0]!.deviceId).toContain('sip:101@');
    const audit = await bus.storage.audit.list(site.tenantId);
    expect(audit.filter((e) => e.action === 'dial').map((e) => [e.target, e.result])).toEqual([
      ['+61391234567', 'ok'],
      ['+61298765555', 'ok'],
    ]);
  });

  it('refuses premium-rate and malformed numbers before the PBX is asked', async () => {
    const agent = await Agent.connect(res, bus.wsUrl, site.tokens['101']!);
    const before = sim.makeCallRequests.length;
    agent.socket.send({ t: 'dial', reqId: 'p1', number: '1900 654 321' });
    expect(await agent.reply('p1')).toMatchObject({ ok: false, error: { code: 'dial_policy' } });
    agent.socket.send({ t: 'dial', reqId: 'p2', number: 'javascript:alert(1)' });
    expect(await agent.reply('p2')).toMatchObject({ ok: false, e164: null, error: { code: 'invalid_number' } });
    expect(sim.makeCallRequests.length).toBe(before);
  });
});

describe('recordings', () => {
  it("streams the agent's own call's recording; a colleague and another tenant are refused", async () => {
    const owner = await Agent.connect(res, bus.wsUrl, site.tokens['101']!);
    const colleague = await Agent.connect(res, bus.wsUrl, site.tokens['102']!);
    const outsider = await Agent.connect(res, bus.wsUrl, other.tokens['101']!);
    await sim.placeCall({ kind: 'inbound', from: callerNumber(31).raw, to: '101', talkSec: 8 });
    const [ready] = (await owner.eventsUntil((e) => fromCaller(31)(e) && e.type === 'recording_ready')).slice(-1);
    const eventId = ready!.event.id;

    owner.socket.send({ t: 'recording', reqId: 'r1', eventId });
    const granted = await owner.reply('r1');
    if (granted.t !== 'recording_url') throw new Error(`expected a link, got ${JSON.stringify(granted)}`);
    const download = await request(granted.url);
    const audio = Buffer.from(await download.body.arrayBuffer());
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toMatch(/^audio\//);
    expect(audio.length).toBe(RECORDING_BYTES);
    expect(audio.subarray(0, 4).toString('ascii')).toBe('RIFF');

    colleague.socket.send({ t: 'recording', reqId: 'r2', eventId });
    expect(await colleague.reply('r2')).toMatchObject({ t: 'error', code: 'forbidden' });
    outsider.socket.send({ t: 'recording', reqId: 'r3', eventId });
    expect(await outsider.reply('r3')).toMatchObject({ t: 'error', code: 'not_found' });

    // A tampered link streams nothing.
    const forged = await request(`${granted.url.slice(0, -2)}xx`);
    expect([forged.statusCode, forged.headers['content-type']]).toEqual([403, 'application/problem+json; charset=utf-8']);
    await forged.body.dump();

    const audit = await bus.storage.audit.list(site.tenantId);
    expect(audit.filter((e) => e.action === 'recording' && e.target === eventId).map((e) => e.result).sort()).toEqual(['denied', 'ok']);
  });
});
