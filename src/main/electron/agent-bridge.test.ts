// The IPC surface over a real AgentCore and a fake bus on loopback, each call going through the
// same guarded wrapper main uses: what the window can do, and what it can never see.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { invokeNames, type AppState, type InvokeName } from '../../shared/ipc.js';
import { FAKE_DEVICE_TOKEN, FAKE_PAIRING_CODE, FakeBus, callEvent } from '../bus-client/fake-bus.js';
import { MemoryContactSource } from '../contacts/index.js';
import { createAgentCore, type AgentCore } from '../core.js';
import { crmProviders } from '../crm/registry.js';
import { MemorySecretStore } from '../storage/index.js';
import { createShellAgent, dialNotice } from './agent-bridge.js';
import { guardHandler } from './policy/ipc-guard.js';

const silent = pino({ level: 'silent' });
const trust = { isAppUrl: () => true, isOwnWebContents: () => true };
const mainFrame = { sender: { id: 1 }, senderFrame: { url: 'file:///app/index.html', parent: null } };

let bus: FakeBus;
let dataDir: string;
let core: AgentCore;

beforeEach(async () => {
  bus = await new FakeBus().listen();
  dataDir = mkdtempSync(join(tmpdir(), 'rb-bridge-'));
  core = await createAgentCore({
    dataDir,
    secretStore: new MemorySecretStore(),
    notifier: { show: () => {}, withdraw: () => {} },
    confirm: { confirmDial: async () => true },
    feedback: { dialFeedback: () => {} },
    contactSource: new MemoryContactSource(),
    crmUrls: { contactUrl: () => null, newContactUrl: () => null },
    logger: silent,
    defaultCountry: 'AU',
    bus: { backoff: { initialMs: 5, maxMs: 20 } },
  });
});
afterEach(async () => {
  await core.close();
  await bus.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function ipc() {
  const shell = createShellAgent({ core, crmProviders: Object.values(crmProviders) });
  const call = <K extends InvokeName>(name: K, ...args: unknown[]) => guardHandler(name, shell.handlers[name] as never, trust, silent)(mainFrame, ...args);
  return { shell, call };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

describe('IPC over the agent core', () => {
  it('serves every channel of the contract', () => {
    expect(Object.keys(ipc().shell.handlers).sort()).toEqual([...invokeNames].sort());
  });

  it('pairs, and the device credential never reaches the window', async () => {
    const { call } = ipc();
    const paired = await call('pair', bus.url, FAKE_PAIRING_CODE);
    expect(paired).toMatchObject({ ok: true, value: { busUrl: bus.url, agent: { name: 'Robin Reception', extension: '201' } } });
    await until(() => core.state === 'connected');
    const answers = await Promise.all((['getState', 'getSettings', 'listHistory', 'crmStatus'] as const).map((n) => call(n)));
    expect(JSON.stringify([paired, ...answers])).not.toContain(FAKE_DEVICE_TOKEN);
  });

  it('gives a sentence for a wrong pairing code and stays unpaired', async () => {
    const { call } = ipc();
    const answer = await call('pair', bus.url, 'WRONG-CODE-1');
    expect(answer).toMatchObject({ ok: false, error: { code: 'failed' } });
    expect(answer.ok ? '' : answer.error.message.length).toBeGreaterThan(10);
    expect(core.state).toBe('unpaired');
  });

  it('dials a typed number through the bus and refuses a hostile one', async () => {
    const { call } = ipc();
    await call('pair', bus.url, FAKE_PAIRING_CODE);
    await until(() => core.state === 'connected');
    expect(await call('dial', '(02) 9876 5432')).toEqual({ ok: true, value: { status: 'dialling', e164: '+61298765432' } });
    const refused = await call('dial', 'javascript:alert(1)//tel:+61298765432');
    expect(refused).toMatchObject({ ok: false, error: { code: 'failed' } });
  });

  it('saves settings and reports do-not-disturb as app state', async () => {
    const { call, shell } = ipc();
    const states: AppState[] = [];
    shell.onState((s) => states.push(s));
    expect(await call('setSettings', { doNotDisturb: true, notification: { sound: false } })).toMatchObject({
      ok: true,
      value: { doNotDisturb: true, notification: { sound: false, showCompany: true } },
    });
    expect(states.at(-1)?.doNotDisturb).toBe(true);
    expect(await call('getSettings')).toMatchObject({ ok: true, value: { doNotDisturb: true } });
  });

  it('lists a missed call with its display number', async () => {
    const { call, shell } = ipc();
    let changed = 0;
    shell.onHistory(() => changed++);
    await call('pair', bus.url, FAKE_PAIRING_CODE);
    await until(() => core.state === 'connected');
    const offset = [callEvent({ type: 'ringing', pbxCallId: 'c1' }), callEvent({ type: 'missed', pbxCallId: 'c1' })].map((e) => bus.append(e)).at(-1)!;
    await bus.until(() => bus.acks().includes(offset));
    const answer = await call('listHistory');
    expect(answer).toMatchObject({ ok: true, value: [{ outcome: 'missed', direction: 'inbound', remoteNumber: '(02) 9876 5432' }] });
    expect(changed).toBeGreaterThan(0);
  });

  it('lists the four CRMs and says plainly that sign-in is not configured yet', async () => {
    const { call } = ipc();
    const status = await call('crmStatus');
    expect(status.ok && status.value.crms.map((c) => c.displayName)).toEqual(['HubSpot', 'Salesforce', 'Zoho CRM', 'HighLevel']);
    expect(await call('crmSignIn', 'hubspot')).toMatchObject({ ok: false, error: { code: 'not_configured', message: expect.stringContaining('HubSpot') } });
  });
});

describe('dial notices', () => {
  it('says why nothing was dialled, and stays quiet on cancel', () => {
    expect(dialNotice({ kind: 'refused', code: 'not_a_number', reason: 'That link is not a phone number.' } as never)).toEqual({
      title: 'Nothing was dialled',
      body: 'That link is not a phone number.',
    });
    expect(dialNotice({ kind: 'cancelled', display: '02 9876 5432' })).toBeNull();
  });
});
