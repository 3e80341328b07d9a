// The local contact index the screen-pop answers from: E.164 -> contacts, kept compact so a
// million CRM contacts fit in the main process (no URLs or raw phones kept; repeated strings
// such as company, kind and owner are interned; one phone key is a plain string, not an array).
import type { CountryCode } from 'libphonenumber-js';
import type { CrmContact } from '../crm/port.js';
import { toE164 } from '../../shared/phone.js';

/** What the index keeps of a CRM contact. The record URL comes from the CRM adapter on demand. */
export class IndexedContact {
  constructor(
    readonly id: string,
    readonly kind: string,
    readonly name: string,
    readonly company: string | null,
    readonly ownerId: string | null,
    /** Epoch ms of the last CRM activity, or null when the CRM did not say. */
    readonly lastActivityMs: number | null,
    /** E.164 keys, comma-joined (one string per contact instead of an array). */
    readonly phoneKeys: string,
  ) {}

  get phones(): string[] {
    return this.phoneKeys === '' ? [] : this.phoneKeys.split(',');
  }
}

const E164 = /^\+[1-9]\d{6,14}$/;

export interface ContactIndexOptions {
  /** Country for numbers stored without a country code; read at each upsert. */
  defaultCountry: () => CountryCode;
  /** The agent's own CRM user id: its contacts come first on a shared number. */
  preferredOwner?: string | null;
}

export class ContactIndex {
  private readonly byId = new Map<string, IndexedContact>();
  private readonly byPhone = new Map<string, IndexedContact | IndexedContact[]>();
  private readonly interned = new Map<string, string>();
  private preferredOwner: string | null;

  constructor(private readonly options: ContactIndexOptions) {
    this.preferredOwner = options.preferredOwner ?? null;
  }

  get size(): number {
    return this.byId.size;
  }

  setPreferredOwner(ownerId: string | null): void {
    this.preferredOwner = ownerId;
  }

  /** Adds or replaces a contact by id; its old phone keys are dropped first. */
  upsert(contact: CrmContact): IndexedContact {
    this.remove(contact.id);
    const keys = this.phoneKeysOf(contact.phones);
    const lastActivity = contact.lastActivityAt ? Date.parse(contact.lastActivityAt) : NaN;
    const entry = new IndexedContact(
      contact.id,
      this.intern(contact.kind),
      contact.name,
      contact.company === null ? null : this.intern(contact.company),
      contact.ownerId === null ? null : this.intern(contact.ownerId),
      Number.isNaN(lastActivity) ? null : lastActivity,
      keys.join(','),
    );
    this.byId.set(entry.id, entry);
    for (const key of keys) this.addKey(key, entry);
    return entry;
  }

  remove(contactId: string): boolean {
    const existing = this.byId.get(contactId);
    if (!existing) return false;
    this.byId.delete(contactId);
    for (const key of existing.phones) this.removeKey(key, existing);
    return true;
  }

  get(contactId: string): IndexedContact | undefined {
    return this.byId.get(contactId);
  }

  /** Contacts with this E.164 number: the agent's own first, then the most recently active. */
  lookup(e164: string): IndexedContact[] {
    const hit = this.byPhone.get(e164);
    if (hit === undefined) return [];
    if (!Array.isArray(hit)) return [hit];
    return [...hit].sort((a, b) => this.rank(b) - this.rank(a) || (b.lastActivityMs ?? -1) - (a.lastActivityMs ?? -1));
  }

  clear(): void {
    this.byId.clear();
    this.byPhone.clear();
    this.interned.clear();
  }

  private rank(contact: IndexedContact): number {
    return this.preferredOwner !== null && contact.ownerId === this.preferredOwner ? 1 : 0;
  }

  private phoneKeysOf(phones: readonly string[]): string[] {
    const keys = new Set<string>();
    const country = this.options.defaultCountry();
    for (const raw of phones) {
      // Already E.164 needs no parsing: lookups use validated E.164, so an invalid key just never matches.
      const key = E164.test(raw) ? raw : toE164(raw, country);
      if (key) keys.add(key);
    }
    return [...keys];
  }

  private addKey(key: string, entry: IndexedContact): void {
    const current = this.byPhone.get(key);
    if (current === undefined) this.byPhone.set(key, entry);
    else if (Array.isArray(current)) current.push(entry);
    else this.byPhone.set(key, [current, entry]);
  }

  private removeKey(key: string, entry: IndexedContact): void {
    const current = this.byPhone.get(key);
    if (current === entry) {
      this.byPhone.delete(key);
    } else if (Array.isArray(current)) {
      const rest = current.filter((c) => c !== entry);
      this.byPhone.set(key, rest.length === 1 ? rest[0]! : rest);
    }
  }

  private intern(value: string): string {
    const known = this.interned.get(value);
    if (known !== undefined) return known;
    this.interned.set(value, value);
    return value;
  }
}
