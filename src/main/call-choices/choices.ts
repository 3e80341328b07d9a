// The agent's picks for a call: which of the records sharing the caller's number the call is logged
// to, and which of that record's open deals. Durable (SQLite in the agent's data directory): the
// outbox reads the pick each time it writes or updates the call's log, so a pick made after the log
// was written moves that record (the CRM adapters re-link it), and a pick survives a restart.
// The contact pick is also remembered per number and agent: the next call from that number is
// logged to the same record without asking. Without any pick, the tenant policy of the contact
// index decides (the agent's own record, else the most recently active), as before.
// Every pick belongs to the CRM account it was made in (a record id means nothing in another CRM,
// or another account of the same CRM): only the signed-in account's picks are read.
// Kept bounded: a call's pick goes once its log is settled and old (`prune`), a number's after a year.
import { z } from 'zod';
import type { CrmContact, CrmDeal } from '../crm/port.js';
import { openDatabase, type Migration, type SqliteDb } from '../../shared/sqlite.js';
import { Signal } from '../signal.js';

export type PickedContact = Pick<CrmContact, 'id' | 'kind' | 'name'>;
export type PickedDeal = Pick<CrmDeal, 'id' | 'kind' | 'name'>;

/** Whose picks are read and written: the paired agent and the signed-in CRM account; null otherwise. */
export interface ChoiceScope {
  tenant: string;
  extension: string;
  /** The CRM and its account (`hubspot:<portal>`), as the contact cache is claimed. */
  crm: string;
}

/** A call's pick is kept this long after it was made, beyond the Recent calls list (30 days) where it can change. */
export const CALL_PICK_KEEP_MS = 90 * 86_400_000;
/** A number's remembered record is forgotten a year after it was last picked. */
export const NUMBER_PICK_KEEP_MS = 365 * 86_400_000;

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
  // The CRM account joins both keys, and the tenant the agent key ('<tenant>:<extension>'). Rows
  // from before carry crm '' (and the bare extension): `adoptUnscoped` gives them to the first
  // account connected after the update, the one they were made in on an ordinary restart.
  (db) =>
    db.exec(`
      ALTER TABLE call_choice ADD COLUMN crm TEXT NOT NULL DEFAULT '';
      CREATE TABLE number_choice_v2 (
        agent TEXT NOT NULL,
        crm TEXT NOT NULL,
        e164 TEXT NOT NULL,
        contact_json TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (agent, crm, e164)
      );
      INSERT INTO number_choice_v2 (agent, crm, e164, contact_json, updated_at) SELECT agent, '', e164, contact_json, updated_at FROM number_choice;
      DROP TABLE number_choice;
      ALTER TABLE number_choice_v2 RENAME TO number_choice;
      CREATE INDEX call_choice_updated ON call_choice (updated_at);
      CREATE INDEX number_choice_updated ON number_choice (updated_at);
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
    /** Whose picks: null while unpaired or signed out (then nothing is read, and a pick is refused). */
    private readonly scope: () => ChoiceScope | null,
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
    const scope = this.requireScope();
    this.db.transaction(() => {
      const before = this.forCall(callKey);
      const deal = before?.contact?.id === picked.id ? before.deal : null;
      this.writeCall(scope, callKey, picked, deal);
      if (e164 !== null) {
        this.db
          .prepare('INSERT INTO number_choice (agent, crm, e164, contact_json, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(agent, crm, e164) DO UPDATE SET contact_json = excluded.contact_json, updated_at = excluded.updated_at')
          .run(agentOf(scope), scope.crm, e164, JSON.stringify(picked), this.now());
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
    this.writeCall(this.requireScope(), callKey, owner ?? null, picked);
    this.changed.emit(callKey);
  }

  /** The call's picks in the signed-in CRM account (the outbox reads them on each write of the log). */
  forCall(callKey: string): CallChoice | null {
    const scope = this.scope();
    if (scope === null) return null;
    const row = this.db.prepare('SELECT contact_json, deal_json FROM call_choice WHERE call_key = ? AND crm = ?').get(callKey, scope.crm) as
      | { contact_json: string | null; deal_json: string | null }
      | undefined;
    if (!row) return null;
    const contact = row.contact_json ? (JSON.parse(row.contact_json) as PickedContact) : undefined;
    return { ...(contact ? { contact } : {}), deal: row.deal_json ? (JSON.parse(row.deal_json) as PickedDeal) : null };
  }

  /** The record this agent last picked for the number, if any. */
  rememberedFor(e164: string): PickedContact | null {
    const scope = this.scope();
    if (scope === null) return null;
    const row = this.db.prepare('SELECT contact_json FROM number_choice WHERE agent = ? AND crm = ? AND e164 = ?').get(agentOf(scope), scope.crm, e164) as
      | { contact_json: string }
      | undefined;
    return row ? (JSON.parse(row.contact_json) as PickedContact) : null;
  }

  /** The remembered record no longer has the number (deleted, merged, renumbered): stop using it. */
  forget(e164: string): void {
    const scope = this.scope();
    if (scope) this.db.prepare('DELETE FROM number_choice WHERE agent = ? AND crm = ? AND e164 = ?').run(agentOf(scope), scope.crm, e164);
  }

  /** Picks made before they carried a CRM account (schema step 2) become the current account's. */
  adoptUnscoped(): void {
    const scope = this.scope();
    if (scope === null) return;
    this.db.transaction(() => {
      this.db.prepare("UPDATE call_choice SET crm = ? WHERE crm = ''").run(scope.crm);
      this.db.prepare("UPDATE OR IGNORE number_choice SET agent = ?, crm = ? WHERE crm = '' AND agent = ?").run(agentOf(scope), scope.crm, scope.extension);
    })();
  }

  /**
   * Drops call picks older than CALL_PICK_KEEP_MS unless `stillWritten(callKey)` (the outbox has
   * work left on that call's log), and number picks older than NUMBER_PICK_KEEP_MS.
   */
  prune(stillWritten: (callKey: string) => boolean): void {
    const now = this.now();
    const old = this.db.prepare('SELECT call_key FROM call_choice WHERE updated_at < ?').pluck().all(now - CALL_PICK_KEEP_MS) as string[];
    const drop = this.db.prepare('DELETE FROM call_choice WHERE call_key = ?');
    this.db.transaction(() => {
      for (const callKey of old) if (!stillWritten(callKey)) drop.run(callKey);
      this.db.prepare('DELETE FROM number_choice WHERE updated_at < ?').run(now - NUMBER_PICK_KEEP_MS);
    })();
  }

  close(): void {
    this.db.close();
  }

  private requireScope(): ChoiceScope {
    const scope = this.scope();
    if (scope === null) throw new ChoiceError('Sign in to your CRM first.');
    return scope;
  }

  private writeCall(scope: ChoiceScope, callKey: string, contact: PickedContact | null, deal: PickedDeal | null): void {
    this.db
      .prepare(
        'INSERT INTO call_choice (call_key, crm, contact_json, deal_json, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(call_key) DO UPDATE SET crm = excluded.crm, contact_json = excluded.contact_json, deal_json = excluded.deal_json, updated_at = excluded.updated_at',
      )
      .run(callKey, scope.crm, contact ? JSON.stringify(contact) : null, deal ? JSON.stringify(deal) : null, this.now());
  }
}

const agentOf = (scope: ChoiceScope): string => `${scope.tenant}:${scope.extension}`;

function checkKey(callKey: string): void {
  if (typeof callKey !== 'string' || callKey.length === 0 || callKey.length > 300) throw new ChoiceError('not a call key');
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ChoiceError(`not a ${what}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
