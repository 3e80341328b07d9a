// TenantStore (and the contact cache) on PostgreSQL, shared by every bus node and the admin CLI.
// Multi-step changes run in one transaction; the steps that must happen once across nodes (spending
// a pairing code) are single conditional UPDATEs, so two nodes racing on one code pair it once.
import type { Pool } from 'pg';
import { inTransaction, type PgPool } from '../../postgres.js';
import { AgentPolicySchema } from '../../../shared/agent-protocol.js';
import type { Tenant } from '../port.js';
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

/** The client or pool a query runs on (inside or outside a transaction). */
type Queryable = Pick<Pool, 'query'>;

async function one<R extends object>(db: Queryable, sql: string, params: unknown[]): Promise<R | null> {
  const { rows } = await db.query<R>(sql, params);
  return rows[0] ?? null;
}

const SELECT_PBX = 'SELECT * FROM pbxs WHERE id = $1';
const SELECT_AGENT = 'SELECT * FROM agents WHERE id = $1';

/** The pool is the caller's (compose.ts shares it with the audit log and closes it). */
export function createPostgresTenantStore(opts: { pool: PgPool; masterKey: Buffer; now?: () => Date }): AdminTenantStore {
  const { pool } = opts;
  const box = new SecretBox(opts.masterKey);
  const now = opts.now ?? (() => new Date());
  const iso = () => now().toISOString();

  const requirePbx = async (db: Queryable, pbxId: string): Promise<PbxRow> => {
    const row = await one<PbxRow>(db, SELECT_PBX, [pbxId]);
    if (!row) throw new NotFoundError(`no PBX ${pbxId}`);
    return row;
  };
  const addSecret = async (db: Queryable, pbxId: string, kind: SecretKind): Promise<string> => {
    const secret = NEW_SECRET[kind]();
    await db.query('INSERT INTO pbx_secrets (pbx_id, kind, sealed, created_at) VALUES ($1, $2, $3, $4)', [pbxId, kind, box.seal(secret), iso()]);
    return secret;
  };
  const readSecrets = async (db: Queryable, row: PbxRow, opened?: Map<string, string>) => {
    const { rows } = await db.query<{ kind: SecretKind; sealed: string }>(
      'SELECT kind, sealed FROM pbx_secrets WHERE pbx_id = $1 AND retired_at IS NULL ORDER BY seq DESC',
      [row.id],
    );
    return openSecrets(box, row, rows, opened);
  };

  const pbxCache = createPbxCache(now);
  const cachedPbx = async (pbxId: string) => pbxCache.fresh(pbxId) ?? pbxCache.store(pbxId, await one<PbxRow>(pool, SELECT_PBX, [pbxId]));

  return {
    async createTenant({ name, dialPolicy, agentPolicy }) {
      const tenant: Tenant = { id: newId('ten'), name, dialPolicy: { ...DEFAULT_DIAL_POLICY, ...dialPolicy }, agentPolicy: { ...DEFAULT_AGENT_POLICY, ...agentPolicy }, createdAt: iso() };
      await pool.query('INSERT INTO tenants (id, name, dial_policy, agent_policy, created_at) VALUES ($1, $2, $3, $4, $5)', [
        tenant.id, tenant.name, JSON.stringify(tenant.dialPolicy), JSON.stringify(tenant.agentPolicy), tenant.createdAt,
      ]);
      return tenant;
    },
    async setAgentPolicy(tenantId, policy) {
      const updated = await pool.query('UPDATE tenants SET agent_policy = $1 WHERE id = $2', [JSON.stringify(AgentPolicySchema.parse(policy)), tenantId]);
      return (updated.rowCount ?? 0) > 0;
    },
    async getTenant(id) {
      const row = await one<TenantRow>(pool, 'SELECT * FROM tenants WHERE id = $1', [id]);
      return row ? toTenant(row) : null;
    },
    async listTenants() {
      return (await pool.query<TenantRow>('SELECT * FROM tenants ORDER BY created_at, id')).rows.map(toTenant);
    },
    async addPbx(input) {
      return inTransaction(pool, async (db) => {
        if (!(await one(db, 'SELECT 1 AS found FROM tenants WHERE id = $1', [input.tenantId]))) throw new NotFoundError(`no tenant ${input.tenantId}`);
        const id = newId('pbx');
        await db.query(
          `INSERT INTO pbxs (id, tenant_id, name, base_url, default_country, api_client_id, connector_mode, api_client_secret, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [id, input.tenantId, input.name, input.baseUrl.replace(/\/+$/, ''), input.defaultCountry, input.apiClientId, input.connectorMode,
            input.apiClientSecret ? box.seal(input.apiClientSecret) : null, iso()],
        );
        for (const kind of ['webhook', 'template', 'connector'] as const) await addSecret(db, id, kind);
        const row = await requirePbx(db, id);
        return { pbx: toPbx(row), secrets: await readSecrets(db, row) };
      });
    },
    async getPbx(id) {
      return (await cachedPbx(id))?.pbx ?? null;
    },
    async listPbxs(tenantId) {
      const { rows } = tenantId === undefined
        ? await pool.query<PbxRow>('SELECT * FROM pbxs ORDER BY created_at, id')
        : await pool.query<PbxRow>('SELECT * FROM pbxs WHERE tenant_id = $1 ORDER BY created_at, id', [tenantId]);
      return rows.map(toPbx);
    },
    async pbxSecrets(pbxId) {
      const entry = await cachedPbx(pbxId);
      if (!entry) throw new NotFoundError(`no PBX ${pbxId}`);
      entry.secrets ??= frozenSecrets(await readSecrets(pool, entry.row, entry.opened));
      return entry.secrets;
    },
    async rotatePbxSecret(pbxId, kind) {
      const secret = await inTransaction(pool, async (db) => {
        await requirePbx(db, pbxId);
        return addSecret(db, pbxId, kind);
      });
      pbxCache.forget(pbxId);
      return secret;
    },
    async retireOldPbxSecrets(pbxId, kind) {
      await requirePbx(pool, pbxId);
      // One statement: the newest live secret of the kind stays, every older live one retires.
      await pool.query(
        `UPDATE pbx_secrets SET retired_at = $1 WHERE pbx_id = $2 AND kind = $3 AND retired_at IS NULL
           AND seq < (SELECT max(seq) FROM pbx_secrets WHERE pbx_id = $2 AND kind = $3 AND retired_at IS NULL)`,
        [iso(), pbxId, kind],
      );
      pbxCache.forget(pbxId);
    },
    async addAgent(input) {
      return inTransaction(pool, async (db) => {
        const pbx = await requirePbx(db, input.pbxId);
        if (pbx.tenant_id !== input.tenantId) throw new NotFoundError(`PBX ${input.pbxId} is not in tenant ${input.tenantId}`);
        const { rows } = await db.query<AgentRow>(
          `INSERT INTO agents (id, tenant_id, pbx_id, extension, name, crm_user, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
          [newId('agt'), input.tenantId, input.pbxId, input.extension, input.name, input.crmUser ?? null, iso()],
        );
        const agent = rows[0]!;
        const pairingCode = newPairingCode();
        await db.query('INSERT INTO pairing_codes (code_hash, agent_id, expires_at) VALUES ($1, $2, $3)', [
          sha256Hex(canonicalPairingCode(pairingCode)), agent.id, new Date(now().getTime() + PAIRING_CODE_TTL_MS).toISOString(),
        ]);
        return { agent: toAgent(agent), pairingCode };
      });
    },
    async listAgents(tenantId) {
      return (await pool.query<AgentRow>('SELECT * FROM agents WHERE tenant_id = $1 ORDER BY created_at, id', [tenantId])).rows.map(toAgent);
    },
    async getAgent(agentId) {
      const row = await one<AgentRow>(pool, SELECT_AGENT, [agentId]);
      return row ? toAgent(row) : null;
    },
    async pair(typed) {
      return inTransaction(pool, async (db) => {
        const at = iso();
        // Spent by whoever updates it first: a concurrent pair of the same code on another node finds no row.
        const code = await one<{ agent_id: string }>(
          db,
          'UPDATE pairing_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING agent_id',
          [at, sha256Hex(canonicalPairingCode(typed))],
        );
        if (!code) return null;
        const agent = await one<AgentRow>(db, 'SELECT * FROM agents WHERE id = $1 AND revoked_at IS NULL FOR SHARE', [code.agent_id]);
        if (!agent) return null;
        const deviceToken = newDeviceToken();
        await db.query('INSERT INTO device_tokens (token_hash, agent_id, created_at) VALUES ($1, $2, $3)', [sha256Hex(deviceToken), agent.id, at]);
        return { agent: toAgent(agent), deviceToken };
      });
    },
    async authenticateDevice(deviceToken) {
      const row = await one<AgentRow>(
        pool,
        `SELECT a.* FROM device_tokens t JOIN agents a ON a.id = t.agent_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND a.revoked_at IS NULL`,
        [sha256Hex(deviceToken)],
      );
      return row ? toAgent(row) : null;
    },
    async revokeAgent(agentId) {
      await inTransaction(pool, async (db) => {
        if (!(await one(db, `${SELECT_AGENT} FOR UPDATE`, [agentId]))) throw new NotFoundError(`no agent ${agentId}`);
        const at = iso();
        await db.query('UPDATE agents SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, agentId]);
        await db.query('UPDATE device_tokens SET revoked_at = $1 WHERE agent_id = $2 AND revoked_at IS NULL', [at, agentId]);
        await db.query('UPDATE pairing_codes SET used_at = $1 WHERE agent_id = $2 AND used_at IS NULL', [at, agentId]);
      });
    },
    async revokedSince(since) {
      const { rows } = await pool.query<{ id: string }>('SELECT id FROM agents WHERE revoked_at IS NOT NULL AND revoked_at >= $1', [since.toISOString()]);
      return rows.map((r) => r.id);
    },
    async importContacts(tenantId, contacts) {
      return inTransaction(pool, async (db) => {
        if (!(await one(db, 'SELECT 1 AS found FROM tenants WHERE id = $1', [tenantId]))) throw new NotFoundError(`no tenant ${tenantId}`);
        for (const c of contacts) {
          await db.query(
            `INSERT INTO contacts (tenant_id, e164, id, first_name, last_name, company, url) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (tenant_id, e164) DO UPDATE SET id = excluded.id, first_name = excluded.first_name,
               last_name = excluded.last_name, company = excluded.company, url = excluded.url`,
            [tenantId, c.e164, c.id, c.firstName, c.lastName, c.company, c.url],
          );
        }
        return contacts.length;
      });
    },
    async findContact(tenantId, e164) {
      const row = await one<ContactRow>(pool, 'SELECT id, first_name, last_name, company, url FROM contacts WHERE tenant_id = $1 AND e164 = $2', [tenantId, e164]);
      return row ? toContact(row) : null;
    },
    // The pool belongs to whoever opened it (openStorage closes it after the audit log).
    async close() {},
  };
}
