// The CRM link in the agent process, end to end on loopback: the real core and bus client against
// the fake bus, the real HubSpot adapter and OAuth against the HubSpot simulator with the bus token
// broker, a "system browser" that follows the authorize redirect to the loopback listener, and
// the Salesforce adapter signing in directly with PKCE.
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { oauthBrokerRoutes } from '../../src/bus/oauth-broker/index.js';
import { HUBSPOT_SIM_CLIENT, hubspotRateLimitFault, startHubSpotSim, type HubSpotSim } from '../../src/sim/crm/hubspot/index.js';
import { startSalesforceSim } from '../../src/sim/crm/salesforce/index.js';
import { scriptedBrowser } from '../support/oauth-harness.js';
import { recordingBytes } from '../support/outbox-fixtures.js';
import { FAKE_DEVICE_TOKEN, FAKE_PAIRING_CODE, FakeBus, callEvent } from '../support/fake-bus.js';
import { createAgentCore, type AgentCore } from '../../src/main/core.js';
import { fillOutboxDisk } from '../support/full-disk.js';
import type { PopNotification } from '../../src/main/screenpop/index.js';
import { PAIRING_KEY, PairedAgentSchema } from '../../src/main/bus-client/pairing.js';
import { FileKeyValueStore, MemorySecretStore } from '../../src/main/storage/index.js';
import type { CallEvent } from '../../src/shared/call-event.js';
import { createCrmLink, type CrmLink, type CrmLinkOptions, type CrmLinkStatus } from '../../src/main/crm-link/index.js';

const silent = pino({ level: 'silent' });
const JANE = '+61298765432';
const key = (pbxCallId: string) => `tenant-1:pbx-1:${pbxCallId}:201`;

/** The fake bus hands out `/rec/<eventId>` URLs; serve the recording bytes there as the real bus does. */
function serveRecordings(bus: FakeBus): void {
  const server = (bus as unknown as { server: Server }).server;
  const [original] = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const match = /^\/rec\/(.+)$/.exec(req.url ?? '');
    if (req.method !== 'GET' || !match) return original!(req, res);
    const data = recordingBytes(decodeURIComponent(match[1]!));
    res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': data.length }).end(data);
  });
}

let bus: FakeBus;
let dataDir: string;
let secretStore: MemorySecretStore;
let cleanups: Array<() => unknown>;

