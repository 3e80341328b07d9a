// Runs the admin CLI from source (as `tsx src/bus/cli/index.ts`; bin/ringbridge-admin.mjs runs the
// build of this file, which .ci/run checks) as a child process against a temporary data directory.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { XMLValidator } from 'fast-xml-parser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeCallEvent } from '../../../test/support/make-call-event.js';
import { openSqliteEventLog } from '../log/sqlite/index.js';
import { createSqliteAuditLog } from '../audit/sqlite.js';
import { loadMasterKey } from '../tenants/secrets.js';
import { createSqliteTenantStore, type SqliteTenantStore } from '../tenants/sqlite/store.js';
import { TENANTS_DB_FILE } from '../compose.js';

// tsx is found from here: the CLI runs with its working directory in the temporary data directory.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const ADMIN = ['--import', TSX, resolve(import.meta.dirname, 'index.ts')];
const run = promisify(execFile);

let dir: string;
const env = () => ({ ...process.env, RINGBRIDGE_DATA_DIR: dir, RINGBRIDGE_PUBLIC_URL: 'https://bus.example.com', RINGBRIDGE_MASTER_KEY: '' });

async function admin(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...ADMIN, ...args], { env: env(), cwd: dir });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
const field = (text: string, label: string) => new RegExp(`${label}\\s*(\\S+)`).exec(text)?.[1];

/** The same store the CLI wrote, opened from the test (after the CLI process has exited). */
function openStore(): SqliteTenantStore {
  return createSqliteTenantStore({ path: join(dir, TENANTS_DB_FILE), masterKey: loadMasterKey({ configured: null, dataDir: dir }) });
}

