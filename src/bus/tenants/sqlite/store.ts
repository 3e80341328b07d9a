// TenantStore (and the contact cache) on embedded SQLite. better-sqlite3 is synchronous, so each
// method is one short transaction; the async signatures keep the port engine-neutral. The tables
// are created by the file's migrations in ./open.ts.
import type { CachedContact } from '../contacts.js';
import { AgentPolicySchema } from '../../../shared/agent-protocol.js';
import type { Tenant, TenantStore } from '../port.js';
import {
  createPbxCache,
  DEFAULT_AGENT_POLICY,
  DEFAULT_DIAL_POLICY,
  frozenSecrets,
  NEW_SECRET,
  NotFoundError,
  openSecrets,
  toAgent,
  toContact,
  toPbx,
  toTenant,
  type AdminTenantStore,
  type AgentRow,
  type ContactRow,
  type PbxRow,
  type SecretKind,
  type TenantRow,
} from '../rows.js';
import { PAIRING_CODE_TTL_MS, SecretBox, canonicalPairingCode, newDeviceToken, newId, newPairingCode, sha256Hex } from '../secrets.js';
import { openSqlite, type SqliteDb } from './open.js';

export { NotFoundError, PBX_CACHE_MS, type SecretKind } from '../rows.js';

export interface SqliteTenantStore extends AdminTenantStore {
  /** The shared handle, so the audit log can live in the same file. */
  readonly db: SqliteDb;
}

