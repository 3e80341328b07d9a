// The HighLevel adapter against the HighLevel simulator on loopback; every exchange is checked
// against apps/contacts.json and apps/conversations.json (plus the overlay in src/sim/crm/highlevel/spec.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { simSession, type SimSession } from '../../../sim/crm/common/index.js';
import { closeCheckedSim, crmRejection as rejection, syncAllContacts } from '../../../../test/support/crm-adapter.js';
import { startHighLevelSimulator, type HighLevelSimulator } from '../../../sim/crm/highlevel/index.js';
import type { CallLogInput, CrmAdapter } from '../port.js';
import { highLevelProvider } from './index.js';

let sim: HighLevelSimulator;
let session: SimSession;
let hl: CrmAdapter;

beforeEach(async () => {
  sim = await startHighLevelSimulator();
  session = simSession(sim, { locationId: sim.locationId, companyId: sim.companyId, conversationProviderId: sim.conversationProviderId });
  hl = highLevelProvider.create(session, { origin: sim.url });
});

afterEach(() => closeCheckedSim(sim));

const call = (over: Partial<CallLogInput> = {}): CallLogInput => ({
  callKey: 'tenant-1:pbx-1:call-7:101',
  direction: 'inbound',
  from: '+14155550132',
  to: '+14155550100',
  startedAt: '2026-03-02T09:15:04.250Z',
  answeredAt: '2026-03-02T09:15:10.000Z',
  durationSec: 95,
  outcome: 'answered',
  subject: 'Inbound call',
  notes: 'Wants a callback on Friday.',
  contact: null,
  ownerId: null,
  ...over,
});

const recording = { fileName: 'call-7.mp3', contentType: 'audio/mpeg', data: new Uint8Array([73, 68, 51, 4, 0]) };

