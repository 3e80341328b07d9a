// What the SQLite and PostgreSQL tenant stores share: the same tables and columns, so the same row
// shapes and mappers, the same secret kinds, and the same short-lived PBX cache.
import type { CountryCode } from 'libphonenumber-js';
import { DEFAULT_AGENT_POLICY, type AgentPolicy } from '../../shared/agent-protocol.js';
import type { ContactCache } from './contacts.js';
import type { Agent, DialPolicy, Pbx, PbxSecrets, Tenant, TenantStore } from './port.js';
import { newConnectorToken, newTemplateKey, newWebhookSecret, type SecretBox } from './secrets.js';

export type SecretKind = 'webhook' | 'template' | 'connector';

/** The port plus what only administration (the CLI) needs; both engines implement it. */
export interface AdminTenantStore extends TenantStore, ContactCache {
  listTenants(): Promise<Tenant[]>;
  getAgent(agentId: string): Promise<Agent | null>;
}

export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export { DEFAULT_AGENT_POLICY };
export const DEFAULT_DIAL_POLICY: DialPolicy = { allowedCountries: [], blockedTypes: ['PREMIUM_RATE', 'SHARED_COST'] };

export interface TenantRow { id: string; name: string; dial_policy: string; agent_policy: string; created_at: string }
export interface PbxRow {
  id: string; tenant_id: string; name: string; base_url: string; default_country: string;
  api_client_id: string | null; connector_mode: 'bus' | 'remote'; api_client_secret: string | null;
}
export interface AgentRow {
  id: string; tenant_id: string; pbx_id: string; extension: string; name: string; crm_user: string | null; revoked_at: string | null;
}
export interface ContactRow { id: string; first_name: string; last_name: string; company: string; url: string }

export const toTenant = (r: TenantRow): Tenant => ({
  id: r.id,
  name: r.name,
  dialPolicy: JSON.parse(r.dial_policy) as DialPolicy,
  // Rows from before agent policies hold '{}': the defaults apply.
  agentPolicy: { ...DEFAULT_AGENT_POLICY, ...(JSON.parse(r.agent_policy) as Partial<AgentPolicy>) },
  createdAt: r.created_at,
});
export const toPbx = (r: PbxRow): Pbx => ({
  id: r.id, tenantId: r.tenant_id, name: r.name, baseUrl: r.base_url, defaultCountry: r.default_country as CountryCode,
  apiClientId: r.api_client_id, connectorMode: r.connector_mode,
});
export const toAgent = (r: AgentRow): Agent => ({
  id: r.id, tenantId: r.tenant_id, pbxId: r.pbx_id, extension: r.extension, name: r.name, crmUser: r.crm_user, revokedAt: r.revoked_at,
});
export const toContact = (r: ContactRow) => ({ id: r.id, firstName: r.first_name, lastName: r.last_name, company: r.company, url: r.url });

export const NEW_SECRET: Record<SecretKind, () => string> = {
  webhook: newWebhookSecret,
  template: newTemplateKey,
  connector: newConnectorToken,
};

/**
 * A PBX's secrets opened from its row and its live sealed secrets (newest first). `opened` holds
 * what was decrypted before (sealed -> plain): those are not decrypted again, and it is left holding
 * exactly this PBX's current secrets, so a retired one's plain text does not outlive its retirement.
 */
export function openSecrets(box: SecretBox, row: PbxRow, live: Array<{ kind: SecretKind; sealed: string }>, opened = new Map<string, string>()): PbxSecrets {
  const current = new Set<string>();
  const open = (sealed: string) => {
    current.add(sealed);
    let plain = opened.get(sealed);
    if (plain === undefined) opened.set(sealed, (plain = box.open(sealed)));
    return plain;
  };
  const secrets: PbxSecrets = {
    webhookSecrets: [],
    templateKeys: [],
    connectorTokens: [],
    apiClientSecret: row.api_client_secret === null ? null : open(row.api_client_secret),
  };
  const listOf: Record<SecretKind, string[]> = { webhook: secrets.webhookSecrets, template: secrets.templateKeys, connector: secrets.connectorTokens };
  for (const s of live) listOf[s.kind].push(open(s.sealed));
  for (const sealed of opened.keys()) if (!current.has(sealed)) opened.delete(sealed);
  return secrets;
}

/**
 * How long a PBX and its decrypted secrets are served from memory: every ingest request reads
 * both, and opening the secrets is an AES-GCM decryption each. Rotation and retirement through
 * this store take effect at once; through another process (the admin CLI, another node) within
 * this time. That is safe: a rotation keeps old and new secrets valid together, so the only change
 * that waits is retiring an old secret, which stops being accepted within PBX_CACHE_MS. A refresh
 * reads the row and the live secrets again but decrypts only those it has not opened before
 * (AES-GCM per secret, ~0.1 ms per PBX every PBX_CACHE_MS in a profile of the bus under load).
 */
export const PBX_CACHE_MS = 5_000;

export interface PbxCacheEntry {
  pbx: Pbx;
  row: PbxRow;
  secrets: PbxSecrets | null;
  expiresAt: number;
  /** Sealed -> opened secrets of this PBX (openSecrets' `opened`), carried from its previous entry. */
  opened: Map<string, string>;
}

/** One entry per PBX looked up (bounded by the PBXs that exist); secrets opened on first use. */
export function createPbxCache(now: () => Date) {
  const entries = new Map<string, PbxCacheEntry>();
  return {
    fresh(pbxId: string): PbxCacheEntry | undefined {
      const hit = entries.get(pbxId);
      return hit && hit.expiresAt > now().getTime() ? hit : undefined;
    },
    /** Remembers what was just read (null: no such PBX, nothing kept). */
    store(pbxId: string, row: PbxRow | null): PbxCacheEntry | null {
      if (!row) {
        entries.delete(pbxId);
        return null;
      }
      // Frozen: every caller shares these objects until the entry expires.
      const opened = entries.get(pbxId)?.opened ?? new Map<string, string>();
      const entry = { pbx: Object.freeze(toPbx(row)), row, secrets: null, expiresAt: now().getTime() + PBX_CACHE_MS, opened };
      entries.set(pbxId, entry);
      return entry;
    },
    forget(pbxId: string): void {
      entries.delete(pbxId);
    },
  };
}

export function frozenSecrets(secrets: PbxSecrets): PbxSecrets {
  Object.freeze(secrets.webhookSecrets);
  Object.freeze(secrets.templateKeys);
  Object.freeze(secrets.connectorTokens);
  return Object.freeze(secrets);
}
