// The CRM contract suite: what every adapter promises the outbox and the call panel about picking
// the record, creating a new caller's record and logging to a deal, run against each CRM's
// simulator. The simulator's own state is the ground truth; a seeded generator drives re-picks
// through seeded server faults, and a plain model (the last pick) is the oracle.
import { describe, expect, it } from 'vitest';
import type { CallLogInput, CrmAdapter, CrmContact } from '../../src/main/crm/port.js';
import { CrmError, linksOf } from '../../src/main/crm/port.js';
import type { CrmSimulator } from '../../src/sim/crm/common/index.js';
import { mulberry32 } from '../../src/sim/prng.js';
import { closeCheckedSim } from './crm-adapter.js';

/** What the suite needs of one CRM: its adapter on a fresh simulator, seeding, and the simulator's truth. */
export interface CrmContractWorld {
  adapter: CrmAdapter;
  sim: CrmSimulator;
  /** A record of the kind calls are logged to with deals (a Contact), holding `e164` in some stored format. */
  addContact(name: string, e164: string): Pick<CrmContact, 'id' | 'kind'>;
  /** A deal (opportunity, case) of the contact; `open` false makes it closed (won, lost). */
  addDeal(contact: Pick<CrmContact, 'id' | 'kind'>, name: string, open: boolean): string;
  /** The CRM's call records carrying this call key (the log must be one). */
  callRecordsOf(callKey: string): string[];
  /** Ground truth: the contact and deal the call record is linked to. */
  links(recordId: string): { contact: string | null; deal: string | null };
  /** Ground truth: the stored phone of a record and its kind. */
  stored(recordId: string): { phone: string | null; kind: string } | null;
  /**
   * Ground truth of a logged call (issue 11): how many records carry its key, whether the CRM shows
   * it in progress (its status, or its words where it has no status), its notes field and the
   * outcome's label in the CRM's outcome field.
   */
  callShown(callKey: string): { records: number; inProgress: boolean; notes: string; outcome: string | null };
}

export interface CrmContractOptions {
  /** The kind `createContact` makes (Lead where the CRM keeps unknown callers as leads). */
  newCallerKind: string;
  /** The kind a deal found for a contact carries. */
  dealKind: string;
  /**
   * False where a logged call cannot change contact (HighLevel: the Call message lives in the
   * contact's conversation): re-picks then change the deal only, and a contact re-pick is refused.
   */
  movesContact?: boolean;
}

const call = (over: Partial<CallLogInput> = {}): CallLogInput => ({
  callKey: 'acme:pbx1:call-501:101',
  direction: 'inbound',
  from: '+14155550123',
  to: '+14155550999',
  startedAt: '2026-03-01T10:00:00.000Z',
  answeredAt: '2026-03-01T10:00:04.000Z',
  durationSec: 61,
  outcome: 'answered',
  subject: 'Inbound call from +1 415-555-0123',
  notes: 'picked',
  contact: null,
  ownerId: null,
  ...over,
});

/** Seeded 500s only: a hang would only test the request timeout, a 429 the rate-limit pause. */
const SERVER_ERRORS_ONLY = { serverError: 1, rateLimit: 0, unavailable: 0, timeout: 0 };

/** Retries a step the way the outbox does after a transient CRM failure (the adapter is idempotent). */
async function untilDone<T>(step: () => Promise<T>, tries = 12): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await step();
    } catch (error) {
      if (!(error instanceof CrmError) || error.kind !== 'transient' || i >= tries) throw error;
    }
  }
}

