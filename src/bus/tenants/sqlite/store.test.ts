import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeTenantStorage } from '../../../../test/support/tenant-storage-contract.js';
import { createSqliteAuditLog, type SqliteAuditLog } from '../../audit/sqlite.js';
import { openSqlite, type SqliteDb } from './open.js';
import { createSqliteTenantStore, type SqliteTenantStore } from './store.js';

const masterKey = randomBytes(32);

describeTenantStorage('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-tenants-'));
  const path = join(dir, 'tenants.sqlite');
  const stores: SqliteTenantStore[] = [];
  const audits: SqliteAuditLog[] = [];
  const handles: SqliteDb[] = [];
  // The audit logs of a test share one handle, as the bus's share the tenant store's.
  const auditDb = () => handles[0] ?? (handles.push(openSqlite(path)), handles[0]!);
  return {
    async open(opts) {
      const store = createSqliteTenantStore({ path, ...opts });
      stores.push(store);
      return store;
    },
    async openAudit(opts) {
      const audit = createSqliteAuditLog({ db: auditDb() }, opts);
      audits.push(audit);
      return audit;
    },
    async rows(table) {
      const db = new Database(path, { readonly: true });
      try {
        return db.prepare(`SELECT * FROM ${table}`).all();
      } finally {
        db.close();
      }
    },
    async close() {
      for (const audit of audits) await audit.close();
      for (const store of stores) await store.close();
      for (const db of handles) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SQLite tenant store file', () => {
  it('opens a file written before schema versions with its tenants, and refuses one from a newer release', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-tenants-'));
    try {
      // What the store left before migrations: user_version 0, its tables (here just tenants).
      const path = join(dir, 'tenants.db');
      const old = new Database(path);
      old.exec(`CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, dial_policy TEXT NOT NULL, created_at TEXT NOT NULL);
        INSERT INTO tenants VALUES ('t_old', 'Old Co', '{"allowedCountries":[],"blockedTypes":[]}', '2026-01-01T00:00:00.000Z');`);
      old.close();
      const store = createSqliteTenantStore({ path, masterKey });
      expect((await store.listTenants()).map((t) => t.name)).toEqual(['Old Co']);
      await store.createTenant({ name: 'New Co' });
      await store.close();

      const newer = new Database(path);
      newer.pragma('user_version = 99');
      newer.close();
      expect(() => createSqliteTenantStore({ path, masterKey })).toThrow(/tenants\.db has schema version 99, newer than this program knows/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
