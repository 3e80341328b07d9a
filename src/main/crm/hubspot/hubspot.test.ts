import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OpenApiValidator, simSession, type SimSession } from '../../../sim/crm/common/index.js';
import { closeCheckedSim, crmRejection as rejection, syncAllContacts } from '../../../../test/support/crm-adapter.js';
import { HUBSPOT_OPENAPI_FILES, HUBSPOT_SIM_PORTAL_ID, hubspotRateLimitFault, startHubSpotSim, type HubSpotSim } from '../../../sim/crm/hubspot/index.js';
import type { CallLogInput, CrmAdapter } from '../port.js';
import { CALL_KEY_PROPERTY, hubspotProvider } from './index.js';

let sim: HubSpotSim;
let session: SimSession;
let crm: CrmAdapter;

beforeEach(async () => {
  sim = await startHubSpotSim();
  sim.addOwner({ id: '77', email: 'ann@acme.example' });
  session = simSession(sim, { portalId: HUBSPOT_SIM_PORTAL_ID });
  crm = hubspotProvider.create(session, { origin: sim.url });
});
afterEach(() => closeCheckedSim(sim));

const call = (over: Partial<CallLogInput> = {}): CallLogInput => ({
  callKey: 'acme:pbx1:call-77:101',
  direction: 'inbound',
  from: '+14155550123',
  to: '+14155550999',
  startedAt: '2026-03-01T10:00:00.000Z',
  answeredAt: '2026-03-01T10:00:05.000Z',
  durationSec: 95,
  outcome: 'answered',
  subject: 'Inbound call from +1 415-555-0123',
  notes: 'asked about invoice',
  contact: null,
  ownerId: '77',
  ...over,
});