export function describeCrmContract(name: string, start: () => Promise<CrmContractWorld>, opts: CrmContractOptions): void {
  const withWorld = (test: (w: CrmContractWorld) => Promise<void>) => async () => {
    const world = await start();
    try {
      await test(world);
    } finally {
      await closeCheckedSim(world.sim);
    }
  };

  describe(`CRM contract: ${name}`, () => {
    it(
      'shows the live record in progress at answer, then completes that same record with the notes and an outcome from its own list',
      withWorld(async (w) => {
        const contact = w.addContact('Ada Lovelace', '+14155550123');
        const callKey = 'acme:pbx1:call-live:101';
        const live = call({ callKey, contact, status: 'in_progress', durationSec: 0, notes: 'Outcome: in progress' });
        const record = await w.adapter.logCall(live);
        expect(w.callShown(callKey)).toMatchObject({ records: 1, inProgress: true });

        const outcomes = await w.adapter.listDispositions();
        expect(outcomes.length).toBeGreaterThan(0);
        const picked = outcomes[outcomes.length - 1]!;
        const notes = 'Wants the premium plan; call back Friday\n\nCall outcome: ' + picked.label;
        await w.adapter.updateCall(record.id, call({ callKey, contact, status: 'completed', disposition: picked, notes }));
        // Written again after a lost answer: still one record, still the same words.
        await w.adapter.logCall(call({ callKey, contact, status: 'completed', disposition: picked, notes }));
        const shown = w.callShown(callKey);
        expect(shown).toMatchObject({ records: 1, inProgress: false, outcome: picked.label });
        expect(shown.notes).toContain('Wants the premium plan; call back Friday');
      }),
    );

    it(
      'creates a new caller as a findable record of the documented kind, with the number stored in E.164',
      withWorld(async (w) => {
        const created = await w.adapter.createContact({ e164: '+442071838750', name: 'Grace Hopper', ownerId: null });
        expect(created.kind).toBe(opts.newCallerKind);
        expect(w.stored(created.id)).toEqual({ phone: '+442071838750', kind: opts.newCallerKind });
        expect((await w.adapter.findContactsByPhone('+442071838750')).map((c) => c.id)).toEqual([created.id]);
        // No name typed: the record is still valid (named after the number where the CRM needs a name).
        const nameless = await w.adapter.createContact({ e164: '+14155550188', name: null, ownerId: null });
        expect(w.stored(nameless.id)?.phone).toBe('+14155550188');
      }),
    );

    it(
      "lists a contact's open deals only: not closed ones, not another contact's",
      withWorld(async (w) => {
        const ada = w.addContact('Ada Lovelace', '+14155550123');
        const bob = w.addContact('Bob Byte', '+14155550124');
        const open = w.addDeal(ada, 'Renewal 2027', true);
        w.addDeal(ada, 'Old order', false);
        w.addDeal(bob, "Bob's deal", true);
        const deals = await w.adapter.findOpenDeals(ada);
        expect(deals.map((d) => [d.id, d.kind, d.name])).toEqual([[open, opts.dealKind, 'Renewal 2027']]);
        expect(deals[0]!.url).toMatch(/^https?:\/\//);
        expect(await w.adapter.findOpenDeals(w.addContact('Cy New', '+14155550125'))).toEqual([]);
      }),
    );

    it(
      'logs a call to the picked contact and deal, and moves that one record on every re-pick through seeded server faults',
      withWorld(async (w) => {
        const random = mulberry32(1101);
        const contacts = ['Ada', 'Bea', 'Cy'].map((n) => w.addContact(`${n} Shared`, '+14155550123'));
        const deals = new Map(contacts.map((c, i) => [c.id, [w.addDeal(c, `Deal ${i}a`, true), w.addDeal(c, `Deal ${i}b`, true)]]));
        const movesContact = opts.movesContact ?? true;
        const pick = () => {
          const contact = movesContact ? contacts[Math.floor(random() * contacts.length)]! : contacts[0]!;
          const options = deals.get(contact.id)!;
          const r = random();
          const deal = r < 0.3 ? null : options[r < 0.65 ? 0 : 1]!;
          return { contact, deal };
        };
        let model = pick();
        const input = (m: typeof model) => call({ contact: m.contact, deal: m.deal ? { id: m.deal, kind: opts.dealKind, name: 'picked deal' } : null });
        const record = await w.adapter.logCall(input(model));
        expect(w.links(record.id)).toEqual({ contact: model.contact.id, deal: model.deal });
        // What the outbox passes: the links of the last write that landed.
        let written = linksOf(input(model));
        // 500s on a fifth of the requests: each step is retried until it lands, like the outbox does.
        w.sim.faults.random({ seed: 1101, rate: 0.2, kinds: SERVER_ERRORS_ONLY });
        for (let step = 0; step < 8; step++) {
          model = pick();
          await untilDone(() => w.adapter.updateCall(record.id, input(model), written));
          written = linksOf(input(model));
          w.sim.faults.restore();
          expect(w.links(record.id), `re-pick ${step}`).toEqual({ contact: model.contact.id, deal: model.deal });
          w.sim.faults.random({ seed: 1101 + step, rate: 0.2, kinds: SERVER_ERRORS_ONLY });
        }
        w.sim.faults.restore();
        expect(w.sim.faults.randomFired.serverError).toBeGreaterThan(0);
        if (!movesContact) {
          const refused = await w.adapter.updateCall(record.id, input({ contact: contacts[1]!, deal: null }), written).catch((e: unknown) => e);
          expect(refused).toBeInstanceOf(CrmError);
          expect((refused as CrmError).kind).toBe('rejected');
          expect(w.links(record.id)).toEqual({ contact: model.contact.id, deal: model.deal });
        }
        expect(w.callRecordsOf(call().callKey)).toEqual([record.id]);
      }),
    );
  });
}
