// The CRM contract suite (test/support/crm-contract.ts) against each CRM's simulator.
import { simSession } from '../../sim/crm/common/index.js';
import { HUBSPOT_SIM_PORTAL_ID, startHubSpotSim } from '../../sim/crm/hubspot/index.js';
import { describeCrmContract } from '../../../test/support/crm-contract.js';
import { startSalesforceSim } from '../../sim/crm/salesforce/index.js';
import { startZohoSimulator } from '../../sim/crm/zoho/index.js';
import { zohoProvider } from './zoho/index.js';
import { callKeyTag } from './zoho/mapping.js';
import { startHighLevelSimulator } from '../../sim/crm/highlevel/index.js';
import { highLevelProvider } from './highlevel/index.js';
import { readCallNote } from './highlevel/mapping.js';
import { hubspotProvider } from './hubspot/index.js';
import { salesforceProvider } from './salesforce/index.js';

/** A US number as people type it: (415) 555-0123. */
const formatted = (e164: string) => e164.replace(/^\+1(\d{3})(\d{3})(\d{4})$/, '($1) $2-$3');

describeCrmContract(
  'HubSpot',
  async () => {
    const sim = await startHubSpotSim({ rateLimits: false });
    const adapter = hubspotProvider.create(simSession(sim, { portalId: HUBSPOT_SIM_PORTAL_ID }), { origin: sim.url });
    return {
      adapter,
      sim,
      addContact: (name, e164) => ({ id: sim.addContact({ firstname: name, phone: formatted(e164) }), kind: 'contact' }),
      addDeal: (contact, dealname, open) => sim.addDeal({ dealname, dealstage: open ? 'qualifiedtobuy' : 'closedwon', hs_is_closed: String(!open) }, [contact.id]),
      callRecordsOf: (callKey) => [...sim.calls.values()].filter((c) => c.properties.ringbridge_call_key === callKey).map((c) => c.id),
      links: (id) => ({ contact: sim.callLinks(id, 'contacts')[0] ?? null, deal: sim.callLinks(id, 'deals')[0] ?? null }),
      stored: (id) => {
        const c = sim.contacts.get(id);
        return c ? { phone: c.properties.phone ?? null, kind: 'contact' } : null;
      },
      callShown(callKey) {
        const calls = [...sim.calls.values()].filter((c) => c.properties.ringbridge_call_key === callKey);
        const p = calls[0]?.properties ?? {};
        const outcome = sim.dispositions.find((d) => d.id === p.hs_call_disposition)?.label ?? null;
        return { records: calls.length, inProgress: p.hs_call_status === 'IN_PROGRESS', notes: p.hs_call_body ?? '', outcome };
      },
    };
  },
  { newCallerKind: 'contact', dealKind: 'deal' },
);

describeCrmContract(
  'Salesforce',
  async () => {
    const sim = await startSalesforceSim();
    const adapter = salesforceProvider.create(simSession(sim, { instanceUrl: sim.url }));
    return {
      adapter,
      sim,
      addContact: (name, e164) => ({ id: sim.add('Contact', { Name: name, LastName: name, Phone: formatted(e164) }), kind: 'Contact' }),
      // Opportunities through a contact role, cases through ContactId: the suite's deals alternate.
      addDeal: (contact, name, open) => {
        if (name.endsWith('b')) return sim.add('Case', { Subject: name, CaseNumber: '00001026', Status: open ? 'New' : 'Closed', IsClosed: !open, ContactId: contact.id });
        const id = sim.add('Opportunity', { Name: name, StageName: open ? 'Prospecting' : 'Closed Won', IsClosed: !open });
        sim.addContactRole(id, contact.id);
        return id;
      },
      callRecordsOf: (callKey) => [...sim.records.Task.values()].filter((t) => t.CallObject === callKey).map((t) => t.Id),
      links: (id) => {
        const task = sim.records.Task.get(id);
        return { contact: (task?.WhoId as string | undefined) ?? null, deal: (task?.WhatId as string | undefined) ?? null };
      },
      stored: (id) => {
        const lead = sim.records.Lead.get(id);
        const contact = sim.records.Contact.get(id);
        const record = lead ?? contact;
        return record ? { phone: (record.Phone as string | undefined) ?? null, kind: lead ? 'Lead' : 'Contact' } : null;
      },
      callShown(callKey) {
        const tasks = [...sim.records.Task.values()].filter((t) => t.CallObject === callKey);
        const t: Record<string, unknown> = tasks[0] ?? {};
        return { records: tasks.length, inProgress: t.Status === 'In Progress', notes: String(t.Description ?? ''), outcome: (t.CallDisposition as string | undefined) ?? null };
      },
    };
  },
  { newCallerKind: 'Lead', dealKind: 'Opportunity' },
);

