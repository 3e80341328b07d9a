// The Zoho adapter against the Zoho simulator on loopback; every exchange is checked against the
// v8 OpenAPI files (plus the documented overlay in src/sim/crm/zoho/spec.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { simSession, type SimSession } from '../../../sim/crm/common/index.js';
import { closeCheckedSim, crmRejection as rejection, syncAllContacts } from '../../../../test/support/crm-adapter.js';
import { startZohoSimulator, type ZohoSimulator } from '../../../sim/crm/zoho/index.js';
import type { CallLogInput, CrmAdapter } from '../port.js';
import { callKeyTag } from './mapping.js';
import { zohoProvider } from './index.js';

let sim: ZohoSimulator;
let session: SimSession;
let zoho: CrmAdapter;

beforeEach(async () => {
  sim = await startZohoSimulator();
  session = simSession(sim, { api_domain: sim.url });
  zoho = zohoProvider.create(session, { origin: sim.url });
});

afterEach(() => closeCheckedSim(sim));

const call = (over: Partial<CallLogInput> = {}): CallLogInput => ({
  callKey: 'tenant-1:pbx-1:call-42:101',
  direction: 'inbound',
  from: '+14155550132',
  to: '+14155550100',
  startedAt: '2026-03-02T09:15:04.250Z',
  answeredAt: '2026-03-02T09:15:10.000Z',
  durationSec: 95,
  outcome: 'answered',
  subject: 'Inbound call from +1 415-555-0132',
  notes: 'Asked about the renewal.',
  contact: null,
  ownerId: null,
  ...over,
});

