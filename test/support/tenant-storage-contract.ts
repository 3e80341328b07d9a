// The contract every tenant storage engine meets (SQLite file, PostgreSQL): tenants, PBXs and their
// encrypted secrets, agents, pairing codes, device tokens, the contact cache and the audit trail.
// Each engine's test file runs it with a harness that gives every test empty storage.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuditEntry, AuditLog } from '../../src/bus/audit/port.js';
import type { AuditOptions } from '../../src/bus/audit/rows.js';
import { PBX_CACHE_MS, type AdminTenantStore } from '../../src/bus/tenants/rows.js';
import { PAIRING_CODE_TTL_MS, SecretBox, sha256Hex } from '../../src/bus/tenants/secrets.js';

export interface TenantStorageHarness {
  /** A store on this test's storage; each call is another connection to the same data (another process or node). */
  open(opts: { masterKey: Buffer; now?: () => Date }): Promise<AdminTenantStore>;
  openAudit(opts: AuditOptions): Promise<AuditLog & { close(): Promise<void> }>;
  /** Every stored row of a table, to check what is at rest. */
  rows(table: 'pbxs' | 'pbx_secrets' | 'pairing_codes' | 'device_tokens'): Promise<unknown[]>;
  /** Closes what open/openAudit opened and removes the storage. */
  close(): Promise<void>;
}

const masterKey = randomBytes(32);
const DAY_MS = 24 * 60 * 60 * 1000;

async function seed(store: AdminTenantStore) {
  const tenant = await store.createTenant({ name: 'Acme' });
  const { pbx, secrets } = await store.addPbx({
    tenantId: tenant.id, name: 'Main', baseUrl: 'https://pbx.acme.test/', defaultCountry: 'AU',
    apiClientId: '900', connectorMode: 'bus', apiClientSecret: 'api-secret-1',
  });
  return { tenant, pbx, secrets };
}

const denied = (agentId: string, detail: string, target = '+61298765432'): Omit<AuditEntry, 'at'> => ({ tenantId: 't1', agentId, action: 'dial', target, result: 'denied', detail });