export function createSqliteTenantStore(opts: { path: string; masterKey: Buffer; now?: () => Date }): SqliteTenantStore {
  const db = openSqlite(opts.path);
  const box = new SecretBox(opts.masterKey);
  const now = opts.now ?? (() => new Date());
  const iso = () => now().toISOString();

  const q = {
    insertTenant: db.prepare('INSERT INTO tenants (id, name, dial_policy, agent_policy, created_at) VALUES (?, ?, ?, ?, ?)'),
    setAgentPolicy: db.prepare('UPDATE tenants SET agent_policy = ? WHERE id = ?'),
    tenant: db.prepare<[string], TenantRow>('SELECT * FROM tenants WHERE id = ?'),
    tenants: db.prepare<[], TenantRow>('SELECT * FROM tenants ORDER BY created_at, id'),
    insertPbx: db.prepare(
      `INSERT INTO pbxs (id, tenant_id, name, base_url, default_country, api_client_id, connector_mode, api_client_secret, created_at)
       VALUES (@id, @tenantId, @name, @baseUrl, @defaultCountry, @apiClientId, @connectorMode, @apiClientSecret, @createdAt)`,
    ),
    pbx: db.prepare<[string], PbxRow>('SELECT * FROM pbxs WHERE id = ?'),
    pbxs: db.prepare<[], PbxRow>('SELECT * FROM pbxs ORDER BY created_at, id'),
    pbxsOfTenant: db.prepare<[string], PbxRow>('SELECT * FROM pbxs WHERE tenant_id = ? ORDER BY created_at, id'),
    insertSecret: db.prepare('INSERT INTO pbx_secrets (pbx_id, kind, sealed, created_at) VALUES (?, ?, ?, ?)'),
    liveSecrets: db.prepare<[string], { kind: SecretKind; sealed: string }>(
      'SELECT kind, sealed FROM pbx_secrets WHERE pbx_id = ? AND retired_at IS NULL ORDER BY seq DESC',
    ),
    newestSecret: db.prepare<[string, string], { seq: number }>(
      'SELECT max(seq) AS seq FROM pbx_secrets WHERE pbx_id = ? AND kind = ? AND retired_at IS NULL',
    ),
    retireOlder: db.prepare('UPDATE pbx_secrets SET retired_at = ? WHERE pbx_id = ? AND kind = ? AND retired_at IS NULL AND seq < ?'),
    insertAgent: db.prepare(
      `INSERT INTO agents (id, tenant_id, pbx_id, extension, name, crm_user, created_at)
       VALUES (@id, @tenantId, @pbxId, @extension, @name, @crmUser, @createdAt)`,
    ),
    agent: db.prepare<[string], AgentRow>('SELECT * FROM agents WHERE id = ?'),
    agents: db.prepare<[string], AgentRow>('SELECT * FROM agents WHERE tenant_id = ? ORDER BY created_at, id'),
    insertCode: db.prepare('INSERT INTO pairing_codes (code_hash, agent_id, expires_at) VALUES (?, ?, ?)'),
    code: db.prepare<[string], { agent_id: string; expires_at: string; used_at: string | null }>(
      'SELECT agent_id, expires_at, used_at FROM pairing_codes WHERE code_hash = ?',
    ),
    useCode: db.prepare('UPDATE pairing_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL'),
    insertToken: db.prepare('INSERT INTO device_tokens (token_hash, agent_id, created_at) VALUES (?, ?, ?)'),
    tokenAgent: db.prepare<[string], AgentRow>(
      `SELECT a.* FROM device_tokens t JOIN agents a ON a.id = t.agent_id
       WHERE t.token_hash = ? AND t.revoked_at IS NULL AND a.revoked_at IS NULL`,
    ),
    revokeAgent: db.prepare('UPDATE agents SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    revokedSince: db.prepare<[string], { id: string }>('SELECT id FROM agents WHERE revoked_at IS NOT NULL AND revoked_at >= ?'),
    revokeTokens: db.prepare('UPDATE device_tokens SET revoked_at = ? WHERE agent_id = ? AND revoked_at IS NULL'),
    burnCodes: db.prepare('UPDATE pairing_codes SET used_at = ? WHERE agent_id = ? AND used_at IS NULL'),
    upsertContact: db.prepare(
      `INSERT INTO contacts (tenant_id, e164, id, first_name, last_name, company, url)
       VALUES (@tenantId, @e164, @id, @firstName, @lastName, @company, @url)
       ON CONFLICT (tenant_id, e164) DO UPDATE SET id = excluded.id, first_name = excluded.first_name,
         last_name = excluded.last_name, company = excluded.company, url = excluded.url`,
    ),
    contact: db.prepare<[string, string], ContactRow>(
      'SELECT id, first_name, last_name, company, url FROM contacts WHERE tenant_id = ? AND e164 = ?',
    ),
  };

  const requirePbx = (pbxId: string): PbxRow => {
    const row = q.pbx.get(pbxId);
    if (!row) throw new NotFoundError(`no PBX ${pbxId}`);
    return row;
  };

  const addSecret = (pbxId: string, kind: SecretKind): string => {
    const secret = NEW_SECRET[kind]();
    q.insertSecret.run(pbxId, kind, box.seal(secret), iso());
    return secret;
  };

  const readSecrets = (row: PbxRow, opened?: Map<string, string>) => openSecrets(box, row, q.liveSecrets.all(row.id), opened);

  const pbxCache = createPbxCache(now);
  const cachedPbx = (pbxId: string) => pbxCache.fresh(pbxId) ?? pbxCache.store(pbxId, q.pbx.get(pbxId) ?? null);

  const addPbxTx = db.transaction((input: Parameters<TenantStore['addPbx']>[0]) => {
    if (!q.tenant.get(input.tenantId)) throw new NotFoundError(`no tenant ${input.tenantId}`);
    const id = newId('pbx');
    q.insertPbx.run({
      id,
      tenantId: input.tenantId,
      name: input.name,
      baseUrl: input.baseUrl.replace(/\/+$/, ''),
      defaultCountry: input.defaultCountry,
      apiClientId: input.apiClientId,
      connectorMode: input.connectorMode,
      apiClientSecret: input.apiClientSecret ? box.seal(input.apiClientSecret) : null,
      createdAt: iso(),
    });
    for (const kind of ['webhook', 'template', 'connector'] as const) addSecret(id, kind);
    const row = requirePbx(id);
    return { pbx: toPbx(row), secrets: readSecrets(row) };
  });

  const addAgentTx = db.transaction((input: Parameters<TenantStore['addAgent']>[0]) => {
    const pbx = requirePbx(input.pbxId);
    if (pbx.tenant_id !== input.tenantId) throw new NotFoundError(`PBX ${input.pbxId} is not in tenant ${input.tenantId}`);
    const id = newId('agt');
    q.insertAgent.run({
      id,
      tenantId: input.tenantId,
      pbxId: input.pbxId,
      extension: input.extension,
      name: input.name,
      crmUser: input.crmUser ?? null,
      createdAt: iso(),
    });
    const pairingCode = newPairingCode();
    q.insertCode.run(sha256Hex(canonicalPairingCode(pairingCode)), id, new Date(now().getTime() + PAIRING_CODE_TTL_MS).toISOString());
    return { agent: toAgent(q.agent.get(id)!), pairingCode };
  });

  const pairTx = db.transaction((typed: string) => {
    const hash = sha256Hex(canonicalPairingCode(typed));
    const code = q.code.get(hash);
    if (!code || code.used_at !== null || code.expires_at <= iso()) return null;
    const agent = q.agent.get(code.agent_id);
    if (!agent || agent.revoked_at !== null) return null;
    q.useCode.run(iso(), hash);
    const deviceToken = newDeviceToken();
    q.insertToken.run(sha256Hex(deviceToken), agent.id, iso());
    return { agent: toAgent(agent), deviceToken };
  });

  const revokeTx = db.transaction((agentId: string) => {
    if (!q.agent.get(agentId)) throw new NotFoundError(`no agent ${agentId}`);
    const at = iso();
    q.revokeAgent.run(at, agentId);
    q.revokeTokens.run(at, agentId);
    q.burnCodes.run(at, agentId);
  });

  const rotateTx = db.transaction((pbxId: string, kind: SecretKind) => {
    requirePbx(pbxId);
    return addSecret(pbxId, kind);
  });

  const retireTx = db.transaction((pbxId: string, kind: SecretKind) => {
    requirePbx(pbxId);
    const newest = q.newestSecret.get(pbxId, kind)?.seq;
    if (newest != null) q.retireOlder.run(iso(), pbxId, kind, newest);
  });

  const importTx = db.transaction((tenantId: string, contacts: Array<CachedContact & { e164: string }>) => {
    if (!q.tenant.get(tenantId)) throw new NotFoundError(`no tenant ${tenantId}`);
    for (const c of contacts) q.upsertContact.run({ tenantId, ...c });
    return contacts.length;
  });

  return {
    db,
    async createTenant({ name, dialPolicy, agentPolicy }) {
      const tenant: Tenant = { id: newId('ten'), name, dialPolicy: { ...DEFAULT_DIAL_POLICY, ...dialPolicy }, agentPolicy: { ...DEFAULT_AGENT_POLICY, ...agentPolicy }, createdAt: iso() };
      q.insertTenant.run(tenant.id, tenant.name, JSON.stringify(tenant.dialPolicy), JSON.stringify(tenant.agentPolicy), tenant.createdAt);
      return tenant;
    },
    async setAgentPolicy(tenantId, policy) {
      return q.setAgentPolicy.run(JSON.stringify(AgentPolicySchema.parse(policy)), tenantId).changes > 0;
    },
    async getTenant(id) {
      const row = q.tenant.get(id);
      return row ? toTenant(row) : null;
    },
    async listTenants() {
      return q.tenants.all().map(toTenant);
    },
    async addPbx(input) {
      return addPbxTx(input);
    },
    async getPbx(id) {
      return cachedPbx(id)?.pbx ?? null;
    },
    async listPbxs(tenantId) {
      return (tenantId === undefined ? q.pbxs.all() : q.pbxsOfTenant.all(tenantId)).map(toPbx);
    },
    async pbxSecrets(pbxId) {
      const entry = cachedPbx(pbxId);
      if (!entry) throw new NotFoundError(`no PBX ${pbxId}`);
      entry.secrets ??= frozenSecrets(readSecrets(entry.row, entry.opened));
      return entry.secrets;
    },
    async rotatePbxSecret(pbxId, kind) {
      const secret = rotateTx(pbxId, kind);
      pbxCache.forget(pbxId);
      return secret;
    },
    async retireOldPbxSecrets(pbxId, kind) {
      retireTx(pbxId, kind);
      pbxCache.forget(pbxId);
    },
    async addAgent(input) {
      return addAgentTx(input);
    },
    async listAgents(tenantId) {
      return q.agents.all(tenantId).map(toAgent);
    },
    async getAgent(agentId) {
      const row = q.agent.get(agentId);
      return row ? toAgent(row) : null;
    },
    async pair(pairingCode) {
      return pairTx(pairingCode);
    },
    async authenticateDevice(deviceToken) {
      const row = q.tokenAgent.get(sha256Hex(deviceToken));
      return row ? toAgent(row) : null;
    },
    async revokeAgent(agentId) {
      revokeTx(agentId);
    },
    async revokedSince(since) {
      return q.revokedSince.all(since.toISOString()).map((r) => r.id);
    },
    async importContacts(tenantId, contacts) {
      return importTx(tenantId, contacts);
    },
    async findContact(tenantId, e164) {
      const row = q.contact.get(tenantId, e164);
      return row ? toContact(row) : null;
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
