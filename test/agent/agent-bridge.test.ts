// The IPC surface over a real AgentCore and CRM link, with a fake bus and the HubSpot (through the
// bus's token broker) and Salesforce (direct PKCE) simulators on loopback and a scripted system browser. Every call goes through
// the same guarded wrapper main uses, and every answer and push is kept: what the window can do,
// and what it can never see.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { oauthBrokerRoutes } from '../../src/bus/oauth-broker/index.js';
import type { CallEvent } from '../../src/shared/call-event.js';
import { invokeNames, type CallPanel, type InvokeName } from '../../src/shared/ipc.js';
import { HUBSPOT_SIM_CLIENT, HUBSPOT_SIM_PORTAL_ID, startHubSpotSim, type HubSpotSim } from '../../src/sim/crm/hubspot/index.js';
import { startSalesforceSim } from '../../src/sim/crm/salesforce/index.js';
import { scriptedBrowser } from '../support/oauth-harness.js';
import { FAKE_DEVICE_TOKEN, FAKE_PAIRING_CODE, FakeBus, callEvent } from '../support/fake-bus.js';
import { createAgentCore, type AgentCore } from '../../src/main/core.js';
import { createCrmLink, type CrmLink } from '../../src/main/crm-link/index.js';
import type { CrmId } from '../../src/shared/crm.js';
import { crmProviders } from '../../src/main/crm/registry.js';
import { DISK_FULL, fillOutboxDisk } from '../support/full-disk.js';
import { PAIRING_KEY, PairedAgentSchema } from '../../src/main/bus-client/pairing.js';
import { FileKeyValueStore, MemorySecretStore } from '../../src/main/storage/index.js';
import { createShellAgent, dialNotice } from '../../src/main/electron/agent-bridge.js';
import { guardHandler } from '../../src/main/electron/policy/ipc-guard.js';

const silent = pino({ level: 'silent' });
const trust = { isAppUrl: () => true, isOwnWebContents: () => true };
const mainFrame = { sender: { id: 1 }, senderFrame: { url: 'file:///app/index.html', parent: null } };
const JANE = '+61298765432';
const key = (pbxCallId: string) => `tenant-1:pbx-1:${pbxCallId}:201`;

let bus: FakeBus;
let sim: HubSpotSim;
let salesforce: Awaited<ReturnType<typeof startSalesforceSim>>;
let clientIds: Partial<Record<CrmId, string>>;
let brokerUrl: string;
let dataDir: string;
let secretStore: MemorySecretStore;
let core: AgentCore;
let link: CrmLink;
let browser: ReturnType<typeof scriptedBrowser>;
let cleanups: Array<() => unknown>;

