import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { simSession, type SimSession } from '../../../sim/crm/common/index.js';
import { closeCheckedSim, crmRejection as rejection, syncAllContacts } from '../../../../test/support/crm-adapter.js';
import { requestLimitExceeded, sfDateTime, startSalesforceSim, type SalesforceSim } from '../../../sim/crm/salesforce/index.js';
import type { CallLogInput, CrmAdapter } from '../port.js';
import { salesforceProvider, soqlString } from './index.js';

let sim: SalesforceSim;
let session: SimSession;
let crm: CrmAdapter;
/** The agent's User Id in the org. */
let OWNER: string;

beforeEach(async () => {
  sim = await startSalesforceSim({ queryBatchSize: 100 });
  session = simSession(sim, { instanceUrl: sim.url });
  crm = salesforceProvider.create(session);
  OWNER = sim.addUser({ Username: 'jane@acme.com.prod', Email: 'Jane@Acme.com', FirstName: 'Jane', LastName: 'Doe' });
});
afterEach(() => closeCheckedSim(sim));

const call = (over: Partial<CallLogInput> = {}): CallLogInput => ({
  callKey: "acme:pbx1:call-'77':101",
  direction: 'outbound',
  from: '+14155550999',
  to: '+14155550123',
  startedAt: '2026-03-01T10:00:00.000Z',
  answeredAt: '2026-03-01T10:00:05.000Z',
  durationSec: 95,
  outcome: 'answered',
  subject: 'Call to +1 415-555-0123',
  notes: 'follow-up',
  contact: null,
  ownerId: OWNER,
  ...over,
});

