// Call control and presence through the whole bus: an agent's frame becomes a 3CX Call Control
// participant action on its own extension's leg (or an XAPI status change), the simulated PBX really
// applies it (its own records are the oracle), and the resulting CallEvents come back through the
// bus. Another agent's call, another tenant's call and forged ids are refused and change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBus } from '../../src/bus/server.js';
import type { PbxSimulator } from '../../src/sim/3cx/index.js';
import type { CallEvent } from '../../src/shared/call-event.js';
import type { ServerFrame } from '../../src/shared/agent-protocol.js';
import { Agent, callerNumber, connectorReady, fromCaller, provisionSite, Resources, startSim, startTestBus, type Site } from '../support/e2e.js';

const res = new Resources();
let bus: RunningBus;
let sim: PbxSimulator;
let otherSim: PbxSimulator;
let site: Site;
let other: Site;
afterAll(() => res.cleanup());

beforeAll(async () => {
  bus = await startTestBus(res);
  sim = await startSim(res);
  otherSim = await startSim(res);
  site = await provisionSite(bus, sim, { extensions: ['101', '102'] });
  other = await provisionSite(bus, otherSim, { tenantName: 'Globex', extensions: ['101'] });
  await connectorReady(bus, site.pbx.id);
});

const is = (type: CallEvent['type'], n: number) => (e: CallEvent) => e.type === type && fromCaller(n)(e);

/** Events an agent received while the test waited for a reply: a reply can come after the events it caused. */
const unread = new Map<Agent, CallEvent[]>();
const backlog = (agent: Agent) => unread.get(agent) ?? unread.set(agent, []).get(agent)!;

async function reply(agent: Agent, reqId: string): Promise<ServerFrame> {
  for (;;) {
    const frame = await agent.socket.next();
    if (frame.t === 'event') backlog(agent).push(frame.event);
    else if ('reqId' in frame && frame.reqId === reqId) return frame;
  }
}

/** The first event (received or still to come) that `stop` accepts; earlier ones are passed over. */
async function until(agent: Agent, stop: (e: CallEvent) => boolean): Promise<CallEvent> {
  const list = backlog(agent);
  for (;;) {
    const at = list.findIndex(stop);
    if (at >= 0) return list.splice(0, at + 1).at(-1)!;
    list.push((await agent.nextEvent()).event);
  }
}

async function ringing(agent: Agent, n: number): Promise<string> {
  return (await until(agent, is('ringing', n))).pbxCallId;
}

let reqSeq = 0;
async function control(agent: Agent, frame: Record<string, unknown>) {
  const reqId = `c${++reqSeq}`;
  agent.socket.send({ t: 'call_control', reqId, ...frame } as never);
  return reply(agent, reqId);
}

