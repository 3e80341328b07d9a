// The connector turns what the simulated PBX shows on its Call Control socket into observations.
import { once } from 'node:events';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { eventually, fakeTenants } from '../../../../test/support/pbx-fakes.js';
import { startPbxSimulator, type CallRecord, type PbxSimulator, type PbxSimulatorOptions } from '../../../sim/3cx/index.js';
import { createMemoryEventLog } from '../../../../test/support/memory-event-log.js';
import { makeCallEvent } from '../../../../test/support/make-call-event.js';
import { pbxApiFor } from '../../pbx/api.js';
import { XapiClient } from '../../pbx/xapi.js';
import { createIngestor } from '../normalise.js';
import type { CallObservation } from '../observation.js';
import { CallControlConnector, type CallControlConnectorOptions } from './connector.js';
import { ingestorSink, openLegsIn } from './manager.js';

let sim: PbxSimulator | undefined;
let connector: CallControlConnector | undefined;
afterEach(async () => {
  await connector?.stop();
  await sim?.close();
  connector = undefined;
  sim = undefined;
});

async function setup(simOpts: PbxSimulatorOptions = {}, connectorOpts: Partial<CallControlConnectorOptions> = {}) {
  sim = await startPbxSimulator(simOpts);
  const api = pbxApiFor({ baseUrl: sim.baseUrl, clientId: '900', clientSecret: 'sim-api-key' }, { pbxId: 'pbx_1', tenantId: 't_1' });
  const seen: CallObservation[] = [];
  connector = new CallControlConnector({ api, sink: async (o) => void seen.push(o), backoff: { baseMs: 5, capMs: 20 }, recordingPoll: { attempts: 20, intervalMs: 5 }, ...connectorOpts });
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
    connector = new CallControlConnector({ api, sink: async (o) => void seen.push(o), backoff: { baseMs: 5, capMs: 20 }, recordingPoll: false });
    const disconnected = once(connector, 'disconnected');
    const ready = once(connector, 'ready');
    connector.start();
    await disconnected;
    await ready;
    await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101', answer: false });
    await eventually(() => expect(summary(seen)).toEqual(['ringing:101', 'missed:101']));
  });
});

/** Log lines the connector wrote, parsed. */
function captureLog() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** Every poll of the connector (20 x 5 ms in setup) has had its chance. */
const pollsDone = () => new Promise((r) => setTimeout(r, 400));

describe('CallControlConnector: which recording belongs to which call', () => {
  it('two calls from one number to one extension: the unrecorded first call gets no recording, the second gets its own', async () => {
    const { sim, seen } = await setup();
    const first = await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101', record: false });
    const second = await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101' });
    await eventually(() => expect(seen.filter((o) => o.type === 'recording_ready')).toHaveLength(1));
    await pollsDone();
    const recordings = seen.filter((o) => o.type === 'recording_ready').map((o) => [o.pbxCallId, o.recording!.pbxRecordingId]);
    expect(recordings).toEqual([[String(second.callid), String(second.recordingIds[0])]]);
    expect(first.recordingIds).toEqual([]);
  });

  it('a recording that names no participant and fits two calls of one number and extension is attached to neither, and the log says why', async () => {
    const { logger, lines } = captureLog();
    const { sim, seen } = await setup({ refParticipantId: false }, { logger });
    await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101', record: false });
    const second = await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101' });
    await eventually(() => expect(lines.filter((l) => l.msg === 'recording not attached')).toHaveLength(2));
    await pollsDone();
    expect(seen.filter((o) => o.type === 'recording_ready')).toEqual([]);
    for (const line of lines.filter((l) => l.msg === 'recording not attached')) {
      expect(line.reason).toMatch(new RegExp(`recording ${second.recordingIds[0]} names no participant and also fits call\\(s\\)`));
    }
  });

  it('attaches a recording that names no participant when it fits only its own call', async () => {
    const { sim, seen } = await setup({ refParticipantId: false });
    const call = await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101' });
    await eventually(() => expect(seen.filter((o) => o.type === 'recording_ready').map((o) => o.recording!.pbxRecordingId)).toEqual([String(call.recordingIds[0])]));
  });
});

