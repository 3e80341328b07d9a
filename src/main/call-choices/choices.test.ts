import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContactIndex } from '../contacts/index.js';
import { FakeCrm } from '../../../test/support/outbox-fixtures.js';
import type { CrmContact, NewContactInput } from '../crm/port.js';
import { CallChoices, ChoiceError } from './choices.js';
import { CallRecordService } from './records.js';

const E164 = '+61298765432';
const contact = (id: string, name: string, over: Partial<CrmContact> = {}): CrmContact => ({
  id, kind: 'contact', name, company: null, phones: [E164], ownerId: null, lastActivityAt: null, url: `https://crm.example/${id}`, updatedAt: null, ...over,
});

let dir: string;
let agent: string | null;
let choices: CallChoices;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rb-choices-'));
  agent = '101';
  choices = new CallChoices(join(dir, 'call-choices.sqlite'), () => agent);
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
    choices = new CallChoices(join(dir, 'call-choices.sqlite'), () => agent);
    expect(choices.forCall('k1')).toEqual({ contact: { id: 'c-bea', kind: 'contact', name: 'Bea' }, deal: { id: 'd-1', kind: 'deal', name: 'Renewal' } });
    expect(choices.rememberedFor(E164)?.id).toBe('c-bea');
    agent = '102';
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
});