beforeEach(async () => {
  cleanups = [];
  bus = await new FakeBus().listen();
  cleanups.push(() => bus.close());
  sim = await startHubSpotSim();
  cleanups.push(() => sim.close());
  salesforce = await startSalesforceSim();
  cleanups.push(() => salesforce.close());
  clientIds = { hubspot: HUBSPOT_SIM_CLIENT.clientId, salesforce: salesforce.oauth.clientId };
  // HubSpot needs the client secret for the code exchange: the bus brokers it.
  const broker = Fastify();
  await broker.register(oauthBrokerRoutes, {
    clients: { hubspot: { ...HUBSPOT_SIM_CLIENT, tokenUrl: `${sim.url}/oauth/v1/token` } },
    authenticate: async (token) =>
      token === FAKE_DEVICE_TOKEN ? { id: 'agent-1', tenantId: 'tenant-1', extension: '201', pbxId: 'pbx-1', name: 'Robin', crmUser: 'crm-user-1', revokedAt: null } : null,
  });
  brokerUrl = await broker.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => broker.close());
  dataDir = mkdtempSync(join(tmpdir(), 'rb-bridge-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  secretStore = new MemorySecretStore();
  await startAgent();
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** The agent's core and CRM link as main builds them on start (from what is on disk). */
async function startAgent(): Promise<void> {
  const started = await createAgentCore({
    dataDir,
    secretStore,
    notifier: { show: () => {}, withdraw: () => {} },
    confirm: { confirmDial: async () => true },
    feedback: { dialFeedback: () => {} },
    logger: silent,
    defaultCountry: 'AU',
    bus: { backoff: { baseMs: 5, capMs: 20 } },
  });
  cleanups.push(() => started.close());
  // No wrap-up unless a test asks for one: calls are logged as they end.
  started.settings.update({ wrapUpSec: 0 });
  browser = scriptedBrowser();
  const linked = await createCrmLink({
    core: started,
    dataDir,
    secretStore,
    openBrowser: browser.openBrowser,
    clientIds,
    origins: { hubspot: sim.url, salesforce: salesforce.url },
    busUrl: brokerUrl,
    logger: silent,
    backoff: { baseMs: 10, capMs: 50 },
    contactSyncIntervalMs: 3_600_000,
  });
  cleanups.push(() => linked.close());
  started.start();
  core = started;
  link = linked;
}

/** The shell agent as main builds it, and everything the window receives from it. */
function ipc(opts: { gate?: (url: string) => boolean } = {}) {
  const opened: string[] = [];
  const shell = createShellAgent({
    core,
    crm: link,
    crmProviders: Object.values(crmProviders),
    clientIds,
    openExternal: async (url) => {
      if (!(opts.gate ?? (() => true))(url)) return false;
      opened.push(url);
      return true;
    },
  });
  // Stopped before the afterEach closes the bus and the simulator underneath it.
  cleanups.push(() => shell.stop());
  const received: unknown[] = [];
  shell.onState((s) => received.push(s));
  shell.onSettings((s) => received.push(s));
  shell.onCrmStatus((s) => received.push(s));
  const call = async <K extends InvokeName>(name: K, ...args: unknown[]) => {
    const answer = await guardHandler(name, shell.handlers[name] as never, trust, silent)(mainFrame, ...args);
    received.push(answer);
    return answer;
  };
  return { shell, call, opened, received };
}

/**
 * Pairs, then restarts as the agent the admin mapped to `crmUser` (Salesforce owners must be real
 * User ids; the fake bus pairs everyone as 'crm-user-1').
 */
async function pairedAs(crmUser: string): Promise<void> {
  await core.pair(bus.url, FAKE_PAIRING_CODE);
  await link.close();
  await core.close();
  const store = new FileKeyValueStore(join(dataDir, 'state'));
  store.set(PAIRING_KEY, { ...store.get(PAIRING_KEY, PairedAgentSchema)!, crmUser });
  await startAgent();
  await expect.poll(() => core.state).toBe('connected');
}

async function paired(call: ReturnType<typeof ipc>['call']): Promise<void> {
  await call('pair', bus.url, FAKE_PAIRING_CODE);
  await expect.poll(() => core.state).toBe('connected');
}

/** Appends and waits until the agent acknowledged (so the outbox has it on disk). */
async function deliver(...events: CallEvent[]): Promise<void> {
  let offset = 0;
  for (const e of events) offset = bus.append(e);
  await bus.until(() => bus.acks().includes(offset));
}

function answeredCall(pbxCallId: string): CallEvent[] {
  const caller = { raw: JANE, e164: JANE, name: null, extension: null };
  return [
    callEvent({ type: 'ringing', pbxCallId, caller }),
    callEvent({ type: 'answered', pbxCallId, caller }),
    callEvent({ type: 'ended', pbxCallId, caller, durationSec: 65 }),
  ];
}

/** What the window has been told about a call, as the Recent calls screen asks for it. */
async function historyRow(call: ReturnType<typeof ipc>['call'], callKey: string) {
  const answer = await call('listHistory');
  if (!answer.ok) throw new Error(answer.error.message);
  return answer.value.find((row) => row.callKey === callKey);
}

describe('IPC over the agent core', () => {
  it('serves every channel of the contract', () => {
    expect(Object.keys(ipc().shell.handlers).sort()).toEqual([...invokeNames].sort());
  });

  it('pairs, and the device credential never reaches the window', async () => {
    const { call, received } = ipc();
    const answer = await call('pair', bus.url, FAKE_PAIRING_CODE);
    expect(answer).toMatchObject({ ok: true, value: { busUrl: bus.url, agent: { name: 'Robin Reception', extension: '201' } } });
    await expect.poll(() => core.state).toBe('connected');
    await Promise.all((['getState', 'getSettings', 'listHistory', 'crmStatus'] as const).map((n) => call(n)));
    expect(JSON.stringify(received)).not.toContain(FAKE_DEVICE_TOKEN);
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
    await paired(call);
    expect(await call('dial', '(02) 9876 5432')).toEqual({ ok: true, value: { status: 'dialling', e164: '+61298765432' } });
    const refused = await call('dial', 'javascript:alert(1)//tel:+61298765432');
    expect(refused).toMatchObject({ ok: false, error: { code: 'failed' } });
  });

  it('saves settings and reports do-not-disturb as app state', async () => {
    const { call, received } = ipc();
    expect(await call('setSettings', { doNotDisturb: true, notification: { sound: false } })).toMatchObject({
      ok: true,
      value: { doNotDisturb: true, notification: { sound: false, showCompany: true } },
    });
    expect(received).toContainEqual(expect.objectContaining({ bus: 'unpaired', doNotDisturb: true }));
    expect(await call('getSettings')).toMatchObject({ ok: true, value: { doNotDisturb: true } });
  });

  it("tells the window it can't save calls, and why, while a write fails, and clears it once the call is saved", async () => {
    const { call, received } = ipc();
    await paired(call);
    const disk = fillOutboxDisk();
    cleanups.push(disk.restore);

    const offset = bus.append(callEvent({ type: 'missed', pbxCallId: 'full' }));
    await expect.poll(() => received.map((s) => (s as { saveError?: unknown }).saveError)).toContain(DISK_FULL);
    expect(await call('getState')).toMatchObject({ ok: true, value: { bus: 'connected', saveError: DISK_FULL } });
    expect(bus.acks()).not.toContain(offset);

    disk.heal();
    await bus.until(() => bus.acks().includes(offset));
    expect(await call('getState')).toMatchObject({ ok: true, value: { bus: 'connected', saveError: null } });
    const flagged = received.findIndex((s) => (s as { saveError?: unknown }).saveError === DISK_FULL);
    expect(received.slice(flagged + 1)).toContainEqual(expect.objectContaining({ bus: 'connected', saveError: null })); // pushed, not only polled
  });

  it('lists a missed call with its display number', async () => {
    const { call, shell } = ipc();
    let changed = 0;
    shell.onHistory(() => changed++);
    await paired(call);
    await deliver(callEvent({ type: 'ringing', pbxCallId: 'c1' }), callEvent({ type: 'missed', pbxCallId: 'c1' }));
    expect(await call('listHistory')).toMatchObject({ ok: true, value: [{ outcome: 'missed', direction: 'inbound', remoteNumber: '(02) 9876 5432' }] });
    expect(changed).toBeGreaterThan(0);
  });

  it("still lists the calls when a CRM's error text is longer than the window shows", async () => {
    const { call } = ipc();
    await paired(call);
    await deliver(callEvent({ type: 'ringing', pbxCallId: 'c1' }), callEvent({ type: 'missed', pbxCallId: 'c1' }));
    core.history.setCrmState(key('c1'), 'needs_attention', `Unexpected CRM response: ${'x'.repeat(2000)}`);
    const answer = await call('listHistory');
    expect(answer).toMatchObject({ ok: true, value: [{ crm: { state: 'needs_attention', reason: expect.stringMatching(/^Unexpected CRM response: x+…$/) } }] });
    expect(answer.ok && answer.value[0]!.crm.state === 'needs_attention' && answer.value[0]!.crm.reason.length).toBe(500);
  });
});

describe('CRM over IPC', () => {
  it('lists every CRM of the build; one without a client id is not configured and says so', async () => {
    const { call } = ipc();
    const status = await call('crmStatus');
    expect(status.ok && status.value.crms.map((c) => [c.displayName, c.state])).toEqual([
      ['HubSpot', 'signed_out'],
      ['Salesforce', 'signed_out'],
      ['Zoho CRM', 'not_configured'],
      ['HighLevel', 'not_configured'],
    ]);
    expect(await call('crmSignIn', 'zoho')).toMatchObject({ ok: false, error: { code: 'not_configured', message: expect.stringContaining('Zoho CRM') } });
    expect(await call('crmSignIn', 'pipedrive')).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(browser.visits).toHaveLength(0);
  });

  it('signs in to HubSpot through the browser and logs a call, and never hands the window a token', async () => {
    const { call, received, opened } = ipc();
    await paired(call);
    const janeId = sim.addContact({ firstname: 'Jane', lastname: 'Citizen', phone: '(02) 9876 5432' });

    const signedIn = await call('crmSignIn', 'hubspot');
    expect(signedIn).toMatchObject({ ok: true, value: { crms: [{ id: 'hubspot', state: 'signed_in', account: HUBSPOT_SIM_PORTAL_ID }, {}, {}, {}] } });
    expect(browser.visits).toHaveLength(1);
    // The window heard about it without asking again.
    expect(received).toContainEqual({ crms: expect.arrayContaining([expect.objectContaining({ id: 'hubspot', state: 'signed_in' })]) });

    await deliver(...answeredCall('c1'));
    await expect.poll(() => core.history.get(key('c1'))?.crm.state).toBe('logged');
    const [logged] = [...sim.calls.values()];
    expect(logged!.associations).toEqual([{ toId: janeId, typeId: 194 }]);
    // HubSpot documents no page for a call record: "Open in CRM" opens the contact, whose timeline shows the call.
    expect(await historyRow(call, key('c1'))).toMatchObject({ remoteName: 'Jane Citizen', crm: { state: 'logged' }, hasRecord: true });
    expect(await call('openCallRecord', key('c1'))).toEqual({ ok: true, value: null });
    expect(opened).toEqual([`${sim.url}/contacts/${HUBSPOT_SIM_PORTAL_ID}/record/0-1/${janeId}`]);

    const tokens = JSON.parse((await secretStore.get('crm.hubspot.tokens'))!) as { accessToken: string; refreshToken: string };
    const code = browser.visits[0]!.callbackUrl.searchParams.get('code')!;
    const everything = JSON.stringify(received);
    for (const secret of [tokens.accessToken, tokens.refreshToken, code, FAKE_DEVICE_TOKEN]) {
      expect(secret.length).toBeGreaterThan(8);
      expect(everything).not.toContain(secret);
    }
  });

  it('opens a logged Salesforce call in the CRM through the gate, and says so when the gate refuses', async () => {
    let gateOpen = true;
    await pairedAs('005SIM000000001AAA');
    const { call, opened, received } = ipc({ gate: () => gateOpen });
    expect(await call('crmSignIn', 'salesforce')).toMatchObject({ ok: true, value: { crms: [{ state: 'signed_out' }, { id: 'salesforce', state: 'signed_in' }, {}, {}] } });
    expect(await call('openCallRecord', key('s1'))).toMatchObject({ ok: false, error: { code: 'failed', message: 'This call is not in the CRM yet.' } });

    await deliver(...answeredCall('s1'));
    await expect.poll(() => core.history.get(key('s1'))?.crm.state).toBe('logged');
    expect(await historyRow(call, key('s1'))).toMatchObject({ crm: { state: 'logged' }, hasRecord: true });
    const [task] = [...salesforce.records.Task.values()];
    expect(await call('openCallRecord', key('s1'))).toEqual({ ok: true, value: null });
    expect(opened).toEqual([`${salesforce.url}/lightning/r/Task/${task!.Id}/view`]);

    gateOpen = false;
    expect(await call('openCallRecord', key('s1'))).toMatchObject({ ok: false, error: { code: 'failed', message: expect.stringContaining('refused') } });
    expect(opened).toHaveLength(1);

    const tokens = JSON.parse((await secretStore.get('crm.salesforce.tokens'))!) as { accessToken: string; refreshToken: string };
    for (const secret of [tokens.accessToken, tokens.refreshToken]) expect(JSON.stringify(received)).not.toContain(secret);
  });

  it('shows a call the CRM refused as needing attention, and the retry logs it once', async () => {
    const { call } = ipc();
    await paired(call);
    await call('crmSignIn', 'hubspot');
    sim.faults.next({ status: 400, match: { method: 'POST', path: '/crm/v3/objects/calls' } });

    await deliver(...answeredCall('r1'));
    await expect.poll(() => core.history.get(key('r1'))?.crm.state).toBe('needs_attention');
    const parked = await historyRow(call, key('r1'));
    expect(parked).toMatchObject({ crm: { state: 'needs_attention', reason: expect.any(String) }, hasRecord: false });
    expect(sim.calls.size).toBe(0);

    expect(await call('retryHistory', key('r1'))).toEqual({ ok: true, value: null });
    await expect.poll(() => core.history.get(key('r1'))?.crm.state).toBe('logged');
    expect(await historyRow(call, key('r1'))).toMatchObject({ crm: { state: 'logged' } });
    expect(sim.calls.size).toBe(1);
    // Nothing left to retry: the button's call says so instead of silently doing nothing.
    expect(await call('retryHistory', key('r1'))).toMatchObject({ ok: false, error: { code: 'failed' } });
  });

  it('Call panel over IPC: the call in wrap-up with the CRM\'s outcomes; Save writes notes and outcome to the live record; bad input changes nothing', async () => {
    const { call, shell } = ipc();
    const panels: CallPanel[] = [];
    shell.onCallPanel((p) => panels.push(p));
    await paired(call);
    await call('crmSignIn', 'hubspot');
    await call('setSettings', { wrapUpSec: 600 });
    await expect.poll(async () => ((await call('getCallPanel')) as { value: CallPanel }).value.dispositions.length).toBe(sim.dispositions.length);

    const [ringing, answered, ended] = answeredCall('w1');
    await deliver(ringing!, answered!);
    // The live record: on the contact while the call is on.
    await expect.poll(() => [...sim.calls.values()].map((c) => c.properties.hs_call_status)).toEqual(['IN_PROGRESS']);
    await deliver(ended!);
    const panel = ((await call('getCallPanel')) as { value: CallPanel }).value;
    expect(panel.calls).toMatchObject([{ callKey: key('w1'), state: 'wrap_up', notes: '' }]);
    expect(panels.at(-1)!.calls[0]!.state).toBe('wrap_up');

    const connected = sim.dispositions.find((d) => d.label === 'Connected')!;
    // Refused, with nothing changed: an outcome the CRM does not offer, a call that is not ours, a malformed request.
    expect(await call('saveCallNotes', { callKey: key('w1'), notes: 'x', dispositionId: 'made-up', done: true })).toMatchObject({ ok: false, error: { code: 'failed' } });
    expect(await call('saveCallNotes', { callKey: key('nope'), notes: 'x', dispositionId: null, done: true })).toMatchObject({ ok: false, error: { code: 'failed' } });
    expect(await call('saveCallNotes', { callKey: key('w1'), notes: 'x'.repeat(6000), dispositionId: null, done: true })).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect([...sim.calls.values()][0]!.properties.hs_call_status).toBe('IN_PROGRESS');

    expect(await call('saveCallNotes', { callKey: key('w1'), notes: 'Renewal in March', dispositionId: connected.id, done: true })).toEqual({ ok: true, value: null });
    await expect.poll(() => [...sim.calls.values()].map((c) => c.properties.hs_call_status)).toEqual(['COMPLETED']);
    const logged = [...sim.calls.values()][0]!.properties;
    expect(logged).toMatchObject({ hs_call_disposition: connected.id, hs_call_duration: '65000' });
    expect(logged.hs_call_body).toMatch(/^Renewal in March\n/);
    expect(((await call('getCallPanel')) as { value: CallPanel }).value.calls).toEqual([]);
    expect(await call('getCallNotes', key('w1'))).toEqual({ ok: true, value: { callKey: key('w1'), notes: 'Renewal in March', dispositionId: connected.id } });
  });

  it('turns a lost grant into "sign in again" with the reason, and signs out on request', async () => {
    const { call, received } = ipc();
    await paired(call);
    await call('crmSignIn', 'hubspot');
    sim.faults.expireTokens();
    sim.faults.revokeGrant();

    await deliver(...answeredCall('g1'));
    await expect.poll(() => link.status().state).toBe('sign_in_required');
    const status = await call('crmStatus');
    expect(status).toMatchObject({ ok: true, value: { crms: [{ id: 'hubspot', state: 'needs_sign_in', detail: expect.stringContaining('invalid_grant') }, {}, {}, {}] } });
    expect(received.filter((r) => JSON.stringify(r).includes('needs_sign_in') && !('ok' in (r as object)))).toHaveLength(1);

    // Signing out of a CRM that is not the connected one changes nothing.
    expect(await call('crmSignOut', 'salesforce')).toMatchObject({ ok: true, value: { crms: [{ id: 'hubspot', state: 'needs_sign_in' }, { state: 'signed_out' }, {}, {}] } });
    expect(await call('crmSignOut', 'hubspot')).toMatchObject({ ok: true, value: { crms: [{ id: 'hubspot', state: 'signed_out' }, { state: 'signed_out' }, {}, {}] } });
    expect(await secretStore.get('crm.hubspot.tokens')).toBeUndefined();
  });

  it('passes ringbridge:// links to the CRM link, which claims only a sign-in it is waiting for', () => {
    const { shell } = ipc();
    expect(shell.handleAppUrl('ringbridge://oauth/callback?code=abc&state=unknown')).toBe(false);
    expect(shell.handleAppUrl('ringbridge://open')).toBe(false);
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