describe('CallControlConnector: PBX restarts', () => {
  it('a PBX that restarts and reuses call ids: the new call is logged as a new call, not dropped as a repeat', async () => {
    const tenants = fakeTenants();
    const log = createMemoryEventLog();
    const { sim, connector } = await setup({}, { sink: ingestorSink(createIngestor({ log, tenants })), recordingPoll: false });
    tenants.put({ pbx: { id: 'pbx_1', tenantId: 't_1', baseUrl: sim.baseUrl } });
    const types = async () => (await log.read('t_1', { since: 0, limit: 50 })).events.map((e) => `${e.event.pbxCallId.split('@')[0]}:${e.event.type}`);

    const before = await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101' });
    await eventually(async () => expect(await types()).toEqual(['1001:ringing', '1001:answered', '1001:ended']));

    const ready = once(connector, 'ready');
    await sim.restart({ reuseCallIds: true, downMs: 50 });
    await ready;
    const after = await sim.placeCall({ kind: 'inbound', from: '+4930555111', to: '101' });
    expect(after.callid).toBe(before.callid);
    await eventually(async () => expect(await types()).toEqual(['1001:ringing', '1001:answered', '1001:ended', '1001:ringing', '1001:answered', '1001:ended']));
    const events = (await log.read('t_1', { since: 0, limit: 50 })).events.map((e) => e.event);
    expect(events[3]!.pbxCallId).not.toBe(events[0]!.pbxCallId);
    expect(events.slice(3).map((e) => e.caller.e164)).toEqual(['+4930555111', '+4930555111', '+4930555111']);
  });

  it('a call cut off by a PBX restart ends at the last time it was seen, not at the reconnect, and says the connection was lost', async () => {
    // The bus clock jumps 30 s while the PBX is down: a reconnect-time end would report 30 s of talk.
    let skewMs = 0;
    const { sim, connector, seen } = await setup({}, { now: () => new Date(Date.now() + skewMs) });
    connector.on('disconnected', () => (skewMs = 30_000));
    const ready = once(connector, 'ready');
    const call = await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101', cutByRestart: { reuseCallIds: false, downMs: 50 } });
    await ready;
    await eventually(() => expect(summary(seen)).toEqual(['ringing:101', 'answered:101', 'ended:101', 'recording_ready:101']));
    const answered = seen[1]!;
    const ended = seen[2]!;
    expect(ended.durationSec).toBeLessThan(30);
    expect(ended.pbxTime.getTime() - answered.pbxTime.getTime()).toBeLessThan(30_000);
    expect(ended).toMatchObject({ pbxCallId: String(call.callid), endReason: 'connection_lost' });
    expect(seen[3]!.recording!.pbxRecordingId).toBe(String(call.recordingIds[0]));
    expect(sim.callRecords()[0]!.legs).toEqual([expect.objectContaining({ dn: '101', outcome: 'answered', cutByRestart: true })]);
  });
});

