import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContactIndex } from '../contacts/index.js';
import { FakeCrm } from '../../../test/support/outbox-fixtures.js';
import type { CrmContact, NewContactInput } from '../crm/port.js';
import Database from 'better-sqlite3';
import { CALL_PICK_KEEP_MS, CallChoices, ChoiceError, NUMBER_PICK_KEEP_MS, type ChoiceScope } from './choices.js';
import { CallRecordService } from './records.js';

const E164 = '+61298765432';
const contact = (id: string, name: string, over: Partial<CrmContact> = {}): CrmContact => ({
  id, kind: 'contact', name, company: null, phones: [E164], ownerId: null, lastActivityAt: null, url: `https://crm.example/${id}`, updatedAt: null, ...over,
});

let dir: string;
let scope: ChoiceScope | null;
let clock: number;
let choices: CallChoices;
const open = () => new CallChoices(join(dir, 'call-choices.sqlite'), () => scope, () => clock);
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rb-choices-'));
  scope = { tenant: 't1', extension: '101', crm: 'hubspot:portal-1' };
  clock = Date.parse('2026-12-01T00:00:00Z');
  choices = open();
});
afterEach(() => {
  choices.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('call choices (durable picks)', () => {
  it('keeps a pick per call and per number and agent, across a reopen; another agent on the device does not inherit it', () => {
    choices.pickContact('k1', E164, { id: 'c-bea', kind: 'contact', name: 'Bea' });
    choices.pickDeal('k1', { id: 'd-1', kind: 'deal', name: 'Renewal' });
    choices.close();
    choices = open();
    expect(choices.forCall('k1')).toEqual({ contact: { id: 'c-bea', kind: 'contact', name: 'Bea' }, deal: { id: 'd-1', kind: 'deal', name: 'Renewal' } });
    expect(choices.rememberedFor(E164)?.id).toBe('c-bea');
    scope = { ...scope!, extension: '102' };
    expect(choices.rememberedFor(E164)).toBeNull();
  });

  it('a pick belongs to the CRM account it was made in: after a switch of CRM or account, or a pairing to another tenant, it is neither read nor logged to', () => {
    choices.pickContact('k1', E164, { id: 'c-bea', kind: 'contact', name: 'Bea' });
    choices.pickDeal('k1', { id: 'd-1', kind: 'deal', name: 'Renewal' });
    const hubspot = scope!;
    for (const other of [{ ...hubspot, crm: 'salesforce:acme.my.salesforce.com' }, { ...hubspot, crm: 'hubspot:portal-2' }, { ...hubspot, tenant: 't2' }]) {
      scope = other;
      expect(choices.rememberedFor(E164)).toBeNull();
    }
    scope = { ...hubspot, crm: 'salesforce:acme.my.salesforce.com' };
    expect(choices.forCall('k1')).toBeNull(); // what the outbox reads when it writes the call's log
    scope = null; // signed out: nothing to pick into
    expect(() => choices.pickContact('k2', E164, { id: 'c-ada', kind: 'contact', name: 'Ada' })).toThrow(/Sign in to your CRM/);
    scope = hubspot;
    expect(choices.forCall('k1')?.deal?.id).toBe('d-1');
    expect(choices.rememberedFor(E164)?.id).toBe('c-bea');
  });

  it('a file from before picks carried their CRM account keeps its picks: they become the first account connected after the update', () => {
    choices.close();
    rmSync(join(dir, 'call-choices.sqlite'));
    const old = new Database(join(dir, 'call-choices.sqlite'));
    old.exec(`
      CREATE TABLE call_choice (call_key TEXT PRIMARY KEY, contact_json TEXT, deal_json TEXT, updated_at INTEGER NOT NULL);
      CREATE TABLE number_choice (agent TEXT NOT NULL, e164 TEXT NOT NULL, contact_json TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (agent, e164));
      INSERT INTO call_choice VALUES ('k1', '{"id":"c-bea","kind":"contact","name":"Bea"}', '{"id":"d-1","kind":"deal","name":"Renewal"}', 1);
      INSERT INTO number_choice VALUES ('101', '${E164}', '{"id":"c-bea","kind":"contact","name":"Bea"}', ${clock});
      INSERT INTO number_choice VALUES ('102', '${E164}', '{"id":"c-ada","kind":"contact","name":"Ada"}', ${clock});
      PRAGMA user_version = 1;
    `);
    old.close();
    choices = open();
    expect(choices.forCall('k1')).toBeNull(); // no account yet
    choices.adoptUnscoped();
    expect(choices.forCall('k1')).toEqual({ contact: { id: 'c-bea', kind: 'contact', name: 'Bea' }, deal: { id: 'd-1', kind: 'deal', name: 'Renewal' } });
    expect(choices.rememberedFor(E164)?.id).toBe('c-bea');
    scope = { ...scope!, extension: '102' };
    expect(choices.rememberedFor(E164)).toBeNull(); // another agent's memory is not this one's
  });

  it('stays bounded: a call pick goes 90 days on unless the outbox still writes that call, a number pick a year after it was made', () => {
    choices.pickContact('settled', E164, { id: 'c-bea', kind: 'contact', name: 'Bea' });
    choices.pickContact('queued', null, { id: 'c-bea', kind: 'contact', name: 'Bea' });
    clock += CALL_PICK_KEEP_MS - 1;
    choices.pickContact('recent', null, { id: 'c-ada', kind: 'contact', name: 'Ada' });
    clock += 2;
    choices.prune((callKey) => callKey === 'queued');
    expect([choices.forCall('settled'), choices.forCall('queued'), choices.forCall('recent')].map((c) => c?.contact?.id ?? null)).toEqual([null, 'c-bea', 'c-ada']);
    expect(choices.rememberedFor(E164)?.id).toBe('c-bea');
    clock += NUMBER_PICK_KEEP_MS - CALL_PICK_KEEP_MS;
    choices.prune(() => false);
    expect(choices.rememberedFor(E164)).toBeNull();
  });

  it("drops the deal when another record is picked (a deal is its record's)", () => {
    choices.pickContact('k1', E164, { id: 'c-bea', kind: 'contact', name: 'Bea' });
    choices.pickDeal('k1', { id: 'd-1', kind: 'deal', name: 'Renewal' });
    choices.pickContact('k1', E164, { id: 'c-ada', kind: 'contact', name: 'Ada' });
    expect(choices.forCall('k1')?.deal).toBeNull();
  });

  it('refuses bad input with a clear error and changes nothing', () => {
    choices.pickContact('k1', E164, { id: 'c-bea', kind: 'contact', name: 'Bea' });
    expect(() => choices.pickContact('k1', '0298765432', { id: 'c-ada', kind: 'contact', name: 'Ada' })).toThrow(ChoiceError);
    expect(() => choices.pickContact('k1', E164, { id: '', kind: 'contact', name: 'Ada' } as never)).toThrow(/not a contact/);
    expect(() => choices.pickDeal('k2', { id: 'd-1', kind: 'deal', name: 'x' })).toThrow(/Pick the record before its deal/);
    expect(choices.forCall('k1')?.contact?.id).toBe('c-bea');
    expect(choices.forCall('k2')).toBeNull();
  });
});

describe('call records (pick, create, resolve)', () => {
  const setup = (policy: 'off' | 'ask' | 'auto', crm = new FakeCrm()) => {
    const contacts = new ContactIndex({ defaultCountry: () => 'AU' });
    const relogged: string[] = [];
    const service = new CallRecordService({
      choices,
      contacts,
      adapter: () => crm,
      storedNumberOf: (callKey) => (callKey.startsWith('k') ? E164 : null),
      ownerId: () => null,
      createPolicy: () => policy,
      relog: (callKey) => relogged.push(callKey),
      logger: pino({ level: 'silent' }),
      now: () => clock,
    });
    return { service, contacts, relogged, crm };
  };

  it('makes one record when two creates for a new caller race (a double click), and logs the call to it', async () => {
    const crm = new FakeCrm();
    let made = 0;
    const create = crm.createContact.bind(crm);
    const known: CrmContact[] = [];
    crm.findContactsByPhone = async () => known;
    crm.createContact = async (input: NewContactInput) => {
      made++;
      const created = await create(input);
      known.push(created);
      return created;
    };
    const { service, relogged } = setup('ask', crm);
    const [a, b] = await Promise.all([service.createRecord('k1', 'Grace Hopper'), service.createRecord('k1', 'Grace Hopper')]);
    expect(made).toBe(1);
    expect([a.chosenId, b.chosenId]).toEqual([known[0]!.id, known[0]!.id]);
    await service.createRecord('k1', 'Grace Hopper'); // later: found by its number, not made again
    expect(made).toBe(1);
    expect(relogged).toContain('k1');
  });

  it("refuses to create under the 'off' policy, and for a call without a number, changing nothing", async () => {
    const { service, relogged } = setup('off');
    await expect(service.createRecord('k1', 'x')).rejects.toThrow(/turned off/);
    await expect(setup('ask').service.createRecord('no-number', 'x')).rejects.toThrow(/no caller number/);
    expect(relogged).toEqual([]);
    expect(choices.forCall('k1')).toBeNull();
  });

  it("resolves a call without a pick: remembered pick, else the index's policy order; 'auto' creates only for a number nobody has", async () => {
    const { service, contacts } = setup('auto');
    contacts.upsert(contact('c-ada', 'Ada', { lastActivityAt: '2026-11-01T00:00:00Z' }));
    contacts.upsert(contact('c-bea', 'Bea', { lastActivityAt: '2026-01-01T00:00:00Z' }));
    expect((await service.resolve(E164))?.id).toBe('c-ada');
    await service.pickRecord('k1', 'c-bea');
    expect((await service.resolve(E164))?.id).toBe('c-bea');
    const created = await service.resolve('+61298760099');
    expect(created).toMatchObject({ id: 'new-+61298760099' });
  });

  it('a remembered record that lost the number (deleted or merged in the CRM) is not logged to: the policy decides, and the memory is dropped', async () => {
    const { service, contacts } = setup('ask');
    contacts.upsert(contact('c-ada', 'Ada', { lastActivityAt: '2026-11-01T00:00:00Z' }));
    contacts.upsert(contact('c-bea', 'Bea', { lastActivityAt: '2026-01-01T00:00:00Z' }));
    await service.pickRecord('k1', 'c-bea');
    contacts.remove('c-bea'); // the contact sync saw it deleted (or merged into Ada)
    expect((await service.view('k2')).chosenBy).toBe('policy');
    expect((await service.resolve(E164))?.id).toBe('c-ada');
    expect(choices.rememberedFor(E164)).toBeNull();
  });

  it("a new caller's remembered record, not in the index yet, is still used once the CRM confirms it has the number", async () => {
    const crm = new FakeCrm();
    const { service, contacts } = setup('ask', crm);
    contacts.upsert(contact('c-bea', 'Bea'));
    await service.pickRecord('k1', 'c-bea');
    contacts.clear(); // restarted before the contact sync ran
    crm.findContactsByPhone = async () => [contact('c-bea', 'Bea')];
    expect((await service.resolve(E164))?.id).toBe('c-bea');
    expect(choices.rememberedFor(E164)?.id).toBe('c-bea');
  });

  it("reads a record's open deals again once they are 30 s old by the service's clock", async () => {
    const crm = new FakeCrm();
    let reads = 0;
    crm.findOpenDeals = async () => (reads++, []);
    const { service, contacts } = setup('ask', crm);
    contacts.upsert(contact('c-bea', 'Bea'));
    await service.view('k1');
    clock += 29_000;
    await service.view('k1');
    expect(reads).toBe(1);
    clock += 2_000;
    await service.view('k1');
    expect(reads).toBe(2);
  });
});
