// Issue 11 items 1, 3, 4 end to end: a simulated 3CX -> the real bus -> a real agent (core + CRM
// link + outbox) -> a CRM simulator, whose own state is the ground truth: the call on the record
// and deal the agent picked, one record per call whatever the re-picks, a new caller's record with
// the number in E.164, and the tenant's policy for new callers from the bus.
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentCore } from '../../src/main/core.js';
import type { CrmLink } from '../../src/main/crm-link/index.js';
import type { HubSpotSim } from '../../src/sim/crm/hubspot/index.js';
import type { SalesforceSim } from '../../src/sim/crm/salesforce/index.js';
import type { ZohoSimulator } from '../../src/sim/crm/zoho/index.js';
import type { HighLevelSimulator } from '../../src/sim/crm/highlevel/index.js';
import { startScenarioCrm, type ScenarioCrm } from '../../src/sim/scenarios/index.js';
import type { AgentPolicy } from '../../src/shared/agent-protocol.js';
import { callerNumber, connectorReady, provisionSite, Resources, startSim, startTestBus } from '../support/e2e.js';
import { startAgent } from '../support/scenario-chain.js';

let res: Resources;
afterEach(() => res.cleanup());

interface World {
  crm: ScenarioCrm;
  core: AgentCore;
  link: CrmLink;
  /** Places an inbound call to 101, answered and talked, and returns its callKey once the CRM has it. */
  call(from: string): Promise<string>;
}

async function world(crmId: ScenarioCrm['id'], agentPolicy?: AgentPolicy, seed?: (crm: ScenarioCrm) => void): Promise<World> {
  res = new Resources();
  const crm = res.add(await startScenarioCrm(crmId), (c) => c.sim.close());
  seed?.(crm);
  const o = crm.sim.oauth.options;
  const oauthClients =
    o.clientSecret === undefined ? undefined : { [crmId]: { clientId: crm.sim.oauth.clientId, clientSecret: o.clientSecret, tokenUrl: new URL(o.tokenPath, crm.sim.url).href, context: crm.appContext } };
  const pbx = await startSim(res, { extensions: [{ dn: '101', name: 'Agent 101' }], recordingBytes: 2048 });
  const bus = await startTestBus(res, { oauthClients });
  const tenant = await bus.tenants.createTenant({ name: 'Acme', ...(agentPolicy ? { agentPolicy } : {}) });
  const site = await provisionSite(bus, pbx, { tenantId: tenant.id, extensions: [] });
  await connectorReady(bus, site.pbx.id);
  const { pairingCode } = await bus.tenants.addAgent({ tenantId: site.tenantId, pbxId: site.pbx.id, extension: '101', name: 'Agent 101' });
  let core!: AgentCore;
  const link = await startAgent(res, {
    dataDir: res.tempDir('rb-records-'),
    crm,
    busUrl: bus.url,
    pairingCode,
    opts: {},
    loggedAt: new Map(),
    onCore: (c) => (core = c),
  });
  await link.signIn(crmId);
  await link.syncContacts();
  const logged = (callKey: string) => ['logged', 'recording_attached'].includes(core.history.list().find((r) => r.callKey === callKey)?.crm.state ?? '');
  return {
    crm,
    core,
    link,
    async call(from) {
      const placed = await pbx.placeCall({ kind: 'inbound', from, to: '101', talkSec: 1 });
      const callKey = `${site.tenantId}:${site.pbx.id}:${placed.callid}:101`;
      await expect.poll(() => logged(callKey), { timeout: 15_000 }).toBe(true);
      return callKey;
    },
  };
}

/** The HubSpot simulator's calls carrying this call key: there must be one. */
const hubspotCalls = (sim: HubSpotSim, callKey: string) => [...sim.calls.values()].filter((c) => c.properties.ringbridge_call_key === callKey);