describe('CallControlConnector: taking a PBX over from a holder that died', () => {
  /** The old holder logs a call's first transitions, dies (its socket just stops), and the call goes on with nobody watching. */
  async function holderDiesDuring(script: (sim: PbxSimulator) => Promise<CallRecord>, diesAfter: 'ringing' | 'answered') {
    const tenants = fakeTenants();
    const log = createMemoryEventLog();
    const ingestor = createIngestor({ log, tenants });
    // A pause between the call's steps, so the holder can die between its ring and its answer.
    const { sim, connector: old } = await setup({ realTalkTime: true, stepDelayMs: 300 }, { sink: ingestorSink(ingestor), recordingPoll: false });
    tenants.put({ pbx: { id: 'pbx_1', tenantId: 't_1', baseUrl: sim.baseUrl } });
    const logged = async () => (await log.read('t_1', { since: 0, limit: 50 })).events.map((e) => e.event);
    const call = script(sim);
    await eventually(async () => expect((await logged()).map((e) => e.type)).toContain(diesAfter));
    await old.stop();
    const record = await call;
    expect(sim.openSockets()).toBe(0);
    /** A node taking the PBX over: its connector knows only what the log holds. */
    const takeOver = async (firstLookbackMs?: number) => {
      const next = new CallControlConnector({
        api: pbxApiFor({ baseUrl: sim.baseUrl, clientId: '900', clientSecret: 'sim-api-key' }, { pbxId: 'pbx_1', tenantId: 't_1' }),
        sink: ingestorSink(ingestor),
        openLegs: async () => (await log.openLegs('t_1', 'pbx_1')).map((l) => ({ extension: l.extension, event: l.logged.event })),
        firstLookbackMs,
        recordingPoll: false,
      });
      const ready = once(next, 'ready');
      next.start();
      await ready;
      await next.stop();
    };
    return { sim, record, logged, takeOver, log };
  }

  it('an answered call that ends during the hand-over gets exactly one end, with the duration and end time the PBX logged', async () => {
    const { record, logged, takeOver, log } = await holderDiesDuring((sim) => sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101', talkSec: 2 }), 'answered');
    expect((await logged()).map((e) => e.type)).toEqual(['ringing', 'answered']);
    await takeOver();
    const events = await logged();
    expect(events.map((e) => e.type)).toEqual(['ringing', 'answered', 'ended']);
    const row = events[2]!;
    expect(row).toMatchObject({ pbxCallId: String(record.callid), durationSec: record.legs[0]!.talkSec, endReason: 'reported', agents: ['101'] });
    expect(Date.parse(row.pbxTime)).toBeCloseTo(Date.parse(record.endedAt), -3);
    expect(await log.openLegs('t_1', 'pbx_1')).toEqual([]);
    // Another takeover (or a reconnect) finds nothing left to end: no second record.
    await takeOver();
    expect(await logged()).toHaveLength(3);
  });

  it('a call answered and ended during the hand-over is reported answered, then ended with its talk', async () => {
    const { record, logged, takeOver } = await holderDiesDuring((sim) => sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '102', talkSec: 1 }), 'ringing');
    expect((await logged()).map((e) => e.type)).toEqual(['ringing']);
    await takeOver();
    const events = await logged();
    expect(events.map((e) => [e.type, e.agents])).toEqual([['ringing', ['102']], ['answered', ['102']], ['ended', ['102']]]);
    expect(events[2]).toMatchObject({ durationSec: record.legs[0]!.talkSec, endReason: 'reported' });
  });

  it('a call that rang out during the hand-over is missed, once', async () => {
    const { logged, takeOver } = await holderDiesDuring((sim) => sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '103', answer: false }), 'ringing');
    await takeOver();
    await takeOver();
    expect((await logged()).map((e) => [e.type, e.agents, e.endReason])).toEqual([['ringing', ['103'], undefined], ['missed', ['103'], 'reported']]);
  });

  it('calls that rang and ended while nobody held the PBX are reported from its call log at the times it gives; one the old holder reported is not reported twice', async () => {
    const { sim, record: reported, logged, takeOver } = await holderDiesDuring((sim) => sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101', talkSec: 1 }), 'answered');
    // The old holder's last call: answered before it died, ended after (reconciled below), so the log has all of it.
    await takeOver();
    const before = await logged();
    expect(before.map((e) => e.type)).toEqual(['ringing', 'answered', 'ended']);
    // The holder of the takeover above is gone too; while nobody holds the PBX, three calls come and go.
    const queue = await sim.placeCall({ kind: 'queue', from: '+4930999888', queue: '800', agents: ['101', '102', '103'], answeredBy: '102', talkSec: 1 });
    const missed = await sim.placeCall({ kind: 'inbound', from: '+4930777666', to: '103', answer: false });
    const outbound = await sim.placeCall({ kind: 'outbound', from: '101', to: '+4930555444', talkSec: 1 });
    await takeOver(60_000);
    const after = (await logged()).slice(before.length);
    const of = (callid: number) => after.filter((e) => e.pbxCallId === String(callid)).map((e) => `${e.type}:${e.agents.join(',')}:${e.durationSec}`);
    expect(of(queue.callid).sort()).toEqual(['answered:101,102,103:null', 'ended:102:1', 'ringing:101:null', 'ringing:102:null', 'ringing:103:null']);
    expect(of(missed.callid)).toEqual(['ringing:103:null', 'missed:103:null']);
    expect(of(outbound.callid)).toEqual(['ringing:101:null', 'answered:101:null', 'ended:101:1']);
    expect(after.find((e) => e.pbxCallId === String(outbound.callid))).toMatchObject({ direction: 'outbound', callee: { e164: '+4930555444' } });
    // The old holder's call was in the lookback too: nothing of it came again.
    expect(of(reported.callid)).toEqual([]);
    expect(after).toHaveLength(10);
    // Each at the time the PBX logged it, not when the new holder found it.
    const queueEnd = after.find((e) => e.pbxCallId === String(queue.callid) && e.type === 'ended')!;
    expect(Date.parse(queueEnd.pbxTime)).toBeLessThan(Date.parse(missed.startedAt));
  });

  it('a call that rang and ended while the connector\'s own socket was down is reported from the call log when it is back', async () => {
    const { sim, connector, seen } = await setup();
    const back = once(connector, 'ready');
    sim.faults.blockWebSockets = true;
    sim.faults.dropWebSockets();
    await eventually(() => expect(sim.openSockets()).toBe(0));
    const call = await sim.placeCall({ kind: 'inbound', from: '+4930123456', fromName: 'Ada Lovelace', to: '102', answer: false });
    sim.faults.blockWebSockets = false;
    await back;
    await eventually(() => expect(summary(seen)).toEqual(['ringing:102', 'missed:102']));
    expect(seen[0]).toMatchObject({ pbxCallId: String(call.callid), direction: 'inbound', caller: { raw: '+4930123456', name: 'Ada Lovelace' } });
    expect(seen[1]).toMatchObject({ endReason: 'reported' });
  });

  it('a call cut by a PBX restart is not given the call-log row of an earlier call under the same (reused) id', async () => {
    const { sim, connector, seen } = await setup({ realTalkTime: true });
    const earlier = await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101', talkSec: 1 });
    let ready = once(connector, 'ready');
    await sim.restart({ reuseCallIds: true, downMs: 50 });
    await ready;
    ready = once(connector, 'ready');
    const cut = await sim.placeCall({ kind: 'inbound', from: '+4930555111', to: '101', talkSec: 1, cutByRestart: { reuseCallIds: false, downMs: 50 } });
    await ready;
    expect(cut.callid).toBe(earlier.callid);
    expect(sim.callLog().filter((r) => r.CallId === cut.callid)).toHaveLength(1); // the earlier call's only
    await eventually(() => expect(seen.filter((o) => o.type === 'ended')).toHaveLength(2));
    expect(seen.filter((o) => o.type === 'ended').map((o) => [o.caller.raw, o.endReason])).toEqual([['+4930123456', 'reported'], ['+4930555111', 'connection_lost']]);
  });

  it('a call still talking when the PBX is taken over carries on under its logged answer, and ends once', async () => {
    const tenants = fakeTenants();
    const log = createMemoryEventLog();
    const ingestor = createIngestor({ log, tenants });
    const { sim, connector: old } = await setup({ realTalkTime: true }, { sink: ingestorSink(ingestor), recordingPoll: false });
    tenants.put({ pbx: { id: 'pbx_1', tenantId: 't_1', baseUrl: sim.baseUrl } });
    const logged = async () => (await log.read('t_1', { since: 0, limit: 50 })).events.map((e) => e.event);
    const call = sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101', talkSec: 2 });
    await eventually(async () => expect((await logged()).map((e) => e.type)).toEqual(['ringing', 'answered']));
    await old.stop();
    connector = new CallControlConnector({
      api: pbxApiFor({ baseUrl: sim.baseUrl, clientId: '900', clientSecret: 'sim-api-key' }, { pbxId: 'pbx_1', tenantId: 't_1' }),
      sink: ingestorSink(ingestor),
      openLegs: async () => (await log.openLegs('t_1', 'pbx_1')).map((l) => ({ extension: l.extension, event: l.logged.event })),
      recordingPoll: false,
    });
    const ready = once(connector, 'ready');
    connector.start();
    await ready;
    const record = await call;
    await eventually(async () => expect((await logged()).map((e) => e.type)).toEqual(['ringing', 'answered', 'ended']));
    // Measured live from the logged answer (whole seconds, rounded up), as any call the connector watches end.
    const ended = (await logged())[2]!;
    expect(ended.endReason).toBe('reported');
    expect(ended.durationSec).toBeGreaterThanOrEqual(record.legs[0]!.talkSec);
    expect(ended.durationSec).toBeLessThanOrEqual(record.legs[0]!.talkSec + 1);
  });
});

