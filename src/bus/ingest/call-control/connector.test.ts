// The connector turns what the simulated PBX shows on its Call Control socket into observations.
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../pbx/testing.js';
import { startPbxSimulator, type PbxSimulator } from '../../../sim/3cx/index.js';
import { pbxApiFor } from '../../pbx/api.js';
import type { CallObservation } from '../observation.js';
import { CallControlConnector } from './connector.js';

let sim: PbxSimulator | undefined;
let connector: CallControlConnector | undefined;
afterEach(async () => {
  await connector?.stop();
  await sim?.close();
  connector = undefined;
  sim = undefined;
});

async function setup() {
  sim = await startPbxSimulator();
  const api = pbxApiFor({ baseUrl: sim.baseUrl, clientId: '900', clientSecret: 'sim-api-key' }, { pbxId: 'pbx_1', tenantId: 't_1' });
  const seen: CallObservation[] = [];
  connector = new CallControlConnector({ api, sink: async (o) => void seen.push(o), backoff: { initialMs: 5, maxMs: 20 }, recordingPoll: { attempts: 20, intervalMs: 5 } });
  const ready = once(connector, 'ready');
  connector.start();
  await ready;
  return { sim, connector, seen, api };
}

const summary = (list: CallObservation[]) => list.map((o) => `${o.type}:${o.agents.join(',')}`);

