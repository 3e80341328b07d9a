import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { CrmContact } from '../crm/port.js';
import { ContactIndex, ContactResolver, MemoryContactSource, type ContactSource } from './index.js';

const silent = pino({ level: 'silent' });

function contact(id: string, phones: string[], extra: Partial<CrmContact> = {}): CrmContact {
  return {
    id,
    kind: 'contact',
    name: `Contact ${id}`,
    company: 'Acme Pty Ltd',
    phones,
    ownerId: null,
    lastActivityAt: null,
    url: `https://crm.example/contacts/${id}`,
    updatedAt: null,
    ...extra,
  };
}

function auIndex(owner: string | null = null): ContactIndex {
  return new ContactIndex({ defaultCountry: () => 'AU', preferredOwner: owner });
}

describe('ContactIndex', () => {
  it('keys every phone field by E.164 whatever format the CRM stored', () => {
    const index = auIndex();
    index.upsert(contact('c1', ['(02) 9876 5432', '+61 412 345 678', '0061298765432', 'ext 12', '']));
    expect(index.lookup('+61298765432').map((c) => c.id)).toEqual(['c1']);
    expect(index.lookup('+61412345678').map((c) => c.id)).toEqual(['c1']);
    expect(index.get('c1')?.phones).toEqual(['+61298765432', '+61412345678']);
    expect(index.lookup('+61299999999')).toEqual([]);
  });

  it('re-indexes when a contact changes its phones and forgets removed contacts', () => {
    const index = auIndex();
    index.upsert(contact('c1', ['02 9876 5432']));
    index.upsert(contact('c1', ['0412 345 678'], { name: 'Renamed' }));
    expect(index.lookup('+61298765432')).toEqual([]);
    expect(index.lookup('+61412345678')[0]?.name).toBe('Renamed');
    expect(index.size).toBe(1);
    expect(index.remove('c1')).toBe(true);
    expect(index.lookup('+61412345678')).toEqual([]);
    expect(index.size).toBe(0);
  });

  it("orders a shared number: the agent's own contact first, then most recent activity", () => {
    const index = auIndex('u-me');
    index.upsert(contact('old', ['02 9876 5432'], { lastActivityAt: '2024-01-01T00:00:00Z', ownerId: 'u-other' }));
    index.upsert(contact('mine', ['02 9876 5432'], { lastActivityAt: '2023-01-01T00:00:00Z', ownerId: 'u-me' }));
    index.upsert(contact('recent', ['02 9876 5432'], { lastActivityAt: '2025-06-01T00:00:00Z' }));
    index.upsert(contact('unknown', ['02 9876 5432']));
    expect(index.lookup('+61298765432').map((c) => c.id)).toEqual(['mine', 'recent', 'old', 'unknown']);
    index.setPreferredOwner(null);
    expect(index.lookup('+61298765432')[0]?.id).toBe('recent');
  });

  it('keeps the other contacts on a shared number when one is removed', () => {
    const index = auIndex();
    index.upsert(contact('a', ['02 9876 5432']));
    index.upsert(contact('b', ['02 9876 5432']));
    index.upsert(contact('c', ['02 9876 5432']));
    index.remove('b');
    expect(index.lookup('+61298765432').map((c) => c.id).sort()).toEqual(['a', 'c']);
    index.remove('a');
    expect(index.lookup('+61298765432').map((c) => c.id)).toEqual(['c']);
  });

  it('uses the current default country for national numbers', () => {
    let country: 'AU' | 'GB' = 'AU';
    const index = new ContactIndex({ defaultCountry: () => country });
    index.upsert(contact('au', ['0412 345 678']));
    country = 'GB';
    index.upsert(contact('gb', ['020 7946 0958']));
    expect(index.lookup('+61412345678')[0]?.id).toBe('au');
    expect(index.lookup('+442079460958')[0]?.id).toBe('gb');
  });
});

describe('ContactResolver', () => {
  it('answers from the index without asking the CRM', () => {
    const index = auIndex();
    index.upsert(contact('c1', ['02 9876 5432']));
    const source = new MemoryContactSource();
    const resolver = new ContactResolver(index, source, silent);
    expect(resolver.resolve('+61298765432').map((c) => c.id)).toEqual(['c1']);
    expect(source.calls).toEqual([]);
  });

  it('on a miss answers empty at once, then reports and indexes what the CRM found', async () => {
    const index = auIndex();
    const source = new MemoryContactSource([contact('remote', ['+61298765432'])]);
    const resolver = new ContactResolver(index, source, silent);
    const answered = new Promise<string[]>((resolve) => {
      expect(resolver.resolve('+61298765432', (found) => resolve(found.map((c) => c.id)))).toEqual([]);
    });
    expect(await answered).toEqual(['remote']);
    expect(index.lookup('+61298765432').map((c) => c.id)).toEqual(['remote']);
  });

  it('asks the CRM once for concurrent misses on the same number and survives its failure', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const calls: string[] = [];
    const failing: ContactSource = {
      async lookupRemote(e164) {
        calls.push(e164);
        await gate;
        throw new Error('CRM down');
      },
    };
    const resolver = new ContactResolver(auIndex(), failing, silent);
    const answers: number[] = [];
    const both = Promise.all([
      new Promise<void>((r) => resolver.resolve('+61298765432', (c) => (answers.push(c.length), r()))),
      new Promise<void>((r) => resolver.resolve('+61298765432', (c) => (answers.push(c.length), r()))),
    ]);
    release();
    await both;
    expect(calls).toEqual(['+61298765432']);
    expect(answers).toEqual([0, 0]);
  });
});