describe('call control from the app', () => {
  it('answers, then transfers to a colleague who answers; the PBX records the transfer and both agents see their legs', async () => {
    const a101 = await Agent.connect(res, bus.wsUrl, site.tokens['101']!);
    const a102 = await Agent.connect(res, bus.wsUrl, site.tokens['102']!);
    const placed = sim.placeCall({ kind: 'live', to: '101', from: callerNumber(1).raw });
    const callId = await ringing(a101, 1);
    expect(callId).toMatch(/^\d+$/);

    expect(await control(a101, { pbxCallId: callId, action: 'answer' })).toMatchObject({ t: 'call_control_result', ok: true, error: null });
    expect(sim.participants('101')).toEqual([expect.objectContaining({ callid: Number(callId), status: 'Connected' })]);
    await until(a101, is('answered', 1));

    expect(await control(a101, { pbxCallId: callId, action: 'transfer', destination: '102' })).toMatchObject({ ok: true });
    await until(a101, is('ended', 1));
    await ringing(a102, 1);
    expect(await control(a102, { pbxCallId: callId, action: 'answer' })).toMatchObject({ ok: true });
    await until(a102, is('answered', 1));
    expect(await control(a102, { pbxCallId: callId, action: 'hangup' })).toMatchObject({ ok: true });
    await until(a102, is('ended', 1));

    const record = await placed;
    expect(record.legs.map((l) => [l.dn, l.outcome, l.transferredTo ?? null])).toEqual([
      ['101', 'answered', '102'],
      ['102', 'answered', null],
    ]);
    expect(sim.controlRequests.map((r) => [r.dn, r.action, r.destination, r.applied])).toEqual([
      ['101', 'answer', null, true],
      ['101', 'transferto', '102', true],
      ['102', 'answer', null, true],
      ['102', 'drop', null, true],
    ]);
    const audit = await bus.storage.audit.list(site.tenantId, { action: 'call_control' });
    expect(audit.map((e) => [e.target, e.result]).reverse()).toEqual([
      [`answer ${callId}`, 'ok'],
      [`transfer ${callId} -> 102`, 'ok'],
      [`answer ${callId}`, 'ok'],
      [`hangup ${callId}`, 'ok'],
    ]);
  });

  it('transfers to an outside number as E.164 under the dial policy, and refuses a premium-rate one without touching the call', async () => {
    const a101 = await Agent.connect(res, bus.wsUrl, site.tokens['101']!);
    const placed = sim.placeCall({ kind: 'live', to: '101', from: callerNumber(2).raw });
    const callId = await ringing(a101, 2);
    expect(await control(a101, { pbxCallId: callId, action: 'transfer', destination: '+61 2 9876 1111' })).toMatchObject({ ok: false, error: { code: 'call_state' } });
    await control(a101, { pbxCallId: callId, action: 'answer' });
    const before = sim.controlRequests.length;
    expect(await control(a101, { pbxCallId: callId, action: 'transfer', destination: '1900 654 321' })).toMatchObject({ ok: false, error: { code: 'dial_policy' } });
    expect(sim.controlRequests.length).toBe(before);
    expect(sim.participants('101')).toEqual([expect.objectContaining({ status: 'Connected' })]);

    expect(await control(a101, { pbxCallId: callId, action: 'transfer', destination: '(02) 9876 1111' })).toMatchObject({ ok: true });
    await until(a101, is('ended', 2));
    expect((await placed).legs).toEqual([expect.objectContaining({ dn: '101', outcome: 'answered', transferredTo: '+61298761111' })]);
  });

  it('hangs up a ringing call (it ends unanswered) ', async () => {
    const a101 = await Agent.connect(res, bus.wsUrl, site.tokens['101']!);
    const placed = sim.placeCall({ kind: 'live', to: '101', from: callerNumber(3).raw });
    const callId = await ringing(a101, 3);
    expect(await control(a101, { pbxCallId: callId, action: 'hangup' })).toMatchObject({ ok: true });
    await until(a101, (e) => fromCaller(3)(e) && (e.type === 'missed' || e.type === 'ended'));
    expect((await placed).legs).toEqual([expect.objectContaining({ dn: '101', outcome: 'missed' })]);
    expect(sim.participants('101')).toEqual([]);
  });

  it("refuses another agent's call, another tenant's call and forged ids with a clear error, and nothing changes", async () => {
    const a101 = await Agent.connect(res, bus.wsUrl, site.tokens['101']!);
    const a102 = await Agent.connect(res, bus.wsUrl, site.tokens['102']!);
    const foreign = await Agent.connect(res, bus.wsUrl, other.tokens['101']!);
    const placed = sim.placeCall({ kind: 'live', to: '101', from: callerNumber(4).raw });
    const callId = await ringing(a101, 4);
    const before = { requests: sim.controlRequests.length, legs: sim.participants('101') };

    // A colleague on the same PBX names the call: it is not on their extension.
    expect(await control(a102, { pbxCallId: callId, action: 'hangup' })).toMatchObject({ ok: false, error: { code: 'not_found', message: expect.stringContaining('not on your extension') } });
    expect(await control(a102, { pbxCallId: callId, action: 'answer' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    // Another tenant's agent with the same extension number: its own PBX has no such call.
    expect(await control(foreign, { pbxCallId: callId, action: 'hangup' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    // Made-up and path-shaped ids never reach the PBX.
    expect(await control(a101, { pbxCallId: '999999', action: 'hangup' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    for (const forged of [{ pbxCallId: '17/drop' }, { pbxCallId: '../102/participants/1' }, { pbxCallId: '1 OR 1=1' }, { pbxCallId: '' }, { pbxCallId: callId, action: 'hold' }]) {
      a101.socket.send({ t: 'call_control', reqId: 'forged', action: 'hangup', ...forged } as never);
      expect(await a101.socket.nextOf('error')).toMatchObject({ code: 'bad_frame', message: expect.stringMatching(/pbxCallId|action/) });
    }

    expect(sim.controlRequests.length).toBe(before.requests);
    expect(sim.participants('101')).toEqual(before.legs);
    expect(otherSim.controlRequests).toEqual([]);
    const denied = await bus.storage.audit.list(site.tenantId, { action: 'call_control', agentId: a102.welcome.agentId });
    // Both refusals (hang up, answer) share one aggregated audit row.
    expect(denied[0]).toMatchObject({ result: 'denied', detail: expect.stringMatching(/^not_found: /), count: 2, target: `hangup ${callId}` });

    await sim.hangup(Number(callId));
    expect((await placed).legs).toEqual([expect.objectContaining({ dn: '101', outcome: 'missed' })]);
  });
});

describe('presence from the app', () => {
  let seq = 0;
  async function presence(agent: Agent, dnd?: boolean) {
    const reqId = `p${++seq}`;
    agent.socket.send({ t: 'presence', reqId, ...(dnd === undefined ? {} : { dnd }) });
    return reply(agent, reqId);
  }

  it("reads the agent's 3CX status and switches its own Do Not Disturb on and off through the XAPI; a colleague's stays", async () => {
    const a101 = await Agent.connect(res, bus.wsUrl, site.tokens['101']!);
    expect(await presence(a101)).toMatchObject({
      t: 'presence_result',
      presence: { profile: 'Available', dnd: false, profiles: expect.arrayContaining(['Away']), queues: [{ number: '800', name: 'Sales' }] },
      error: null,
    });
    expect(await presence(a101, true)).toMatchObject({ presence: { profile: 'Out of office', dnd: true } });
    expect(sim.profileOf('101')).toBe('Out of office');
    expect(sim.profileOf('102')).toBe('Available');

    sim.setProfile('101', 'Away'); // changed on the phone
    expect(await presence(a101)).toMatchObject({ presence: { profile: 'Away', dnd: false } });
    sim.setProfile('101', 'Out of office');
    expect(await presence(a101, false)).toMatchObject({ presence: { profile: 'Available', dnd: false } });
    expect(sim.profileOf('101')).toBe('Available');

    const audit = await bus.storage.audit.list(site.tenantId, { action: 'presence', agentId: a101.welcome.agentId });
    expect(audit.map((e) => [e.target, e.result]).reverse()).toEqual([['read', 'ok'], ['dnd on', 'ok'], ['read', 'ok'], ['dnd off', 'ok']]);
  });
});
