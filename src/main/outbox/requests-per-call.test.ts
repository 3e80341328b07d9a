// What a plain answered call costs each CRM, counted in the simulator's own request log: the
// live record at the answer, its completion at the end, the recording once. Requests count against
// the CRM's rate limit (HubSpot and HighLevel: 100 per 10 s), so an added one is a throughput
// regression at a busy desk; HubSpot's official files exempt its searches from the 10 s window,
// which is where the attachment read goes. HubSpot's call PATCHes that wait for its request budget
// at once share one request (crm/hubspot/batcher.ts): a lone call has nothing to share with and
// costs the full count; calls back to back at a saturated budget cost less.
import { afterEach, describe, expect, it } from 'vitest';
import type { CallChoice } from '../call-choices/choices.js';
import type { CrmAdapter, CrmContact } from '../crm/port.js';
import { HubSpotAdapter, hubspotProvider } from '../crm/hubspot/index.js';
import { salesforceProvider } from '../crm/salesforce/index.js';
import { zohoProvider } from '../crm/zoho/index.js';
import { highLevelProvider } from '../crm/highlevel/index.js';
import { simSession, type CrmSimulator } from '../../sim/crm/common/index.js';
import { HUBSPOT_OPENAPI_FILES, HUBSPOT_SIM_PORTAL_ID, startHubSpotSim } from '../../sim/crm/hubspot/index.js';
import { OpenApiValidator } from '../../sim/crm/common/index.js';
import { startSalesforceSim } from '../../sim/crm/salesforce/index.js';
import { startZohoSimulator } from '../../sim/crm/zoho/index.js';
import { startHighLevelSimulator } from '../../sim/crm/highlevel/index.js';
import { gatedBudget } from '../../../test/support/gated-budget.js';
import { RecordingHistory, callEvent, hubspotOutboxes, keyOf, outboxOnAdapter, outboxPlace } from '../../../test/support/outbox-fixtures.js';

const CALLER = '+61298765432';
const STORED = '+61 2 9876 5432';

interface Crm {
  sim: CrmSimulator;
  adapter: CrmAdapter;
  contact: Pick<CrmContact, 'id' | 'kind' | 'name'>;
}

const crms: Record<string, () => Promise<Crm>> = {
  HubSpot: async () => {
    const sim = await startHubSpotSim({ rateLimits: false });
    const id = sim.addContact({ firstname: 'Jane', lastname: 'Citizen', phone: STORED });
    return { sim, adapter: hubspotProvider.create(simSession(sim, { portalId: HUBSPOT_SIM_PORTAL_ID }), { origin: sim.url }), contact: { id, kind: 'contact', name: 'Jane Citizen' } };
  },
  Salesforce: async () => {
    const sim = await startSalesforceSim();
    const id = sim.add('Contact', { FirstName: 'Jane', LastName: 'Citizen', Phone: STORED });
    return { sim, adapter: salesforceProvider.create(simSession(sim, { instanceUrl: sim.url })), contact: { id, kind: 'Contact', name: 'Jane Citizen' } };
  },
  Zoho: async () => {
    const sim = await startZohoSimulator();
    const { id } = sim.addRecord('Contacts', { First_Name: 'Jane', Last_Name: 'Citizen', Phone: STORED });
    return { sim, adapter: zohoProvider.create(simSession(sim, { api_domain: sim.url }), { origin: sim.url }), contact: { id, kind: 'Contacts', name: 'Jane Citizen' } };
  },
  HighLevel: async () => {
    const sim = await startHighLevelSimulator({ rateLimits: false });
    const session = simSession(sim, { locationId: sim.locationId, companyId: sim.companyId, conversationProviderId: sim.conversationProviderId });
    const { id } = sim.addContact({ firstName: 'Jane', lastName: 'Citizen', phone: STORED });
    return { sim, adapter: highLevelProvider.create(session, { origin: sim.url }), contact: { id, kind: 'contact', name: 'Jane Citizen' } };
  },
};

/** Whether HubSpot counts a request against its 10 s window: not when its official file's operation says it is exempt. */
const hubspotFiles = new OpenApiValidator(HUBSPOT_OPENAPI_FILES);
const inTenSecondWindow = ({ method, path }: { method: string; path: string }) => {
  const exemptions = hubspotFiles.findOperation(method, path)?.op['x-hubspot-rate-limit-exemptions'];
  return !(Array.isArray(exemptions) && exemptions.includes('ten-secondly'));
};
const limited: Record<string, (r: { method: string; path: string }) => boolean> = { HubSpot: inTenSecondWindow };

/**
 * Requests that count against the CRM's rate limit. HubSpot: live create, completing PATCH (the
 * links it was created with stand: no read), then the recording (upload, PATCH; its attachments are
 * read through search, outside the 10 s window, so 5 requests on the wire). Salesforce and Zoho:
 * create, update, upload (a first attempt has no earlier write to look for). HighLevel: find (here: open) the contact's
 * conversation, the Call message, its note; the update reads and rewrites the note (the message's
 * contact is the one last written); the recording reads the message and note, uploads, notes the
 * URL and attaches it.
 */
