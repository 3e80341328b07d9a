// The bus's tenants database file: the tenant store and the audit log share it, so its schema
// steps are one list (user_version counts them for the file, not per table). Owner-only file,
// full sync on commit (admin writes are rare and must not be lost), foreign keys on.
import { openBusDatabase } from '../../data-dir.js';
import { addMissingColumns, type Migration, type SqliteDb } from '../../../shared/sqlite.js';

export type { SqliteDb };

const TENANT_TABLES = `
CREATE TABLE IF NOT EXISTS tenants (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, dial_policy TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pbxs (
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id), name TEXT NOT NULL,
  base_url TEXT NOT NULL, default_country TEXT NOT NULL, api_client_id TEXT,
  connector_mode TEXT NOT NULL CHECK (connector_mode IN ('bus','remote')), api_client_secret TEXT,
  created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pbx_secrets (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, pbx_id TEXT NOT NULL REFERENCES pbxs(id),
  kind TEXT NOT NULL CHECK (kind IN ('webhook','template','connector')), sealed TEXT NOT NULL,
  created_at TEXT NOT NULL, retired_at TEXT);
CREATE INDEX IF NOT EXISTS pbx_secrets_live ON pbx_secrets (pbx_id, kind) WHERE retired_at IS NULL;
CREATE TABLE IF NOT EXISTS agents (
  id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id), pbx_id TEXT NOT NULL REFERENCES pbxs(id),
  extension TEXT NOT NULL, name TEXT NOT NULL, crm_user TEXT, created_at TEXT NOT NULL, revoked_at TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS agents_active_extension ON agents (pbx_id, extension) WHERE revoked_at IS NULL;
CREATE INDEX IF NOT EXISTS agents_revoked ON agents (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS pairing_codes (
  code_hash TEXT PRIMARY KEY, agent_id TEXT NOT NULL REFERENCES agents(id),
  expires_at TEXT NOT NULL, used_at TEXT);
CREATE TABLE IF NOT EXISTS device_tokens (
  token_hash TEXT PRIMARY KEY, agent_id TEXT NOT NULL REFERENCES agents(id),
  created_at TEXT NOT NULL, revoked_at TEXT);
CREATE TABLE IF NOT EXISTS contacts (
  tenant_id TEXT NOT NULL REFERENCES tenants(id), e164 TEXT NOT NULL, id TEXT NOT NULL,
  first_name TEXT NOT NULL, last_name TEXT NOT NULL, company TEXT NOT NULL, url TEXT NOT NULL,
  PRIMARY KEY (tenant_id, e164));
`;

const AUDIT_TABLE = `
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, tenant_id TEXT NOT NULL, agent_id TEXT NOT NULL,
  action TEXT NOT NULL, target TEXT NOT NULL, result TEXT NOT NULL, detail TEXT,
  count INTEGER NOT NULL DEFAULT 1, last_at TEXT);
CREATE INDEX IF NOT EXISTS audit_by_tenant ON audit (tenant_id, seq);
CREATE INDEX IF NOT EXISTS audit_by_at ON audit (at);
`;

/**
 * Files written before these steps existed have user_version 0 and some or all of the tables, and
 * an audit table perhaps without the refusal-count columns: IF NOT EXISTS and addMissingColumns
 * bring each up to the same schema as a new file.
 */
const MIGRATIONS: Migration[] = [
  (db) => db.exec(TENANT_TABLES),
  (db) => {
    db.exec(AUDIT_TABLE);
    addMissingColumns(db, 'audit', { count: 'INTEGER NOT NULL DEFAULT 1', last_at: 'TEXT' });
  },
  // Issue 11: the tenant's agent policy (JSON; '{}' = the defaults).
  (db) => addMissingColumns(db, 'tenants', { agent_policy: "TEXT NOT NULL DEFAULT '{}'" }),
];

/** `path` may be ':memory:' for tests. */
export function openSqlite(path: string): SqliteDb {
  return openBusDatabase(path, { durability: 'full', foreignKeys: true, busyTimeoutMs: 5000, migrations: MIGRATIONS });
}
