// Test support for the bus's PBX-facing areas (pbx, call-control, dial, recordings): a TenantStore
// holding tenants and PBXs in memory, an AuditLog in memory. Only what those tests exercise works.
import { vi } from 'vitest';
import type { AuditEntry, AuditLog } from '../../src/bus/audit/port.js';
import type { Agent, DialPolicy, Pbx, PbxSecrets, Tenant, TenantStore } from '../../src/bus/tenants/port.js';
import { DEFAULT_AGENT_POLICY } from '../../src/shared/agent-protocol.js';

export interface FakeTenants extends TenantStore {
  put(input: { tenant?: Partial<Tenant>; pbx: Partial<Pbx> & Pick<Pbx, 'id' | 'tenantId' | 'baseUrl'>; secrets?: Partial<PbxSecrets> }): Pbx;
}

export function fakeTenants(): FakeTenants {
  const tenants = new Map<string, Tenant>();
  const pbxs = new Map<string, { pbx: Pbx; secrets: PbxSecrets }>();
  const unsupported = () => Promise.reject(new Error('not supported by the fake TenantStore'));
  const policy = (p?: Partial<DialPolicy>): DialPolicy => ({ allowedCountries: [], blockedTypes: [], ...p });
  return {
    put({ tenant, pbx, secrets }) {
      const t: Tenant = { id: pbx.tenantId, name: 'Tenant', createdAt: new Date().toISOString(), ...tenant, dialPolicy: policy(tenant?.dialPolicy), agentPolicy: tenant?.agentPolicy ?? DEFAULT_AGENT_POLICY };
      tenants.set(t.id, t);
      const full: Pbx = { name: 'PBX', defaultCountry: 'DE', apiClientId: '900', connectorMode: 'bus', ...pbx };
      pbxs.set(full.id, { pbx: full, secrets: { webhookSecrets: [], templateKeys: [], apiClientSecret: 'sim-api-key', connectorTokens: [], ...secrets } });
      return full;
    },
    createTenant: unsupported,
    setAgentPolicy: unsupported,
    getTenant: async (id) => tenants.get(id) ?? null,
    addPbx: unsupported,
    getPbx: async (id) => pbxs.get(id)?.pbx ?? null,
    listPbxs: async (tenantId) => [...pbxs.values()].map((p) => p.pbx).filter((p) => !tenantId || p.tenantId === tenantId),
    pbxSecrets: async (id) => {
      const p = pbxs.get(id);
      if (!p) throw new Error(`unknown PBX ${id}`);
      return p.secrets;
    },
    rotatePbxSecret: unsupported,
    retireOldPbxSecrets: unsupported,
    addAgent: unsupported,
    listAgents: unsupported,
    pair: unsupported,
    authenticateDevice: unsupported,
    revokeAgent: unsupported,
    revokedSince: unsupported,
    close: async () => undefined,
  };
}

export function agent(overrides: Partial<Agent> & Pick<Agent, 'tenantId' | 'pbxId' | 'extension'>): Agent {
  return { id: `agt_${overrides.extension}`, name: `Agent ${overrides.extension}`, crmUser: null, revokedAt: null, ...overrides };
}

/** Every entry as recorded (no aggregation: that is the SQLite log's). */
export function memoryAudit(): Pick<AuditLog, 'record'> & { entries: AuditEntry[] } {
  const entries: AuditEntry[] = [];
  return {
    entries,
    async record(entry) {
      entries.push({ at: new Date().toISOString(), ...entry });
    },
  };
}

/** Waits for asynchronous effects (socket frames, polls) with room for a loaded CI machine. */
export function eventually<T>(check: () => T | Promise<T>): Promise<T> {
  return vi.waitFor(check, { timeout: 15_000, interval: 10 });
}