describe('HighLevel adapter', () => {
  it('finds a contact by phone stored in another format, with the location’s record URL', async () => {
    const ada = sim.addContact({ firstName: 'Ada', lastName: 'Lovelace', companyName: 'Analytical Ltd', phone: '(415) 555-0132', assignedTo: 'user-9' });
    sim.addContact({ firstName: 'Other', phone: '+1 415 555 0199' });

    const found = await hl.findContactsByPhone('+14155550132');

    expect(found).toEqual([
      expect.objectContaining({ id: ada.id, name: 'Ada Lovelace', company: 'Analytical Ltd', ownerId: 'user-9', phones: ['(415) 555-0132'] }),
    ]);
    expect(found[0]!.url).toBe(`${sim.url}/v2/location/${sim.locationId}/contacts/detail/${ada.id}`);
    expect(await hl.findContactsByPhone('+14155550111')).toEqual([]);
    expect(sim.requestsTo('GET', '/contacts/search/duplicate')[0]!.query).toMatchObject({ locationId: sim.locationId, number: '+14155550132' });
  });

  it('logs an inbound call as a Call message of the provider, with a note carrying duration and notes', async () => {
    const ada = sim.addContact({ firstName: 'Ada', phone: '+14155550132' });
    const agent = sim.addUser({ name: 'Jane Doe', email: 'jane@acme.com' });
    const record = await hl.logCall(call({ contact: { id: ada.id, kind: 'contact' }, ownerId: agent.id }));

    expect(sim.messages).toEqual([
      expect.objectContaining({ id: record.id, contactId: ada.id, direction: 'inbound', callStatus: 'completed', dateAdded: '2026-03-02T09:15:04.250Z', body: 'Inbound call, answered, 1:35' }),
    ]);
    expect(sim.conversations).toEqual([{ id: sim.messages[0]!.conversationId, contactId: ada.id }]);
    expect(sim.notes).toHaveLength(1);
    expect(sim.notes[0]).toMatchObject({ contactId: ada.id, userId: agent.id });
    expect(sim.notes[0]!.body).toContain('Wants a callback on Friday.');
    expect(sim.notes[0]!.body).toContain(`message ${record.id}`);
  });

  it('logs an outbound unanswered call to a number with no contact by upserting the contact', async () => {
    const record = await hl.logCall(call({ direction: 'outbound', from: '+14155550100', to: '+14155550177', outcome: 'no_answer', durationSec: 0 }));
    expect(sim.contacts.map((c) => c.phone)).toEqual(['+14155550177']);
    expect(sim.messages).toEqual([expect.objectContaining({ id: record.id, direction: 'outbound', callStatus: 'no-answer' })]);
    expect(sim.notes[0]!.body).toMatch(/^Outbound call, not answered$/m);
  });

  it('creates one follow-up task for a missed call on the caller’s contact (upserted when unknown), even when the create answer is lost', async () => {
    const missed = call({ outcome: 'missed', durationSec: 0, answeredAt: null });
    const record = await hl.logCall(missed); // no contact known: the number's contact is upserted
    const contactId = sim.messages.find((m) => m.id === record.id)!.contactId;
    const task = { callKey: missed.callKey, contact: null, ownerId: sim.users[0]!.id, subject: 'Call back +14155550132', dueAt: '2026-03-02T10:15:20.000Z' };
    sim.faults.next({ match: { method: 'POST', path: `/contacts/${contactId}/tasks` }, timeoutAfterApply: true, mode: 'close' });
    expect((await rejection(hl.createFollowUpTask!(record, task))).kind).toBe('transient');
    await hl.createFollowUpTask!(record, task);
    await hl.createFollowUpTask!(record, task);
    expect(sim.tasks).toHaveLength(1);
    expect(sim.requestsTo('POST', `/contacts/${contactId}/tasks`)).toHaveLength(1);
    expect(sim.tasks[0]).toMatchObject({ contactId, title: 'Call back +14155550132', dueDate: '2026-03-02T10:15:20.000Z', completed: false, assignedTo: sim.users[0]!.id });
  });

  it('an agent whose CRM user is an e-mail logs calls owned by the resolved user id', async () => {
    sim.addUser({ name: 'Jane Left', email: 'jane@acme.com', deleted: true });
    for (let i = 0; i < 30; i++) sim.addUser({ name: `Mary ${i}`, email: `mary.jane@acme.com.x${i}` }); // the search matches these too
    const jane = sim.addUser({ name: 'Jane Doe', email: 'Jane@Acme.com' });
    const ada = sim.addContact({ firstName: 'Ada', phone: '+14155550132' });
    const missed = call({ outcome: 'missed', durationSec: 0, answeredAt: null, contact: { id: ada.id, kind: 'contact' }, ownerId: 'jane@acme.com' });
    const record = await hl.logCall(missed);
    await hl.updateCall(record.id, missed);
    await hl.createFollowUpTask!(record, { callKey: missed.callKey, contact: missed.contact, ownerId: 'JANE@acme.com', subject: 'Call back Ada', dueAt: '2026-03-02T10:15:20.000Z' });
    expect(sim.notes.map((n) => n.userId)).toEqual([jane.id]);
    expect(sim.tasks.map((t) => t.assignedTo)).toEqual([jane.id]);
    expect(await hl.resolveOwner('jane@acme.com')).toEqual({ id: jane.id });
    const searches = sim.requestsTo('GET', '/users/search');
    expect(searches).toHaveLength(2); // two pages, once: then cached
    expect(searches[0]!.query).toMatchObject({ companyId: sim.companyId, locationId: sim.locationId, query: 'jane@acme.com' });
  });

  it('logs the call without an owner, and says why in it, when no HighLevel user has the agent\'s e-mail or the CRM user is neither id nor e-mail', async () => {
    const ada = sim.addContact({ firstName: 'Ada', phone: '+14155550132' });
    await hl.logCall(call({ contact: { id: ada.id, kind: 'contact' }, ownerId: 'nobody@acme.com' }));
    await hl.logCall(call({ callKey: 'tenant-1:pbx-1:call-8:101', startedAt: '2026-03-02T10:15:04.250Z', contact: { id: ada.id, kind: 'contact' }, ownerId: 'crm-user-1' }));
    expect(sim.notes).toHaveLength(2);
    for (const [note, why] of sim.notes.map((n, i) => [n, ['no active HighLevel user has the e-mail nobody@acme.com', 'neither a user id nor an e-mail'][i]!] as const)) {
      expect(note.userId).toBeUndefined();
      expect(note.body).toContain('Wants a callback on Friday.');
      expect(note.body).toContain(why);
    }
  });

  it('logs a call once when the message answer is lost after HighLevel stored it', async () => {
    const ada = sim.addContact({ firstName: 'Ada', phone: '+14155550132' });
    const input = call({ contact: { id: ada.id, kind: 'contact' } });
    sim.faults.next({ match: { method: 'POST', path: '/conversations/messages/inbound' }, timeoutAfterApply: true, mode: 'close' });
    expect((await rejection(hl.logCall(input))).kind).toBe('transient');
    expect(sim.messages).toHaveLength(1);

    const retried = await hl.logCall(input);
    const again = await hl.logCall(input);
    expect(retried.id).toBe(sim.messages[0]!.id);
    expect(again.id).toBe(retried.id);
    expect(sim.messages).toHaveLength(1);
    expect(sim.notes).toHaveLength(1);
  });

  it('logs a call-back within the same second as the missed call from the same number as its own call', async () => {
    const ada = sim.addContact({ firstName: 'Ada', phone: '+14155550132' });
    const contact = { id: ada.id, kind: 'contact' };
    // The CRM template reports whole seconds: both calls start at the same instant.
    const missed = await hl.logCall(call({ callKey: 'tenant-1:pbx-1:call-7:101', contact, outcome: 'missed', answeredAt: null, durationSec: 0 }));
    const callBack = await hl.logCall(call({ callKey: 'tenant-1:pbx-1:call-8:101', contact }));

    expect(callBack.id).not.toBe(missed.id);
    expect(sim.messages.map((m) => [m.id, m.callStatus])).toEqual([
      [missed.id, 'no-answer'],
      [callBack.id, 'completed'],
    ]);
    expect(sim.notes).toHaveLength(2);
    expect(sim.notes.map((n) => n.body?.match(/message (\S+)$/m)?.[1])).toEqual([missed.id, callBack.id]);
  });

  it('logs a call once when the note answer is lost', async () => {
    const ada = sim.addContact({ firstName: 'Ada', phone: '+14155550132' });
    const input = call({ contact: { id: ada.id, kind: 'contact' } });
    sim.faults.next({ match: { method: 'POST', path: `/contacts/${ada.id}/notes` }, timeoutAfterApply: true, mode: 'close' });
    await rejection(hl.logCall(input));
    await hl.logCall(input);
    expect(sim.messages).toHaveLength(1);
    expect(sim.notes).toHaveLength(1);
  });

  it('updates the call note, keeping one note', async () => {
    const ada = sim.addContact({ firstName: 'Ada', phone: '+14155550132' });
    const record = await hl.logCall(call({ contact: { id: ada.id, kind: 'contact' }, durationSec: 5 }));
    await hl.updateCall(record.id, call({ contact: { id: ada.id, kind: 'contact' }, durationSec: 3725, notes: 'Escalated.' }));
    expect(sim.notes).toHaveLength(1);
    expect(sim.notes[0]!.body).toMatch(/^Inbound call, answered, 1:02:05$/m);
    expect(sim.notes[0]!.body).toContain('Escalated.');
  });

  it('uploads the recording once and attaches it to the call message, also when the attach answer is lost', async () => {
    const ada = sim.addContact({ firstName: 'Ada', phone: '+14155550132' });
    const input = call({ contact: { id: ada.id, kind: 'contact' } });
    const record = await hl.logCall(input);
    sim.faults.next({ match: { method: 'PUT', path: `/conversations/messages/${record.id}/attachments` }, timeoutAfterApply: true, mode: 'close' });
    await hl.attachRecording(record, recording, input.callKey); // the PUT is resent
    await hl.attachRecording(record, recording, input.callKey);

    expect(sim.uploads.map((u) => [u.fileName, [...u.data]])).toEqual([['call-7.mp3', [73, 68, 51, 4, 0]]]);
    expect(sim.messages[0]!.attachments).toEqual([sim.uploads[0]!.url]);
    expect(sim.notes[0]!.body).toContain(`Recording: ${sim.uploads[0]!.url}`);
  });

  it('sends the Version header of each endpoint family', async () => {
    sim.addContact({ firstName: 'Ada', phone: '+14155550132' });
    await hl.findContactsByPhone('+14155550132');
    await hl.logCall(call());
    expect(sim.specViolations).toEqual([]);
    expect(sim.requests.length).toBeGreaterThan(3);
  });

  it('maps a 429 with a Retry-After too long to wait in the request to rate_limited with the delay', async () => {
    sim.faults.next({ status: 429, retryAfterSec: 30 });
    expect(await rejection(hl.findContactsByPhone('+14155550132'))).toMatchObject({ kind: 'rate_limited', retryAfterMs: 30_000 });
  });

  it('maps 5xx to transient and writes nothing', async () => {
    sim.faults.outage({ status: 502 });
    expect((await rejection(hl.logCall(call()))).kind).toBe('transient');
    sim.faults.restore();
    expect(sim.messages).toHaveLength(0);
  });

  it('refreshes an expired token (rotating the refresh token) and carries on', async () => {
    sim.faults.expireTokens();
    await hl.logCall(call());
    expect(session.refreshCount).toBe(1);
    expect(sim.messages).toHaveLength(1);
  });

  it('turns a revoked grant into an auth error', async () => {
    sim.faults.revokeGrant();
    expect((await rejection(hl.findContactsByPhone('+14155550132'))).kind).toBe('auth');
  });

  it('rejects what HighLevel refuses with its message', async () => {
    const noProvider = highLevelProvider.create(simSession(sim, { locationId: sim.locationId, conversationProviderId: 'not-ours' }), { origin: sim.url });
    const err = await rejection(noProvider.logCall(call()));
    expect(err).toMatchObject({ kind: 'rejected', status: 400, message: 'Conversation provider not found' });
    expect(sim.messages).toHaveLength(0);
  });

  it('syncs contacts page by page, then only what changed since', async () => {
    for (let i = 0; i < 230; i++) {
      sim.addContact({ firstName: `P${i}`, phone: `+1415555${1000 + i}` }, new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString());
    }
    const { ids, pages, cursor } = await syncAllContacts(hl);
    expect(pages).toBe(3);
    expect(new Set(ids).size).toBe(230);

    Object.assign(sim.contacts[3]!, { firstName: 'Renamed', dateUpdated: '2026-02-01T00:00:00.000Z' });
    const delta = await hl.syncContacts(cursor);
    expect(delta.contacts.map((c) => c.name)).toEqual(['Renamed']);
    expect(delta.hasMore).toBe(false);
  });

  it('needs the bus broker: no PKCE, client secret at the token endpoint', () => {
    expect(highLevelProvider.oauth()).toMatchObject({ pkce: false, needsBroker: true, tokenUrl: 'https://services.leadconnectorhq.com/oauth/token' });
  });
});
