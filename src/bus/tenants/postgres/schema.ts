// The PostgreSQL schema of everything but the event log: the same tables and columns as the SQLite
// tenants file (./sqlite/open.ts), so both stores share their row mappers. Times are ISO-8601 UTC
// text, as in SQLite, so ordering and comparisons behave alike on both engines. Append new steps;
// never edit one that has shipped (schema_migrations records which ran).
import type { PgMigration } from '../../postgres.js';

export const MIGRATIONS: readonly PgMigration[] = [
  `CREATE TABLE tenants (
     id TEXT PRIMARY KEY, name TEXT NOT NULL, dial_policy TEXT NOT NULL, created_at TEXT NOT NULL);
   CREATE TABLE pbxs (
     id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id), name TEXT NOT NULL,
     base_url TEXT NOT NULL, default_country TEXT NOT NULL, api_client_id TEXT,
     connector_mode TEXT NOT NULL CHECK (connector_mode IN ('bus','remote')), api_client_secret TEXT,
     created_at TEXT NOT NULL);
   CREATE INDEX pbxs_by_tenant ON pbxs (tenant_id);
   CREATE TABLE pbx_secrets (
     seq BIGSERIAL PRIMARY KEY, pbx_id TEXT NOT NULL REFERENCES pbxs(id),
     kind TEXT NOT NULL CHECK (kind IN ('webhook','template','connector')), sealed TEXT NOT NULL,
     created_at TEXT NOT NULL, retired_at TEXT);
   CREATE INDEX pbx_secrets_live ON pbx_secrets (pbx_id, kind) WHERE retired_at IS NULL;
   CREATE TABLE agents (
     id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id), pbx_id TEXT NOT NULL REFERENCES pbxs(id),
     extension TEXT NOT NULL, name TEXT NOT NULL, crm_user TEXT, created_at TEXT NOT NULL, revoked_at TEXT);
   CREATE UNIQUE INDEX agents_active_extension ON agents (pbx_id, extension) WHERE revoked_at IS NULL;
   CREATE INDEX agents_by_tenant ON agents (tenant_id);
   CREATE INDEX agents_revoked ON agents (revoked_at) WHERE revoked_at IS NOT NULL;
   CREATE TABLE pairing_codes (
     code_hash TEXT PRIMARY KEY, agent_id TEXT NOT NULL REFERENCES agents(id),
     expires_at TEXT NOT NULL, used_at TEXT);
   CREATE INDEX pairing_codes_by_agent ON pairing_codes (agent_id);
   CREATE TABLE device_tokens (
     token_hash TEXT PRIMARY KEY, agent_id TEXT NOT NULL REFERENCES agents(id),
     created_at TEXT NOT NULL, revoked_at TEXT);
   CREATE INDEX device_tokens_by_agent ON device_tokens (agent_id);
   CREATE TABLE contacts (
     tenant_id TEXT NOT NULL REFERENCES tenants(id), e164 TEXT NOT NULL, id TEXT NOT NULL,
     first_name TEXT NOT NULL, last_name TEXT NOT NULL, company TEXT NOT NULL, url TEXT NOT NULL,
     PRIMARY KEY (tenant_id, e164));`,
  `CREATE TABLE audit (
     seq BIGSERIAL PRIMARY KEY, at TEXT NOT NULL, tenant_id TEXT NOT NULL, agent_id TEXT NOT NULL,
     action TEXT NOT NULL, target TEXT NOT NULL, result TEXT NOT NULL, detail TEXT,
     count INTEGER NOT NULL DEFAULT 1, last_at TEXT);
   CREATE INDEX audit_by_tenant ON audit (tenant_id, seq);
   CREATE INDEX audit_by_at ON audit (at);`,
  // Issue 11: the tenant's agent policy (JSON; '{}' = the defaults).
  `ALTER TABLE tenants ADD COLUMN agent_policy TEXT NOT NULL DEFAULT '{}';`,
];