describe('CallControlConnector: taking over a call whose id the PBX reused', () => {
  it('a restored leg logged under a qualified id (4244@…) ends under that id on a fresh node, and nothing is logged under the earlier call', async () => {
    const tenants = fakeTenants();
    const log = createMemoryEventLog();
    const ev = (o: Parameters<typeof makeCallEvent>[0], at: number) => ({ ...makeCallEvent({ tenantId: 't_1', pbxId: 'pbx_1', agents: ['101'], source: 'call-control', ...o }), pbxTime: new Date(at).toISOString() });
    const earlier = Date.now() - 3 * 60 * 60_000;
    const ringAt = Date.now() - 60_000;
    const reusedId = `4244@${new Date(ringAt).toISOString()}`;
    // The earlier call under the bare id, ended; then the PBX restarted and reused the id for a call the old holder saw ring and answered.
    for (const e of [
      ev({ pbxCallId: '4244', type: 'ringing' }, earlier),
      ev({ pbxCallId: '4244', type: 'ended', durationSec: 30 }, earlier + 40_000),
      ev({ pbxCallId: reusedId, type: 'ringing' }, ringAt),
      ev({ pbxCallId: reusedId, type: 'answered', answeredBy: '101' }, ringAt + 5_000),
    ]) await log.append('t_1', e, e.id);
    // A fresh node: its ingestor remembers nothing. The leg is gone from the PBX with no call-log row, so it ends (connection lost).
    tenants.put({ pbx: { id: 'pbx_1', tenantId: 't_1', baseUrl: 'http://pbx.invalid' } });
    await setup({}, { sink: ingestorSink(createIngestor({ log, tenants })), recordingPoll: false, ...openLegsIn(log, 't_1', 'pbx_1') });
    const events = (await log.read('t_1', { since: 0, limit: 50 })).events.map((e) => `${e.event.pbxCallId}:${e.event.type}`);
    expect(events).toEqual(['4244:ringing', '4244:ended', `${reusedId}:ringing`, `${reusedId}:answered`, `${reusedId}:ended`]);
    expect(await log.openLegs('t_1', 'pbx_1')).toEqual([]);
  });
});

