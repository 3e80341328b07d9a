import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROBLEM_CONTENT_TYPE } from '../../http/problem.js';
import { buildIngestHarness, type IngestHarness } from '../../../../test/support/ingest-harness.js';
import { parseDuration } from './routes.js';

let h: IngestHarness;
let key: string;
const jane = { id: 'c_1', firstName: 'Jane', lastName: 'Citizen', company: 'Acme Pty Ltd', url: 'https://crm.test/c_1' };

beforeEach(async () => {
  h = await buildIngestHarness();
  key = h.secrets.templateKeys[0]!;
  await h.tenants.importContacts(h.tenantId, [{ ...jane, e164: '+61298765432' }]);
});
afterEach(() => h.close());

const lookup = (query: string, headers: Record<string, string> = { 'x-api-key': key }) =>
  h.app.inject({ method: 'GET', url: `/v1/pbx/${h.pbx.id}/3cx/lookup?${query}`, headers });
const journal = (body: object, headers: Record<string, string> = { 'x-api-key': key }) =>
  h.app.inject({ method: 'POST', url: `/v1/pbx/${h.pbx.id}/3cx/journal`, payload: body, headers });

const journalBody = {
  callType: 'Inbound', direction: 'Inbound', number: '0061298765432', name: 'Jane Citizen', agent: '101', agentEmail: 'ann@acme.test',
  duration: '00:01:15', dateTime: '01/05/2026 20:01', startUtc: '2026-05-01T10:00:00Z', endUtc: '2026-05-01T10:01:15Z',
  queue: '[QueueExtension]', entityId: 'c_1', recordingUrl: '',
};

describe('CRM template lookup', () => {
  it('answers a known caller from the contact cache and logs the ring for the agent', async () => {
    const res = await lookup('number=0061298765432&direction=Inbound&agent=101');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ contact: { ...jane, phone: '+61298765432' } });
    const [logged] = await h.logged();
    expect(logged!.event).toMatchObject({
      source: 'crm-template', type: 'ringing', direction: 'inbound', agents: ['101'],
      caller: { raw: '0061298765432', e164: '+61298765432' }, callee: { raw: '101', extension: '101' },
    });
  });

  it('answers {} for an unknown caller, still logging the ring', async () => {
    const res = await lookup('number=0299990000&direction=Inbound&agent=[Agent]');
    expect(res.json()).toEqual({});
    expect((await h.logged()).map((l) => [l.event.caller.e164, l.event.agents])).toEqual([['+61299990000', []]]);
  });

  it('reads an unencoded "+" that the query string turned into a space', async () => {
    const res = await lookup('number=+61298765432');
    expect(res.json().contact?.id).toBe('c_1');
  });

  it('puts the remote party on the callee side for outbound calls', async () => {
    await lookup('number=0298765432&direction=Outbound&agent=102');
    const [logged] = await h.logged();
    expect(logged!.event).toMatchObject({ direction: 'outbound', caller: { extension: '102' }, callee: { e164: '+61298765432' } });
  });

  it('refuses a missing or wrong key, and another PBX\'s key', async () => {
    const other = await h.tenants.addPbx({ tenantId: h.tenantId, name: 'B', baseUrl: 'https://b.test', defaultCountry: 'AU', apiClientId: null, connectorMode: 'bus' });
    const attempts: Array<Record<string, string>> = [{}, { 'x-api-key': `${key}x` }, { 'x-api-key': other.secrets.templateKeys[0]! }];
    for (const headers of attempts) {
      const res = await lookup('number=0298765432', headers);
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toMatch(PROBLEM_CONTENT_TYPE);
      expect(res.json()).not.toHaveProperty('contact');
    }
    expect(await h.logged()).toHaveLength(0);
  });

  it('accepts the new key at once after rotation, and the old one until retired', async () => {
    const fresh = await h.tenants.rotatePbxSecret(h.pbx.id, 'template');
    expect((await lookup('number=0298765432', { 'x-api-key': fresh })).statusCode).toBe(200);
    expect((await lookup('number=0298765433', { 'x-api-key': key })).statusCode).toBe(200);
    await h.tenants.retireOldPbxSecrets(h.pbx.id, 'template');
    expect((await lookup('number=0298765434', { 'x-api-key': key })).statusCode).toBe(401);
  });

  it('refuses a lookup without a number or with a bad direction', async () => {
    expect((await lookup('direction=Inbound')).statusCode).toBe(400);
    expect((await lookup('number=[Number]')).statusCode).toBe(400);
    expect((await lookup('number=0298765432&direction=Sideways')).statusCode).toBe(400);
    expect(await h.logged()).toHaveLength(0);
  });
});

