// What the Call panel and the Recent calls row show and do about a call's CRM record: the records
// sharing the caller's number (pick one), the picked record's open deals (pick one), and a new
// caller's record (create it). Plain TS over the contact index, the CRM adapter and the durable
// picks (choices.ts); every pick makes the outbox write the call's log again, which moves the one
// record it made (never a second one).
import type { Logger } from 'pino';
import { type CallEvent, remoteParty } from '../../shared/call-event.js';
import type { CallRecords, CreateRecordPolicy } from '../../shared/ipc.js';
import type { ContactIndex } from '../contacts/index.js';
import { CrmError, type CrmAdapter, type CrmContact, type CrmDeal } from '../crm/port.js';
import { ChoiceError, type CallChoices, type PickedContact } from './choices.js';

export interface CallRecordsOptions {
  choices: CallChoices;
  contacts: ContactIndex;
  adapter: () => CrmAdapter | null;
  /** The caller's number of a call the bus events did not show this run (the outbox row's facts). */
  storedNumberOf: (callKey: string) => string | null;
  /** The agent's CRM user (owner of a new record). */
  ownerId: () => string | null;
  /** The tenant's policy for new callers (bus welcome); 'ask' until the bus says. */
  createPolicy: () => CreateRecordPolicy;
  /** Writes the call's log again with the new pick (Outbox.relog). */
  relog: (callKey: string) => void;
  logger: Logger;
  now?: () => number;
}

/** Numbers of recent calls kept in memory; older ones come from the outbox row. */
const NUMBERS_KEPT = 500;
/** A record's open deals as the CRM last listed them are reused this long (the view, then the pick). */
const DEALS_FRESH_MS = 30_000;

export class CallRecordService {
  private readonly numbers = new Map<string, string | null>();
  /** One create per number at a time: a double click or auto plus click makes one record. */
  private readonly creating = new Map<string, Promise<CrmContact>>();
  private readonly deals = new Map<string, { at: number; deals: CrmDeal[] }>();

  private readonly now: () => number;

