// The audit log on SQLite: append-only rows, newest first when read. It can share the tenants
// database file (pass its handle) or own one.
import type { AuditEntry, AuditLog } from './port.js';
import { openSqlite, type SqliteDb } from '../tenants/sqlite/open.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, tenant_id TEXT NOT NULL, agent_id TEXT NOT NULL,
  action TEXT NOT NULL, target TEXT NOT NULL, result TEXT NOT NULL, detail TEXT);
CREATE INDEX IF NOT EXISTS audit_by_tenant ON audit (tenant_id, seq);
`;

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;

interface AuditRow { at: string; tenant_id: string; agent_id: string; action: AuditEntry['action']; target: string; result: AuditEntry['result']; detail: string | null }

export function createSqliteAuditLog(opts: { db: SqliteDb } | { path: string }, now: () => Date = () => new Date()): AuditLog {
  const db = 'db' in opts ? opts.db : openSqlite(opts.path);
  db.exec(SCHEMA);
  const insert = db.prepare(
    'INSERT INTO audit (at, tenant_id, agent_id, action, target, result, detail) VALUES (@at, @tenantId, @agentId, @action, @target, @result, @detail)',
  );
  const select = db.prepare<[string, number], AuditRow>('SELECT * FROM audit WHERE tenant_id = ? ORDER BY seq DESC LIMIT ?');
  return {
    async record(entry) {
      insert.run({ ...entry, at: now().toISOString() });
    },
    async list(tenantId, opts = {}) {
      const limit = Math.min(Math.max(opts.limit ?? DEFAULT_LIMIT, 1), MAX_LIMIT);
      return select.all(tenantId, limit).map((r) => ({
        at: r.at, tenantId: r.tenant_id, agentId: r.agent_id, action: r.action, target: r.target, result: r.result, detail: r.detail,
      }));
    },
  };
}