describe('CallControlConnector', () => {
  it('reports an answered inbound call: ringing, answered, ended with duration, then its recording', async () => {
    const { sim, seen } = await setup();
    const call = await sim.placeCall({ kind: 'inbound', from: '+4930123456', fromName: 'Ada Lovelace', to: '101' });
    await eventually(() => expect(summary(seen)).toEqual(['ringing:101', 'answered:101', 'ended:101', 'recording_ready:101']));
    expect(seen[0]).toMatchObject({
      tenantId: 't_1', pbxId: 'pbx_1', source: 'call-control', direction: 'inbound', pbxCallId: String(call.callid),
      caller: { raw: '+4930123456', name: 'Ada Lovelace' }, callee: { raw: '101', name: null }, extensions: ['101'], queue: null, durationSec: null,
    });
    expect(seen[2]!.durationSec).toBeGreaterThanOrEqual(1);
    expect(seen[3]!.recording).toEqual({ pbxRecordingId: String(call.recordingIds[0]), contentType: null });
    expect(new Set(seen.map((o) => o.deliveryId)).size).toBe(4);
  });

  it('reports an unanswered call as missed, with no recording', async () => {
    const { sim, seen } = await setup();
    await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '102', answer: false });
    await eventually(() => expect(summary(seen)).toEqual(['ringing:102', 'missed:102']));
  });

  it('rings each queue agent separately; the answer concerns them all and nobody misses it', async () => {
    const { sim, seen } = await setup();
    await sim.placeCall({ kind: 'queue', from: '+4930123456', queue: '800', agents: ['101', '102', '103'], answeredBy: '102' });
    await eventually(() => expect(seen.filter((o) => o.type === 'recording_ready')).toHaveLength(1));
    expect(summary(seen.filter((o) => o.type === 'ringing')).sort()).toEqual(['ringing:101', 'ringing:102', 'ringing:103']);
    expect(summary(seen.filter((o) => o.type !== 'ringing'))).toEqual(['answered:102,101,103', 'ended:102', 'recording_ready:102']);
    expect(seen.find((o) => o.type === 'answered')?.answeredBy).toBe('102');
    expect(seen.every((o) => o.queue === '800')).toBe(true);
    expect(new Set(seen.map((o) => o.pbxCallId)).size).toBe(1);
  });

  it('reports a queue call nobody answered as one missed for every agent it rang', async () => {
    const { sim, seen } = await setup();
    await sim.placeCall({ kind: 'queue', from: '+4930123456', queue: '800', agents: ['101', '102'], answeredBy: null });
    await eventually(() => expect(seen.filter((o) => o.type === 'missed')).toHaveLength(1));
    expect(summary(seen.filter((o) => o.type === 'missed'))).toEqual([expect.stringMatching(/^missed:(101,102|102,101)$/)]);
  });

  it('reports an outbound call from the agent as placed by it', async () => {
    const { sim, seen } = await setup();
    await sim.placeCall({ kind: 'outbound', from: '103', to: '+4930555111' });
    await eventually(() => expect(summary(seen)).toEqual(['ringing:103', 'answered:103', 'ended:103', 'recording_ready:103']));
    expect(seen[0]).toMatchObject({ direction: 'outbound', caller: { raw: '103' }, callee: { raw: '+4930555111' } });
  });

  it('follows a transfer from one agent to another on the same call id', async () => {
    const { sim, seen } = await setup();
    const call = await sim.placeCall({ kind: 'transfer', from: '+4930123456', to: '101', transferTo: '102' });
    await eventually(() => expect(seen.filter((o) => o.type === 'recording_ready')).toHaveLength(2));
    expect(summary(seen.filter((o) => o.type !== 'recording_ready'))).toEqual(['ringing:101', 'answered:101', 'ringing:102', 'ended:101', 'answered:102', 'ended:102']);
    expect(seen.every((o) => o.pbxCallId === String(call.callid))).toBe(true);
    const recordings = seen.filter((o) => o.type === 'recording_ready').map((o) => [o.agents[0], o.recording!.pbxRecordingId]);
    expect(recordings.sort()).toEqual([['101', String(call.recordingIds[0])], ['102', String(call.recordingIds[1])]]);
  });

  it('reconnects after the socket drops and re-reads the state it missed', async () => {
    const { sim, connector, seen, api } = await setup();
    const before = await api.callControl.makeCall('101', '+4930555111', null);
    await eventually(() => expect(summary(seen)).toEqual(['ringing:101']));

    sim.faults.blockWebSockets = true;
    const disconnected = once(connector, 'disconnected');
    sim.faults.dropWebSockets();
    await disconnected;
    // While the connector is away: the first call ends, another one starts. No events reach it.
    await sim.hangup(Number(before.pbxCallId));
    const during = await api.callControl.makeCall('102', '+4930555222', null);

    const ready = once(connector, 'ready');
    sim.faults.blockWebSockets = false;
    await ready;
    await eventually(() => expect(summary(seen)).toEqual(['ringing:101', 'missed:101', 'ringing:102']));
    expect(seen[2]).toMatchObject({ direction: 'outbound', pbxCallId: during.pbxCallId, callee: { raw: '+4930555222' } });
    expect(sim.openSockets()).toBe(1);

    // And it is live again.
    await sim.hangup(Number(during.pbxCallId));
    await eventually(() => expect(summary(seen)).toContain('missed:102'));
  });

  it('gets a fresh token when the PBX refuses the old one on reconnect', async () => {
    const { sim, connector, seen } = await setup();
    sim.faults.expireTokens();
    const ready = once(connector, 'ready');
    sim.faults.dropWebSockets();
    await ready;
    expect(sim.tokensIssued('900')).toBe(2);
    await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101', answer: false });
    await eventually(() => expect(summary(seen)).toEqual(['ringing:101', 'missed:101']));
  });

  it('keeps going when the sink fails for one observation', async () => {
    sim = await startPbxSimulator();
    const api = pbxApiFor({ baseUrl: sim.baseUrl, clientId: '900', clientSecret: 'sim-api-key' }, { pbxId: 'pbx_1', tenantId: 't_1' });
    const seen: string[] = [];
    connector = new CallControlConnector({
      api,
      recordingPoll: false,
      sink: async (o) => {
        if (o.type === 'ringing') throw new Error('bus hiccup');
        seen.push(o.type);
      },
    });
    const ready = once(connector, 'ready');
    connector.start();
    await ready;
    await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101' });
    await eventually(() => expect(seen).toEqual(['answered', 'ended']));
  });

  it('starts over when the state read after connecting fails', async () => {
    sim = await startPbxSimulator();
    const api = pbxApiFor({ baseUrl: sim.baseUrl, clientId: '900', clientSecret: 'sim-api-key' }, { pbxId: 'pbx_1', tenantId: 't_1' });
    await api.callControl.bearer();
    sim.faults.failNextRest(1, 503); // the GET /callcontrol right after the socket opens
    const seen: CallObservation[] = [];
    connector = new CallControlConnector({ api, sink: async (o) => void seen.push(o), backoff: { initialMs: 5, maxMs: 20 }, recordingPoll: false });
    const disconnected = once(connector, 'disconnected');
    const ready = once(connector, 'ready');
    connector.start();
    await disconnected;
    await ready;
    await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101', answer: false });
    await eventually(() => expect(summary(seen)).toEqual(['ringing:101', 'missed:101']));
  });
});