describe('pick the record and log to the deal, end to end (HubSpot)', () => {
  it('logs by policy without a pick, moves the one record to the picked contact and deal, and remembers the pick for the number', async () => {
    const caller = callerNumber(41);
    let ada = '';
    let bea = '';
    let renewal = '';
    const w = await world('hubspot', undefined, (crm) => {
      const sim = crm.sim as HubSpotSim;
      ada = sim.addContact({ firstname: 'Ada', lastname: 'Shared', phone: '02 9876 0041', notes_last_updated: '2026-11-01T00:00:00.000Z' });
      bea = sim.addContact({ firstname: 'Bea', lastname: 'Shared', mobilephone: '+61 2 9876 0041', notes_last_updated: '2026-01-01T00:00:00.000Z' });
      renewal = sim.addDeal({ dealname: 'Renewal 2027', dealstage: 'contractsent' }, [bea]);
      sim.addDeal({ dealname: 'Lost deal', dealstage: 'closedlost', hs_is_closed: 'true' }, [bea]);
    });
    const sim = w.crm.sim as HubSpotSim;
    await expect.poll(() => w.core.contacts.lookup(caller.e164).length).toBe(2);

    // No pick: the policy (no owner match here, so the latest activity) decides: Ada.
    const first = await w.call(caller.raw);
    const [record] = hubspotCalls(sim, first);
    expect(sim.callLinks(record!.id, 'contacts')).toEqual([ada]);
    const view = await w.link.records.view(first);
    expect(view).toMatchObject({ e164: caller.e164, chosenId: ada, chosenBy: 'policy', create: 'off' });
    expect(view.candidates.map((c) => c.id).sort()).toEqual([ada, bea].sort());

    // The agent picks Bea after the call was logged, then Bea's open deal: the same record moves.
    const picked = await w.link.records.pickRecord(first, bea);
    expect(picked.deals.map((d) => [d.id, d.name])).toEqual([[renewal, 'Renewal 2027']]);
    await w.link.records.pickDeal(first, renewal);
    await expect.poll(() => [sim.callLinks(record!.id, 'contacts'), sim.callLinks(record!.id, 'deals')], { timeout: 15_000 }).toEqual([[bea], [renewal]]);
    expect(hubspotCalls(sim, first)).toHaveLength(1);

    // The next call from the number goes to Bea without asking (remembered per number and agent), without a deal.
    const second = await w.call(caller.raw);
    const [next] = hubspotCalls(sim, second);
    expect([sim.callLinks(next!.id, 'contacts'), sim.callLinks(next!.id, 'deals')]).toEqual([[bea], []]);
    expect(await w.link.records.view(second)).toMatchObject({ chosenId: bea, chosenBy: 'remembered', dealId: null });

    // Bad picks: a record without the number, a deal that is not the record's: refused, nothing changes.
    await expect(w.link.records.pickRecord(second, 'no-such-contact')).rejects.toThrow(/does not have the caller/);
    await expect(w.link.records.pickDeal(second, 'no-such-deal')).rejects.toThrow(/not an open deal/);
    expect([sim.callLinks(next!.id, 'contacts'), sim.callLinks(next!.id, 'deals')]).toEqual([[bea], []]);
    expect(sim.calls.size).toBe(2);
  });
});