describeCrmContract(
  'Zoho',
  async () => {
    const sim = await startZohoSimulator();
    const adapter = zohoProvider.create(simSession(sim, { api_domain: sim.url }), { origin: sim.url });
    const record = (id: string) => [...sim.records.Contacts, ...sim.records.Leads].find((r) => r.id === id);
    return {
      adapter,
      sim,
      addContact: (name, e164) => ({ id: sim.addRecord('Contacts', { Full_Name: name, Last_Name: name, Phone: formatted(e164) }).id, kind: 'Contacts' }),
      addDeal: (contact, name, open) => sim.addRecord('Deals', { Deal_Name: name, Stage: open ? 'Qualification' : 'Closed Won', Contact_Name: { id: contact.id, name: 'x' } }).id,
      callRecordsOf: (callKey) => sim.records.Calls.filter((c) => c.Ringbridge_Call_Key === callKeyTag(callKey)).map((c) => c.id),
      links: (id) => {
        const c = sim.records.Calls.find((r) => r.id === id);
        const what = c?.What_Id as { id: string } | null | undefined;
        return { contact: (c?.Who_Id as { id: string } | undefined)?.id ?? null, deal: what && c?.$se_module === 'Deals' ? what.id : null };
      },
      stored: (id) => {
        const r = record(id);
        return r ? { phone: (r.Phone as string | undefined) ?? null, kind: sim.records.Leads.includes(r) ? 'Leads' : 'Contacts' } : null;
      },
      callShown(callKey) {
        const calls = sim.records.Calls.filter((c) => c.Ringbridge_Call_Key === callKeyTag(callKey));
        const c: Record<string, unknown> = calls[0] ?? {};
        // Calls has no in-progress status: the live record says it in its description.
        const notes = String(c.Description ?? '');
        return { records: calls.length, inProgress: /^Outcome: In progress$/m.test(notes), notes, outcome: (c.Call_Result as string | undefined) ?? null };
      },
    };
  },
  { newCallerKind: 'Leads', dealKind: 'Deals' },
);

describeCrmContract(
  'HighLevel',
  async () => {
    const sim = await startHighLevelSimulator({ rateLimits: false });
    const session = simSession(sim, { locationId: sim.locationId, companyId: sim.companyId, conversationProviderId: sim.conversationProviderId });
    const adapter = highLevelProvider.create(session, { origin: sim.url });
    // The call's note (on the contact) names the message and, when one was picked, the opportunity.
    const noteOf = (messageId: string) => sim.notes.find((n) => readCallNote(n.body)?.messageId === messageId);
    return {
      adapter,
      sim,
      addContact: (name, e164) => ({ id: sim.addContact({ firstName: name, phone: formatted(e164) }).id, kind: 'contact' }),
      addDeal: (contact, name, open) => sim.addOpportunity({ name, contactId: contact.id, status: open ? 'open' : 'won' }).id,
      callRecordsOf: (callKey) => sim.notes.filter((n) => readCallNote(n.body)?.tag === callKeyTag(callKey)).map((n) => readCallNote(n.body)!.messageId),
      links: (id) => {
        const note = noteOf(id);
        return { contact: note?.contactId ?? null, deal: /^Opportunity: .* \[([^\]]+)\]$/m.exec(note?.body ?? '')?.[1] ?? null };
      },
      stored: (id) => {
        const c = sim.contacts.find((x) => x.id === id);
        return c ? { phone: c.phone ?? null, kind: 'contact' } : null;
      },
      callShown(callKey) {
        // The call is a Call message plus the note on the contact that carries what a message cannot.
        const notes = sim.notes.filter((n) => readCallNote(n.body)?.tag === callKeyTag(callKey));
        const body = notes[0]?.body ?? '';
        return { records: notes.length, inProgress: /call, in progress$/m.test(body), notes: body, outcome: /^Call outcome: (.+)$/m.exec(body)?.[1] ?? null };
      },
    };
  },
  { newCallerKind: 'contact', dealKind: 'opportunity', movesContact: false },
);
