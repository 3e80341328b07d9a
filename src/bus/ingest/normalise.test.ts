import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryEventLog } from '../../../test/support/memory-event-log.js';
import type { EventLog } from '../log/port.js';
import { createSqliteTenantStore, type SqliteTenantStore } from '../tenants/sqlite/store.js';
import { openMemoryDeliveryStore } from './deliveries/sqlite.js';
import { END_WINDOW_MS, IngestError, RINGING_WINDOW_MS, createIngestor } from './normalise.js';
import type { CallObservation, Ingestor } from './observation.js';

let clock: Date;
let log: EventLog;
let tenants: SqliteTenantStore;
let ingestor: Ingestor;
let tenantId: string;
let pbxId: string;

const advance = (ms: number) => (clock = new Date(clock.getTime() + ms));

function obs(overrides: Partial<CallObservation> = {}): CallObservation {
  return {
    tenantId, pbxId, source: 'call-control', type: 'ringing', direction: 'inbound', pbxCallId: 'c1',
    caller: { raw: '(02) 9876 5432', name: 'Jane Citizen' }, callee: { raw: '101', name: null },
    extensions: ['101'], queue: null, agents: ['101'], pbxTime: clock, durationSec: null, recording: null,
    ...overrides,
  };
}
/** What the CRM template form knows about the same call: no call id, maybe no agent. */
const template = (overrides: Partial<CallObservation> = {}) =>
  obs({ source: 'crm-template', pbxCallId: null, caller: { raw: '+61298765432', name: null }, ...overrides });

async function logged() {
  return (await log.read(tenantId, { since: 0, limit: 100 })).events.map((e) => e.event);
}

beforeEach(async () => {
  clock = new Date('2026-05-01T10:00:00Z');
  log = createMemoryEventLog();
  tenants = createSqliteTenantStore({ path: ':memory:', masterKey: randomBytes(32) });
  const tenant = await tenants.createTenant({ name: 'Acme' });
  const { pbx } = await tenants.addPbx({ tenantId: tenant.id, name: 'Main', baseUrl: 'https://pbx.test', defaultCountry: 'AU', apiClientId: null, connectorMode: 'bus' });
  tenantId = tenant.id;
  pbxId = pbx.id;
  ingestor = createIngestor({ log, tenants, now: () => clock });
});
afterEach(async () => {
  await log.close();
  await tenants.close();
});

