// Every form 3CX can send carries a simulated call through the real bus to the right agent's
// socket: CRM template, Standard Webhooks, the Call Control connector inside the bus, and the
// connector running beside an unreachable PBX posting to the bus. All forms at once: one event per
// transition.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRemoteConnector } from '../../src/bus/ingest/call-control/index.js';
import type { RunningBus } from '../../src/bus/server.js';
import { pino } from 'pino';
import type { PbxSimulator } from '../../src/sim/3cx/index.js';
import { Agent, callerNumber, connectorReady, fromCaller, provisionSite, Resources, SIM_CLIENT, startSim, startTestBus, type EventFrame, type Site } from '../support/e2e.js';

const res = new Resources();
let bus: RunningBus;
let sim: PbxSimulator;
let site: Site;
afterAll(() => res.cleanup());

beforeAll(async () => {
  bus = await startTestBus(res);
  sim = await startSim(res);
  site = await provisionSite(bus, sim, { extensions: ['101', '102', '103'] });
  await connectorReady(bus, site.pbx.id);
});


const shape = (frames: EventFrame[]) => frames.map((f) => ({ type: f.event.type, source: f.event.source, agents: f.event.agents }));
const types = (frames: EventFrame[]) => frames.map((f) => f.event.type);

describe('each ingest form reaches the agent it concerns', () => {
  it('CRM template: lookup at ring and journal at end become ringing and missed for the ringing extension', async () => {
    const agent = await Agent.connect(res, bus.wsUrl, site.tokens['101']!);
    const caller = callerNumber(1);
    await sim.placeCall({ kind: 'inbound', from: caller.raw, fromName: 'Jane Citizen', to: '101', answer: false, forms: { template: true, webhook: false, callControl: false } });

    const frames = await agent.eventsUntil((e) => e.type === 'missed');
    expect(shape(frames)).toEqual([
      { type: 'ringing', source: 'crm-template', agents: ['101'] },
      { type: 'missed', source: 'crm-template', agents: ['101'] },
    ]);
    expect(frames.every((f) => f.event.caller.e164 === caller.e164 && f.replay === false)).toBe(true);
    expect(sim.deliveries.filter((d) => d.form.startsWith('template')).every((d) => d.status === 200)).toBe(true);
  });

  it('Standard Webhooks: every transition of an answered call, recording included', async () => {
    const agent = await Agent.connect(res, bus.wsUrl, site.tokens['102']!);
    const caller = callerNumber(2);
    const placed = await sim.placeCall({ kind: 'inbound', from: caller.raw, to: '102', talkSec: 42, forms: { template: false, webhook: true, callControl: false } });

    const frames = await agent.eventsUntil((e) => e.type === 'recording_ready');
    expect(types(frames)).toEqual(['ringing', 'answered', 'ended', 'recording_ready']);
    expect(frames.every((f) => f.event.source === 'webhook' && f.event.pbxCallId === String(placed.callid))).toBe(true);
    expect(frames[2]!.event.durationSec).toBe(42);
    expect(frames[3]!.event.recording?.pbxRecordingId).toBe(String(placed.recordingIds[0]));
  });

  it('Call Control connector inside the bus: participants become ringing, answered, ended and a polled recording', async () => {
    const agent = await Agent.connect(res, bus.wsUrl, site.tokens['103']!);
    const placed = await sim.placeCall({ kind: 'outbound', from: '103', to: '0298761234', toName: 'Acme Supplies', forms: { template: false, webhook: false, callControl: true } });

    const frames = await agent.eventsUntil((e) => e.type === 'recording_ready');
    expect(types(frames)).toEqual(['ringing', 'answered', 'ended', 'recording_ready']);
    expect(frames.every((f) => f.event.source === 'call-control' && f.event.direction === 'outbound')).toBe(true);
    expect(frames[0]!.event.callee.e164).toBe('+61298761234');
    expect(frames[3]!.event.recording?.pbxRecordingId).toBe(String(placed.recordingIds[0]));
  });

  it('Call Control connector beside an unreachable PBX posts to the bus over HTTP (remote mode)', async () => {
    const onPrem = await startSim(res);
    const remoteSite = await provisionSite(bus, onPrem, { tenantName: 'On-prem Co', extensions: ['101'], connectorMode: 'remote', attachForms: false });
    expect(bus.connectors.connectors.has(remoteSite.pbx.id)).toBe(false);
    res.add(
      await runRemoteConnector({
        pbxUrl: onPrem.baseUrl,
        clientId: SIM_CLIENT.clientId,
        clientSecret: SIM_CLIENT.secret,
        busUrl: bus.url,
        pbxId: remoteSite.pbx.id,
        connectorToken: remoteSite.secrets.connectorTokens[0]!,
        queueFile: ':memory:',
      }, pino({ enabled: false })),
      (c) => c.stop(),
    );
    await expect.poll(() => onPrem.openSockets(), { message: 'the remote connector to open its Call Control socket' }).toBeGreaterThan(0);
    const agent = await Agent.connect(res, bus.wsUrl, remoteSite.tokens['101']!);
    const caller = callerNumber(4);
    await onPrem.placeCall({ kind: 'inbound', from: caller.raw, to: '101', answer: false });

    const frames = await agent.eventsUntil((e) => e.type === 'missed');
    expect(shape(frames)).toEqual([
      { type: 'ringing', source: 'call-control', agents: ['101'] },
      { type: 'missed', source: 'call-control', agents: ['101'] },
    ]);
    expect(frames.every((f) => f.event.tenantId === remoteSite.tenantId && f.event.caller.e164 === caller.e164)).toBe(true);
  });
});

