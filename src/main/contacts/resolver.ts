// Answers "who is calling" from the local index at once; on a miss it asks the CRM in the
// background so the pop is never delayed, files the answer in the index and reports it.
import type { Logger } from 'pino';
import type { CrmContact } from '../crm/port.js';
import type { ContactIndex, IndexedContact } from './contact-index.js';

/** Remote lookups for numbers the index does not know; crm-link backs it with the CRM adapter's findContactsByPhone. */
export interface ContactSource {
  lookupRemote(e164: string): Promise<CrmContact[]>;
}

/** In-memory source for tests and the demo. */
export class MemoryContactSource implements ContactSource {
  readonly calls: string[] = [];
  constructor(private readonly contacts: CrmContact[] = []) {}

  async lookupRemote(e164: string): Promise<CrmContact[]> {
    this.calls.push(e164);
    return this.contacts.filter((c) => c.phones.includes(e164));
  }
}

export type RemoteAnswer = (contacts: IndexedContact[]) => void;

export class ContactResolver {
  private readonly inFlight = new Map<string, RemoteAnswer[]>();

  constructor(
    readonly index: ContactIndex,
    private readonly source: ContactSource,
    private readonly logger: Logger,
  ) {}

  /**
   * Synchronous answer from the index. When it is empty, a remote lookup starts (one per number at
   * a time) and `onRemote` later receives the contacts found (possibly none). Never throws.
   */
  resolve(e164: string, onRemote?: RemoteAnswer): IndexedContact[] {
    const local = this.index.lookup(e164);
    if (local.length > 0) return local;
    const waiting = this.inFlight.get(e164);
    if (waiting) {
      if (onRemote) waiting.push(onRemote);
      return local;
    }
    this.inFlight.set(e164, onRemote ? [onRemote] : []);
    void this.lookupRemote(e164);
    return local;
  }

  private async lookupRemote(e164: string): Promise<void> {
    let found: IndexedContact[] = [];
    try {
      const contacts = await this.source.lookupRemote(e164);
      for (const contact of contacts) this.index.upsert(contact);
      found = this.index.lookup(e164);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'remote contact lookup failed');
    }
    const waiting = this.inFlight.get(e164) ?? [];
    this.inFlight.delete(e164);
    for (const answer of waiting) {
      try {
        answer(found);
      } catch (err) {
        this.logger.error({ err }, 'contact answer handler failed');
      }
    }
  }
}