describe('HubSpot adapter against the simulator', () => {
  it('finds contacts whose numbers are stored formatted, and ignores other numbers', async () => {
    const ada = sim.addContact({ firstname: 'Ada', lastname: 'Lovelace', phone: '(415) 555-0123', hubspot_owner_id: '77' });
    const bob = sim.addContact({ firstname: 'Bob', mobilephone: '+1 415 555 0123' });
    sim.addContact({ firstname: 'Other', phone: '(415) 555-0124' });
    const found = await crm.findContactsByPhone('+14155550123');
    expect(found.map((c) => c.id).sort()).toEqual([ada, bob].sort());
    const adaContact = found.find((c) => c.id === ada)!;
    expect(adaContact).toMatchObject({ name: 'Ada Lovelace', ownerId: '77', phones: ['(415) 555-0123'] });
    expect(adaContact.url).toBe(`${sim.url}/contacts/${HUBSPOT_SIM_PORTAL_ID}/record/0-1/${ada}`);
  });

  it('logs a call with HubSpot properties and the contact association', async () => {
    const contact = sim.addContact({ firstname: 'Ada', phone: '+14155550123' });
    const record = await crm.logCall(call({ contact: { id: contact, kind: 'contact' } }));
    const stored = sim.calls.get(record.id)!;
    expect(stored.properties).toMatchObject({
      hs_timestamp: '2026-03-01T10:00:00.000Z',
      hs_call_direction: 'INBOUND',
      hs_call_duration: '95000',
      hs_call_status: 'COMPLETED',
      hs_call_from_number: '+14155550123',
      hubspot_owner_id: '77',
      [CALL_KEY_PROPERTY]: 'acme:pbx1:call-77:101',
    });
    expect(stored.associations).toEqual([{ toId: contact, typeId: 194 }]);
    await crm.updateCall(record.id, call({ outcome: 'missed', durationSec: 0 }));
    expect(sim.calls.get(record.id)!.properties.hs_call_status).toBe('MISSED');
  });

  it('gives "Open in CRM" the contact record page the call sits on, also for a retried log, and none without a contact', async () => {
    const contact = sim.addContact({ firstname: 'Ada', phone: '+14155550123' });
    const contactPage = `${sim.url}/contacts/${HUBSPOT_SIM_PORTAL_ID}/record/0-1/${contact}`;
    const record = await crm.logCall(call({ contact: { id: contact, kind: 'contact' } }));
    expect(record.url).toBe(contactPage);
    expect((await crm.logCall(call({ contact: { id: contact, kind: 'contact' } }))).url).toBe(contactPage);
    expect((await crm.updateCall(record.id, call({ contact: { id: contact, kind: 'contact' } }))).url).toBe(contactPage);
    expect((await crm.logCall(call({ callKey: 'acme:pbx1:call-78:101' }))).url).toBeNull();
  });

  it('logs an outbound call nobody picked up as NO_ANSWER, not MISSED', async () => {
    const record = await crm.logCall(call({ direction: 'outbound', from: '101', to: '+14155550123', answeredAt: null, durationSec: 0, outcome: 'no_answer' }));
    expect(sim.calls.get(record.id)!.properties).toMatchObject({ hs_call_direction: 'OUTBOUND', hs_call_status: 'NO_ANSWER', hs_call_duration: '0' });
  });

  it('creates one call-back task for a missed call, linked to the call and the contact, even when the create answer is lost', async () => {
    const contact = sim.addContact({ firstname: 'Ada', phone: '+14155550123' });
    const missed = call({ contact: { id: contact, kind: 'contact' }, outcome: 'missed', answeredAt: null, durationSec: 0 });
    const record = await crm.logCall(missed);
    const task = { callKey: missed.callKey, contact: missed.contact, ownerId: '77', subject: 'Call back Ada (+14155550123)', dueAt: '2026-03-01T11:00:20.000Z' };
    sim.faults.next({ match: { method: 'POST', path: '/crm/v3/objects/tasks' }, timeoutAfterApply: true, mode: 'close' });
    // The create is resent at once; the unique call key refuses it (409) and search finds the first.
    await crm.createFollowUpTask!(record, task);
    await crm.createFollowUpTask!(record, task);
    expect(sim.requestsTo('POST', '/crm/v3/objects/tasks').map((r) => r.status)).toEqual([null, 409]);
    const [stored] = [...sim.tasks.values()];
    expect(sim.tasks.size).toBe(1);
    expect(stored!.properties).toMatchObject({
      hs_timestamp: '2026-03-01T11:00:20.000Z',
      hs_task_subject: 'Call back Ada (+14155550123)',
      hs_task_status: 'NOT_STARTED',
      hs_task_type: 'CALL',
      hubspot_owner_id: '77',
      [CALL_KEY_PROPERTY]: missed.callKey,
    });
    expect(stored!.associations.map((a) => [a.toType, a.toId]).sort()).toEqual([['calls', record.id], ['contacts', contact]]);
  });

  it('creates exactly one call when the first response is lost after HubSpot applied the write', async () => {
    sim.faults.next({ match: { method: 'POST', path: '/crm/v3/objects/calls' }, timeoutAfterApply: true, mode: 'close' });
    // Resent at once: the unique call key refuses the second create and search finds the first.
    const first = await crm.logCall(call());
    expect(sim.calls.size).toBe(1);
    const retried = await crm.logCall(call());
    expect(sim.calls.size).toBe(1);
    expect([first.id, retried.id]).toEqual([[...sim.calls.keys()][0], [...sim.calls.keys()][0]]);
  });

  it('never creates a second call while search lags behind a create whose answer was lost', async () => {
    sim.searchLagMs = 60_000; // the first call stays invisible to search
    sim.faults.next({ match: { method: 'POST', path: '/crm/v3/objects/calls' }, timeoutAfterApply: true, mode: 'close' });
    expect((await rejection(crm.logCall(call()))).kind).toBe('transient');
    // The retry's search misses the call; the unique call key makes HubSpot refuse a second one.
    const refused = await rejection(crm.logCall(call()));
    expect([refused.kind, refused.status]).toEqual(['transient', 409]);
    expect(sim.calls.size).toBe(1);
    sim.searchLagMs = 0; // the index catches up
    const retried = await crm.logCall(call());
    expect(retried.id).toBe([...sim.calls.keys()][0]);
    expect(sim.calls.size).toBe(1);
  });

  it('surfaces a long Retry-After as rate_limited, and waits out HubSpot\'s window when there is none', async () => {
    sim.faults.next(hubspotRateLimitFault());
    await crm.findContactsByPhone('+14155550123');
    expect(sim.requestsTo('POST', '/crm/v3/objects/contacts/search').map((r) => r.status)).toEqual([429, 200]);
    sim.faults.next(hubspotRateLimitFault(30));
    const limited = await rejection(crm.findContactsByPhone('+14155550123'));
    expect([limited.kind, limited.retryAfterMs]).toEqual(['rate_limited', 30_000]);
  });

  it('treats 5xx as transient and writes nothing', async () => {
    sim.faults.outage({ status: 502 });
    expect((await rejection(crm.logCall(call()))).kind).toBe('transient');
    sim.faults.restore();
    expect(sim.calls.size).toBe(0);
  });

  it('refreshes an expired token transparently, and turns a revoked grant into auth', async () => {
    sim.faults.expireTokens();
    await crm.logCall(call());
    expect(session.refreshCount).toBe(1);
    sim.faults.expireTokens();
    sim.faults.revokeGrant();
    expect((await rejection(crm.logCall(call({ callKey: 'other' })))).kind).toBe('auth');
  });

  it('carries HubSpot\'s message on a rejected write', async () => {
    const err = await rejection(crm.logCall(call({ contact: { id: '999999', kind: 'contact' } })));
    expect(err.kind).toBe('rejected');
    expect(err.status).toBe(400);
    expect(err.message).toContain('Could not find contact with id 999999');
  });

  it('uploads the recording once and attaches it once, even when the attach response is lost', async () => {
    const record = await crm.logCall(call());
    const file = { fileName: 'call-77.mp3', contentType: 'audio/mpeg', data: new Uint8Array([1, 2, 3, 4]) };
    sim.faults.next({ match: { method: 'PATCH' }, timeoutAfterApply: true, mode: 'close' });
    await crm.attachRecording(record, file, call().callKey); // the PATCH is resent
    await crm.attachRecording(record, file, call().callKey);
    expect(sim.requestsTo('PATCH', `/crm/v3/objects/calls/${record.id}`).length).toBeGreaterThanOrEqual(2);
    expect(sim.files.size).toBe(1);
    const [stored] = [...sim.files.values()];
    expect(stored!.data).toEqual(Buffer.from([1, 2, 3, 4]));
    expect(sim.calls.get(record.id)!.properties.hs_attachment_ids).toBe(stored!.id);
    expect(sim.requestsTo('POST', '/files/v3/files')).toHaveLength(1);
  });

  it('attaching the recording keeps the files people attached to the call: read through search, or by id while search does not show the call yet', async () => {
    const theirs = (id: string) => sim.files.set(id, { id, name: `contract-${id}`, extension: 'pdf', path: '/', data: Buffer.from('pdf'), contentType: 'application/pdf' });
    const recording = { fileName: 'call-77.mp3', contentType: 'audio/mpeg', data: new Uint8Array([1, 2, 3]) };
    const wireSince = (before: number) => sim.requests.slice(before).map((r) => `${r.method} ${r.path}`).sort();

    const indexed = await crm.logCall(call());
    theirs('700001');
    sim.calls.get(indexed.id)!.properties.hs_attachment_ids = '700001'; // attached by hand in HubSpot
    let before = sim.requests.length;
    await crm.attachRecording(indexed, recording, call().callKey);
    const ours = [...sim.files.keys()].find((id) => id !== '700001')!;
    expect(sim.calls.get(indexed.id)!.properties.hs_attachment_ids).toBe(`700001;${ours}`);
    // The read is a search (exempt from HubSpot's 10 s window), not a GET. (No step memo: the upload
    // first looks for a copy an earlier attempt may have left.)
    expect(wireSince(before)).toEqual(['GET /files/v3/files/search', `PATCH /crm/v3/objects/calls/${indexed.id}`, 'POST /crm/v3/objects/calls/search', 'POST /files/v3/files'].sort());

    sim.searchLagMs = 60_000; // a call search does not show yet
    const fresh = await crm.logCall(call({ callKey: 'acme:pbx1:call-78:101' }));
    theirs('700002');
    sim.calls.get(fresh.id)!.properties.hs_attachment_ids = '700002';
    before = sim.requests.length;
    await crm.attachRecording(fresh, recording, 'acme:pbx1:call-78:101');
    expect(sim.calls.get(fresh.id)!.properties.hs_attachment_ids).toMatch(/^700002;\d+$/);
    expect(wireSince(before)).toContain(`GET /crm/v3/objects/calls/${fresh.id}`);
  });

  it('re-uses an uploaded file when the upload response was lost', async () => {
    const record = await crm.logCall(call());
    const file = { fileName: 'call-77.wav', contentType: 'audio/wav', data: new Uint8Array(2048) };
    sim.faults.next({ match: { method: 'POST', path: '/files/v3/files' }, timeoutAfterApply: true, mode: 'close' });
    await rejection(crm.attachRecording(record, file, call().callKey));
    await crm.attachRecording(record, file, call().callKey);
    expect(sim.files.size).toBe(1);
    expect(sim.calls.get(record.id)!.properties.hs_attachment_ids).toBe([...sim.files.keys()][0]);
  });

  it('syncs contacts in pages and then only what changed since', async () => {
    for (let i = 0; i < 250; i++) {
      sim.addContact({ firstname: `C${i}`, phone: `+1415555${String(1000 + i)}`, lastmodifieddate: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() });
    }
    const { ids, pages, cursor } = await syncAllContacts(crm);
    expect([new Set(ids).size, pages]).toEqual([250, 3]);
    const changed = sim.addContact({ firstname: 'New', phone: '+14155559999', lastmodifieddate: '2026-02-01T00:00:00.000Z' });
    const delta = await crm.syncContacts(cursor);
    expect(delta.contacts.map((c) => c.id)).toContain(changed);
    expect(delta.contacts.length).toBeLessThanOrEqual(2); // the new one, plus the boundary record re-delivered
  });

  it('an agent whose CRM user is an e-mail logs calls owned by the resolved numeric owner id', async () => {
    const jane = sim.addOwner({ email: 'jane@acme.com', firstName: 'Jane' });
    const contact = sim.addContact({ firstname: 'Ada', phone: '+14155550123' });
    const missed = call({ contact: { id: contact, kind: 'contact' }, ownerId: 'Jane@Acme.com', outcome: 'missed', answeredAt: null, durationSec: 0 });
    const record = await crm.logCall(missed);
    await crm.updateCall(record.id, missed);
    await crm.logCall(call({ callKey: 'acme:pbx1:call-78:101', ownerId: 'jane@acme.com' }));
    await crm.createFollowUpTask!(record, { callKey: missed.callKey, contact: missed.contact, ownerId: 'jane@acme.com', subject: 'Call back Ada', dueAt: '2026-03-01T11:00:20.000Z' });
    expect([...sim.calls.values()].map((c) => c.properties.hubspot_owner_id)).toEqual([jane, jane]);
    expect([...sim.tasks.values()].map((t) => t.properties.hubspot_owner_id)).toEqual([jane]);
    expect(sim.requestsTo('GET', '/crm/v3/owners')).toHaveLength(1); // resolved once, then cached
  });

  it('logs the call without an owner, and says why in it, when no HubSpot user has the agent\'s e-mail or the CRM user is neither id nor e-mail', async () => {
    const unknown = await crm.logCall(call({ ownerId: 'nobody@acme.com' }));
    const odd = await crm.logCall(call({ callKey: 'acme:pbx1:call-78:101', ownerId: 'crm-user-1' }));
    for (const [record, why] of [[unknown, 'no active HubSpot user has the e-mail nobody@acme.com'], [odd, 'neither an owner id nor an e-mail']] as const) {
      const stored = sim.calls.get(record.id)!.properties;
      expect(stored.hubspot_owner_id).toBeUndefined();
      expect(stored.hs_call_body).toContain('asked about invoice');
      expect(stored.hs_call_body).toContain(why);
    }
    expect(sim.requestsTo('GET', '/crm/v3/owners')).toHaveLength(1); // only the e-mail is looked up
  });

  it('still logs the call, without an owner and saying why, when HubSpot refuses the owner lookup (a sign-in without the owners scope)', async () => {
    sim.addOwner({ email: 'jane@acme.com' });
    const missingScope = { status: 'error', message: 'This app hasn\'t been granted all required scopes to make this call.', correlationId: '4c6b7c0e-1b0a-4d4e-9a33-2f1a2b3c4d5e', category: 'MISSING_SCOPES' };
    sim.faults.next({ match: { method: 'GET', path: '/crm/v3/owners' }, status: 403, body: missingScope });
    const record = await crm.logCall(call({ ownerId: 'jane@acme.com' }));
    const stored = sim.calls.get(record.id)!.properties;
    expect(stored.hubspot_owner_id).toBeUndefined();
    expect(stored.hs_call_body).toContain('HubSpot refused to look up the owner jane@acme.com');
  });

  it('a re-pick moves only the contact and deal links the app wrote; links a colleague added by hand stay, also when the deal pick is cleared', async () => {
    const jane = sim.addContact({ firstname: 'Jane', phone: '+14155550123' });
    const bea = sim.addContact({ firstname: 'Bea', phone: '+14155550124' });
    const kim = sim.addContact({ firstname: 'Kim', phone: '+14155550125' });
    const renewal = sim.addDeal({ dealname: 'Renewal' }, [jane]);
    const upsell = sim.addDeal({ dealname: 'Upsell' }, [kim]);
    const first = call({ contact: { id: jane, kind: 'contact' }, deal: { id: renewal, kind: 'deal', name: 'Renewal' } });
    const record = await crm.logCall(first);
    // By hand in HubSpot: Kim and the Upsell deal added to the call.
    sim.calls.get(record.id)!.associations.push({ toId: kim, typeId: 194, toType: 'contacts' }, { toId: upsell, typeId: 206, toType: 'deals' });
    const links = () => ({ contacts: sim.callLinks(record.id, 'contacts').sort(), deals: sim.callLinks(record.id, 'deals').sort() });

    await crm.updateCall(record.id, call({ contact: { id: bea, kind: 'contact' }, deal: null }), { contactId: jane, dealId: renewal });
    expect(links()).toEqual({ contacts: [bea, kim].sort(), deals: [upsell] });
    // Written links unknown (a retried create): the pick is linked, nothing unlinked.
    await crm.updateCall(record.id, call({ contact: { id: jane, kind: 'contact' }, deal: null }));
    expect(links()).toEqual({ contacts: [bea, jane, kim].sort(), deals: [upsell] });
  });

  it('every request the HubSpot adapter sends matches an official HubSpot OpenAPI file', async () => {
    // The whole workflow: screen-pop lookup, log (owner by e-mail), update, recording, call-back task, sync.
    sim.addOwner({ email: 'jane@acme.com' });
    const contact = sim.addContact({ firstname: 'Ada', phone: '(415) 555-0123' });
    const [found] = await crm.findContactsByPhone('+14155550123');
    const missed = call({ contact: { id: found!.id, kind: 'contact' }, ownerId: 'jane@acme.com', outcome: 'missed', answeredAt: null, durationSec: 0 });
    const record = await crm.logCall(missed);
    await crm.updateCall(record.id, { ...missed, notes: 'left a voicemail' });
    sim.searchLagMs = 60_000; // search does not show the call yet: its attachments are read by id
    await crm.attachRecording(record, { fileName: 'call-77.mp3', contentType: 'audio/mpeg', data: new Uint8Array([1, 2, 3]) }, missed.callKey);
    sim.searchLagMs = 0;
    await crm.createFollowUpTask!(record, { callKey: missed.callKey, contact: missed.contact, ownerId: 'jane@acme.com', subject: 'Call back Ada', dueAt: '2026-03-01T11:00:20.000Z' });
    await syncAllContacts(crm);
    expect(found!.id).toBe(contact);
    // Log to a deal, re-pick another contact, create a new caller.
    const deal = sim.addDeal({ dealname: 'Renewal' }, [contact]);
    const [open] = await crm.findOpenDeals({ id: contact, kind: 'contact' });
    await crm.updateCall(record.id, { ...missed, deal: { id: open!.id, kind: 'deal', name: 'Renewal' } }, { contactId: contact, dealId: null });
    const other = await crm.createContact({ e164: '+14155550177', name: 'Bea New', ownerId: 'jane@acme.com' });
    await crm.updateCall(record.id, { ...missed, contact: { id: other.id, kind: 'contact' } }, { contactId: contact, dealId: open!.id });
    expect(sim.callLinks(record.id, 'contacts')).toEqual([other.id]);
    expect(open!.id).toBe(deal);

    // Strict simulator: every request and answer was checked against the vendored files (afterEach
    // asserts no violation); here, independently, each request names an operation of those files.
    const official = new OpenApiValidator(HUBSPOT_OPENAPI_FILES);
    const api = sim.requests.filter((r) => !r.path.startsWith('/oauth/'));
    expect(api.filter((r) => r.status !== null && r.status >= 400)).toEqual([]);
    const operations = new Set(api.map((r) => `${r.method} ${official.findOperation(r.method, r.path)?.template ?? `${r.path} (in no official file)`}`));
    expect([...operations].sort()).toEqual(
      [
        'GET /crm/v3/objects/calls/{callId}',
        'GET /crm/v3/owners',
        'GET /files/v3/files/search',
        'PATCH /crm/v3/objects/calls/{callId}',
        'DELETE /crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}',
        'GET /crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}',
        'POST /crm/v3/objects/0-3/batch/read',
        'POST /crm/v3/objects/contacts',
        'POST /crm/v3/objects/calls',
        'POST /crm/v3/objects/calls/search',
        'POST /crm/v3/objects/contacts/search',
        'POST /crm/v3/objects/tasks',
        'POST /crm/v3/objects/tasks/search',
        'POST /files/v3/files',
        'PUT /crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/default/{toObjectType}/{toObjectId}',
      ].sort(),
    );
  });
});
