import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteTenantStore, PBX_CACHE_MS, type SqliteTenantStore } from './store.js';
import { PAIRING_CODE_TTL_MS, sha256Hex } from '../secrets.js';

const masterKey = randomBytes(32);

async function seed(store: SqliteTenantStore) {
  const tenant = await store.createTenant({ name: 'Acme' });
  const { pbx, secrets } = await store.addPbx({
    tenantId: tenant.id, name: 'Main', baseUrl: 'https://pbx.acme.test/', defaultCountry: 'AU',
    apiClientId: '900', connectorMode: 'bus', apiClientSecret: 'api-secret-1',
  });
  return { tenant, pbx, secrets };
}

describe('SQLite tenant store', () => {
  let clock = new Date('2026-05-01T00:00:00Z');
  let store: SqliteTenantStore;
  beforeEach(() => {
    clock = new Date('2026-05-01T00:00:00Z');
    store = createSqliteTenantStore({ path: ':memory:', masterKey, now: () => clock });
  });
  afterEach(() => store.close());

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
    const dump = JSON.stringify(store.db.prepare('SELECT * FROM pbx_secrets').all()) + JSON.stringify(store.db.prepare('SELECT * FROM pbxs').all());
    expect(dump).toContain(pbx.id);
    for (const s of [...secrets.webhookSecrets, ...secrets.templateKeys, ...secrets.connectorTokens, 'api-secret-1']) {
      expect(dump).not.toContain(s);
    }
  });

  it('cannot read secrets with a different master key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-tenants-'));
    try {
      const path = join(dir, 'tenants.db');
      const first = createSqliteTenantStore({ path, masterKey });
      const { pbx } = await seed(first);
      await first.close();
      const wrongKey = createSqliteTenantStore({ path, masterKey: randomBytes(32) });
      await expect(wrongKey.pbxSecrets(pbx.id)).rejects.toThrow();
      await wrongKey.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
    const dir = mkdtempSync(join(tmpdir(), 'rb-tenants-'));
    try {
      const path = join(dir, 'tenants.db');
      const bus = createSqliteTenantStore({ path, masterKey, now: () => clock });
      const admin = createSqliteTenantStore({ path, masterKey, now: () => clock });
      const { pbx, secrets } = await seed(bus);
      const [first] = secrets.webhookSecrets;
      expect((await bus.pbxSecrets(pbx.id)).webhookSecrets).toEqual([first]);

      const second = await bus.rotatePbxSecret(pbx.id, 'webhook');
      expect((await bus.pbxSecrets(pbx.id)).webhookSecrets).toEqual([second, first]);

      // The admin CLI retires the old secret from its own process: the bus keeps accepting it
      // for at most PBX_CACHE_MS, then only the new one.
      await admin.retireOldPbxSecrets(pbx.id, 'webhook');
      expect((await bus.pbxSecrets(pbx.id)).webhookSecrets).toEqual([second, first]);
      clock = new Date(clock.getTime() + PBX_CACHE_MS);
      expect((await bus.pbxSecrets(pbx.id)).webhookSecrets).toEqual([second]);
      expect(await bus.getPbx(pbx.id)).toEqual(await admin.getPbx(pbx.id));
      await admin.close();
      await bus.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
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

  it('keeps only hashes of pairing codes and device tokens', async () => {
    const { tenant, pbx } = await seed(store);
    const { pairingCode } = await store.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension: '101', name: 'Ann' });
    const { deviceToken } = (await store.pair(pairingCode))!;
    const dump = JSON.stringify(store.db.prepare('SELECT * FROM pairing_codes').all()) + JSON.stringify(store.db.prepare('SELECT * FROM device_tokens').all());
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
  });

  it('lists the agents revoked since a time, whichever connection revoked them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-tenants-'));
    try {
      const path = join(dir, 'tenants.db');
      const bus = createSqliteTenantStore({ path, masterKey, now: () => clock });
      // The admin CLI revokes through its own connection (its own process) to the same file.
      const admin = createSqliteTenantStore({ path, masterKey, now: () => clock });
      const { tenant, pbx } = await seed(bus);
      const add = async (extension: string) => (await admin.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension, name: extension })).agent.id;
      const [early, late, kept] = [await add('101'), await add('102'), await add('103')];
      await admin.revokeAgent(early);
      const checkedAt = clock = new Date(clock.getTime() + 5_000);
      expect(await bus.revokedSince(checkedAt)).toEqual([]);
      await admin.revokeAgent(late);
      expect(await bus.revokedSince(checkedAt)).toEqual([late]);
      expect((await bus.revokedSince(new Date(0))).sort()).toEqual([early, late].sort());
      expect(await bus.revokedSince(new Date(0))).not.toContain(kept);
      await admin.close();
      await bus.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('allows one active agent per extension, and re-adding after revoke', async () => {
    const { tenant, pbx } = await seed(store);
    const a = await store.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension: '101', name: 'Ann' });
    await expect(store.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension: '101', name: 'Ann 2' })).rejects.toThrow();
    await store.revokeAgent(a.agent.id);
    await expect(store.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension: '101', name: 'Ann 2' })).resolves.toBeTruthy();
  });

  it('will not add an agent to another tenant\'s PBX', async () => {
    const { pbx } = await seed(store);
    const other = await store.createTenant({ name: 'Other' });
    await expect(store.addAgent({ tenantId: other.id, pbxId: pbx.id, extension: '101', name: 'Eve' })).rejects.toThrow(/not in tenant/);
  });

  it('finds cached contacts per tenant only', async () => {
    const { tenant } = await seed(store);
    const other = await store.createTenant({ name: 'Other' });
    const jane = { id: 'c1', firstName: 'Jane', lastName: 'Citizen', company: 'Acme', url: 'https://crm.test/c1' };
    expect(await store.importContacts(tenant.id, [{ ...jane, e164: '+61298765432' }])).toBe(1);
    expect(await store.findContact(tenant.id, '+61298765432')).toEqual(jane);
    expect(await store.findContact(other.id, '+61298765432')).toBeNull();
    await store.importContacts(tenant.id, [{ ...jane, lastName: 'Doe', e164: '+61298765432' }]);
    expect((await store.findContact(tenant.id, '+61298765432'))?.lastName).toBe('Doe');
  });

  it('survives a reopen of the same file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-tenants-'));
    try {
      const path = join(dir, 'tenants.db');
      const first = createSqliteTenantStore({ path, masterKey });
      const { tenant, pbx, secrets } = await seed(first);
      await first.close();
      const second = createSqliteTenantStore({ path, masterKey });
      expect(await second.getTenant(tenant.id)).toEqual(tenant);
      expect(await second.pbxSecrets(pbx.id)).toEqual(secrets);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('opens a file written before schema versions with its tenants, and refuses one from a newer release', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-tenants-'));
    try {
      // What the store left before migrations: user_version 0, its tables (here just tenants).
      const path = join(dir, 'tenants.db');
      const old = new Database(path);
      old.exec(`CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, dial_policy TEXT NOT NULL, created_at TEXT NOT NULL);
        INSERT INTO tenants VALUES ('t_old', 'Old Co', '{"allowedCountries":[],"blockedTypes":[]}', '2026-01-01T00:00:00.000Z');`);
      old.close();
      const store = createSqliteTenantStore({ path, masterKey });
      expect((await store.listTenants()).map((t) => t.name)).toEqual(['Old Co']);
      await store.createTenant({ name: 'New Co' });
      await store.close();

      const newer = new Database(path);
      newer.pragma('user_version = 99');
      newer.close();
      expect(() => createSqliteTenantStore({ path, masterKey })).toThrow(/tenants\.db has schema version 99, newer than this program knows/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
