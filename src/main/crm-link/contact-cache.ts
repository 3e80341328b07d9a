// The synced contacts and the sync cursor, kept together on disk (better-sqlite3) so a restart
// refills the in-memory index at once and continues the incremental sync where it stopped,
// instead of sweeping the whole CRM again. One page and its cursor commit in one transaction:
// a crash never leaves a cursor ahead of the contacts it covers.
//
// Incremental sync never reports deletions, so now and then a full pass re-reads the CRM from the
// start: every contact it files is marked with the pass, and when the pass ends the contacts it did
// not see (deleted or merged away in the CRM) are dropped. The pass survives restarts and rate
// limits like any sweep, since its marker and cursor are on disk with the contacts.
import type Database from 'better-sqlite3';
import { z } from 'zod';
import type { CrmContact } from '../crm/port.js';
import { addMissingColumns, openDatabase, type Migration, type SqliteDb } from '../../shared/sqlite.js';

/** Step 1 also brings up a cache from before schema versions (user_version 0). */
const MIGRATIONS: Migration[] = [
  (db) => {
    db.exec(`
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contacts (id TEXT PRIMARY KEY, json TEXT NOT NULL, pass TEXT);
`);
    // Caches written before full passes existed get the column; their next sweep is a full pass.
    addMissingColumns(db, 'contacts', { pass: 'TEXT' });
  },
];

const CachedContactSchema = z.object({
  id: z.string(),
  kind: z.string(),
  name: z.string(),
  company: z.string().nullable(),
  phones: z.array(z.string()),
  ownerId: z.string().nullable(),
  lastActivityAt: z.string().nullable(),
  url: z.string(),
  updatedAt: z.string().nullable(),
});

export class ContactCache {
  private readonly db: SqliteDb;
  private readonly upsert: Database.Statement<[string, string, string | null]>;
  private readonly setMeta: Database.Statement<[string, string]>;
  private readonly getMeta: Database.Statement<[string], { value: string }>;
  private readonly savePageTx: (contacts: CrmContact[], cursor: string | null) => void;

  constructor(path: string) {
    this.db = openDatabase(path, { durability: 'full', migrations: MIGRATIONS });
    this.upsert = this.db.prepare(
      'INSERT INTO contacts (id, json, pass) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET json = excluded.json, pass = excluded.pass',
    );
    this.setMeta = this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.getMeta = this.db.prepare('SELECT value FROM meta WHERE key = ?');
    this.savePageTx = this.db.transaction((contacts: CrmContact[], cursor: string | null) => {
      const pass = this.meta('pass');
      for (const contact of contacts) this.upsert.run(contact.id, JSON.stringify(contact), pass);
      if (cursor === null) this.db.prepare("DELETE FROM meta WHERE key = 'cursor'").run();
      else this.setMeta.run('cursor', cursor);
    });
  }

  /** Which CRM account the cache holds (`crm:account`); another one empties it first. */
  claim(owner: string): void {
    if (this.meta('owner') === owner) return;
    this.db.transaction(() => {
      this.db.exec('DELETE FROM contacts; DELETE FROM meta;');
      this.setMeta.run('owner', owner);
    })();
  }

  /** Forgets everything (sign-out). */
  clear(): void {
    this.db.exec('DELETE FROM contacts; DELETE FROM meta;');
  }

  get cursor(): string | null {
    return this.meta('cursor');
  }

  /** Whether a new full pass should start: none has run yet, or the last finished at least `everyMs` before `now`. */
  passDue(now: number, everyMs: number): boolean {
    const finished = this.meta('passFinishedAt');
    return this.meta('pass') === null || (finished !== null && now - Number(finished) >= everyMs);
  }

  /** Whether the sweep under way is a full pass (started from the beginning, not finished). */
  get inPass(): boolean {
    return this.meta('pass') !== null && this.meta('passFinishedAt') === null;
  }

  /** Starts a full pass from the beginning of the CRM, unless one is under way. */
  beginPass(now: number): void {
    if (this.inPass) return;
    this.db.transaction(() => {
      this.setMeta.run('pass', String(now));
      this.db.prepare("DELETE FROM meta WHERE key IN ('cursor', 'passFinishedAt')").run();
    })();
  }

  /** Ends the pass: drops and returns the ids of contacts it did not see. */
  finishPass(now: number): string[] {
    return this.db.transaction(() => {
      const gone = this.db.prepare('DELETE FROM contacts WHERE pass IS NOT ? RETURNING id').pluck().all(this.meta('pass')) as string[];
      this.setMeta.run('passFinishedAt', String(now));
      return gone;
    })();
  }

  savePage(contacts: CrmContact[], cursor: string | null): void {
    this.savePageTx(contacts, cursor);
  }

  /** Every cached contact; rows that no longer parse are skipped (the next sync rewrites them). */
  *contacts(): Generator<CrmContact> {
    for (const row of this.db.prepare('SELECT json FROM contacts').iterate() as IterableIterator<{ json: string }>) {
      let value: unknown;
      try {
        value = JSON.parse(row.json);
      } catch {
        continue;
      }
      const parsed = CachedContactSchema.safeParse(value);
      if (parsed.success) yield parsed.data;
    }
  }

  private meta(key: string): string | null {
    return this.getMeta.get(key)?.value ?? null;
  }

  close(): void {
    this.db.close();
  }
}
