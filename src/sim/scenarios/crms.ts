// The four CRM simulators as a scenario sees them: start one, put the known callers in it as
// contacts, and read back every call record it holds in common terms (agent, remote party,
// outcome, duration, contact, sha256 of each attached recording). Structured vendor fields where
// the CRM has them; the rest from the call notes every adapter writes (compose.ts's lines).
import { CrmIdSchema, type CrmId } from '../../shared/crm.js';
import { toE164 } from '../../shared/phone.js';
import type { CrmSimulator } from '../crm/common/index.js';
import { startHighLevelSimulator, type HighLevelSimulator } from '../crm/highlevel/index.js';
import { startHubSpotSim, type HubSpotSim } from '../crm/hubspot/index.js';
import { startSalesforceSim, type SalesforceSim } from '../crm/salesforce/index.js';
import { startZohoSimulator, type ZohoSimulator } from '../crm/zoho/index.js';
import type { ScenarioCaller } from './generate.js';
import { sha256, type CrmCallEntry } from './oracle.js';

export type ScenarioCrmId = CrmId;
export const SCENARIO_CRMS: readonly ScenarioCrmId[] = CrmIdSchema.options;

export interface ScenarioCrm {
  id: ScenarioCrmId;
  sim: CrmSimulator;
  /** App settings the bus's token broker hands to each session (HighLevel's Call provider id). */
  appContext?: Record<string, string>;
  /** Adds the known callers as contacts; returns E.164 -> contact id. */
  seedContacts(callers: ScenarioCaller[]): Map<string, string>;
  /** Every call record (not follow-up tasks) the CRM holds now. */
  callEntries(): CrmCallEntry[];
}

export async function startScenarioCrm(id: ScenarioCrmId): Promise<ScenarioCrm> {
  switch (id) {
    case 'hubspot':
      return hubspot(await startHubSpotSim());
    case 'salesforce':
      return salesforce(await startSalesforceSim());
    case 'zoho':
      return zoho(await startZohoSimulator());
    case 'highlevel':
      return highlevel(await startHighLevelSimulator());
  }
}

/** How a known caller's number is stored in the CRM: international, spaced as people type it. */
const stored = (e164: string) => `${e164.slice(0, 3)} ${e164.slice(3, 4)} ${e164.slice(4, 8)} ${e164.slice(8)}`;
const [firstName, lastName] = ['Scenario', 'Caller'];
const e164s = (phones: unknown[]) => phones.filter((p): p is string => typeof p === 'string').map((p) => toE164(p, 'AU') ?? p);

function seed(callers: ScenarioCaller[], add: (c: ScenarioCaller) => string): Map<string, string> {
  return new Map(callers.filter((c) => c.known).map((c) => [c.e164, add(c)]));
}

/** The notes every adapter writes (compose.ts): agent, direction, remote, start, outcome, duration, key. */
function fromNotes(notes: string): Omit<CrmCallEntry, 'id' | 'contactId' | 'contactPhones' | 'recordingShas'> {
  const line = (label: string) => new RegExp(`^${label}: (.*)$`, 'm').exec(notes)?.[1]?.trim() ?? null;
  const remote = /^(?:Caller|Called): (?:.*, )?(\S+)$/m.exec(notes)?.[1] ?? null;
  const outcome = line('Outcome');
  const duration = /^Duration: (?:(\d+)h )?(\d+)m (\d+)s$/m.exec(notes);
  return {
    agent: line('Agent extension'),
    remote,
    direction: line('Direction'),
    answered: outcome === null ? null : outcome.toLowerCase() === 'answered',
    startedAt: line('Started'),
    durationSec: duration ? Number(duration[1] ?? 0) * 3600 + Number(duration[2]) * 60 + Number(duration[3]) : 0,
    callKey: /\[ringbridge:([^\]]+)\]/.exec(notes)?.[1] ?? null,
  };
}

