// The agent's picks for a call: which of the records sharing the caller's number the call is logged
// to, and which of that record's open deals. Durable (SQLite in the agent's data directory): the
// outbox reads the pick each time it writes or updates the call's log, so a pick made after the log
// was written moves that record (the CRM adapters re-link it), and a pick survives a restart.
// The contact pick is also remembered per number and agent: the next call from that number is
// logged to the same record without asking. Without any pick, the tenant policy of the contact
// index decides (the agent's own record, else the most recently active), as before.
import { z } from 'zod';
import type { CrmContact, CrmDeal } from '../crm/port.js';
import { openDatabase, type Migration, type SqliteDb } from '../../shared/sqlite.js';
import { Signal } from '../signal.js';

export type PickedContact = Pick<CrmContact, 'id' | 'kind' | 'name'>;
export type PickedDeal = Pick<CrmDeal, 'id' | 'kind' | 'name'>;

/** What the agent picked for one call; `contact` absent = no pick (the policy decides). */
export interface CallChoice {
  contact?: PickedContact;
  deal: PickedDeal | null;
}

const Picked = z.object({ id: z.string().min(1).max(200), kind: z.string().min(1).max(60), name: z.string().max(300) });
const E164 = /^\+[1-9]\d{6,14}$/;

const MIGRATIONS: Migration[] = [
  (db) =>
    db.exec(`
      CREATE TABLE IF NOT EXISTS call_choice (
        call_key TEXT PRIMARY KEY,
        contact_json TEXT,
        deal_json TEXT,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS number_choice (
        agent TEXT NOT NULL,
        e164 TEXT NOT NULL,
        contact_json TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (agent, e164)
      );
    `),
];

export class ChoiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChoiceError';
  }
}

export class CallChoices {
  /** The call key whose pick changed (the outbox re-logs it, the window redraws). */
  readonly changed = new Signal<string>();
  private readonly db: SqliteDb;

  constructor(
    file: string,
    /** The agent the per-number memory belongs to (its extension); null while unpaired. */
    private readonly agent: () => string | null,
    private readonly now: () => number = Date.now,
  ) {
    this.db = openDatabase(file, { durability: 'full', busyTimeoutMs: 5000, migrations: MIGRATIONS });
  }

  /**
   * The record this call is logged to, remembered for the number too. A deal picked for another
   * record is dropped (a deal is the contact's). Throws ChoiceError on bad input, changing nothing.
   */
  pickContact(callKey: string, e164: string | null, contact: PickedContact): void {
    const picked = parse(Picked, contact, 'contact');
    checkKey(callKey);
    if (e164 !== null && !E164.test(e164)) throw new ChoiceError(`"${e164}" is not an E.164 number`);
    const agent = this.agent();
    const at = this.now();
    this.db.transaction(() => {
      const before = this.forCall(callKey);
      const deal = before?.contact?.id === picked.id ? before.deal : null;
      this.db
        .prepare('INSERT INTO call_choice (call_key, contact_json, deal_json, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(call_key) DO UPDATE SET contact_json = excluded.contact_json, deal_json = excluded.deal_json, updated_at = excluded.updated_at')
        .run(callKey, JSON.stringify(picked), deal ? JSON.stringify(deal) : null, at);
      if (agent !== null && e164 !== null) {
        this.db
          .prepare('INSERT INTO number_choice (agent, e164, contact_json, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(agent, e164) DO UPDATE SET contact_json = excluded.contact_json, updated_at = excluded.updated_at')
          .run(agent, e164, JSON.stringify(picked), at);
      }
    })();
    this.changed.emit(callKey);
  }

  /** The deal the call is logged to as well (null: none). The call's contact must be picked or given. */
  pickDeal(callKey: string, deal: PickedDeal | null, contact?: PickedContact): void {
    checkKey(callKey);
    const picked = deal === null ? null : parse(Picked, deal, 'deal');
    const owner = contact ? parse(Picked, contact, 'contact') : this.forCall(callKey)?.contact;
    if (picked && !owner) throw new ChoiceError('Pick the record before its deal.');
    this.db
      .prepare('INSERT INTO call_choice (call_key, contact_json, deal_json, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(call_key) DO UPDATE SET contact_json = excluded.contact_json, deal_json = excluded.deal_json, updated_at = excluded.updated_at')
      .run(callKey, owner ? JSON.stringify(owner) : null, picked ? JSON.stringify(picked) : null, this.now());
    this.changed.emit(callKey);
  }

  forCall(callKey: string): CallChoice | null {
    const row = this.db.prepare('SELECT contact_json, deal_json FROM call_choice WHERE call_key = ?').get(callKey) as
      | { contact_json: string | null; deal_json: string | null }
      | undefined;
    if (!row) return null;
    const contact = row.contact_json ? (JSON.parse(row.contact_json) as PickedContact) : undefined;
    return { ...(contact ? { contact } : {}), deal: row.deal_json ? (JSON.parse(row.deal_json) as PickedDeal) : null };
  }

  /** The record this agent last picked for the number, if any. */
  rememberedFor(e164: string): PickedContact | null {
    const agent = this.agent();
    if (agent === null) return null;
    const row = this.db.prepare('SELECT contact_json FROM number_choice WHERE agent = ? AND e164 = ?').get(agent, e164) as { contact_json: string } | undefined;
    return row ? (JSON.parse(row.contact_json) as PickedContact) : null;
  }

  close(): void {
    this.db.close();
  }
}

function checkKey(callKey: string): void {
  if (typeof callKey !== 'string' || callKey.length === 0 || callKey.length > 300) throw new ChoiceError('not a call key');
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ChoiceError(`not a ${what}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