describe('Zoho adapter', () => {
  it('finds contacts and leads by phone whatever format the number was stored in', async () => {
    const ada = sim.addRecord('Contacts', { Full_Name: 'Ada Lovelace', Phone: '+1 (415) 555-0132', Account_Name: { id: '9', name: 'Analytical Ltd' } });
    const bob = sim.addRecord('Contacts', { First_Name: 'Bob', Last_Name: 'Byte', Mobile: '415.555.0132' });
    const lead = sim.addRecord('Leads', { Full_Name: 'Lee Lead', Phone: '415 555 0132', Company: 'Prospects Inc' });
    sim.addRecord('Contacts', { Full_Name: 'Someone Else', Phone: '+1 415 555 0199' });

    const found = await zoho.findContactsByPhone('+14155550132');

    expect(found.map((c) => [c.id, c.kind, c.name, c.company])).toEqual([
      [ada.id, 'Contacts', 'Ada Lovelace', 'Analytical Ltd'],
      [bob.id, 'Contacts', 'Bob Byte', null],
      [lead.id, 'Leads', 'Lee Lead', 'Prospects Inc'],
    ]);
    expect(found[1]!.url).toBe(`${sim.url}/crm/tab/Contacts/${bob.id}`);
    expect(found[1]!.phones).toEqual(['415.555.0132']);
  });

  it('zoho lookup returns contacts stored in national and E.164 formats, across Contacts and Leads', async () => {
    // One Sydney caller, stored four ways across both modules; one contact holds two of the forms.
    const intl = sim.addRecord('Contacts', { Full_Name: 'Ivy Intl', Phone: '+61 2 9876 5432' });
    const national = sim.addRecord('Contacts', { Full_Name: 'Nat National', Phone: '(02) 9876 5432' });
    const both = sim.addRecord('Contacts', { Full_Name: 'Bea Both', Phone: '+61298765432', Mobile: '02 9876 5432' });
    const lead = sim.addRecord('Leads', { Full_Name: 'Lou Lead', Mobile: '(02) 9876 5432' });
    const leadIntl = sim.addRecord('Leads', { Full_Name: 'Lia Lead', Phone: '+61 2 9876 5432' });
    sim.addRecord('Contacts', { Full_Name: 'Not Me', Phone: '(02) 9876 5433' });

    const found = await zoho.findContactsByPhone('+61298765432');

    expect(found.map((c) => c.id).sort()).toEqual([intl.id, national.id, both.id, lead.id, leadIntl.id].sort());
    expect(found.filter((c) => c.id === both.id)).toHaveLength(1);
    expect(found.find((c) => c.id === lead.id)!.kind).toBe('Leads');
  });

  it('logs a call with Zoho fields, linked to the contact and owned by the agent', async () => {
    const ada = sim.addRecord('Contacts', { Full_Name: 'Ada Lovelace', Phone: '+14155550132' });
    const record = await zoho.logCall(call({ contact: { id: ada.id, kind: 'Contacts' }, ownerId: '5000000000001' }));

    const stored = sim.records.Calls.find((c) => c.id === record.id)!;
    expect(stored).toMatchObject({
      Call_Type: 'Inbound',
      Call_Duration: '01:35',
      Call_Start_Time: '2026-03-02T09:15:04+00:00',
      Who_Id: { id: ada.id },
      Owner: { id: '5000000000001' },
      Ringbridge_Call_Key: callKeyTag('tenant-1:pbx-1:call-42:101'),
    });
    expect(stored.Description).toContain('Asked about the renewal.');
    expect(record.url).toBe(`${sim.url}/crm/tab/Calls/${record.id}`);
  });

  it('logs a missed call to a lead as Missed, without a duration', async () => {
    const lead = sim.addRecord('Leads', { Full_Name: 'Lee Lead', Phone: '+14155550132' });
    const record = await zoho.logCall(call({ outcome: 'missed', durationSec: 0, answeredAt: null, contact: { id: lead.id, kind: 'Leads' } }));
    const stored = sim.records.Calls.find((c) => c.id === record.id)!;
    expect(stored).toMatchObject({ Call_Type: 'Missed', What_Id: { id: lead.id }, $se_module: 'Leads' });
    expect(stored.Call_Duration).toBeUndefined();
  });

  it('an agent whose CRM user is an e-mail logs calls owned by the resolved user id', async () => {
    // More users than one page holds: the agent is on the second page of active users.
    for (let i = 0; i < 200; i++) sim.addUser({ email: `user${i}@acme.com`, name: `User ${i}` });
    sim.addUser({ email: 'jane@acme.com', name: 'Jane Gone', active: false });
    const jane = sim.addUser({ email: 'Jane@Acme.com', name: 'Jane Doe' });
    const ada = sim.addRecord('Contacts', { Full_Name: 'Ada Lovelace', Phone: '+14155550132' });
    const missed = call({ outcome: 'missed', durationSec: 0, answeredAt: null, contact: { id: ada.id, kind: 'Contacts' }, ownerId: 'jane@acme.com' });
    const record = await zoho.logCall(missed);
    await zoho.updateCall(record.id, missed);
    await zoho.logCall(call({ callKey: 'tenant-1:pbx-1:call-43:101', ownerId: 'JANE@acme.com' }));
    await zoho.createFollowUpTask!(record, { callKey: missed.callKey, contact: missed.contact, ownerId: 'jane@acme.com', subject: 'Call back Ada', dueAt: '2026-03-02T10:15:20.000Z' });
    expect([...sim.records.Calls, ...sim.records.Tasks].map((r) => (r.Owner as { id: string }).id)).toEqual([jane.id, jane.id, jane.id]);
    expect(await zoho.resolveOwner('jane@acme.com')).toEqual({ id: jane.id });
    expect(sim.requestsTo('GET', '/crm/v8/users')).toHaveLength(2); // two pages, once: then cached
  });

  it('logs the call without an owner, and says why in it, when no active Zoho user has the agent\'s e-mail or the CRM user is neither id nor e-mail', async () => {
    const unknown = await zoho.logCall(call({ ownerId: 'nobody@acme.com' }));
    const odd = await zoho.logCall(call({ callKey: 'tenant-1:pbx-1:call-43:101', ownerId: 'crm-user-1' }));
    for (const [record, why] of [[unknown, 'no active Zoho user has the e-mail nobody@acme.com'], [odd, 'neither a user id nor an e-mail']] as const) {
      const stored = sim.records.Calls.find((c) => c.id === record.id)!;
      expect(stored.Owner).toMatchObject({ id: '5000000000001' }); // Zoho's default: the signed-in user
      expect(stored.Description).toContain('Asked about the renewal.');
      expect(stored.Description).toContain(why);
    }
  });

  it('creates one follow-up Task for a missed call, on the lead, even when the create answer is lost', async () => {
    const lead = sim.addRecord('Leads', { Full_Name: 'Lee Lead', Phone: '+14155550132' });
    const missed = call({ outcome: 'missed', durationSec: 0, answeredAt: null, contact: { id: lead.id, kind: 'Leads' } });
    const record = await zoho.logCall(missed);
    const task = { callKey: missed.callKey, contact: missed.contact, ownerId: '5000000000001', subject: 'Call back Lee Lead (+14155550132)', dueAt: '2026-03-02T10:15:20.000Z' };
    sim.faults.next({ match: { method: 'POST', path: '/crm/v8/Tasks' }, timeoutAfterApply: true, mode: 'close' });
    // Resent at once: the unique key field answers DUPLICATE_DATA, which means it is there.
    await zoho.createFollowUpTask!(record, task);
    await zoho.createFollowUpTask!(record, task);
    expect(sim.records.Tasks).toHaveLength(1);
    expect(sim.requestsTo('POST', '/crm/v8/Tasks')).toHaveLength(2);
    expect(sim.records.Tasks[0]).toMatchObject({
      Subject: 'Call back Lee Lead (+14155550132)',
      Due_Date: '2026-03-02',
      Status: 'Not Started',
      What_Id: { id: lead.id },
      $se_module: 'Leads',
      Owner: { id: '5000000000001' },
      Ringbridge_Call_Key: callKeyTag(missed.callKey),
      Description: expect.stringContaining(record.id),
    });
    // A search index lagging behind the insert: the unique key field's DUPLICATE_DATA still means done.
    sim.faults.next({ match: { method: 'GET', path: '/crm/v8/Tasks/search' }, status: 200, body: { data: [], info: { count: 0, more_records: false } } });
    await zoho.createFollowUpTask!(record, task);
    expect(sim.records.Tasks).toHaveLength(1);
  });

  it('logs a call once when the response to the create is lost after Zoho applied it', async () => {
    sim.faults.next({ match: { method: 'POST', path: '/crm/v8/Calls' }, timeoutAfterApply: true, mode: 'close' });
    // Resent at once: the unique key field answers DUPLICATE_DATA naming the first record.
    const first = await zoho.logCall(call());
    expect(sim.records.Calls).toHaveLength(1);

    const retried = await zoho.logCall(call());
    expect([first.id, retried.id]).toEqual([sim.records.Calls[0]!.id, sim.records.Calls[0]!.id]);
    expect(sim.records.Calls).toHaveLength(1);
    expect(sim.requestsTo('POST', '/crm/v8/Calls')).toHaveLength(2);
  });

  it('takes the existing record when the unique key field reports DUPLICATE_DATA (search not yet indexed)', async () => {
    const first = await zoho.logCall(call());
    // The search index lags: the next search for the key answers with nothing.
    sim.faults.next({ match: { method: 'GET', path: '/crm/v8/Calls/search' }, status: 200, body: { data: [], info: { count: 0, more_records: false } } });
    const again = await zoho.logCall(call());
    expect(again.id).toBe(first.id);
    expect(sim.records.Calls).toHaveLength(1);
  });

  it('updates the call record in place', async () => {
    const record = await zoho.logCall(call({ outcome: 'answered', durationSec: 10 }));
    await zoho.updateCall(record.id, call({ durationSec: 4530, notes: 'Long call.' }));
    expect(sim.records.Calls).toHaveLength(1);
    expect(sim.records.Calls[0]).toMatchObject({ Call_Duration: '75:30' });
    expect(sim.records.Calls[0]!.Description).toContain('Long call.');
  });

  it('zoho search with no match: 204 handled as no contact', async () => {
    sim.addRecord('Contacts', { Full_Name: 'Someone Else', Phone: '+1 415 555 0199' });
    expect(await zoho.findContactsByPhone('+14155550132')).toEqual([]);
    const searches = sim.requestsTo('GET', /\/search$/);
    expect(searches.length).toBeGreaterThan(0);
    expect(searches.map((r) => r.status)).toEqual(searches.map(() => 204));
    // The call key search answers 204 too: the call is created, once.
    await zoho.logCall(call());
    expect(sim.requestsTo('GET', '/crm/v8/Calls/search')[0]!.status).toBe(204);
    expect(sim.records.Calls).toHaveLength(1);
  });

  it('zoho delta sync with nothing changed: 304 Not Modified is an empty pass', async () => {
    sim.addRecord('Contacts', { Full_Name: 'Ada', Phone: '+14155550132' }, '2026-01-01T00:00:00+00:00');
    const { cursor } = await syncAllContacts(zoho);
    const delta = await zoho.syncContacts(cursor);
    expect(sim.requestsTo('GET', '/crm/v8/Contacts').at(-1)!.status).toBe(304);
    expect([delta.contacts, delta.hasMore]).toEqual([[], false]);
    expect(delta.cursor).toEqual(cursor);
  });

  it('uploads the recording and attaches it once, also when the upload answer is lost', async () => {
    const record = await zoho.logCall(call());
    const file = { fileName: 'call-42.wav', contentType: 'audio/wav', data: new Uint8Array([82, 73, 70, 70, 1, 2, 3]) };
    sim.faults.next({ match: { method: 'POST', path: /Attachments$/ }, timeoutAfterApply: true, mode: 'close' });
    expect((await rejection(zoho.attachRecording(record, file, 'k'))).kind).toBe('transient');

    await zoho.attachRecording(record, file, 'k');
    await zoho.attachRecording(record, file, 'k');

    const stored = sim.attachments.get(record.id)!;
    expect(stored.map((a) => [a.fileName, [...a.data]])).toEqual([['call-42.wav', [82, 73, 70, 70, 1, 2, 3]]]);
    expect(sim.requestsTo('POST', `/crm/v8/Calls/${record.id}/Attachments`)).toHaveLength(1);
    // Every listing names the fields it reads (mandatory on Zoho's get-attachments page).
    const listings = sim.requestsTo('GET', `/crm/v8/Calls/${record.id}/Attachments`);
    expect(listings.map((r) => String(r.query.fields).split(','))).toEqual(listings.map(() => ['id', 'File_Name']));
  });

  it('maps a 429 with a Retry-After too long to wait in the request to rate_limited with the delay', async () => {
    sim.faults.next({ status: 429, retryAfterSec: 30 });
    const err = await rejection(zoho.findContactsByPhone('+14155550132'));
    expect(err).toMatchObject({ kind: 'rate_limited', retryAfterMs: 30_000 });
    expect(err.message).toContain('TOO_MANY_REQUESTS');
  });

  it('maps 5xx to transient', async () => {
    sim.faults.outage({ status: 503 });
    expect((await rejection(zoho.logCall(call()))).kind).toBe('transient');
    sim.faults.restore();
    expect(sim.records.Calls).toHaveLength(0);
  });

  it('refreshes an expired token once and carries on', async () => {
    sim.faults.expireTokens();
    await zoho.logCall(call());
    expect(session.refreshCount).toBe(1);
    expect(sim.records.Calls).toHaveLength(1);
  });

  it('turns a revoked grant into one auth error', async () => {
    sim.faults.revokeGrant();
    const err = await rejection(zoho.logCall(call()));
    expect(err.kind).toBe('auth');
    expect(session.refreshCount).toBe(1);
  });

  it('rejects a record Zoho refuses, with Zoho’s message and field', async () => {
    const err = await rejection(zoho.logCall(call({ contact: { id: '999', kind: 'Contacts' } })));
    expect(err.kind).toBe('rejected');
    expect(err.message).toBe('Please check whether the input values are correct (INVALID_DATA) [Who_Id]');
    expect(sim.records.Calls).toHaveLength(0);
  });

  it('syncs contacts page by page, then only what changed since', async () => {
    for (let i = 0; i < 450; i++) {
      sim.addRecord('Contacts', { Full_Name: `Person ${i}`, Phone: `+1415555${String(1000 + i)}` }, new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString());
    }
    const { ids, pages, cursor } = await syncAllContacts(zoho);
    expect(pages).toBe(3);
    expect(new Set(ids).size).toBe(450);

    const changed = sim.records.Contacts[7]!;
    Object.assign(changed, { Full_Name: 'Renamed', Modified_Time: '2026-02-01T00:00:00+00:00' });
    const delta = await zoho.syncContacts(cursor);
    expect(delta.contacts.map((c) => c.name)).toEqual(['Renamed']);
    expect(delta.hasMore).toBe(false);
    expect(sim.requestsTo('GET', '/crm/v8/Contacts').at(-1)!.query).toMatchObject({ sort_by: 'Modified_Time' });
  });
});