const BUDGET: Record<string, number> = { HubSpot: 4, Salesforce: 3, Zoho: 3, HighLevel: 11 };

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('requests a plain answered call costs each CRM (simulator request log)', () => {
  it.each(Object.keys(crms))('%s', async (name) => {
    const { sim, adapter, contact } = await crms[name]!();
    cleanups.push(() => sim.close());
    const { bus, dir } = await outboxPlace('rb-requests-', cleanups);
    const outbox = outboxOnAdapter(adapter, { dataDir: dir, bus, history: new RecordingHistory(), resolveContact: async () => contact });
    cleanups.push(() => outbox.close());
    const script = { pbxCallId: 'plain1', remote: CALLER };
    const before = sim.requests.length;
    for (const type of ['answered', 'ended', 'recording_ready'] as const) {
      outbox.enqueue(callEvent(script, type));
      await outbox.whenIdle();
    }
    expect(outbox.call(keyOf('plain1'))?.state).toBe('recording_attached');
    const sent = sim.requests.slice(before);
    const wire = sent.map((r) => `${r.method} ${r.path}`);
    // The wire list rides along so a failure shows which request came back.
    expect({ requests: sent.filter(limited[name] ?? (() => true)).length, wire }).toMatchObject({ requests: BUDGET[name] });
    sim.assertNoSpecViolations();
  });
});

describe('HubSpot: calls back to back at a saturated budget share requests', () => {
  it('six plain calls cost fewer than 4 requests each against the 10 s window, each call still logged once with its own recording', async () => {
    const sim = await startHubSpotSim({ rateLimits: false });
    cleanups.push(() => sim.close());
    const { bus, dir } = await outboxPlace('rb-requests-', cleanups);
    const gate = gatedBudget(/\/search$/); // searches outside the window, as HubSpot's own budget
    cleanups.push(gate.ticking(20)); // one request at a time, always waited for
    const remote = (i: number) => `+6129876${String(5200 + i)}`;
    const contacts = new Map(Array.from({ length: 6 }, (_, i) => [remote(i), sim.addContact({ firstname: `Caller${i}`, phone: remote(i) })]));
    const session = simSession(sim, { portalId: HUBSPOT_SIM_PORTAL_ID });
    const adapter = new HubSpotAdapter(session, { apiOrigin: sim.url, appOrigin: sim.url, http: { budget: gate.budget } });
    const outbox = outboxOnAdapter(adapter, { dataDir: dir, bus, history: new RecordingHistory(), resolveContact: async (e164) => ({ id: contacts.get(e164)!, kind: 'contact', name: e164 }) });
    cleanups.push(() => outbox.close());
    const before = sim.requests.length;
    for (const type of ['answered', 'ended', 'recording_ready'] as const) {
      for (let i = 0; i < contacts.size; i++) outbox.enqueue(callEvent({ pbxCallId: `busy${i}`, remote: remote(i) }, type));
      await outbox.whenIdle();
    }
    const sent = sim.requests.slice(before);
    // The wire list rides along so a failure shows which requests went alone.
    expect(sent.filter(inTenSecondWindow).length / contacts.size, sent.map((r) => `${r.method} ${r.path}`).join('\n')).toBeLessThan(BUDGET.HubSpot!);
    for (let i = 0; i < contacts.size; i++) {
      expect(outbox.call(keyOf(`busy${i}`))?.state).toBe('recording_attached');
      const records = [...sim.calls.values()].filter((c) => c.properties.ringbridge_call_key === keyOf(`busy${i}`));
      expect(records.map((c) => [c.properties.hs_call_status, sim.files.get(c.properties.hs_attachment_ids ?? '')?.name.includes(`busy${i}`)])).toEqual([['COMPLETED', true]]);
    }
    sim.assertNoSpecViolations();
  });
});

describe('HubSpot: the links are read only when the pick changed', () => {
  it('a completion after a restart skips the read; a re-pick moves the one record without reading its links either (the outbox knows what it wrote)', async () => {
    const sim = await startHubSpotSim({ rateLimits: false });
    const jane = sim.addContact({ firstname: 'Jane', lastname: 'Citizen', phone: STORED });
    const bea = sim.addContact({ firstname: 'Bea', lastname: 'Other', phone: '+61 2 9876 0001' });
    cleanups.push(() => sim.close());
    const { bus, dir } = await outboxPlace('rb-requests-', cleanups);
    let choice: CallChoice | null = null;
    const open = hubspotOutboxes(sim, { dataDir: dir, bus, contactId: jane, choice: () => choice, cleanups });
    const linkReads = () => sim.requestsTo('GET', /^\/crm\/v3\/objects\/calls\/[^/]+$/).filter((r) => 'associations' in r.query).length;
    const script = { pbxCallId: 'repick1', remote: CALLER };

    const first = open();
    first.enqueue(callEvent(script, 'answered'));
    await first.whenIdle();
    await first.close(); // the agent restarts while the call is on
    const outbox = open();
    outbox.enqueue(callEvent(script, 'ended'));
    await outbox.whenIdle();
    expect(linkReads()).toBe(0);

    choice = { contact: { id: bea, kind: 'contact', name: 'Bea Other' }, deal: null };
    outbox.relog(keyOf('repick1'));
    await outbox.whenIdle();
    outbox.saveNotes(keyOf('repick1'), 'Called back about the invoice', null, true);
    await outbox.whenIdle();
    expect(linkReads()).toBe(0);

    const calls = [...sim.calls.values()].filter((c) => c.properties.ringbridge_call_key === keyOf('repick1'));
    expect(calls).toHaveLength(1);
    expect(sim.callLinks(calls[0]!.id, 'contacts')).toEqual([bea]);
    expect(calls[0]!.properties.hs_call_body).toContain('Called back about the invoice');
    sim.assertNoSpecViolations();
  });
});
