import { describe, expect, it } from 'vitest';
import { parseContactsCsv } from './contacts.js';

describe('parseContactsCsv', () => {
  it('reads quoted fields, a BOM and any column order, normalising phones to E.164', () => {
    const csv = '\ufeffphone,id,company,firstName,lastName,url\n"+1 (212) 555-0100",c1,"Acme, Inc.",Ann,"O""Neil",\n02 9876 5432,c2,,Bob,,\n';
    const { contacts, rejected } = parseContactsCsv(csv, 'AU');
    expect(rejected).toEqual([]);
    expect(contacts).toEqual([
      { id: 'c1', e164: '+12125550100', firstName: 'Ann', lastName: 'O"Neil', company: 'Acme, Inc.', url: '' },
      { id: 'c2', e164: '+61298765432', firstName: 'Bob', lastName: '', company: '', url: '' },
    ]);
  });

  it('skips rows without an id or a valid number and says which line', () => {
    const { contacts, rejected } = parseContactsCsv('id,phone\n,0298765432\nc2,12\nc3,0298765433\n', 'AU');
    expect(contacts.map((c) => c.id)).toEqual(['c3']);
    expect(rejected.map((r) => r.line)).toEqual([2, 3]);
    expect(rejected[1]!.reason).toMatch(/not a valid number/);
  });
});