  constructor(private readonly opts: CallRecordsOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Remembers each call's number from its events (callKey as the outbox and history key it). */
  noteEvent(event: CallEvent, callKey: string): void {
    if (this.numbers.has(callKey)) return;
    this.numbers.set(callKey, remoteParty(event).e164);
    if (this.numbers.size > NUMBERS_KEPT) this.numbers.delete(this.numbers.keys().next().value!);
  }

  numberOf(callKey: string): string | null {
    return this.numbers.get(callKey) ?? this.opts.storedNumberOf(callKey);
  }

  /** The picker's view. Deals are asked of the CRM; a CRM that fails leaves them empty, saying why. */
  async view(callKey: string): Promise<CallRecords> {
    const e164 = this.numberOf(callKey);
    if (e164 === null) return { e164: null, candidates: [], chosenId: null, chosenBy: null, deals: [], dealId: null, dealsError: null, create: 'off' };
    const candidates = this.opts.contacts.lookup(e164).map((c) => ({ id: c.id, kind: c.kind, name: c.name, company: c.company }));
    const { contact: chosen, by } = this.chosen(callKey, e164);
    const choice = this.opts.choices.forCall(callKey);
    let deals: CallRecords['deals'] = [];
    let dealsError: string | null = null;
    const adapter = this.opts.adapter();
    if (chosen && adapter) {
      try {
        deals = (await this.openDeals(adapter, chosen)).map(({ id, kind, name, stage }) => ({ id, kind, name, stage }));
      } catch (error) {
        dealsError = `Open deals could not be read: ${(error as Error).message}`.slice(0, 300);
      }
    }
    return {
      e164,
      candidates,
      chosenId: chosen?.id ?? null,
      chosenBy: by,
      deals,
      dealId: choice?.contact?.id === chosen?.id ? (choice?.deal?.id ?? null) : null,
      dealsError,
      create: candidates.length === 0 && adapter ? this.opts.createPolicy() : 'off',
    };
  }

  /** The agent picks one of the records sharing the number. */
  async pickRecord(callKey: string, contactId: string): Promise<CallRecords> {
    const e164 = this.requireNumber(callKey);
    const contact = this.opts.contacts.lookup(e164).find((c) => c.id === contactId);
    if (!contact) throw new ChoiceError('That record does not have the caller’s number.');
    this.opts.choices.pickContact(callKey, e164, { id: contact.id, kind: contact.kind, name: contact.name });
    this.opts.relog(callKey);
    return this.view(callKey);
  }

  /** The agent picks one of the picked record's open deals (null: none). */
  async pickDeal(callKey: string, dealId: string | null): Promise<CallRecords> {
    const e164 = this.requireNumber(callKey);
    const { contact } = this.chosen(callKey, e164);
    if (!contact) throw new ChoiceError('Pick the record before its deal.');
    let deal = null;
    if (dealId !== null) {
      const adapter = this.requireAdapter();
      // A deal made in the CRM since the list was read is looked for once more, fresh.
      const find = async (fresh: boolean) => (await this.openDeals(adapter, contact, fresh)).find((d) => d.id === dealId) ?? null;
      deal = (await find(false)) ?? (await find(true));
      if (!deal) throw new ChoiceError('That deal is not an open deal of this record.');
    }
    this.opts.choices.pickDeal(callKey, deal && { id: deal.id, kind: deal.kind, name: deal.name }, contact);
    this.opts.relog(callKey);
    return this.view(callKey);
  }

  /** "Create contact" for a caller the CRM does not know (the tenant policy allows it). */
  async createRecord(callKey: string, name: string | null): Promise<CallRecords> {
    const e164 = this.requireNumber(callKey);
    if (this.opts.createPolicy() === 'off') throw new ChoiceError('Your administrator turned off creating records from calls.');
    const created = await this.createCaller(e164, name);
    this.opts.choices.pickContact(callKey, e164, { id: created.id, kind: created.kind, name: created.name });
    this.opts.relog(callKey);
    return this.view(callKey);
  }

  /**
   * The record a call is logged to when the agent picked none for it: the one picked for the
   * number before, else the index's policy order (own record, latest activity), else the CRM's
   * answer; with the 'auto' policy, a new record for a number nobody has.
   */
  async resolve(e164: string): Promise<PickedContact | null> {
    const best = () => {
      const found = this.opts.contacts.lookup(e164)[0];
      return found ? { id: found.id, kind: found.kind, name: found.name } : null;
    };
    const adapter = this.opts.adapter();
    // The index knows nothing of the number (not synced yet): the CRM says, before the remembered pick is judged.
    if (!best() && adapter) for (const contact of await adapter.findContactsByPhone(e164)) this.opts.contacts.upsert(contact);
    const remembered = this.remembered(e164);
    if (remembered) return remembered;
    // Deleted, merged or renumbered since it was picked: forgotten, the policy decides again.
    if (this.opts.choices.rememberedFor(e164)) this.opts.choices.forget(e164);
    if (best() || !adapter || this.opts.createPolicy() !== 'auto') return best();
    const created = await this.createCaller(e164, null);
    this.opts.logger.info({ kind: created.kind }, 'created a record for a new caller (policy auto)');
    return { id: created.id, kind: created.kind, name: created.name };
  }

  private async openDeals(adapter: CrmAdapter, contact: PickedContact, fresh = false): Promise<CrmDeal[]> {
    const key = `${adapter.id}:${contact.kind}:${contact.id}`;
    const cached = this.deals.get(key);
    if (!fresh && cached && this.now() - cached.at < DEALS_FRESH_MS) return cached.deals;
    const deals = await adapter.findOpenDeals(contact);
    this.deals.set(key, { at: this.now(), deals });
    if (this.deals.size > NUMBERS_KEPT) this.deals.delete(this.deals.keys().next().value!);
    return deals;
  }

  private chosen(callKey: string, e164: string): { contact: PickedContact | null; by: CallRecords['chosenBy'] } {
    const picked = this.opts.choices.forCall(callKey)?.contact;
    if (picked) return { contact: picked, by: 'agent' };
    const remembered = this.remembered(e164);
    if (remembered) return { contact: remembered, by: 'remembered' };
    const first = this.opts.contacts.lookup(e164)[0];
    return first ? { contact: { id: first.id, kind: first.kind, name: first.name }, by: 'policy' } : { contact: null, by: null };
  }

  /** The record remembered for the number, while it still has the number in the contact index. */
  private remembered(e164: string): PickedContact | null {
    const remembered = this.opts.choices.rememberedFor(e164);
    const current = remembered && this.opts.contacts.lookup(e164).some((c) => c.id === remembered.id && c.kind === remembered.kind);
    return current ? remembered : null;
  }

  /** Looks the number up first, so a retry or a second click finds the record instead of making another. */
  private createCaller(e164: string, name: string | null): Promise<CrmContact> {
    const running = this.creating.get(e164);
    if (running) return running;
    const adapter = this.requireAdapter();
    const run = (async () => {
      const existing = await adapter.findContactsByPhone(e164);
      const contact = existing[0] ?? (await adapter.createContact({ e164, name: name?.trim() || null, ownerId: this.opts.ownerId() }));
      for (const c of existing.length ? existing : [contact]) this.opts.contacts.upsert(c);
      return contact;
    })().finally(() => this.creating.delete(e164));
    this.creating.set(e164, run);
    return run;
  }

  private requireNumber(callKey: string): string {
    const e164 = this.numberOf(callKey);
    if (e164 === null) throw new ChoiceError('This call has no caller number to look records up by.');
    return e164;
  }

  private requireAdapter(): CrmAdapter {
    const adapter = this.opts.adapter();
    if (!adapter) throw new CrmError('auth', 'Sign in to your CRM first.');
    return adapter;
  }
}
