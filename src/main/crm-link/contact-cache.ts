// The synced contacts and the sync cursor, kept together on disk (better-sqlite3) so a restart
// refills the in-memory index at once and continues the incremental sync where it stopped,
// instead of sweeping the whole CRM again. One page and its cursor commit in one transaction:
// a crash never leaves a cursor ahead of the contacts it covers.
import Database from 'better-sqlite3';
import { z } from 'zod';
import type { CrmContact } from '../crm/port.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contacts (id TEXT PRIMARY KEY, json TEXT NOT NULL);
`;

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
  private readonly db: Database.Database;
  private readonly upsert: Database.Statement<[string, string]>;
  private readonly setMeta: Database.Statement<[string, string]>;
  private readonly getMeta: Database.Statement<[string], { value: string }>;
  private readonly savePageTx: (contacts: CrmContact[], cursor: string | null) => void;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(SCHEMA);
    this.upsert = this.db.prepare('INSERT INTO contacts (id, json) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET json = excluded.json');
    this.setMeta = this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.getMeta = this.db.prepare('SELECT value FROM meta WHERE key = ?');
    this.savePageTx = this.db.transaction((contacts: CrmContact[], cursor: string | null) => {
      for (const contact of contacts) this.upsert.run(contact.id, JSON.stringify(contact));
      if (cursor === null) this.db.prepare("DELETE FROM meta WHERE key = 'cursor'").run();
      else this.setMeta.run('cursor', cursor);
    });
  }

  /** Which CRM account the cache holds (`crm:account`); another one empties it first. */
  claim(owner: string): void {
    if (this.getMeta.get('owner')?.value === owner) return;
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
    return this.getMeta.get('cursor')?.value ?? null;
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

  close(): void {
    this.db.close();
  }
}