describe('Zoho data centres', () => {
  it('sends every call to the api_domain of the token’s DC, not the default host', async () => {
    const eu = await startZohoSimulator({ location: 'eu' });
    try {
      const euSession = simSession(eu, { api_domain: eu.url, location: 'eu' });
      const adapter = zohoProvider.create(euSession, { origin: sim.url }); // origin = the US/default host
      eu.addRecord('Contacts', { Full_Name: 'Émile Européen', Phone: '+33 1 42 68 53 00' });
      const found = await adapter.findContactsByPhone('+33142685300');
      expect(found.map((c) => c.name)).toEqual(['Émile Européen']);
      expect(eu.requests.length).toBeGreaterThan(0);
      expect(sim.requests).toHaveLength(0);
      eu.assertNoSpecViolations();
    } finally {
      await eu.close();
    }
  });

  it('puts location and accounts-server on the redirect and api_domain in the token response', async () => {
    const eu = await startZohoSimulator({ location: 'eu' });
    try {
      const oauth = zohoProvider.oauth(eu.url);
      const verifier = 'v'.repeat(50);
      const { s256 } = await import('../../../sim/crm/common/index.js');
      const authorize = new URL(oauth.authorizeUrl);
      const redirectUri = 'http://127.0.0.1:53123/callback';
      Object.entries({ client_id: eu.oauth.clientId, redirect_uri: redirectUri, response_type: 'code', scope: oauth.scopes.join(','), code_challenge: s256(verifier), code_challenge_method: 'S256', state: 's1' }).forEach(([k, v]) => authorize.searchParams.set(k, v));
      const res = await fetch(authorize, { redirect: 'manual' });
      const back = new URL(res.headers.get('location')!);
      expect(back.searchParams.get('location')).toBe('eu');
      const accounts = back.searchParams.get('accounts-server')!;
      const token = await fetch(`${accounts}/oauth/v2/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'authorization_code', client_id: eu.oauth.clientId, code: back.searchParams.get('code')!, redirect_uri: redirectUri, code_verifier: verifier }),
      }).then((r) => r.json() as Promise<Record<string, unknown>>);
      expect(token.api_domain).toBe(eu.url);
    } finally {
      await eu.close();
    }
  });
});