export function describeTenantStorage(engine: string, fresh: () => Promise<TenantStorageHarness>): void {
  describe(`tenant store (${engine})`, () => {
    let h: TenantStorageHarness;
    let clock: Date;
    let store: AdminTenantStore;
    const openAt = () => h.open({ masterKey, now: () => clock });
    beforeEach(async () => {
      h = await fresh();
      clock = new Date('2026-05-01T00:00:00Z');
      store = await openAt();
    });
    afterEach(() => h.close());

    it('creates a PBX with one secret of each kind and returns them decrypted', async () => {
      const { pbx, secrets } = await seed(store);
      expect(pbx.baseUrl).toBe('https://pbx.acme.test');
      expect(secrets.webhookSecrets).toHaveLength(1);
      expect(secrets.webhookSecrets[0]).toMatch(/^whsec_/);
      expect(Buffer.from(secrets.webhookSecrets[0]!.slice(6), 'base64')).toHaveLength(32);
      expect(secrets.templateKeys).toHaveLength(1);
      expect(secrets.connectorTokens).toHaveLength(1);
      expect(secrets.apiClientSecret).toBe('api-secret-1');
      expect(await store.pbxSecrets(pbx.id)).toEqual(secrets);
    });

    it('stores PBX secrets encrypted, never in clear text', async () => {
      const { pbx, secrets } = await seed(store);
      const dump = JSON.stringify(await h.rows('pbx_secrets')) + JSON.stringify(await h.rows('pbxs'));
      expect(dump).toContain(pbx.id);
      for (const s of [...secrets.webhookSecrets, ...secrets.templateKeys, ...secrets.connectorTokens, 'api-secret-1']) {
        expect(dump).not.toContain(s);
      }
    });

    it('cannot read secrets with a different master key', async () => {
      const { pbx } = await seed(store);
      const wrongKey = await h.open({ masterKey: randomBytes(32) });
      await expect(wrongKey.pbxSecrets(pbx.id)).rejects.toThrow();
    });

    it('rotation keeps old and new valid until the old ones are retired', async () => {
      const { pbx, secrets } = await seed(store);
      const fresh = await store.rotatePbxSecret(pbx.id, 'webhook');
      expect((await store.pbxSecrets(pbx.id)).webhookSecrets).toEqual([fresh, secrets.webhookSecrets[0]]);
      await store.retireOldPbxSecrets(pbx.id, 'webhook');
      const after = await store.pbxSecrets(pbx.id);
      expect(after.webhookSecrets).toEqual([fresh]);
      expect(after.templateKeys).toEqual(secrets.templateKeys);
    });

    it('sees a rotation made here at once, and one made by another process within the cache time', async () => {
      const admin = await openAt();
      const { pbx, secrets } = await seed(store);
      const [first] = secrets.webhookSecrets;
      expect((await store.pbxSecrets(pbx.id)).webhookSecrets).toEqual([first]);
      const second = await store.rotatePbxSecret(pbx.id, 'webhook');
      expect((await store.pbxSecrets(pbx.id)).webhookSecrets).toEqual([second, first]);
      // The admin CLI (or another node) retires the old secret: this store keeps accepting it
      // for at most PBX_CACHE_MS, then only the new one.
      await admin.retireOldPbxSecrets(pbx.id, 'webhook');
      expect((await store.pbxSecrets(pbx.id)).webhookSecrets).toEqual([second, first]);
      clock = new Date(clock.getTime() + PBX_CACHE_MS);
      expect((await store.pbxSecrets(pbx.id)).webhookSecrets).toEqual([second]);
      expect(await store.getPbx(pbx.id)).toEqual(await admin.getPbx(pbx.id));
    });

    it('decrypts on a cache refresh only the secrets it has not opened before', async () => {
      const admin = await openAt();
      const { pbx, secrets } = await seed(store);
      await store.pbxSecrets(pbx.id);
      const open = vi.spyOn(SecretBox.prototype, 'open');
      try {
        clock = new Date(clock.getTime() + PBX_CACHE_MS);
        expect(await store.pbxSecrets(pbx.id)).toEqual(secrets);
        expect(open).not.toHaveBeenCalled();
        const second = await admin.rotatePbxSecret(pbx.id, 'template');
        clock = new Date(clock.getTime() + PBX_CACHE_MS);
        expect((await store.pbxSecrets(pbx.id)).templateKeys).toEqual([second, secrets.templateKeys[0]]);
        expect(open).toHaveBeenCalledTimes(1);
      } finally {
        open.mockRestore();
      }
    });

    it('pairs once with a typed code (any case, spacing), then the code is spent', async () => {
      const { tenant, pbx } = await seed(store);
      const { agent, pairingCode } = await store.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension: '101', name: 'Ann', crmUser: 'ann@acme.test' });
      expect(pairingCode).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
      const typed = ` ${pairingCode.toLowerCase().replace(/-/g, ' ')} `;
      const paired = await store.pair(typed);
      expect(paired?.agent).toEqual(agent);
      expect(await store.authenticateDevice(paired!.deviceToken)).toEqual(agent);
      expect(await store.pair(pairingCode)).toBeNull();
    });

    it('pairs a code once when two nodes redeem it at the same moment', async () => {
      const other = await openAt();
      const { tenant, pbx } = await seed(store);
      const { pairingCode } = await store.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension: '101', name: 'Ann' });
      const results = await Promise.all([store.pair(pairingCode), other.pair(pairingCode), store.pair(pairingCode), other.pair(pairingCode)]);
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      expect(await h.rows('device_tokens')).toHaveLength(1);
    });

    it('keeps only hashes of pairing codes and device tokens', async () => {
      const { tenant, pbx } = await seed(store);
      const { pairingCode } = await store.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension: '101', name: 'Ann' });
      const { deviceToken } = (await store.pair(pairingCode))!;
      const dump = JSON.stringify(await h.rows('pairing_codes')) + JSON.stringify(await h.rows('device_tokens'));
      expect(dump).not.toContain(pairingCode.replace(/-/g, ''));
      expect(dump).not.toContain(deviceToken);
      expect(dump).toContain(sha256Hex(deviceToken));
    });

    it('refuses a pairing code after 7 days', async () => {
      const { tenant, pbx } = await seed(store);
      const { pairingCode } = await store.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension: '101', name: 'Ann' });
      clock = new Date(clock.getTime() + PAIRING_CODE_TTL_MS + 1);
      expect(await store.pair(pairingCode)).toBeNull();
    });

    it('revoking an agent kills its device token and unused pairing code', async () => {
      const { tenant, pbx } = await seed(store);
      const a = await store.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension: '101', name: 'Ann' });
      const b = await store.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension: '102', name: 'Bob' });
      const { deviceToken } = (await store.pair(a.pairingCode))!;
      await store.revokeAgent(a.agent.id);
      await store.revokeAgent(b.agent.id);
      expect(await store.authenticateDevice(deviceToken)).toBeNull();
      expect(await store.pair(b.pairingCode)).toBeNull();
      expect((await store.getAgent(a.agent.id))?.revokedAt).toBe(clock.toISOString());
      await expect(store.revokeAgent('agt_nobody')).rejects.toThrow(/no agent/);
    });

    it('lists the agents revoked since a time, whichever connection revoked them', async () => {
      // The admin CLI revokes through its own connection (its own process) to the same storage.
      const admin = await openAt();
      const { tenant, pbx } = await seed(store);
      const add = async (extension: string) => (await admin.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension, name: extension })).agent.id;
      const [early, late, kept] = [await add('101'), await add('102'), await add('103')];
      await admin.revokeAgent(early);
      const checkedAt = clock = new Date(clock.getTime() + 5_000);
      expect(await store.revokedSince(checkedAt)).toEqual([]);
      await admin.revokeAgent(late);
      expect(await store.revokedSince(checkedAt)).toEqual([late]);
      expect((await store.revokedSince(new Date(0))).sort()).toEqual([early, late].sort());
      expect(await store.revokedSince(new Date(0))).not.toContain(kept);
    });

    it('allows one active agent per extension, and re-adding after revoke', async () => {
      const { tenant, pbx } = await seed(store);
      const a = await store.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension: '101', name: 'Ann' });
      await expect(store.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension: '101', name: 'Ann 2' })).rejects.toThrow();
      await store.revokeAgent(a.agent.id);
      await expect(store.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension: '101', name: 'Ann 2' })).resolves.toBeTruthy();
    });

    it('keeps tenants apart: no agent on another tenant\'s PBX, listings and contacts per tenant only', async () => {
      const { tenant, pbx } = await seed(store);
      const other = await store.createTenant({ name: 'Other' });
      await expect(store.addAgent({ tenantId: other.id, pbxId: pbx.id, extension: '101', name: 'Eve' })).rejects.toThrow(/not in tenant/);
      await store.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension: '101', name: 'Ann' });
      expect(await store.listAgents(other.id)).toEqual([]);
      expect(await store.listPbxs(other.id)).toEqual([]);
      expect((await store.listPbxs(tenant.id)).map((p) => p.id)).toEqual([pbx.id]);
      const jane = { id: 'c1', firstName: 'Jane', lastName: 'Citizen', company: 'Acme', url: 'https://crm.test/c1' };
      expect(await store.importContacts(tenant.id, [{ ...jane, e164: '+61298765432' }])).toBe(1);
      expect(await store.findContact(tenant.id, '+61298765432')).toEqual(jane);
      expect(await store.findContact(other.id, '+61298765432')).toBeNull();
      await store.importContacts(tenant.id, [{ ...jane, lastName: 'Doe', e164: '+61298765432' }]);
      expect((await store.findContact(tenant.id, '+61298765432'))?.lastName).toBe('Doe');
      await expect(store.importContacts('ten_nobody', [{ ...jane, e164: '+61298765432' }])).rejects.toThrow(/no tenant/);
    });

    it('survives a reopen, and lists tenants oldest first', async () => {
      const { tenant, pbx, secrets } = await seed(store);
      clock = new Date(clock.getTime() + 1_000);
      const later = await store.createTenant({ name: 'Later', dialPolicy: { allowedCountries: ['AU'] } });
      const second = await h.open({ masterKey });
      expect(await second.getTenant(tenant.id)).toEqual(tenant);
      expect(await second.pbxSecrets(pbx.id)).toEqual(secrets);
      expect(await second.listTenants()).toEqual([tenant, later]);
      expect(later.dialPolicy).toEqual({ allowedCountries: ['AU'], blockedTypes: ['PREMIUM_RATE', 'SHARED_COST'] });
    });

    it("keeps each tenant's agent policy (new callers' records): 'ask' by default, set per tenant, refused when malformed", async () => {
      const { tenant } = await seed(store);
      expect(tenant.agentPolicy).toEqual({ createRecord: 'ask' });
      const auto = await store.createTenant({ name: 'Auto', agentPolicy: { createRecord: 'auto' } });
      expect(await store.setAgentPolicy(tenant.id, { createRecord: 'off' })).toBe(true);
      expect(await store.setAgentPolicy('ten_nobody', { createRecord: 'off' })).toBe(false);
      await expect(store.setAgentPolicy(tenant.id, { createRecord: 'always' } as never)).rejects.toThrow();
      const reopened = await h.open({ masterKey });
      expect((await reopened.getTenant(tenant.id))?.agentPolicy).toEqual({ createRecord: 'off' });
      expect((await reopened.getTenant(auto.id))?.agentPolicy).toEqual({ createRecord: 'auto' });
    });
  });

  describe(`audit log (${engine})`, () => {
    let h: TenantStorageHarness;
    beforeEach(async () => {
      h = await fresh();
    });
    afterEach(() => h.close());
    const auditAt = (clock: { t: number }, opts: AuditOptions = {}) => h.openAudit({ now: () => new Date(clock.t), ...opts });

    it('lists a tenant\'s entries newest first, never another tenant\'s', async () => {
      const clock = { t: Date.UTC(2026, 4, 1) };
      const audit = await auditAt(clock);
      await audit.record({ tenantId: 't1', agentId: 'a1', action: 'dial', target: '+61298765432', result: 'ok', detail: null });
      clock.t += 1_000;
      await audit.record({ tenantId: 't2', agentId: 'a9', action: 'dial', target: '+61298765433', result: 'ok', detail: null });
      clock.t += 1_000;
      await audit.record({ tenantId: 't1', agentId: 'a1', action: 'recording', target: 'ev_1', result: 'denied', detail: 'not your call' });
      const entries = await audit.list('t1');
      expect(entries.map((e) => [e.action, e.result])).toEqual([['recording', 'denied'], ['dial', 'ok']]);
      expect(entries[0]).toMatchObject({ at: '2026-05-01T00:00:02.000Z', agentId: 'a1', target: 'ev_1', detail: 'not your call', count: 1 });
      expect(await audit.list('t1', { limit: 1 })).toHaveLength(1);
      expect((await audit.list('t2')).map((e) => e.agentId)).toEqual(['a9']);
    });

    it('keeps one row with a count for identical refusals within the window, a new row after it', async () => {
      const clock = { t: Date.UTC(2026, 4, 1) };
      const log = await auditAt(clock, { aggregateMs: 60_000 });
      for (let i = 0; i < 3_400; i++) {
        await log.record(denied('a1', 'rate_limited: At most 10 calls a minute', `+6129876${String(i).padStart(4, '0')}`));
        clock.t += 10;
      }
      await log.record(denied('a1', 'dial_policy: GB not allowed'));
      await log.record(denied('a2', 'rate_limited: At most 10 calls a minute'));
      await log.record({ ...denied('a1', 'link expired'), action: 'recording', target: 'ev_1' });
      await log.record({ ...denied('a1', null as unknown as string), result: 'ok', detail: null });
      await log.record({ ...denied('a1', null as unknown as string), result: 'ok', detail: null });
      clock.t += 60_000;
      await log.record(denied('a1', 'rate_limited: At most 10 calls a minute'));
      const rows = await log.list('t1');
      expect(rows.map((r) => [r.agentId, r.action, r.result, r.detail, r.count])).toEqual([
        ['a1', 'dial', 'denied', 'rate_limited: At most 10 calls a minute', 1],
        ['a1', 'dial', 'ok', null, 1],
        ['a1', 'dial', 'ok', null, 1],
        ['a1', 'recording', 'denied', 'link expired', 1],
        ['a2', 'dial', 'denied', 'rate_limited: At most 10 calls a minute', 1],
        ['a1', 'dial', 'denied', 'dial_policy: GB not allowed', 1],
        ['a1', 'dial', 'denied', 'rate_limited: At most 10 calls a minute', 3_400],
      ]);
      expect(rows.at(-1)).toMatchObject({ target: '+61298760000', at: '2026-05-01T00:00:00.000Z', lastAt: '2026-05-01T00:00:33.990Z' });
    });

    it('writes pending counts on close, so another reader sees them', async () => {
      const clock = { t: Date.UTC(2026, 4, 1) };
      const log = await auditAt(clock);
      for (let i = 0; i < 5; i++) await log.record(denied('a1', 'invalid_number'));
      await log.close();
      expect((await (await auditAt(clock)).list('t1')).map((r) => r.count)).toEqual([5]);
    });

    it('deletes rows past the retention (default 90 days) on open and while writing', async () => {
      const clock = { t: Date.UTC(2026, 0, 1) };
      const first = await auditAt(clock);
      await first.record({ ...denied('a1', 'old'), result: 'ok' });
      clock.t += 30 * DAY_MS;
      await first.record({ ...denied('a1', 'newer'), result: 'ok' });
      clock.t += 61 * DAY_MS;
      // Opened 91 days after the first row: it is gone, the 61-day-old one stays.
      const reopened = await auditAt(clock);
      expect((await reopened.list('t1')).map((r) => r.detail)).toEqual(['newer']);
      // A shorter retention, applied by the hourly prune as rows are written.
      const short = await auditAt(clock, { retentionDays: 7 });
      expect((await short.list('t1')).map((r) => r.detail)).toEqual([]);
      await short.record({ ...denied('a1', 'today'), result: 'ok' });
      clock.t += 8 * DAY_MS;
      await short.record({ ...denied('a1', 'a week later'), result: 'ok' });
      expect((await short.list('t1')).map((r) => r.detail)).toEqual(['a week later']);
    });

    it('filters by agent, action and time, and pages with a before cursor', async () => {
      const clock = { t: Date.UTC(2026, 4, 1) };
      const log = await auditAt(clock);
      for (let i = 0; i < 10; i++) {
        await log.record({ tenantId: 't1', agentId: i % 2 ? 'a1' : 'a2', action: i % 3 ? 'dial' : 'recording', target: `x${i}`, result: 'ok', detail: null });
        clock.t += 60_000;
      }
      const targets = (rows: Array<{ target: string }>) => rows.map((r) => r.target);
      expect(targets(await log.list('t1', { agentId: 'a1' }))).toEqual(['x9', 'x7', 'x5', 'x3', 'x1']);
      expect(targets(await log.list('t1', { action: 'recording' }))).toEqual(['x9', 'x6', 'x3', 'x0']);
      expect(targets(await log.list('t1', { since: new Date(Date.UTC(2026, 4, 1, 0, 7)).toISOString() }))).toEqual(['x9', 'x8', 'x7']);
      const page1 = await log.list('t1', { limit: 4 });
      const page2 = await log.list('t1', { limit: 4, before: page1.at(-1)!.seq });
      const page3 = await log.list('t1', { limit: 4, before: page2.at(-1)!.seq });
      expect([targets(page1), targets(page2), targets(page3)]).toEqual([['x9', 'x8', 'x7', 'x6'], ['x5', 'x4', 'x3', 'x2'], ['x1', 'x0']]);
      expect(targets(await log.list('t1', { agentId: 'a2', action: 'dial', before: page1.at(-1)!.seq }))).toEqual(['x4', 'x2']);
    });
  });
}