describe('CRM template journal', () => {
  it('logs an answered inbound call as ended with its duration, agent and PBX time', async () => {
    const res = await journal(journalBody);
    expect(res.statusCode).toBe(200);
    const [logged] = await h.logged();
    expect(res.json()).toEqual({ eventId: logged!.event.id, duplicate: false });
    expect(logged!.event).toMatchObject({
      type: 'ended', direction: 'inbound', durationSec: 75, agents: ['101'], queue: null,
      pbxTime: '2026-05-01T10:01:15.000Z', caller: { e164: '+61298765432', name: 'Jane Citizen' },
    });
  });

  it('logs Missed and Notanswered as missed, with the right direction', async () => {
    await journal({ ...journalBody, callType: 'Missed', duration: '0', queue: '800' });
    await journal({ ...journalBody, callType: 'Notanswered', direction: '[CallDirection]', number: '0298765999', duration: '' });
    expect((await h.logged()).map((l) => [l.event.type, l.event.direction, l.event.queue])).toEqual([
      ['missed', 'inbound', '800'],
      ['missed', 'outbound', null],
    ]);
  });

  it('a retried journal is one event', async () => {
    const first = (await journal(journalBody)).json();
    const again = (await journal(journalBody)).json();
    expect(again).toEqual({ eventId: first.eventId, duplicate: true });
    expect(await h.logged()).toHaveLength(1);
  });

  describe('a missed call, then the call-back 40 s later (same number, same agent)', () => {
    const missed = { ...journalBody, callType: 'Missed', duration: '00:00:00', startUtc: '2026-05-01T10:00:00Z', endUtc: '2026-05-01T10:00:20Z' };
    const callBack = { ...journalBody, callType: 'Outbound', direction: 'Outbound', duration: '00:00:35', startUtc: '2026-05-01T10:01:00Z', endUtc: '2026-05-01T10:01:40Z' };

    it('template journal: a call-back 40 s after a missed call from the same number is a new call, logged', async () => {
      await lookup('number=0061298765432&direction=Inbound&agent=101');
      const first = (await journal(missed)).json();
      // The new lookup comes after the first call ended: a new call, and so is its journal.
      await lookup('number=0061298765432&direction=Outbound&agent=101');
      const second = await journal(callBack);
      expect(second.statusCode).toBe(200);
      expect(second.json()).toMatchObject({ duplicate: false });
      expect(second.json().eventId).not.toBe(first.eventId);
      const events = (await h.logged()).map((l) => l.event);
      expect(events.map((e) => [e.type, e.direction, e.durationSec])).toEqual([
        ['ringing', 'inbound', null],
        ['missed', 'inbound', 0],
        ['ringing', 'outbound', null],
        ['ended', 'outbound', 35],
      ]);
      expect(events[1]!.pbxCallId).toBe(events[0]!.pbxCallId);
      expect(events[3]!.pbxCallId).toBe(events[2]!.pbxCallId);
      expect(events[2]!.pbxCallId).not.toBe(events[0]!.pbxCallId);
    });

    it('an identical journal retry stays a duplicate', async () => {
      const first = (await journal(missed)).json();
      const second = (await journal({ ...callBack, callType: 'Missed', direction: 'Inbound', duration: '0' })).json();
      expect(second.duplicate).toBe(false);
      expect((await journal(missed)).json()).toEqual({ eventId: first.eventId, duplicate: true });
      expect((await journal({ ...callBack, callType: 'Missed', direction: 'Inbound', duration: '0' })).json()).toEqual({ eventId: second.eventId, duplicate: true });
      expect((await h.logged()).map((l) => l.event.type)).toEqual(['missed', 'missed']);
    });
  });

  it('one call seen by lookup and journal keeps one call id', async () => {
    await lookup('number=0061298765432&direction=Inbound&agent=101');
    await journal(journalBody);
    const [ring, end] = await h.logged();
    expect(end!.event.pbxCallId).toBe(ring!.event.pbxCallId);
  });

  it('refuses bodies 3CX could not have meant', async () => {
    const bad = [
      { ...journalBody, agent: '[Agent]' },
      { ...journalBody, callType: 'Exploded' },
      { ...journalBody, duration: 'a while' },
      { ...journalBody, number: 42 },
      { ...journalBody, queue: 'sales' },
    ];
    for (const body of bad) {
      const res = await journal(body);
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(PROBLEM_CONTENT_TYPE);
    }
    const text = await h.app.inject({ method: 'POST', url: `/v1/pbx/${h.pbx.id}/3cx/journal`, payload: 'callType=Inbound', headers: { 'x-api-key': key, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(text.statusCode).toBe(415);
    expect(await h.logged()).toHaveLength(0);
  });

  it('works over a real loopback socket', async () => {
    const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const base = `${address}/v1/pbx/${h.pbx.id}/3cx`;
    const found = await fetch(`${base}/lookup?number=0061298765432&direction=Inbound&agent=101`, { headers: { 'X-Api-Key': key } });
    expect(await found.json()).toMatchObject({ contact: { id: 'c_1' } });
    const logged = await fetch(`${base}/journal`, { method: 'POST', body: JSON.stringify(journalBody), headers: { 'X-Api-Key': key, 'content-type': 'application/json' } });
    expect(logged.status).toBe(200);
    expect((await h.logged()).map((l) => l.event.type)).toEqual(['ringing', 'ended']);
  });
});

describe('parseDuration', () => {
  it('reads seconds and clock durations, rejects the rest', () => {
    expect(parseDuration('75')).toBe(75);
    expect(parseDuration('00:01:15')).toBe(75);
    expect(parseDuration('1:02:03')).toBe(3723);
    expect(parseDuration('2:05')).toBe(125);
    expect(parseDuration('')).toBeNull();
    expect(parseDuration(undefined)).toBeNull();
    expect(parseDuration('-5')).toBe('invalid');
    expect(parseDuration('00:61:00')).toBe('invalid');
  });
});
