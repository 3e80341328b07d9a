// The bus-side contact cache: enough of each tenant's CRM contacts to answer a 3CX lookup
// ("who is calling?") without calling the CRM. Keyed by E.164; filled by `contacts import`.
import { parse } from 'csv-parse/sync';
import type { CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import { toE164 } from '../../shared/phone.js';

export interface CachedContact {
  id: string;
  firstName: string;
  lastName: string;
  company: string;
  url: string;
}

export interface ContactCache {
  /** Inserts or replaces by (tenant, E.164); returns how many were stored. */
  importContacts(tenantId: string, contacts: Array<CachedContact & { e164: string }>): Promise<number>;
  findContact(tenantId: string, e164: string): Promise<CachedContact | null>;
}

const CsvRowSchema = z.object({
  id: z.string().trim().min(1).max(128),
  phone: z.string().trim().min(1).max(64),
  firstName: z.string().trim().max(200).default(''),
  lastName: z.string().trim().max(200).default(''),
  company: z.string().trim().max(200).default(''),
  url: z.string().trim().max(2048).default(''),
});

export interface CsvImport {
  contacts: Array<CachedContact & { e164: string }>;
  /** 1-based data line numbers (header = line 1) that were skipped, with why. */
  rejected: Array<{ line: number; reason: string }>;
}

/**
 * Reads a CSV with a header row naming at least `id` and `phone` (optional firstName, lastName,
 * company, url). Phones are normalised with the tenant's country; rows that fail are reported, not fatal.
 */
export function parseContactsCsv(text: string, defaultCountry: CountryCode): CsvImport {
  const rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Record<string, string>[];
  const result: CsvImport = { contacts: [], rejected: [] };
  rows.forEach((row, index) => {
    const line = index + 2;
    const parsed = CsvRowSchema.safeParse(row);
    if (!parsed.success) {
      result.rejected.push({ line, reason: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
      return;
    }
    const e164 = toE164(parsed.data.phone, defaultCountry);
    if (!e164) {
      result.rejected.push({ line, reason: `phone "${parsed.data.phone}" is not a valid number` });
      return;
    }
    const { phone: _phone, ...contact } = parsed.data;
    result.contacts.push({ ...contact, e164 });
  });
  return result;
}