describe('new caller -> new record, end to end', () => {
  it("'ask' (the default): the agent creates the contact from the call, with the number in E.164, and the call moves onto it; a second create makes nothing more", async () => {
    const caller = callerNumber(42);
    const w = await world('hubspot');
    const sim = w.crm.sim as HubSpotSim;
    const callKey = await w.call(caller.raw);
    const [record] = hubspotCalls(sim, callKey);
    expect(sim.callLinks(record!.id, 'contacts')).toEqual([]);
    expect(await w.link.records.view(callKey)).toMatchObject({ candidates: [], create: 'ask' });

    const [created, again] = await Promise.all([w.link.records.createRecord(callKey, 'Grace Hopper'), w.link.records.createRecord(callKey, 'Grace Hopper')]);
    const contacts = [...sim.contacts.values()].filter((c) => c.properties.phone === caller.e164);
    expect(contacts).toHaveLength(1);
    expect(contacts[0]!.properties).toMatchObject({ firstname: 'Grace', lastname: 'Hopper', phone: caller.e164 });
    expect([created.chosenId, again.chosenId]).toEqual([contacts[0]!.id, contacts[0]!.id]);
    await expect.poll(() => sim.callLinks(record!.id, 'contacts'), { timeout: 15_000 }).toEqual([contacts[0]!.id]);
    expect(hubspotCalls(sim, callKey)).toHaveLength(1);
  });

  it("'auto' (the tenant's policy, from the bus): a Salesforce Lead is made for an unknown number and the call logged to it; a withheld number gets none", async () => {
    const caller = callerNumber(43);
    const w = await world('salesforce', { createRecord: 'auto' });
    const sim = w.crm.sim as SalesforceSim;
    expect(w.core.agentPolicy).toEqual({ createRecord: 'auto' });
    const callKey = await w.call(caller.raw);
    const leads = [...sim.records.Lead.values()];
    expect(leads.map((l) => l.Phone)).toEqual([caller.e164]);
    const task = [...sim.records.Task.values()].find((t) => t.CallObject === callKey);
    expect(task?.WhoId).toBe(leads[0]!.Id);

    const withheld = await w.call('anonymous');
    expect([...sim.records.Task.values()].find((t) => t.CallObject === withheld)?.WhoId ?? null).toBeNull();
    expect(sim.records.Lead.size).toBe(1);
  });
});

describe('the other CRMs, end to end', () => {
  it('Zoho: a deal picked after the call was logged puts that Calls record on the deal (What_Id, $se_module Deals) beside the contact', async () => {
    const caller = callerNumber(44);
    let contact = '';
    let deal = '';
    const w = await world('zoho', undefined, (crm) => {
      const sim = crm.sim as ZohoSimulator;
      contact = sim.addRecord('Contacts', { First_Name: 'Ada', Last_Name: 'Zoho', Phone: '02 9876 0044' }).id;
      deal = sim.addRecord('Deals', { Deal_Name: 'Fit-out', Stage: 'Negotiation/Review', Contact_Name: { id: contact, name: 'Ada Zoho' } }).id;
      sim.addRecord('Deals', { Deal_Name: 'Done', Stage: 'Closed Won', Contact_Name: { id: contact, name: 'Ada Zoho' } });
    });
    const sim = w.crm.sim as ZohoSimulator;
    const callKey = await w.call(caller.raw);
    const view = await w.link.records.view(callKey);
    expect(view.deals.map((d) => [d.id, d.kind])).toEqual([[deal, 'Deals']]);
    await w.link.records.pickDeal(callKey, deal);
    const calls = () => sim.records.Calls.filter((c) => String(c.Subject ?? '').length > 0);
    await expect.poll(() => calls().map((c) => [(c.Who_Id as { id: string } | undefined)?.id, (c.What_Id as { id: string } | null)?.id, c.$se_module]), { timeout: 15_000 }).toEqual([[contact, deal, 'Deals']]);
  });

  it("HighLevel: 'Create contact' for a new caller finds the contact HighLevel's log already made for the number (one contact, E.164), and the call's note names the picked opportunity", async () => {
    const caller = callerNumber(45);
    const w = await world('highlevel');
    const sim = w.crm.sim as HighLevelSimulator;
    const callKey = await w.call(caller.raw);
    // HighLevel logs a call only in a contact's conversation: its adapter upserted one for the number.
    expect(await w.link.records.view(callKey)).toMatchObject({ candidates: [], create: 'ask' });
    const created = await w.link.records.createRecord(callKey, 'Grace Hopper');
    const contacts = sim.contacts.filter((c) => c.phone === caller.e164);
    expect(contacts).toHaveLength(1);
    expect(created.chosenId).toBe(contacts[0]!.id);
    const opportunity = sim.addOpportunity({ name: 'Roof repair', contactId: contacts[0]!.id, status: 'open' });
    await w.link.records.pickDeal(callKey, opportunity.id);
    await expect.poll(() => sim.notes.filter((n) => n.contactId === contacts[0]!.id && n.body.includes(`Opportunity: Roof repair [${opportunity.id}]`)).length, { timeout: 15_000 }).toBe(1);
  });
});
