// Issue 11 items 2 and 10 through each real adapter into its CRM simulator, whose wire traffic is
// validated against the vendor's official files: the live record written at answer shows the call
// in progress (where the CRM has a status for it), and the same record is completed with the
// agent's notes and the outcome picked from the CRM's own list. The simulator's state is the truth.
import { describe, expect, it } from 'vitest';
import { closeCheckedSim } from '../../../test/support/crm-adapter.js';
import { simSession, type CrmSimulator } from '../../sim/crm/common/index.js';
import { startHighLevelSimulator } from '../../sim/crm/highlevel/index.js';
import { HUBSPOT_SIM_PORTAL_ID, startHubSpotSim } from '../../sim/crm/hubspot/index.js';
import { startSalesforceSim } from '../../sim/crm/salesforce/index.js';
import { startZohoSimulator } from '../../sim/crm/zoho/index.js';
import { callLogInput } from '../outbox/call-facts.js';
import type { CallFacts } from '../outbox/call-facts.js';
import { highLevelProvider } from './highlevel/index.js';
import { readCallNote } from './highlevel/mapping.js';
import { hubspotProvider } from './hubspot/index.js';
import type { CrmAdapter, CrmContact } from './port.js';
import { salesforceProvider } from './salesforce/index.js';
import { zohoProvider } from './zoho/index.js';
import { callKeyTag } from './zoho/mapping.js';

/** What the CRM now shows for the call: its status words, notes field and outcome field. */
interface Shown {
  records: number;
  inProgress: boolean;
  notes: string;
  outcome: string | null;
}

interface World {
  sim: CrmSimulator;
  adapter: CrmAdapter;
  contact: Pick<CrmContact, 'id' | 'kind'>;
  shown(callKey: string): Shown;
}

const E164 = '+14155550123';

const worlds: Record<string, () => Promise<World>> = {
  async HubSpot() {
    const sim = await startHubSpotSim({ rateLimits: false });
    const adapter = hubspotProvider.create(simSession(sim, { portalId: HUBSPOT_SIM_PORTAL_ID }), { origin: sim.url });
    const contact = { id: sim.addContact({ firstname: 'Jane', phone: E164 }), kind: 'contact' };
    return {
      sim,
      adapter,
      contact,
      shown(callKey) {
        const calls = [...sim.calls.values()].filter((c) => c.properties.ringbridge_call_key === callKey);
        const p = calls[0]?.properties ?? {};
        const label = sim.dispositions.find((d) => d.id === p.hs_call_disposition)?.label ?? null;
        return { records: calls.length, inProgress: p.hs_call_status === 'IN_PROGRESS', notes: p.hs_call_body ?? '', outcome: label };
      },
    };
  },
  async Salesforce() {
    const sim = await startSalesforceSim();
    const adapter = salesforceProvider.create(simSession(sim, { instanceUrl: sim.url }));
    const contact = { id: sim.add('Contact', { Name: 'Jane', LastName: 'Jane', Phone: E164 }), kind: 'Contact' };
    return {
      sim,
      adapter,
      contact,
      shown(callKey) {
        const tasks = [...sim.records.Task.values()].filter((t) => t.CallObject === callKey);
        const t: Record<string, unknown> = tasks[0] ?? {};
        return { records: tasks.length, inProgress: t.Status === 'In Progress', notes: String(t.Description ?? ''), outcome: (t.CallDisposition as string | undefined) ?? null };
      },
    };
  },
  async Zoho() {
    const sim = await startZohoSimulator();
    const adapter = zohoProvider.create(simSession(sim, { api_domain: sim.url }), { origin: sim.url });
    const contact = { id: sim.addRecord('Contacts', { Full_Name: 'Jane', Last_Name: 'Jane', Phone: E164 }).id, kind: 'Contacts' };
    return {
      sim,
      adapter,
      contact,
      shown(callKey) {
        const calls = sim.records.Calls.filter((c) => c.Ringbridge_Call_Key === callKeyTag(callKey));
        const c: Record<string, unknown> = calls[0] ?? {};
        // Calls has no in-progress status: the live record says it in its description.
        return { records: calls.length, inProgress: /^Outcome: In progress$/m.test(String(c.Description ?? '')), notes: String(c.Description ?? ''), outcome: (c.Call_Result as string | undefined) ?? null };
      },
    };
  },
  async HighLevel() {
    const sim = await startHighLevelSimulator({ rateLimits: false });
    const session = simSession(sim, { locationId: sim.locationId, companyId: sim.companyId, conversationProviderId: sim.conversationProviderId });
    const adapter = highLevelProvider.create(session, { origin: sim.url });
    const contact = { id: sim.addContact({ firstName: 'Jane', phone: E164 }).id, kind: 'contact' };
    return {
      sim,
      adapter,
      contact,
      shown(callKey) {
        // The call is a Call message plus the note on the contact that carries what a message cannot.
        const notes = sim.notes.filter((n) => readCallNote(n.body)?.tag === callKeyTag(callKey));
        const body = notes[0]?.body ?? '';
        return { records: notes.length, inProgress: /call, in progress$/m.test(body), notes: body, outcome: /^Call outcome: (.+)$/m.exec(body)?.[1] ?? null };
      },
    };
  },
};

const callKey = 'acme:pbx1:call-77:101';
const answered: CallFacts = {
  direction: 'inbound',
  caller: { raw: E164, e164: E164, name: null, extension: null },
  callee: { raw: '101', e164: null, name: 'Ann', extension: '101' },
  queue: null,
  firstSeenAt: '2026-03-02T09:00:00.000Z',
  answeredAt: '2026-03-02T09:00:05.000Z',
  endedAt: null,
  durationSec: null,
  missed: false,
  loggedBy: null,
};
const ended: CallFacts = { ...answered, endedAt: '2026-03-02T09:02:10.000Z', durationSec: 125 };

describe('the live record and the wrap-up notes and outcome, in each CRM simulator', () => {
  for (const [name, start] of Object.entries(worlds)) {
    it(`${name}: in progress at answer, then the same record completed with the notes and the picked outcome`, async () => {
      const w = await start();
      try {
        const contact = { ...w.contact, name: 'Jane' };
        const live = callLogInput(callKey, '101', answered, contact, null);
        const record = await w.adapter.logCall(live);
        expect(w.shown(callKey)).toMatchObject({ records: 1, inProgress: true });

        const outcomes = await w.adapter.listDispositions();
        expect(outcomes.length).toBeGreaterThan(0);
        const picked = outcomes[outcomes.length - 1]!;
        const notes = 'Wants the premium plan; call back Friday';
        const done = callLogInput(callKey, '101', ended, contact, null, { notes, disposition: picked });
        await w.adapter.updateCall(record.id, done);
        // Written again after a lost answer: still one record, still the same words.
        await w.adapter.logCall(done);
        const shown = w.shown(callKey);
        expect(shown).toMatchObject({ records: 1, inProgress: false, outcome: picked.label });
        expect(shown.notes).toContain(notes);
      } finally {
        await closeCheckedSim(w.sim);
      }
    });
  }
});