beforeEach(async () => {
  cleanups = [];
  bus = await new FakeBus().listen();
  serveRecordings(bus);
  dataDir = mkdtempSync(join(tmpdir(), 'rb-crm-link-'));
  secretStore = new MemorySecretStore();
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await bus.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The bus's token broker (HubSpot needs the client secret, which stays on the bus). */
async function startBroker(sim: HubSpotSim): Promise<string> {
  const broker = Fastify();
  await broker.register(oauthBrokerRoutes, {
    clients: { hubspot: { ...HUBSPOT_SIM_CLIENT, tokenUrl: `${sim.url}/oauth/v1/token` } },
    authenticate: async (token) =>
      token === FAKE_DEVICE_TOKEN ? { id: 'agent-1', tenantId: 'tenant-1', extension: '201', pbxId: 'pbx-1', name: 'Robin', crmUser: 'crm-user-1', revokedAt: null } : null,
  });
  const url = await broker.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => broker.close());
  return url;
}

/** The agent core, started unless `started` is false (then the caller starts it after wiring the link). */
async function startCore(started = true): Promise<{ core: AgentCore; pops: PopNotification[]; shown: string[] }> {
  const pops: PopNotification[] = [];
  const shown: string[] = [];
  const core = await createAgentCore({
    dataDir,
    secretStore,
    notifier: { show: (p) => void (pops.push(p), shown.push(`show:${p.title}`)), withdraw: (id) => void shown.push(`withdraw:${id}`) },
    confirm: { confirmDial: async () => true },
    feedback: { dialFeedback: () => undefined },
    logger: silent,
    defaultCountry: 'AU',
    bus: { backoff: { baseMs: 5, capMs: 20 } },
  });
  cleanups.push(() => core.close());
  // No wrap-up: these calls are logged as they end (the wrap-up has its own tests).
  core.settings.update({ wrapUpSec: 0 });
  if (started) core.start();
  return { core, pops, shown };
}

async function startLink(core: AgentCore, extra: Partial<CrmLinkOptions> & Pick<CrmLinkOptions, 'clientIds' | 'origins'>): Promise<CrmLink> {
  const link = await createCrmLink({
    core,
    dataDir,
    secretStore,
    openBrowser: async () => {
      throw new Error('no browser in this test');
    },
    logger: silent,
    backoff: { baseMs: 10, capMs: 50 },
    contactSyncIntervalMs: 3_600_000,
    ...extra,
  });
  cleanups.push(() => link.close());
  return link;
}

/** A paired core and a HubSpot link, not signed in yet. */
async function hubspotAgent() {
  const sim = await startHubSpotSim();
  cleanups.push(() => sim.close());
  const busUrl = await startBroker(sim);
  const agent = await startCore();
  await agent.core.pair(bus.url, FAKE_PAIRING_CODE);
  await expect.poll(() => agent.core.state).toBe('connected');
  const browser = scriptedBrowser();
  const options = { clientIds: { hubspot: HUBSPOT_SIM_CLIENT.clientId }, origins: { hubspot: sim.url }, busUrl, openBrowser: browser.openBrowser };
  const link = await startLink(agent.core, options);
  return { sim, browser, options, link, ...agent };
}

/** Appends and waits until the agent acknowledged (so the outbox has it on disk). */
async function deliver(...events: CallEvent[]): Promise<void> {
  let offset = 0;
  for (const e of events) offset = bus.append(e);
  await bus.until(() => bus.acks().includes(offset));
}

function answeredCall(pbxCallId: string, caller = JANE): CallEvent[] {
  const party = { raw: caller, e164: caller, name: null, extension: null };
  return [
    callEvent({ type: 'ringing', pbxCallId, caller: party }),
    callEvent({ type: 'answered', pbxCallId, caller: party }),
    callEvent({ type: 'ended', pbxCallId, caller: party, durationSec: 65 }),
  ];
}

const callKeysInCrm = (sim: HubSpotSim) => [...sim.calls.values()].map((c) => c.properties.ringbridge_call_key);

describe('CRM link with HubSpot', () => {
  it('signs in through the system browser and pops a synced contact by name, linking to the record', async () => {
    const { sim, browser, link, core, pops } = await hubspotAgent();
    const janeId = sim.addContact({ firstname: 'Jane', lastname: 'Citizen', company: 'Acme Pty Ltd', phone: '(02) 9876 5432' });
    expect(link.status()).toEqual({ crm: null, state: 'signed_out' });

    const statuses: CrmLinkStatus[] = [];
    link.onStatus((s) => statuses.push(s));
    expect(await link.signIn('hubspot')).toEqual({ crm: 'hubspot', state: 'signed_in', account: '62515' });
    expect(statuses).toEqual([{ crm: 'hubspot', state: 'signed_in', account: '62515' }]);
    expect(browser.visits).toHaveLength(1);
    expect(browser.visits[0]!.authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(browser.visits[0]!.page?.status).toBe(200);

    expect(await link.syncContacts()).toBe('synced');
    await deliver(callEvent({ type: 'ringing', pbxCallId: 'c1' }));
    expect(pops).toHaveLength(1);
    expect(pops[0]).toMatchObject({ title: 'Jane Citizen', body: expect.stringContaining('Acme Pty Ltd') });
    expect(pops[0]!.clickUrl?.startsWith(`${sim.url}/contacts/`)).toBe(true);
    expect(pops[0]!.clickUrl?.endsWith(`/record/0-1/${janeId}`)).toBe(true);
    // Tokens only ever in the secret store, never in the data directory's files.
    const access = JSON.parse((await secretStore.get('crm.hubspot.tokens'))!).accessToken as string;
    for (const file of readdirSync(join(dataDir, 'state'))) expect(readFileSync(join(dataDir, 'state', file), 'utf8')).not.toContain(access);
    expect(core.contacts.lookup(JANE).map((c) => c.id)).toEqual([janeId]);
  });

  it('pops an unknown number at once, then names the caller when the CRM lookup answers', async () => {
    const { sim, link, pops, shown } = await hubspotAgent();
    await link.signIn('hubspot');
    expect(await link.syncContacts()).toBe('synced');
    // Added after the sync: the local index cannot know it, only a lookup can.
    sim.addContact({ firstname: 'Late', lastname: 'Arrival', phone: '+61 3 9999 0000' });

    await deliver(callEvent({ type: 'ringing', pbxCallId: 'u1', caller: { raw: '0399990000', e164: '+61399990000', name: null, extension: null } }));
    expect(pops[0]!.title).toBe('(03) 9999 0000');
    expect(pops[0]!.body).toContain('New caller');
    await expect.poll(() => pops).toHaveLength(2);
    expect(pops[1]!.title).toBe('Late Arrival');
    expect(shown).toEqual(['show:(03) 9999 0000', `withdraw:${key('u1')}`, 'show:Late Arrival']);
  });

  it('a screen-pop lookup answered 429 once retries and names the caller', async () => {
    const { sim, link, pops } = await hubspotAgent();
    await link.signIn('hubspot');
    expect(await link.syncContacts()).toBe('synced');
    sim.addContact({ firstname: 'Late', lastname: 'Arrival', phone: '+61 3 9999 0000' });
    // HubSpot's per-second search limit answers 429 without Retry-After.
    sim.faults.next({ ...hubspotRateLimitFault(undefined, 'SECONDLY'), match: { method: 'POST', path: '/crm/v3/objects/contacts/search' } });

    await deliver(callEvent({ type: 'ringing', pbxCallId: 'u2', caller: { raw: '0399990000', e164: '+61399990000', name: null, extension: null } }));
    await expect.poll(() => pops).toHaveLength(2);
    expect(pops.map((p) => p.title)).toEqual(['(03) 9999 0000', 'Late Arrival']);
    expect(sim.requestsTo('POST', '/crm/v3/objects/contacts/search').slice(-2).map((r) => r.status)).toEqual([429, 200]);
  });

  it('logs an ended call once on the right contact and attaches its recording, even when events come again', async () => {
    const { sim, link, core } = await hubspotAgent();
    const janeId = sim.addContact({ firstname: 'Jane', lastname: 'Citizen', phone: '+61 2 9876 5432' });
    await link.signIn('hubspot');
    await link.syncContacts();

    const ready = callEvent({ type: 'recording_ready', pbxCallId: 'r1', recording: { pbxRecordingId: 'rec-r1', contentType: 'audio/wav' } });
    await deliver(...answeredCall('r1'), ready);
    await expect.poll(() => core.history.get(key('r1'))?.crm.state).toBe('recording_attached');
    // The bus redelivers (e.g. after a reconnect): nothing doubles.
    await deliver(ready);
    await new Promise((r) => setTimeout(r, 50));

    expect(callKeysInCrm(sim)).toEqual([key('r1')]);
    const [stored] = [...sim.calls.values()];
    expect(stored!.associations).toEqual([{ toId: janeId, typeId: 194 }]);
    expect(sim.files.size).toBe(1);
    const [file] = [...sim.files.values()];
    expect(stored!.properties.hs_attachment_ids).toBe(file!.id);
    expect(file!.data).toEqual(recordingBytes(ready.id));
    sim.assertNoSpecViolations();
  });

  it('holds calls the outbox cannot write, says why, and logs each call once when writes succeed', async () => {
    const { sim, link, core } = await hubspotAgent();
    await link.signIn('hubspot');
    const disk = fillOutboxDisk();
    cleanups.push(disk.restore);

    for (const e of [...answeredCall('d1'), ...answeredCall('d2')]) bus.append(e);
    await expect.poll(() => core.saveError).toMatch(/disk is full/);
    await new Promise((r) => setTimeout(r, 100)); // several retries
    expect(bus.acks()).toEqual([1]); // the ring (the outbox has nothing to write for it); the answer waits
    expect(sim.calls.size).toBe(0);

    disk.heal();
    await bus.until(() => bus.acks().includes(6));
    expect(bus.acks()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(core.saveError).toBeNull();
    await expect.poll(() => core.history.get(key('d2'))?.crm.state).toBe('logged');
    expect(core.history.get(key('d1'))?.crm.state).toBe('logged');
    expect(callKeysInCrm(sim).sort()).toEqual([key('d1'), key('d2')]);
    sim.assertNoSpecViolations();
  });

  it('turns a revoked grant into one sign-in prompt, queues calls meanwhile, and lands each once after signing in again', async () => {
    const { sim, link, core, browser } = await hubspotAgent();
    await link.signIn('hubspot');
    const statuses: CrmLinkStatus[] = [];
    link.onStatus((s) => statuses.push(s));

    sim.faults.expireTokens();
    sim.faults.revokeGrant();
    await deliver(...answeredCall('q1'));
    await expect.poll(() => link.status().state).toBe('sign_in_required');
    await deliver(...answeredCall('q2'));
    await new Promise((r) => setTimeout(r, 100)); // time for the queue to (wrongly) loop
    expect(statuses.map((s) => s.state)).toEqual(['sign_in_required']);
    expect(statuses[0]).toMatchObject({ crm: 'hubspot', reason: expect.stringContaining('invalid_grant') });
    expect(sim.calls.size).toBe(0);
    expect(sim.oauth.tokenCalls.refresh_token).toBe(1); // one refresh attempt, not a loop
    expect([key('q1'), key('q2')].map((k) => core.history.get(k)?.crm.state)).toEqual(['pending', 'pending']);

    await link.signIn('hubspot');
    await expect.poll(() => core.history.get(key('q2'))?.crm.state).toBe('logged');
    expect(core.history.get(key('q1'))?.crm.state).toBe('logged');
    expect(callKeysInCrm(sim)).toEqual([key('q1'), key('q2')]);
    expect(statuses.map((s) => s.state)).toEqual(['sign_in_required', 'signed_in']);
    expect(browser.visits).toHaveLength(2);
  });

  it('reconnects after a restart without a prompt, with the synced contacts at hand even while the CRM is down', async () => {
    const first = await hubspotAgent();
    const janeId = first.sim.addContact({ firstname: 'Jane', lastname: 'Citizen', phone: '+61 2 9876 5432' });
    await first.link.signIn('hubspot');
    await first.link.syncContacts();
    await first.link.close();
    await first.core.close();

    first.sim.faults.outage({ status: 503 });
    const { core, pops } = await startCore(false);
    const browser = scriptedBrowser();
    const link = await startLink(core, { ...first.options, openBrowser: browser.openBrowser });
    core.start();
    await expect.poll(() => core.state).toBe('connected');
    expect(link.status()).toEqual({ crm: 'hubspot', state: 'signed_in', account: '62515' });
    expect(browser.visits).toHaveLength(0);
    expect(core.contacts.lookup(JANE).map((c) => c.id)).toEqual([janeId]);
    expect(await link.syncContacts()).toBe('deferred');

    await deliver(callEvent({ type: 'ringing', pbxCallId: 'after' }));
    expect(pops[0]!.title).toBe('Jane Citizen');
    await deliver(...answeredCall('after').slice(1));
    first.sim.faults.restore();
    await expect.poll(() => core.history.get(key('after'))?.crm.state).toBe('logged');
    expect(callKeysInCrm(first.sim)).toEqual([key('after')]);
    // The sync continued from its stored cursor rather than sweeping from the start.
    expect(await link.syncContacts()).toBe('synced');
    const lastSweep = first.sim.requestsTo('POST', '/crm/v3/objects/contacts/search').filter((r) => r.status === 200).at(-1);
    const since = (lastSweep!.body as { filterGroups: Array<{ filters: Array<{ propertyName: string; value: string }> }> }).filterGroups[0]!.filters[0]!;
    expect(since.propertyName).toBe('lastmodifieddate');
    expect(Number(since.value)).toBeGreaterThan(0);
  });

  it('signs out: forgets the tokens and contacts, pops without CRM links, and keeps new calls queued', async () => {
    const { sim, link, core, pops } = await hubspotAgent();
    sim.addContact({ firstname: 'Jane', lastname: 'Citizen', phone: '+61 2 9876 5432' });
    await link.signIn('hubspot');
    await link.syncContacts();
    expect(await link.signOut()).toEqual({ crm: null, state: 'signed_out' });
    expect(await secretStore.get('crm.hubspot.tokens')).toBeUndefined();
    expect(core.contacts.size).toBe(0);

    await deliver(...answeredCall('s1'));
    expect(pops[0]).toMatchObject({ title: '(02) 9876 5432', clickUrl: null });
    await new Promise((r) => setTimeout(r, 50));
    expect(core.history.get(key('s1'))?.crm.state).toBe('pending');
    expect(sim.calls.size).toBe(0);
  });

  it('refuses a CRM this build has no client id for, in a sentence', async () => {
    const { link } = await hubspotAgent();
    await expect(link.signIn('zoho')).rejects.toMatchObject({ code: 'not_configured', message: expect.stringContaining('Zoho CRM') });
    expect(link.status().state).toBe('signed_out');
  });
});

const SF_USER = '005SIM000000001AAA';

/** Pairs this data directory as an agent whose CRM user (set by the admin) is `crmUser`. */
async function pairAs(crmUser: string): Promise<void> {
  const { core } = await startCore();
  await core.pair(bus.url, FAKE_PAIRING_CODE);
  await core.close();
  const store = new FileKeyValueStore(join(dataDir, 'state'));
  store.set(PAIRING_KEY, { ...store.get(PAIRING_KEY, PairedAgentSchema)!, crmUser });
}

describe('CRM link with Salesforce (direct PKCE, no broker)', () => {
  it('signs in, pops the synced contact and logs the call with its recording', async () => {
    const sim = await startSalesforceSim();
    cleanups.push(() => sim.close());
    const contactId = sim.add('Contact', { Name: 'Ada Lovelace', Phone: '(02) 9876 5432', OwnerId: SF_USER });
    await pairAs(SF_USER);
    const { core, pops } = await startCore();
    await expect.poll(() => core.state).toBe('connected');
    const browser = scriptedBrowser();
    const link = await startLink(core, { clientIds: { salesforce: sim.oauth.clientId }, origins: { salesforce: sim.url }, openBrowser: browser.openBrowser });

    expect(await link.signIn('salesforce')).toMatchObject({ crm: 'salesforce', state: 'signed_in', account: sim.url });
    expect(await link.syncContacts()).toBe('synced');
    await deliver(callEvent({ type: 'ringing', pbxCallId: 'sf1' }));
    expect(pops[0]).toMatchObject({ title: 'Ada Lovelace', clickUrl: expect.stringContaining(contactId) });

    const ready = callEvent({ type: 'recording_ready', pbxCallId: 'sf1', recording: { pbxRecordingId: 'rec-sf1', contentType: 'audio/wav' } });
    await deliver(...answeredCall('sf1').slice(1), ready);
    await expect.poll(() => core.history.get(key('sf1'))?.crm.state).toBe('recording_attached');
    const tasks = [...sim.records.Task.values()];
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ WhoId: contactId, OwnerId: SF_USER });
    expect(link.callRecordUrl(key('sf1'))).toBe(`${sim.url}/lightning/r/Task/${tasks[0]!.Id}/view`);
    expect(sim.records.ContentVersion.size).toBe(1);
  });
  it('an agent whose CRM user is an e-mail gets their own contact preferred when two contacts share a number, and logs calls owned by their user id', async () => {
    const sim = await startSalesforceSim();
    cleanups.push(() => sim.close());
    const jane = sim.addUser({ Username: 'jane@acme.com', Email: 'Jane@Acme.com', FirstName: 'Jane', LastName: 'Doe' });
    // Both hold the caller's number; the colleague's contact was active more recently, so it would win
    // on recency alone: only knowing that Jane's contacts are owned by her User Id puts hers first.
    const hers = sim.add('Contact', { Name: 'Ada Lovelace', Phone: '(02) 9876 5432', OwnerId: jane, LastActivityDate: '2026-01-01' });
    sim.add('Contact', { Name: 'Ada (front desk)', Phone: '+61 2 9876 5432', OwnerId: sim.signedInUserId, LastActivityDate: '2026-03-01' });
    await pairAs('jane@acme.com');
    const { core, pops } = await startCore();
    await expect.poll(() => core.state).toBe('connected');
    const link = await startLink(core, { clientIds: { salesforce: sim.oauth.clientId }, origins: { salesforce: sim.url }, openBrowser: scriptedBrowser().openBrowser });
    await link.signIn('salesforce');
    expect(await link.syncContacts()).toBe('synced');
    await expect.poll(() => core.contacts.lookup(JANE)[0]?.id).toBe(hers);

    await deliver(...answeredCall('sf2'));
    expect(pops[0]).toMatchObject({ title: 'Ada Lovelace', clickUrl: expect.stringContaining(hers) });
    await expect.poll(() => core.history.get(key('sf2'))?.crm.state).toBe('logged');
    expect([...sim.records.Task.values()]).toEqual([expect.objectContaining({ WhoId: hers, OwnerId: jane })]);
  });
});

describe('Call panel across a reconnect', () => {
  /** A paired agent with its CRM link (no CRM signed in: the panel does not need one), a call talking. */
  async function talking(pbxCallId: string): Promise<{ link: CrmLink; rest: CallEvent[] }> {
    const { core } = await startCore();
    await core.pair(bus.url, FAKE_PAIRING_CODE);
    await expect.poll(() => core.state).toBe('connected');
    const link = await startLink(core, { clientIds: {}, origins: {} });
    const [ringing, answered, ...rest] = answeredCall(pbxCallId);
    await deliver(ringing!, answered!);
    expect(link.callPanel().calls).toMatchObject([{ callKey: key(pbxCallId), state: 'talking' }]);
    return { link, rest };
  }

  /** The agent's connection drops; what the bus logged meanwhile comes back on the next connection. */
  async function dropConnection(): Promise<void> {
    const sessions = bus.sessions.length;
    bus.current!.socket.terminate();
    await bus.until(() => bus.sessions.length > sessions && bus.current !== undefined);
  }

  it('a call that ended while the agent was reconnecting leaves the panel when the end is replayed', async () => {
    const { link, rest } = await talking('p1');
    bus.log.push(...rest); // logged while the agent was away: it comes back as replay
    await dropConnection();
    await bus.until(() => bus.acks().includes(bus.log.length));
    expect(link.callPanel().calls).toEqual([]);
  });

  it('a resync (the bus no longer has the missed events) clears the panel instead of leaving the call talking', async () => {
    const { link } = await talking('p2');
    bus.firstRetained = bus.log.length + 2; // the agent's resume position is past retention
    await dropConnection();
    await expect.poll(() => link.callPanel().calls).toEqual([]);
  });
});