async function tenantAndPbx() {
  const tenantId = field((await admin('tenant', 'create', '--name', 'Acme Pty Ltd')).stdout, 'tenant')!;
  const sheet = await admin('pbx', 'add', '--tenant', tenantId, '--name', 'Main', '--url', 'https://pbx.acme.test', '--country', 'au', '--client-id', '900', '--client-secret', 'api-key-1');
  const pbxId = /PBX "Main" \((\S+)\)/.exec(sheet.stdout)?.[1];
  return { tenantId, pbxId: pbxId!, sheet };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rb-admin-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('ringbridge-admin', { timeout: 90_000 }, () => {
  it("sets a tenant's policy for new callers' records; a value it does not know is a usage error that changes nothing", async () => {
    const tenantId = field((await admin('tenant', 'create', '--name', 'Acme Pty Ltd')).stdout, 'tenant')!;
    expect(await admin('tenant', 'policy', '--tenant', tenantId, '--create-record', 'auto')).toMatchObject({ code: 0 });
    expect(await admin('tenant', 'policy', '--tenant', tenantId, '--create-record', 'always')).toMatchObject({ code: 2, stderr: expect.stringContaining('off, ask or auto') });
    expect(await admin('tenant', 'policy', '--tenant', 'ten_nobody', '--create-record', 'off')).toMatchObject({ code: 1 });
    const store = openStore();
    expect((await store.getTenant(tenantId))?.agentPolicy).toEqual({ createRecord: 'auto' });
    await store.close();
  });

  it('adds a PBX: setup sheet with URLs and secrets shown once, template file written owner-only', async () => {
    const { tenantId, pbxId, sheet } = await tenantAndPbx();
    expect(sheet.code).toBe(0);
    expect(sheet.stdout).toContain(`https://bus.example.com/v1/pbx/${pbxId}/3cx/lookup`);
    expect(sheet.stdout).toContain(`https://bus.example.com/v1/pbx/${pbxId}/webhook`);
    expect(sheet.stdout).toMatch(/Integrations > API/);
    expect(sheet.stdout).toMatch(/monitored extensions/);
    const store = openStore();
    const secrets = await store.pbxSecrets(pbxId);
    expect((await store.getPbx(pbxId))).toMatchObject({ tenantId, defaultCountry: 'AU', apiClientId: '900', connectorMode: 'bus' });
    await store.close();
    expect(secrets.apiClientSecret).toBe('api-key-1');
    expect(field(sheet.stdout, 'Secret:')).toBe(secrets.webhookSecrets[0]);
    expect(field(sheet.stdout, 'Template key \\(X-Api-Key\\):')).toBe(secrets.templateKeys[0]);
    expect(field(sheet.stdout, 'Connector token:')).toBe(secrets.connectorTokens[0]);

    const templatePath = join(dir, `ringbridge-3cx-${pbxId}.xml`);
    expect(statSync(templatePath).mode & 0o777).toBe(0o600);
    const xml = readFileSync(templatePath, 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toContain(secrets.templateKeys[0]);
    expect(statSync(join(dir, TENANTS_DB_FILE)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, TENANTS_DB_FILE)).includes(secrets.webhookSecrets[0]!)).toBe(false);
  });

  it('adds an agent with a one-time pairing code, lists and revokes it', async () => {
    const { tenantId, pbxId } = await tenantAndPbx();
    const added = await admin('agent', 'add', '--tenant', tenantId, '--pbx', pbxId, '--extension', '101', '--name', 'Ann Lee', '--crm-user', 'ann@acme.test');
    expect(added.code).toBe(0);
    const code = field(added.stdout, 'valid 7 days\\):')!;
    const agentId = field(added.stdout, 'agent')!;
    expect((await admin('agent', 'add', '--tenant', tenantId, '--pbx', pbxId, '--extension', '101', '--name', 'Dup')).code).toBe(1);

    let store = openStore();
    const paired = await store.pair(code);
    expect(paired?.agent).toMatchObject({ id: agentId, extension: '101', crmUser: 'ann@acme.test' });
    await store.close();

    expect((await admin('agents', 'list')).stdout).toMatch(new RegExp(`${agentId}.*101.*Ann Lee.*ann@acme.test.*active`));
    expect((await admin('agent', 'revoke', '--agent', agentId)).code).toBe(0);
    expect((await admin('agents', 'list', '--tenant', tenantId)).stdout).toMatch(new RegExp(`${agentId}.*revoked`));
    store = openStore();
    expect(await store.authenticateDevice(paired!.deviceToken)).toBeNull();
    await store.close();
  });

  it('rotates a secret keeping the old one until retired, and rewrites the template', async () => {
    const { pbxId } = await tenantAndPbx();
    const out = join(dir, 'rotated.xml');
    const rotated = await admin('pbx', 'rotate-secret', '--pbx', pbxId, '--kind', 'template', '--template-out', out);
    const fresh = field(rotated.stdout, '\\(shown once\\):')!;
    expect(readFileSync(out, 'utf8')).toContain(fresh);
    let store = openStore();
    expect((await store.pbxSecrets(pbxId)).templateKeys).toHaveLength(2);
    await store.close();
    expect((await admin('pbx', 'retire-old-secrets', '--pbx', pbxId)).code).toBe(0);
    store = openStore();
    expect((await store.pbxSecrets(pbxId)).templateKeys).toEqual([fresh]);
    await store.close();
    expect((await admin('pbx', 'rotate-secret', '--pbx', pbxId, '--kind', 'password')).code).toBe(2);
  });

  it('imports contacts from CSV in the PBX country, reporting bad rows', async () => {
    const { tenantId } = await tenantAndPbx();
    writeFileSync(join(dir, 'contacts.csv'), 'id,phone,firstName,lastName,company,url\nc1,(02) 9876 5432,Jane,Citizen,Acme,https://crm.test/c1\nc2,not a number,Bad,Row,,\n');
    const res = await admin('contacts', 'import', '--tenant', tenantId, '--csv', 'contacts.csv');
    expect(res.stdout).toContain('imported 1 contacts');
    expect(res.stderr).toMatch(/line 3 skipped/);
    const store = openStore();
    expect(await store.findContact(tenantId, '+61298765432')).toMatchObject({ id: 'c1', firstName: 'Jane', company: 'Acme' });
    await store.close();
  });

  it('prints the audit log of a tenant', async () => {
    const { tenantId } = await tenantAndPbx();
    const store = openStore();
    await createSqliteAuditLog({ db: store.db }).record({ tenantId, agentId: 'agt_1', action: 'dial', target: '+61298765432', result: 'denied', detail: 'blocked country' });
    await store.close();
    expect((await admin('audit', '--tenant', tenantId)).stdout).toMatch(/agt_1\s+dial\s+\+61298765432\s+denied\s+1\s+blocked country/);
  });

  it('pages the audit log with --before and filters it by agent, action and time', async () => {
    const tenantId = 'ten_audit';
    const store = openStore();
    const clock = { t: Date.UTC(2026, 11, 1, 9) };
    const audit = createSqliteAuditLog({ db: store.db }, { now: () => new Date(clock.t) });
    for (let i = 0; i < 6; i++) {
      await audit.record({ tenantId, agentId: i % 2 ? 'agt_odd' : 'agt_even', action: i < 4 ? 'dial' : 'recording', target: `target-${i}`, result: 'ok', detail: null });
      clock.t += 60 * 60_000;
    }
    for (let i = 0; i < 25; i++) await audit.record({ tenantId, agentId: 'agt_odd', action: 'dial', target: '+61298765432', result: 'denied', detail: 'rate_limited' });
    await audit.close();
    await store.close();
    const targets = (stdout: string) => stdout.trim().split('\n').slice(1).map((line) => line.split(/\s+/)[4]);

    const page1 = await admin('audit', '--tenant', tenantId, '--limit', '3');
    expect(page1.stdout).toMatch(/agt_odd\s+dial\s+\+61298765432\s+denied\s+25\s+\S+\s+rate_limited/);
    expect(targets(page1.stdout)).toEqual(['+61298765432', 'target-5', 'target-4']);
    const before = /--before (\d+)/.exec(page1.stderr)?.[1];
    expect(before).toBeDefined();
    const page2 = await admin('audit', '--tenant', tenantId, '--limit', '3', '--before', before!);
    expect(targets(page2.stdout)).toEqual(['target-3', 'target-2', 'target-1']);
    const filtered = await admin('audit', '--tenant', tenantId, '--agent', 'agt_even', '--action', 'dial', '--since', '2026-12-01T10:00:00Z');
    expect(targets(filtered.stdout)).toEqual(['target-2']);
    expect(filtered.stderr).toBe('');
    for (const bad of [['--action', 'call'], ['--since', 'yesterday']]) {
      const res = await admin('audit', '--tenant', tenantId, ...bad);
      expect([res.code, res.stderr], bad.join(' ')).toEqual([2, expect.stringContaining(bad[0]!)]);
    }
  });

  it('explains bad usage and failures with exit codes 2 and 1', async () => {
    const missing = await admin('tenant', 'create');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--name is required/);
    expect((await admin('frobnicate')).code).toBe(2);
    expect((await admin('tenant', 'create', '--bogus', 'x')).code).toBe(2);
    const noTenant = await admin('pbx', 'add', '--tenant', 'ten_nope', '--name', 'X', '--url', 'https://p.test', '--country', 'AU', '--client-id', '1', '--client-secret', 's');
    expect(noTenant.code).toBe(1);
    expect(noTenant.stderr).toMatch(/no tenant ten_nope/);
    expect(noTenant.stderr).not.toMatch(/\n\s+at /);
  });

  it('watch prints new events of the tenant as they are logged, and stops on Ctrl-C', async () => {
    const tenantId = 'ten_watched';
    const log = openSqliteEventLog({ dataDir: dir });
    await log.append(tenantId, makeCallEvent({ tenantId, pbxCallId: 'old-call' }), 'k-old');
    const child = spawn(process.execPath, [...ADMIN, 'watch', '--tenant', tenantId, '--interval', '50'], { env: env(), cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    try {
      await expect.poll(() => stderr, { timeout: 30_000 }).toContain('watching');
      await log.append(tenantId, makeCallEvent({ tenantId, pbxCallId: 'new-call', type: 'ringing', agents: ['101'] }), 'k-new');
      await log.append('ten_other', makeCallEvent({ tenantId: 'ten_other', pbxCallId: 'other-tenant-call' }), 'k-other');
      await log.append(tenantId, makeCallEvent({ tenantId, pbxCallId: 'new-call', type: 'ended', durationSec: 30 }), 'k-end');
      await expect.poll(() => stdout, { timeout: 30_000 }).toMatch(/ended.*30s.*call=new-call/);
      expect(stdout).toMatch(/ringing.*agents=101.*call=new-call/);
      expect(stdout).not.toContain('old-call');
      expect(stdout).not.toContain('other-tenant-call');
    } finally {
      child.kill('SIGINT');
      expect({ code: await exited, stderr }).toMatchObject({ code: 0 });
      await log.close();
    }
  });
});