describe('normaliser', () => {
  it('turns an observation into a CallEvent with E.164 numbers in the PBX country and extensions marked', async () => {
    const result = await ingestor.ingest(obs());
    expect(result).toMatchObject({ duplicate: false });
    const [event] = await logged();
    expect(event).toMatchObject({
      id: result.eventId, tenantId, pbxId, pbxCallId: 'c1', type: 'ringing', direction: 'inbound',
      caller: { raw: '(02) 9876 5432', e164: '+61298765432', name: 'Jane Citizen', extension: null },
      callee: { raw: '101', e164: null, name: null, extension: '101' },
      agents: ['101'], pbxTime: clock.toISOString(), receivedAt: clock.toISOString(), source: 'call-control',
    });
  });

  it('reads international numbers from 3CX in any PBX country: its 00 form, or the country\'s own prefix (0011 in AU)', async () => {
    const pbxIn = async (defaultCountry: 'US' | 'SG') =>
      (await tenants.addPbx({ tenantId, name: defaultCountry, baseUrl: `https://${defaultCountry}.test`, defaultCountry, apiClientId: null, connectorMode: 'bus' })).pbx.id;
    const [us, sg] = [await pbxIn('US'), await pbxIn('SG')];
    await ingestor.ingest(obs({ pbxCallId: 'au-1', caller: { raw: '0011 44 20 7946 0958', name: null } }));
    await ingestor.ingest(obs({ pbxId: us, pbxCallId: 'us-1', caller: { raw: '00442079460958', name: null } }));
    // In Singapore 008 is also a carrier's international prefix: 3CX's 00 form wins.
    await ingestor.ingest(obs({ pbxId: sg, pbxCallId: 'sg-1', caller: { raw: '0081 90 1234 5678', name: null } }));
    expect((await logged()).map((e) => e.caller.e164)).toEqual(['+442079460958', '+442079460958', '+819012345678']);
  });

  it('a number read once is read the same way again, and the same digits from a PBX in another country in that country', async () => {
    const { pbx: nz } = await tenants.addPbx({ tenantId, name: 'NZ', baseUrl: 'https://nz.test', defaultCountry: 'NZ', apiClientId: null, connectorMode: 'bus' });
    const national = { raw: '(02) 9876 5432', name: null };
    // Sydney in AU, a Wellington-area number in NZ: each reading is kept per country.
    for (const [i, pbx] of [pbxId, nz.id, pbxId, nz.id].entries()) {
      await ingestor.ingest(obs({ pbxId: pbx, pbxCallId: `n-${i}`, caller: national }));
    }
    expect((await logged()).map((e) => e.caller.e164)).toEqual(['+61298765432', '+64298765432', '+61298765432', '+64298765432']);
  });

  it('gives a retried transition the same id and stores it once', async () => {
    const first = await ingestor.ingest(obs());
    advance(RINGING_WINDOW_MS * 10);
    const again = await ingestor.ingest(obs({ source: 'webhook' }));
    expect(again).toMatchObject({ duplicate: true, eventId: first.eventId });
    expect(await logged()).toHaveLength(1);
  });

  it('Call Control then CRM template for the same ring and end: one event per transition', async () => {
    await ingestor.ingest(obs());
    advance(1_000);
    const lookup = await ingestor.ingest(template({ agents: [], extensions: [] }));
    expect(lookup.duplicate).toBe(true);
    advance(1_000);
    await ingestor.ingest(obs({ type: 'answered' }));
    advance(60_000);
    const ended = await ingestor.ingest(obs({ type: 'ended', durationSec: 60 }));
    advance(2_000);
    const journal = await ingestor.ingest(template({ type: 'ended', durationSec: 60 }));
    expect(journal).toMatchObject({ duplicate: true, eventId: ended.eventId });
    expect((await logged()).map((e) => e.type)).toEqual(['ringing', 'answered', 'ended']);
  });

  it('CRM template first: the later Call Control event for that transition is the duplicate, later ones carry the PBX call id', async () => {
    const lookup = await ingestor.ingest(template({ agents: ['101'] }));
    advance(500);
    const ring = await ingestor.ingest(obs({ pbxCallId: 'real-7' }));
    expect(ring).toMatchObject({ duplicate: true, eventId: lookup.eventId });
    advance(500);
    await ingestor.ingest(obs({ pbxCallId: 'real-7', type: 'answered' }));
    advance(30_000);
    const journal = await ingestor.ingest(template({ type: 'ended', durationSec: 30 }));
    const end = await ingestor.ingest(obs({ pbxCallId: 'real-7', type: 'ended', durationSec: 30 }));
    expect(end).toMatchObject({ duplicate: true, eventId: journal.eventId });
    const events = await logged();
    expect(events.map((e) => [e.type, e.pbxCallId])).toEqual([
      ['ringing', expect.stringMatching(/^tpl_/)],
      ['answered', 'real-7'],
      ['ended', 'real-7'],
    ]);
  });

  it('a template-only call keeps one call id from ring to end', async () => {
    await ingestor.ingest(template({ agents: ['101'] }));
    advance(3 * 60_000);
    await ingestor.ingest(template({ type: 'ended', durationSec: 170 }));
    const [ring, end] = await logged();
    expect(end!.pbxCallId).toBe(ring!.pbxCallId);
  });

  it('a new call from the same number after the last one ended is a new event', async () => {
    await ingestor.ingest(template());
    advance(10_000);
    await ingestor.ingest(template({ type: 'missed' }));
    advance(10_000);
    const second = await ingestor.ingest(template());
    expect(second.duplicate).toBe(false);
    expect(await logged()).toHaveLength(3);
  });

  describe('template journals: a retry of one journal, or the next call between the same parties', () => {
    const at = (iso: string) => new Date(iso);
    /** A journal of one call: the identity stands for its times, duration and call type. */
    const journal = (identity: string, endedAt: Date | null, overrides: Partial<CallObservation> = {}) =>
      template({ type: 'missed', durationSec: 0, pbxTime: endedAt ?? clock, journal: { identity, endedAt }, ...overrides });

    it('Call Control end, its journal, then the call-back\'s journal 40 s later: two calls, each logged once', async () => {
      const missedEnd = await ingestor.ingest(obs({ type: 'ended', durationSec: 0, pbxTime: at('2026-05-01T10:00:20Z') }));
      advance(2_000);
      expect(await ingestor.ingest(journal('missed-1', at('2026-05-01T10:00:20Z')))).toMatchObject({ duplicate: true, eventId: missedEnd.eventId });
      advance(40_000);
      const callBack = await ingestor.ingest(journal('inbound-2', at('2026-05-01T10:01:02Z'), { type: 'ended', durationSec: 35 }));
      expect(callBack.duplicate).toBe(false);
      // The call-back's own Call Control end is the same transition as its journal.
      const ccEnd = await ingestor.ingest(obs({ pbxCallId: 'c2', type: 'ended', durationSec: 35, pbxTime: at('2026-05-01T10:01:02Z') }));
      expect(ccEnd).toMatchObject({ duplicate: true, eventId: callBack.eventId });
      expect((await logged()).map((e) => `${e.type}:${e.durationSec}`)).toEqual(['missed:0', 'ended:35']);
    });

    it('a journal whose call ended well apart from a logged end is another call, even when that call\'s journal never came', async () => {
      await ingestor.ingest(obs({ type: 'ended', durationSec: 0, pbxTime: at('2026-05-01T10:00:20Z') }));
      advance(40_000);
      expect((await ingestor.ingest(journal('missed-2', at('2026-05-01T10:01:00Z')))).duplicate).toBe(false);
      expect(await logged()).toHaveLength(2);
    });

    it('two forms\' ends of one call a few seconds apart (clocks, delivery) are one transition', async () => {
      const ccEnd = await ingestor.ingest(obs({ type: 'ended', durationSec: 0, pbxTime: at('2026-05-01T10:00:27Z') }));
      expect(await ingestor.ingest(journal('missed-1', at('2026-05-01T10:00:20Z')))).toMatchObject({ duplicate: true, eventId: ccEnd.eventId });
    });

    it('a Call Control end cut by a lost connection (only when it was last seen) is still the journal\'s call', async () => {
      const cut = await ingestor.ingest(obs({ type: 'ended', durationSec: 2, pbxTime: at('2026-05-01T10:00:02Z'), endReason: 'connection_lost' }));
      advance(40_000);
      const journalled = await ingestor.ingest(journal('inbound-30s', at('2026-05-01T10:00:30Z'), { type: 'ended', durationSec: 30 }));
      expect(journalled).toMatchObject({ duplicate: true, eventId: cut.eventId });
    });

    it('a journal without times: a retry is a duplicate, the call-back (another outcome) is a new call', async () => {
      const missed = await ingestor.ingest(journal('missed', null));
      advance(40_000);
      expect(await ingestor.ingest(journal('missed', null))).toMatchObject({ duplicate: true, eventId: missed.eventId });
      expect((await ingestor.ingest(journal('outbound-35s', null, { type: 'ended', durationSec: 35, direction: 'outbound', caller: { raw: '101', name: null }, callee: { raw: '+61298765432', name: null } }))).duplicate).toBe(false);
      expect((await logged()).map((e) => e.type)).toEqual(['missed', 'ended']);
    });

    it('two template calls in the same second from one number are two calls', async () => {
      await ingestor.ingest(template());
      await ingestor.ingest(journal('missed-1', null));
      await ingestor.ingest(template());
      await ingestor.ingest(journal('missed-2', null));
      const events = await logged();
      expect(events.map((e) => e.type)).toEqual(['ringing', 'missed', 'ringing', 'missed']);
      expect(new Set(events.map((e) => e.pbxCallId)).size).toBe(2);
    });
  });

  it('does not merge transitions outside the window or for other agents', async () => {
    await ingestor.ingest(obs());
    advance(RINGING_WINDOW_MS + 1);
    expect((await ingestor.ingest(template({ agents: ['101'] }))).duplicate).toBe(false);
    expect((await ingestor.ingest(obs({ pbxCallId: 'c9', caller: { raw: '0298765499', name: null }, agents: ['102'] }))).duplicate).toBe(false);
    advance(END_WINDOW_MS);
    expect(await logged()).toHaveLength(3);
  });

  it('queue ringing at different agents are different transitions', async () => {
    await ingestor.ingest(obs({ agents: ['101'], queue: '800' }));
    await ingestor.ingest(obs({ agents: ['102'], queue: '800' }));
    await ingestor.ingest(obs({ agents: ['101'], queue: '800' }));
    expect((await logged()).map((e) => e.agents)).toEqual([['101'], ['102']]);
  });

  it('names who answered: the form says so, or the one agent the answer concerns', async () => {
    await ingestor.ingest(obs({ type: 'answered' }));
    // A queue call's answer reaches everyone it rang; the answering extension is always among them.
    await ingestor.ingest(obs({ pbxCallId: 'q1', caller: { raw: '0298765401', name: null }, type: 'answered', queue: '800', agents: ['103', '101'], extensions: ['103', '101'], answeredBy: '102' }));
    const [single, queue] = await logged();
    expect(single).toMatchObject({ type: 'answered', agents: ['101'], answeredBy: '101' });
    expect(queue).toMatchObject({ type: 'answered', agents: ['101', '102', '103'], answeredBy: '102', extensions: ['103', '101', '102'] });
  });

  it('a later form naming only the winner is the same answer, not a second one', async () => {
    await ingestor.ingest(obs({ type: 'answered', queue: '800', agents: ['102', '101'], answeredBy: '102' }));
    const second = await ingestor.ingest(obs({ source: 'webhook', type: 'answered', queue: '800', agents: ['102'] }));
    expect(second.duplicate).toBe(true);
    expect((await logged()).map((e) => `${e.type}:${e.agents.join()}:${e.answeredBy}`)).toEqual(['answered:101,102:102']);
  });

  it('only answers carry answeredBy', async () => {
    await ingestor.ingest(obs({ answeredBy: '101' }));
    await ingestor.ingest(obs({ type: 'missed', agents: ['101', '102'] }));
    expect((await logged()).map((e) => 'answeredBy' in e)).toEqual([false, false]);
  });

  it('an ended call that was never answered is missed', async () => {
    await ingestor.ingest(obs());
    await ingestor.ingest(obs({ type: 'ended', durationSec: null }));
    await ingestor.ingest(obs({ pbxCallId: 'c2', caller: { raw: '0298765401', name: null }, type: 'ended', durationSec: 0 }));
    await ingestor.ingest(obs({ pbxCallId: 'c3', caller: { raw: '0298765402', name: null } }));
    await ingestor.ingest(obs({ pbxCallId: 'c3', caller: { raw: '0298765402', name: null }, type: 'answered' }));
    await ingestor.ingest(obs({ pbxCallId: 'c3', caller: { raw: '0298765402', name: null }, type: 'ended', durationSec: null }));
    expect((await logged()).map((e) => `${e.pbxCallId}:${e.type}`)).toEqual(['c1:ringing', 'c1:missed', 'c2:missed', 'c3:ringing', 'c3:answered', 'c3:ended']);
  });

  it('refuses an unknown PBX or a PBX of another tenant, storing nothing', async () => {
    const other = await tenants.createTenant({ name: 'Other' });
    await expect(ingestor.ingest(obs({ pbxId: 'pbx_nope' }))).rejects.toMatchObject({ code: 'unknown-pbx' });
    await expect(ingestor.ingest(obs({ tenantId: other.id }))).rejects.toBeInstanceOf(IngestError);
    expect(await logged()).toHaveLength(0);
    expect((await log.position(other.id)).offset).toBe(0);
  });

  it('refuses what CallEvent v1 cannot hold, storing nothing', async () => {
    await expect(ingestor.ingest(obs({ caller: { raw: '1'.repeat(65), name: null } }))).rejects.toMatchObject({ code: 'invalid' });
    await expect(ingestor.ingest(obs({ agents: ['1'.repeat(17)] }))).rejects.toMatchObject({ code: 'invalid' });
    await expect(ingestor.ingest(obs({ pbxTime: new Date('not a time') }))).rejects.toMatchObject({ code: 'invalid' });
    expect(await logged()).toHaveLength(0);
    // The refused observation left nothing behind that could swallow the real one.
    expect((await ingestor.ingest(obs())).duplicate).toBe(false);
  });

  it('answers a repeated delivery as a duplicate of its event and refuses its id with other content for the same event time', async () => {
    const sent = obs({ deliveryId: 'msg_1' });
    const first = await ingestor.ingest(sent);
    advance(60_000);
    expect(await ingestor.ingest({ ...sent })).toEqual({ duplicate: true, eventId: first.eventId });
    await expect(ingestor.ingest({ ...sent, caller: { raw: '(02) 9876 5433', name: null } })).rejects.toMatchObject({ code: 'delivery-reused' });
    expect(await logged()).toHaveLength(1);
  });

  it('accepts the retry of a delivery that failed to store, on this node or another sharing its delivery ids', async () => {
    const deliveries = openMemoryDeliveryStore();
    const failing: EventLog = { ...log, append: async () => Promise.reject(new Error('disk full')) };
    const flaky = createIngestor({ log: failing, tenants, deliveries, now: () => clock });
    const sent = obs({ deliveryId: 'msg_2' });
    await expect(flaky.ingest(sent)).rejects.toThrow('disk full');
    await expect(flaky.ingest(sent)).rejects.toThrow('disk full');
    expect(await createIngestor({ log, tenants, deliveries, now: () => clock }).ingest(sent)).toMatchObject({ duplicate: false });
    expect(await logged()).toHaveLength(1);
    await deliveries.close();
  });
});