describe('CallControlConnector: what the log holds open that nobody can end truly', () => {
  it('a leg the log has held open for hours, gone from the PBX and absent from its call log, gets no made-up end', async () => {
    const ringAt = new Date(Date.now() - 3 * 60 * 60_000);
    const stale = { extension: '101', event: { ...makeCallEvent({ tenantId: 't_1', pbxId: 'pbx_1', pbxCallId: '4242', type: 'answered', agents: ['101'], answeredBy: '101' }), pbxTime: ringAt.toISOString() } };
    const { seen } = await setup({}, { openLegs: async () => [stale] });
    expect(seen).toEqual([]);
  });

  it('a leg held open for days is dropped from the log, and neither that connect nor a reconnect reads the call log from days back', async () => {
    const log = createMemoryEventLog();
    const answered = { ...makeCallEvent({ tenantId: 't_1', pbxId: 'pbx_1', pbxCallId: '4245', type: 'answered', agents: ['101'], answeredBy: '101' }), pbxTime: new Date(Date.now() - 3 * 86_400_000).toISOString() };
    await log.append('t_1', answered, answered.id);
    const callLog = vi.spyOn(XapiClient.prototype, 'callLog');
    try {
      const { sim, connector, seen } = await setup({}, openLegsIn(log, 't_1', 'pbx_1'));
      expect(seen).toEqual([]);
      expect(await log.openLegs('t_1', 'pbx_1')).toEqual([]);
      const readFrom = () => callLog.mock.calls.at(-1)![0].getTime();
      expect(readFrom()).toBeGreaterThan(Date.now() - 13 * 60 * 60_000);
      const ready = once(connector, 'ready');
      sim.faults.dropWebSockets();
      await ready;
      // Back after a blip: only the blip is read, the dropped leg is not restored again.
      expect(readFrom()).toBeGreaterThan(Date.now() - 60_000);
      expect(seen).toEqual([]);
    } finally {
      callLog.mockRestore();
    }
  });

  it('a recent one whose row is not there yet ends at the takeover, saying the connection was lost', async () => {
    const answeredAt = new Date(Date.now() - 60_000);
    const open = { extension: '101', event: { ...makeCallEvent({ tenantId: 't_1', pbxId: 'pbx_1', pbxCallId: '4243', type: 'answered', agents: ['101'], answeredBy: '101' }), pbxTime: answeredAt.toISOString() } };
    const { seen } = await setup({}, { openLegs: async () => [open] });
    expect(seen).toMatchObject([{ type: 'ended', pbxCallId: '4243', agents: ['101'], endReason: 'connection_lost' }]);
    expect(seen[0]!.durationSec).toBeGreaterThanOrEqual(60);
  });
});