describe('Salesforce adapter against the simulator', () => {
  it('creates one "Not Started" follow-up Task for a missed call, on the caller, even when the create answer is lost', async () => {
    const who = sim.add('Contact', { Name: 'Ada Lovelace', Phone: '+14155550123' });
    const missed = call({ direction: 'inbound', outcome: 'missed', answeredAt: null, durationSec: 0, contact: { id: who, kind: 'Contact' } });
    const record = await crm.logCall(missed);
    const task = { callKey: missed.callKey, contact: missed.contact, ownerId: OWNER, subject: 'Call back Ada Lovelace (+14155550123)', dueAt: '2026-03-01T23:30:00.000Z' };
    sim.faults.next({ match: { method: 'POST', path: /\/sobjects\/Task$/ }, timeoutAfterApply: true, mode: 'close' });
    expect((await rejection(crm.createFollowUpTask!(record, task))).kind).toBe('transient');
    await crm.createFollowUpTask!(record, task);
    const followUps = [...sim.records.Task.values()].filter((t) => t.TaskSubtype === 'Task');
    expect(followUps).toHaveLength(1);
    expect(followUps[0]).toMatchObject({
      Subject: 'Call back Ada Lovelace (+14155550123)',
      Status: 'Not Started',
      ActivityDate: '2026-03-01',
      WhoId: who,
      OwnerId: OWNER,
      Description: expect.stringContaining(record.id),
    });
    // The call's own Task is still the one its callKey finds.
    expect((await crm.logCall(missed)).id).toBe(record.id);
    expect(sim.records.Task.size).toBe(2);
  });

  it('finds Contacts and Leads whose numbers are stored formatted', async () => {
    const contact = sim.add('Contact', { Name: 'Ada Lovelace', Phone: '(415) 555-0123', OwnerId: OWNER });
    const lead = sim.add('Lead', { Name: 'Bob Lead', Company: 'Acme', MobilePhone: '+1.415.555.0123' });
    sim.add('Contact', { Name: 'Not me', Phone: '+44 415 555 0123' });
    const found = await crm.findContactsByPhone('+14155550123');
    expect(found.map((c) => [c.kind, c.id]).sort()).toEqual([['Contact', contact], ['Lead', lead]].sort());
    expect(found.find((c) => c.id === lead)).toMatchObject({ name: 'Bob Lead', company: 'Acme', url: `${sim.url}/lightning/r/Lead/${lead}/view` });
    expect(found.find((c) => c.id === contact)!.ownerId).toBe(OWNER);
  });

  it('logs a call Task keyed by CallObject, linked by WhoId, and updates it', async () => {
    const contact = sim.add('Contact', { Name: 'Ada', Phone: '+14155550123' });
    const record = await crm.logCall(call({ contact: { id: contact, kind: 'Contact' } }));
    expect(sim.records.Task.get(record.id)).toMatchObject({
      TaskSubtype: 'Call',
      CallType: 'Outbound',
      CallDurationInSeconds: 95,
      CallObject: "acme:pbx1:call-'77':101",
      CallDisposition: 'Connected',
      WhoId: contact,
      OwnerId: OWNER,
      ActivityDate: '2026-03-01',
    });
    await crm.updateCall(record.id, call({ outcome: 'no_answer', durationSec: 0 }));
    expect(sim.records.Task.get(record.id)).toMatchObject({ CallDisposition: 'No answer', CallDurationInSeconds: 0 });
  });

  it('creates exactly one Task when the insert response is lost after Salesforce applied it', async () => {
    sim.faults.next({ match: { method: 'POST', path: /\/sobjects\/Task$/ }, timeoutAfterApply: true, mode: 'close' });
    expect((await rejection(crm.logCall(call()))).kind).toBe('transient');
    const again = await crm.logCall(call());
    expect(sim.records.Task.size).toBe(1);
    expect(again.id).toBe([...sim.records.Task.keys()][0]);
  });

  it('maps REQUEST_LIMIT_EXCEEDED and 429 + a Retry-After too long to wait in the request to rate_limited', async () => {
    sim.faults.next(requestLimitExceeded);
    const daily = await rejection(crm.findContactsByPhone('+14155550123'));
    expect([daily.kind, daily.message]).toEqual(['rate_limited', 'TotalRequests Limit exceeded.']);
    sim.faults.next({ status: 429, retryAfterSec: 30 });
    const limited = await rejection(crm.findContactsByPhone('+14155550123'));
    expect([limited.kind, limited.retryAfterMs]).toEqual(['rate_limited', 30_000]);
  });

  it('treats 5xx as transient', async () => {
    sim.faults.outage({ status: 503 });
    expect((await rejection(crm.logCall(call()))).kind).toBe('transient');
    sim.faults.restore();
    expect(sim.records.Task.size).toBe(0);
  });

  it('refreshes an expired session transparently; a revoked grant is an auth error', async () => {
    sim.faults.expireTokens();
    await crm.logCall(call());
    expect(session.refreshCount).toBe(1);
    sim.faults.expireTokens();
    sim.faults.revokeGrant();
    expect((await rejection(crm.findContactsByPhone('+14155550123'))).kind).toBe('auth');
  });

  it('carries Salesforce\'s message when a write is rejected', async () => {
    const err = await rejection(crm.logCall(call({ contact: { id: '003000000000000AAA', kind: 'Contact' } })));
    expect(err.kind).toBe('rejected');
    expect(err.message).toBe('Name ID: id value of incorrect type: 003000000000000AAA (FIELD_INTEGRITY_EXCEPTION)');
  });

  it('uploads the recording to the Task once, even when the upload response is lost', async () => {
    const record = await crm.logCall(call());
    const file = { fileName: 'call-77.mp3', contentType: 'audio/mpeg', data: new Uint8Array([9, 8, 7]) };
    sim.faults.next({ match: { method: 'POST', path: /ContentVersion$/ }, timeoutAfterApply: true, mode: 'close' });
    expect((await rejection(crm.attachRecording(record, file, call().callKey))).kind).toBe('transient');
    await crm.attachRecording(record, file, call().callKey);
    const versions = [...sim.records.ContentVersion.values()];
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ FirstPublishLocationId: record.id, Title: 'call-77.mp3', VersionData: Buffer.from([9, 8, 7]).toString('base64') });
  });

  it('syncs Contacts then Leads in pages, then only what changed', async () => {
    for (let i = 0; i < 150; i++) sim.add('Contact', { Name: `C${i}`, Phone: `+1415555${1000 + i}`, LastModifiedDate: sfDateTime(new Date(Date.UTC(2026, 0, 1, 0, 0, i))) });
    for (let i = 0; i < 30; i++) sim.add('Lead', { Name: `L${i}`, Phone: `+1415556${1000 + i}`, LastModifiedDate: sfDateTime(new Date(Date.UTC(2026, 0, 2, 0, 0, i))) });
    const { ids, pages, cursor } = await syncAllContacts(crm);
    expect([new Set(ids).size, pages]).toEqual([180, 3]);
    const changed = sim.add('Contact', { Name: 'New', Phone: '+14155559999', LastModifiedDate: sfDateTime(new Date(Date.UTC(2026, 1, 1))) });
    const delta = await crm.syncContacts(cursor);
    expect(delta.contacts.map((c) => c.id)).toContain(changed);
    expect(delta.contacts.length).toBeLessThanOrEqual(2);
  });

  it('an agent whose CRM user is an e-mail logs calls owned by the resolved user id', async () => {
    const who = sim.add('Contact', { Name: 'Ada Lovelace', Phone: '+14155550123' });
    sim.addUser({ Username: 'jane.old@acme.com', Email: 'jane@acme.com', LastName: 'Doe', IsActive: false }); // deactivated: never the owner
    const missed = call({ direction: 'inbound', outcome: 'missed', answeredAt: null, durationSec: 0, contact: { id: who, kind: 'Contact' }, ownerId: 'jane@acme.com' });
    const record = await crm.logCall(missed);
    await crm.updateCall(record.id, missed);
    await crm.logCall(call({ callKey: 'acme:pbx1:call-78:101', ownerId: 'JANE@acme.com' }));
    await crm.createFollowUpTask!(record, { callKey: missed.callKey, contact: missed.contact, ownerId: 'jane@acme.com', subject: 'Call back Ada', dueAt: '2026-03-01T23:30:00.000Z' });
    expect([...sim.records.Task.values()].map((t) => t.OwnerId)).toEqual([OWNER, OWNER, OWNER]);
    expect(await crm.resolveOwner('jane@acme.com')).toEqual({ id: OWNER });
    expect(await crm.resolveOwner(OWNER)).toEqual({ id: OWNER });
    // Resolved once (Email matched one active user), then cached.
    expect(sim.requestsTo('GET', /\/query$/).filter((r) => /FROM User/.test(String(r.query.q)))).toHaveLength(1);
  });

  it('logs the call without an owner, and says why in it, when no active Salesforce user has the agent\'s e-mail or the CRM user is neither id nor e-mail', async () => {
    const unknown = await crm.logCall(call({ ownerId: 'nobody@acme.com' }));
    const odd = await crm.logCall(call({ callKey: 'acme:pbx1:call-78:101', ownerId: 'crm-user-1' }));
    for (const [record, why] of [[unknown, 'no active Salesforce user has the e-mail nobody@acme.com'], [odd, 'neither a user id nor an e-mail']] as const) {
      const task = sim.records.Task.get(record.id)!;
      expect(task.OwnerId).toBeUndefined();
      expect(task.Description).toContain('follow-up');
      expect(task.Description).toContain(why);
    }
  });

  it('escapes SOQL string literals', () => {
    expect(soqlString("o'neil\\x")).toBe("'o\\'neil\\\\x'");
  });
});