describe('a PBX that restarts and reuses call ids', () => {
  const at = (base: Date, sec: number) => new Date(base.getTime() + sec * 1000);
  /** One answered, recorded call as a form with a call id reports it: ring, answer 1 s later, end, recording. */
  const aCall = (from: string, recordingId: string, start: Date, talkSec = 1): Array<Partial<CallObservation>> => {
    const caller = { raw: from, name: null };
    return [
      { type: 'ringing', caller, pbxTime: start },
      { type: 'answered', caller, pbxTime: at(start, 1) },
      { type: 'ended', caller, pbxTime: at(start, 1 + talkSec), durationSec: talkSec },
      { type: 'recording_ready', caller, pbxTime: at(start, 2 + talkSec), durationSec: talkSec, recording: { pbxRecordingId: recordingId, contentType: null } },
    ];
  };
  const webhook = (o: Partial<CallObservation>, callId = '1001') => obs({ source: 'webhook', pbxCallId: callId, ...o });
  /** Received as it happens. */
  const deliver = (o: CallObservation, via: Ingestor = ingestor) => {
    clock = o.pbxTime;
    return via.ingest(o);
  };
  const idsOf = (events: Array<{ pbxCallId: string }>) => [...new Set(events.map((e) => e.pbxCallId))];

  it('a webhook call reusing an id after the PBX restarted is a new call, with its own recording', async () => {
    const start = clock;
    // The sender derives its message ids from the call id, so they repeat too: not a replay.
    const first = aCall('0298765432', 'rec-1', start).map((o, i) => webhook({ ...o, deliveryId: `msg_1001_${i}` }));
    const second = aCall('0391234567', 'rec-2', at(start, 40)).map((o, i) => webhook({ ...o, deliveryId: `msg_1001_${i}` }));
    const results = [];
    for (const o of [...first, ...second]) results.push(await deliver(o));
    expect(results.map((r) => r.duplicate)).toEqual(Array(8).fill(false));
    // The sender's late retry of the first call's deliveries (same ids, bodies and event times) is still that call's.
    for (const [i, o] of first.entries()) expect(await ingestor.ingest(o)).toEqual({ duplicate: true, eventId: results[i]!.eventId });

    const events = await logged();
    expect(events.map((e) => e.type)).toEqual(['ringing', 'answered', 'ended', 'recording_ready', 'ringing', 'answered', 'ended', 'recording_ready']);
    expect(idsOf(events.slice(0, 4))).toEqual(['1001']);
    expect(idsOf(events.slice(4))).toEqual([`1001@${at(start, 40).toISOString()}`]);
    expect(events.slice(4).map((e) => e.caller.e164)).toEqual(Array(4).fill('+61391234567'));
    expect(events[7]!.recording).toMatchObject({ pbxRecordingId: 'rec-2' });
  });

  it('Call Control and webhook observations of one reused-id call are one event per transition, whichever form comes first', async () => {
    for (const [callId, callControlFirst] of [['1001', true], ['2001', false]] as const) {
      const start = clock;
      const callControl = (o: Partial<CallObservation>) => obs({ pbxCallId: callId, ...o });
      for (const o of aCall('0298765432', 'rec-old', start)) await deliver(callControl(o));
      // The PBX restarts (the connector last heard from it 5 s in) and numbers a 1-s call `callId` again.
      const hint = { reusedCallId: { earlierRunUntil: at(start, 5) } };
      for (const o of aCall('0391234567', 'rec-new', at(start, 30))) {
        const viaCallControl = callControl({ ...o, ...hint });
        const viaWebhook = webhook({ ...o, pbxTime: at(o.pbxTime!, 0.3) }, callId); // the sender's clock is 300 ms ahead
        const [a, b] = callControlFirst ? [viaCallControl, viaWebhook] : [viaWebhook, viaCallControl];
        const logs = await deliver(a);
        expect(logs.duplicate).toBe(false);
        expect(await deliver(b)).toMatchObject({ duplicate: true, eventId: logs.eventId });
      }
      const events = (await logged()).filter((e) => e.pbxCallId.startsWith(callId));
      expect(events).toHaveLength(8);
      expect(idsOf(events.slice(0, 4))).toEqual([callId]);
      const [newId] = idsOf(events.slice(4));
      expect(idsOf(events.slice(4))).toHaveLength(1);
      expect(newId).toMatch(new RegExp(`^${callId}@`));
      expect(events[7]!.recording).toMatchObject({ pbxRecordingId: 'rec-new' });
      clock = at(start, 120);
    }
  });

  it("a late retry of the old call's transitions is still a duplicate, after the new call under its id began", async () => {
    const start = clock;
    const old = aCall('0298765432', 'rec-1', start).map((o) => webhook(o));
    const oldIds: string[] = [];
    for (const o of old) oldIds.push((await deliver(o)).eventId);
    const fresh = aCall('0391234567', 'rec-2', at(start, 40)).map((o) => webhook(o));
    for (const o of fresh.slice(0, 2)) await deliver(o);

    // The sender retries every transition of the old call (same event times) while the new one talks.
    clock = at(start, 42);
    for (const [i, o] of old.entries()) expect(await ingestor.ingest(o)).toMatchObject({ duplicate: true, eventId: oldIds[i] });
    for (const o of fresh.slice(2)) expect((await deliver(o)).duplicate).toBe(false);

    const events = await logged();
    expect(events).toHaveLength(8);
    expect(idsOf(events.slice(4))).toEqual([`1001@${at(start, 40).toISOString()}`]);
  });

  it('after a bus restart (nothing in memory) a reused id is still a new call, and the old call\'s retry still a duplicate', async () => {
    const start = clock;
    const old = aCall('0298765432', 'rec-1', start).map((o) => webhook(o));
    const oldIds: string[] = [];
    for (const o of old) oldIds.push((await deliver(o)).eventId);

    const restarted = createIngestor({ log, tenants, now: () => clock });
    const fresh = aCall('0391234567', 'rec-2', at(start, 3 * 60)).map((o) => webhook(o));
    for (const o of fresh) expect((await deliver(o, restarted)).duplicate).toBe(false);
    for (const [i, o] of old.entries()) expect(await restarted.ingest(o)).toMatchObject({ duplicate: true, eventId: oldIds[i] });

    const events = await logged();
    expect(events).toHaveLength(8);
    expect(idsOf(events.slice(4))).toEqual([`1001@${at(start, 3 * 60).toISOString()}`]);
    expect(events.slice(4).map((e) => e.caller.e164)).toEqual(Array(4).fill('+61391234567'));
  });

  it("a leg's end and recording that come after the call rang another agent anew (a transfer to a queue) stay with that leg's call", async () => {
    const start = clock;
    const [ringing, answered, ended, recording] = aCall('0298765432', 'rec-1', start).map((o) => webhook(o));
    for (const o of [ringing!, answered!, ended!]) await deliver(o);
    await deliver(webhook({ ...ringing, agents: ['102'], extensions: ['102'], callee: { raw: '102', name: null }, pbxTime: at(start, 20) }));
    await deliver({ ...recording!, pbxTime: at(start, 25) });

    const events = await logged();
    expect(events.map((e) => `${e.agents.join(',')}:${e.type}`)).toEqual(['101:ringing', '101:answered', '101:ended', '102:ringing', '101:recording_ready']);
    expect(events.filter((e) => e.agents.includes('101')).map((e) => e.pbxCallId)).toEqual(Array(4).fill('1001'));
  });

  it('after a bus restart, a long call the connector finds talking and reports answered again is still the same call', async () => {
    const start = clock;
    const [ringing, answered] = aCall('0298765432', 'rec-1', start).map((o) => obs(o));
    const first = await deliver(ringing!);
    await deliver(answered!);

    const restarted = createIngestor({ log, tenants, now: () => clock });
    const again = await deliver(obs({ ...answered, pbxTime: at(start, 10 * 60) }), restarted);
    expect(again.duplicate).toBe(true);
    await deliver(obs({ type: 'ended', caller: answered!.caller, pbxTime: at(start, 11 * 60), durationSec: 659 }), restarted);
    expect((await logged()).map((e) => `${e.pbxCallId}:${e.type}`)).toEqual(['c1:ringing', 'c1:answered', 'c1:ended']);
    expect(first.duplicate).toBe(false);
  });
});
