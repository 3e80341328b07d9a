// The contact sync loop on its own, with a scripted adapter: what it does when the CRM limits,
// fails or loses the grant, and that cursor and contacts persist together.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ContactIndex } from '../contacts/index.js';
import { CrmError, type ContactPage, type CrmAdapter, type CrmContact } from '../crm/port.js';
import { ContactCache } from './contact-cache.js';
import { ContactSync } from './contact-sync.js';

const contact = (id: string, phone: string): CrmContact => ({ id, kind: 'contact', name: `Contact ${id}`, company: null, phones: [phone], ownerId: null, lastActivityAt: null, url: '', updatedAt: null });

/** Answers syncContacts from a script: a page, or an error to throw. Records the cursors asked for. */
function scriptedAdapter(script: Array<ContactPage | Error>) {
  const cursors: Array<string | null> = [];
  const adapter = {
    id: 'hubspot',
    async syncContacts(cursor: string | null) {
      cursors.push(cursor);
      const next = script.shift();
      if (!next) throw new Error('script exhausted');
      if (next instanceof Error) throw next;
      return next;
    },
  } as unknown as CrmAdapter;
  return { adapter, cursors };
}

let dir: string;
let cache: ContactCache;
const syncs: ContactSync[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rb-contact-sync-'));
  cache = new ContactCache(join(dir, 'contacts.sqlite'));
  cache.claim('hubspot:1');
});
afterEach(() => {
  syncs.splice(0).forEach((s) => s.stop());
  cache.close();
  rmSync(dir, { recursive: true, force: true });
});

function startSync(adapter: CrmAdapter, index = new ContactIndex({ defaultCountry: () => 'AU' }), clock?: () => number) {
  const sync = new ContactSync({ adapter, cache, index, intervalMs: 3_600_000, fullPassEveryMs: 86_400_000, now: clock, backoff: { baseMs: 1, capMs: 5 }, logger: pino({ level: 'silent' }) });
  syncs.push(sync);
  return { sync, index };
}

it('pages through a sweep, files each page with its cursor, and starts the next sweep from it', async () => {
  const { adapter, cursors } = scriptedAdapter([
    { contacts: [contact('a', '(02) 9876 5432')], cursor: 'p2', hasMore: true },
    { contacts: [contact('b', '+61399990000')], cursor: 'done-1', hasMore: false },
    { contacts: [], cursor: 'done-2', hasMore: false },
  ]);
  const { sync, index } = startSync(adapter);
  sync.start();
  expect(await sync.syncNow()).toBe('synced');
  expect(index.lookup('+61298765432').map((c) => c.id)).toEqual(['a']);
  expect(cache.cursor).toBe('done-1');
  expect([...cache.contacts()].map((c) => c.id).sort()).toEqual(['a', 'b']);
  expect(await sync.syncNow()).toBe('synced');
  expect(cursors).toEqual([null, 'p2', 'done-1']);
});

it('waits out a rate limit and an outage, then finishes the sweep where it stopped', async () => {
  const { adapter, cursors } = scriptedAdapter([
    { contacts: [contact('a', '+61298765432')], cursor: 'p2', hasMore: true },
    new CrmError('rate_limited', 'slow down', 429, 20),
    new CrmError('transient', 'down', 503),
    { contacts: [contact('b', '+61399990000')], cursor: 'done', hasMore: false },
  ]);
  const { sync, index } = startSync(adapter);
  sync.start();
  expect(await sync.syncNow()).toBe('deferred'); // the 429
  await expect.poll(() => cache.cursor, { timeout: 5_000 }).toBe('done');
  expect(cursors).toEqual([null, 'p2', 'p2', 'p2']);
  expect(index.size).toBe(2);
});

it('stops on a lost grant instead of retrying, and resumes when started again', async () => {
  const { adapter, cursors } = scriptedAdapter([new CrmError('auth', 'sign in again'), { contacts: [], cursor: 'c', hasMore: false }]);
  const { sync } = startSync(adapter);
  sync.start();
  expect(await sync.syncNow()).toBe('auth');
  await new Promise((r) => setTimeout(r, 30)); // longer than any backoff: nothing is retried
  expect(cursors).toEqual([null]);
  sync.start();
  expect(await sync.syncNow()).toBe('synced');
});

it('drops contacts deleted in the CRM at the next daily full pass, even when the pass is interrupted', async () => {
  let now = 0;
  const { adapter, cursors } = scriptedAdapter([
    { contacts: [contact('a', '+61298765432'), contact('b', '+61399990000'), contact('c', '+61388880000')], cursor: 'inc-1', hasMore: false },
    { contacts: [], cursor: 'inc-2', hasMore: false }, // an hour later: incremental, nothing new
    // A day later the full pass starts from the beginning; 'b' was deleted in the CRM meanwhile.
    { contacts: [contact('a', '+61298765432')], cursor: 'full-p2', hasMore: true },
    new CrmError('transient', 'down', 503),
    { contacts: [contact('c', '+61388880000')], cursor: 'inc-3', hasMore: false },
  ]);
  const { sync, index } = startSync(adapter, undefined, () => now);
  sync.start();
  expect(await sync.syncNow()).toBe('synced');
  now = 3_600_000;
  expect(await sync.syncNow()).toBe('synced');
  now = 86_400_000;
  expect(await sync.syncNow()).toBe('deferred');
  expect(index.lookup('+61399990000').map((c) => c.id)).toEqual(['b']); // not dropped by half a pass
  await expect.poll(() => cache.cursor, { timeout: 5_000 }).toBe('inc-3');
  expect(cursors).toEqual([null, 'inc-1', null, 'full-p2', 'full-p2']);
  expect(index.lookup('+61399990000')).toEqual([]);
  expect([...cache.contacts()].map((c) => c.id).sort()).toEqual(['a', 'c']);
  expect(index.size).toBe(2);
});

it('upgrades a cache written before full passes, keeping its contacts, and makes the next sweep a full pass', () => {
  const file = join(dir, 'old.sqlite');
  const old = new Database(file);
  old.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); CREATE TABLE contacts (id TEXT PRIMARY KEY, json TEXT NOT NULL);
    INSERT INTO meta VALUES ('cursor', 'inc-9');`);
  old.prepare('INSERT INTO contacts VALUES (?, ?)').run('a', JSON.stringify(contact('a', '+61298765432')));
  old.close();
  const upgraded = new ContactCache(file);
  try {
    expect([...upgraded.contacts()].map((c) => c.id)).toEqual(['a']);
    expect(upgraded.passDue(0, 86_400_000)).toBe(true);
    upgraded.beginPass(0);
    expect(upgraded.cursor).toBeNull();
  } finally {
    upgraded.close();
  }
});

it('keeps the cache to one CRM account: another account starts empty', () => {
  cache.savePage([contact('a', '+61298765432')], 'c1');
  cache.claim('hubspot:1');
  expect(cache.cursor).toBe('c1');
  cache.claim('salesforce:https://example.my.salesforce.com');
  expect(cache.cursor).toBeNull();
  expect([...cache.contacts()]).toEqual([]);
});