describe('the same call through several forms', () => {
  it('template, webhook and Call Control together give one event per transition', async () => {
    const agent = await Agent.connect(res, bus.wsUrl, site.tokens['101']!);
    const caller = callerNumber(5);
    const before = sim.deliveries.length;
    await sim.placeCall({ kind: 'inbound', from: caller.raw, to: '101', talkSec: 20 });
    expect(new Set(sim.deliveries.slice(before).map((d) => d.form))).toEqual(new Set(['template-lookup', 'template-journal', 'webhook']));
    // A later call seen only by the connector: its recording is announced by the XAPI poll, which
    // runs after the first call's poll, so every late copy of the first call has arrived by then.
    const sentinel = callerNumber(6);
    await sim.placeCall({ kind: 'inbound', from: sentinel.raw, to: '101', talkSec: 5, forms: { template: false, webhook: false, callControl: true } });

    const frames = await agent.eventsUntil((e) => fromCaller(6)(e) && e.type === 'recording_ready');
    const first = frames.filter((f) => fromCaller(5)(f.event));
    expect(types(first)).toEqual(['ringing', 'answered', 'ended', 'recording_ready']);
    expect(new Set(first.map((f) => f.event.pbxCallId)).size).toBe(1);
    expect(types(frames.filter((f) => fromCaller(6)(f.event)))).toEqual(['ringing', 'answered', 'ended', 'recording_ready']);
    // Every form was answered 2xx, including the copies that were recognised as repeats.
    expect(sim.deliveries.filter((d) => d.status !== 200)).toEqual([]);
    const logged = await bus.log.read(site.tenantId, { since: 0, limit: 1000 });
    expect(logged.events.filter((l) => fromCaller(5)(l.event)).map((l) => l.event.type)).toEqual(['ringing', 'answered', 'ended', 'recording_ready']);
  });

  it('a queue call rings every offered agent; all see who answered, only the one who answers gets ended and the recording', async () => {
    const [a101, a102, a103] = await Promise.all(['101', '102', '103'].map((ext) => Agent.connect(res, bus.wsUrl, site.tokens[ext]!)));
    const caller = callerNumber(7);
    await sim.placeCall({ kind: 'queue', queue: '800', from: caller.raw, agents: ['101', '102'], answeredBy: '102', forms: { template: false, webhook: true, callControl: false } });
    const ofCall = (frames: EventFrame[]) => frames.filter((f) => fromCaller(7)(f.event));

    const at102 = ofCall(await a102!.eventsUntil((e) => fromCaller(7)(e) && e.type === 'recording_ready'));
    expect(types(at102)).toEqual(['ringing', 'answered', 'ended', 'recording_ready']);
    expect(at102[0]!.event.queue).toBe('800');
    expect(at102[1]!.event).toMatchObject({ agents: ['101', '102'], answeredBy: '102' });
    // 101 sees the ring and 102's answer (its pop goes), never a missed; a later call of its own
    // proves nothing else of the queue call came.
    await sim.placeCall({ kind: 'inbound', from: callerNumber(8).raw, to: '101', answer: false, forms: { template: false, webhook: true, callControl: false } });
    const at101 = await a101!.eventsUntil((e) => fromCaller(8)(e) && e.type === 'missed');
    expect(ofCall(at101).map((f) => `${f.event.type}${f.event.answeredBy ? ` by ${f.event.answeredBy}` : ''}`)).toEqual(['ringing', 'answered by 102']);
    // 103 was not offered the call: its first event is its own.
    await sim.placeCall({ kind: 'inbound', from: callerNumber(9).raw, to: '103', answer: false, forms: { template: false, webhook: true, callControl: false } });
    expect(fromCaller(9)((await a103!.nextEvent()).event)).toBe(true);
  });
});

describe('calls between the same parties', () => {
  it('CRM template: a missed call, then the agent calls the number back: both calls reach the agent, each once', async () => {
    const agent = await Agent.connect(res, bus.wsUrl, site.tokens['103']!);
    const caller = callerNumber(10);
    const templateOnly = { template: true, webhook: false, callControl: false };
    const before = sim.deliveries.length;
    await sim.placeCall({ kind: 'inbound', from: caller.raw, to: '103', answer: false, forms: templateOnly });
    await sim.placeCall({ kind: 'outbound', from: '103', to: caller.raw, talkSec: 35, forms: templateOnly });

    const remote = (e: EventFrame['event']) => (e.direction === 'inbound' ? e.caller : e.callee).e164 === caller.e164;
    const frames = (await agent.eventsUntil((e) => remote(e) && e.type === 'ended')).filter((f) => remote(f.event));
    expect(frames.map((f) => [f.event.type, f.event.direction])).toEqual([
      ['ringing', 'inbound'],
      ['missed', 'inbound'],
      ['ringing', 'outbound'],
      ['ended', 'outbound'],
    ]);
    expect(frames[3]!.event.durationSec).toBe(35);
    expect(new Set(frames.map((f) => f.event.pbxCallId)).size).toBe(2);
    const journals = sim.deliveries.slice(before).filter((d) => d.form === 'template-journal');
    expect(journals.map((d) => [d.status, (d.answer as { duplicate?: boolean } | null)?.duplicate])).toEqual([[200, false], [200, false]]);
  });
});
