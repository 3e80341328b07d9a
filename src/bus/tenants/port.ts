// Tenants, their PBXs and agents, pairing codes and device credentials. Secrets are stored
// hashed (device tokens, pairing codes) or encrypted with the bus master key (webhook secrets,
// 3CX API keys, which must be usable again).
import type { CountryCode } from 'libphonenumber-js';
import type { AgentPolicy } from '../../shared/agent-protocol.js';

export interface Tenant {
  id: string;
  name: string;
  dialPolicy: DialPolicy;
  /** Settings every agent of the tenant applies, sent in the bus's welcome (issue 11: new callers' records). */
  agentPolicy: AgentPolicy;
  createdAt: string;
}

export interface DialPolicy {
  /** ISO countries agents may dial; empty = any. */
  allowedCountries: CountryCode[];
  /** libphonenumber number types refused, e.g. PREMIUM_RATE, SHARED_COST. */
  blockedTypes: string[];
}

export interface Pbx {
  id: string;
  tenantId: string;
  name: string;
  /** https://pbx.example.com — base of /connect/token, /callcontrol, /xapi/v1. */
  baseUrl: string;
  defaultCountry: CountryCode;
  /** Call Control API client id (the route point DN); null when not configured. */
  apiClientId: string | null;
  /** 'bus' when the bus holds the call-control socket; 'remote' when a connector beside the PBX dials out. */
  connectorMode: 'bus' | 'remote';
}

/** Decrypted secrets of a PBX; only ingest, pbx and connector code ask for them. */
export interface PbxSecrets {
  /** Standard Webhooks secrets (whsec_...), current first; two during rotation. */
  webhookSecrets: string[];
  /** Key the CRM template sends in X-Api-Key (current first; two during rotation). */
  templateKeys: string[];
  /** 3CX API key (OAuth client_secret) for the call-control connector and XAPI. */
  apiClientSecret: string | null;
  /** Token a remote connector presents when it dials out to the bus. */
  connectorTokens: string[];
}

export interface Agent {
  id: string;
  tenantId: string;
  /** 3CX extension number; fan-out routes on it. */
  extension: string;
  /** The PBX this extension lives on. */
  pbxId: string;
  name: string;
  /** The agent's user in the CRM (email or id), for owner matching and logs. */
  crmUser: string | null;
  revokedAt: string | null;
}

export interface TenantStore {
  createTenant(input: { name: string; dialPolicy?: Partial<DialPolicy>; agentPolicy?: Partial<AgentPolicy> }): Promise<Tenant>;
  /** Replaces the tenant's agent policy; agents get it on their next connect. False: no such tenant. */
  setAgentPolicy(tenantId: string, policy: AgentPolicy): Promise<boolean>;
  getTenant(id: string): Promise<Tenant | null>;
  addPbx(input: Omit<Pbx, 'id'> & { apiClientSecret?: string | null }): Promise<{ pbx: Pbx; secrets: PbxSecrets }>;
  getPbx(id: string): Promise<Pbx | null>;
  listPbxs(tenantId?: string): Promise<Pbx[]>;
  pbxSecrets(pbxId: string): Promise<PbxSecrets>;
  /** Adds a new secret of the kind while keeping the old one valid until `retireOld` is called. */
  rotatePbxSecret(pbxId: string, kind: 'webhook' | 'template' | 'connector'): Promise<string>;
  retireOldPbxSecrets(pbxId: string, kind: 'webhook' | 'template' | 'connector'): Promise<void>;
  addAgent(input: { tenantId: string; pbxId: string; extension: string; name: string; crmUser?: string | null }): Promise<{ agent: Agent; pairingCode: string }>;
  listAgents(tenantId: string): Promise<Agent[]>;
  /** Exchanges a one-time pairing code for a device token (shown once, stored hashed). */
  pair(pairingCode: string): Promise<{ agent: Agent; deviceToken: string } | null>;
  /** Resolves a device token to its agent; null when unknown or revoked. */
  authenticateDevice(deviceToken: string): Promise<Agent | null>;
  revokeAgent(agentId: string): Promise<void>;
  /**
   * Ids of agents revoked at or after `since`, by any process sharing the store (the admin CLI
   * revokes from its own): how a bus finds live connections to close. One cheap query.
   */
  revokedSince(since: Date): Promise<string[]>;
  close(): Promise<void>;
}