function hubspot(sim: HubSpotSim): ScenarioCrm {
  return {
    id: 'hubspot',
    sim,
    seedContacts: (callers) => seed(callers, (c) => sim.addContact({ firstname: firstName, lastname: `${lastName} ${c.name}`, phone: stored(c.e164) })),
    callEntries: () =>
      [...sim.calls.values()].map((call) => {
        const p = call.properties;
        const contactId = call.associations.find((a) => a.typeId === 194)?.toId ?? null;
        const contact = contactId ? sim.contacts.get(contactId) : undefined;
        return {
          ...fromNotes(p.hs_call_body ?? ''),
          id: call.id,
          durationSec: Math.round(Number(p.hs_call_duration ?? 0) / 1000),
          contactId,
          contactPhones: e164s([contact?.properties.phone, contact?.properties.mobilephone]),
          recordingShas: (p.hs_attachment_ids ?? '').split(';').filter(Boolean).map((id) => sha256(sim.files.get(id)?.data ?? Buffer.from(`missing file ${id}`))),
        };
      }),
  };
}

function salesforce(sim: SalesforceSim): ScenarioCrm {
  return {
    id: 'salesforce',
    sim,
    seedContacts: (callers) => seed(callers, (c) => sim.add('Contact', { FirstName: firstName, LastName: `${lastName} ${c.name}`, Phone: stored(c.e164) })),
    callEntries: () =>
      [...sim.records.Task.values()]
        .filter((t) => t.TaskSubtype === 'Call')
        .map((task) => {
          const contactId = typeof task.WhoId === 'string' ? task.WhoId : null;
          const contact = contactId ? (sim.records.Contact.get(contactId) ?? sim.records.Lead.get(contactId)) : undefined;
          return {
            ...fromNotes(String(task.Description ?? '')),
            id: task.Id,
            durationSec: Number(task.CallDurationInSeconds ?? 0),
            contactId,
            contactPhones: e164s([contact?.Phone, contact?.MobilePhone]),
            recordingShas: [...sim.records.ContentVersion.values()]
              .filter((v) => v.FirstPublishLocationId === task.Id)
              .map((v) => sha256(Buffer.from(String(v.VersionData), 'base64'))),
          };
        }),
  };
}

function zoho(sim: ZohoSimulator): ScenarioCrm {
  const person = (id: string | null) => (id ? [...sim.records.Contacts, ...sim.records.Leads].find((r) => r.id === id) : undefined);
  return {
    id: 'zoho',
    sim,
    seedContacts: (callers) => seed(callers, (c) => sim.addRecord('Contacts', { First_Name: firstName, Last_Name: `${lastName} ${c.name}`, Phone: stored(c.e164) }).id),
    callEntries: () =>
      sim.records.Calls.map((call) => {
        const link = (call.Who_Id ?? call.What_Id) as { id?: string } | undefined;
        const contactId = link?.id ?? null;
        const contact = person(contactId);
        const duration = /^(\d+):(\d\d)$/.exec(String(call.Call_Duration ?? ''));
        return {
          ...fromNotes(String(call.Description ?? '')),
          id: call.id,
          durationSec: duration ? Number(duration[1]) * 60 + Number(duration[2]) : 0,
          contactId,
          contactPhones: e164s([contact?.Phone, contact?.Mobile]),
          recordingShas: (sim.attachments.get(call.id) ?? []).map((a) => sha256(a.data)),
        };
      }),
  };
}

function highlevel(sim: HighLevelSimulator): ScenarioCrm {
  return {
    id: 'highlevel',
    sim,
    appContext: { conversationProviderId: sim.conversationProviderId },
    seedContacts: (callers) => seed(callers, (c) => sim.addContact({ firstName, lastName: `${lastName} ${c.name}`, phone: stored(c.e164) }).id),
    // A call is a Call message in the contact's conversation; its facts are in the call note that names it.
    callEntries: () =>
      sim.messages.map((message) => {
        const note = sim.notes.find((n) => n.body.includes(`message ${message.id}`));
        const contact = sim.contacts.find((c) => c.id === message.contactId);
        return {
          ...fromNotes(note?.body ?? ''),
          id: message.id,
          contactId: message.contactId,
          contactPhones: e164s([contact?.phone]),
          recordingShas: message.attachments.map((url) => sha256(sim.uploads.find((u) => u.url === url)?.data ?? Buffer.from(`missing upload ${url}`))),
        };
      }),
  };
}
