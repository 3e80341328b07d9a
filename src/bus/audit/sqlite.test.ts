import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqlite } from '../tenants/sqlite/open.js';
import { createSqliteAuditLog } from './sqlite.js';

// The audit log's behaviour on both engines is in test/support/tenant-storage-contract.ts; this is
// what only the SQLite file has: tables from before schema versions.
describe('SQLite audit log', () => {
  it('adds the count columns to an audit table created before them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-audit-old-'));
    const file = join(dir, 'tenants.sqlite');
    try {
      // A file from before the count columns (and before schema versions: user_version 0).
      const old = new Database(file);
      old.exec(`CREATE TABLE audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, tenant_id TEXT NOT NULL, agent_id TEXT NOT NULL,
        action TEXT NOT NULL, target TEXT NOT NULL, result TEXT NOT NULL, detail TEXT)`);
      old.prepare("INSERT INTO audit (at, tenant_id, agent_id, action, target, result, detail) VALUES (?, 't1', 'a1', 'dial', '+1', 'ok', NULL)").run(new Date().toISOString());
      old.close();
      const db = openSqlite(file);
      const log = createSqliteAuditLog({ db });
      expect(await log.list('t1')).toEqual([expect.objectContaining({ target: '+1', count: 1 })]);
      await log.close();
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
