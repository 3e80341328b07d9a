// The Call Control lease at its default length (RINGBRIDGE_CALL_CONTROL_LEASE_MS unset: 15 s). Two
// bus processes share PostgreSQL and Redis; the one holding the PBX's Call Control socket is killed
// with SIGKILL in the middle of a call, and the call ends while nobody holds the socket. The node
// that takes the lease over must give the call exactly one end, with the talk time the PBX logged,
// and report a second call that rang and ended entirely in that gap; the agent (the real agent core
// and CRM link) must log exactly one CRM record of each.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTenantStorage } from '../../src/bus/compose.js';
import type { BusEvent } from '../../src/main/bus-client/index.js';
import type { PbxSimulator } from '../../src/sim/3cx/index.js';
import { startScenarioCrm, type ScenarioCrm } from '../../src/sim/scenarios/index.js';
import { BusProcess } from '../support/bus-process.js';
import { callerNumber, Resources, SIM_CLIENT, startSim, waitFor } from '../support/e2e.js';
import { startPostgres } from '../support/postgres-server.js';
import { startRedis } from '../support/redis-server.js';
import { startAgent } from '../support/scenario-chain.js';

const res = new Resources();
afterAll(() => res.cleanup(), 30_000);

let nodes: BusProcess[];
let sim: PbxSimulator;
let crm: ScenarioCrm;
let pairingCode: string;
const CALLER = callerNumber(77);
const UNSEEN = callerNumber(78);

beforeAll(async () => {
  const postgres = res.add(await startPostgres(), (s) => s.stop());
  const redis = res.add(await startRedis(), (r) => r.stop());
  const masterKey = randomBytes(32);
  // No RINGBRIDGE_CALL_CONTROL_LEASE_MS: the default lease, whose hand-over leaves the PBX unwatched for seconds.
  const env = { RINGBRIDGE_DATABASE_URL: await postgres.createDatabase(), RINGBRIDGE_REDIS_URL: redis.url, RINGBRIDGE_MASTER_KEY: masterKey.toString('base64') };
  const store = res.add(await openTenantStorage({ dataDir: res.tempDir(), databaseUrl: env.RINGBRIDGE_DATABASE_URL, masterKey, onError: () => undefined }), (s) => s.close());
  // A pause between a call's steps, so the holder can be killed between the answer and the end.
  sim = await startSim(res, { realTalkTime: true, stepDelayMs: 500 });
  const tenantId = (await store.tenants.createTenant({ name: 'Hand-over Co' })).id;
  const { pbx } = await store.tenants.addPbx({
    tenantId, name: 'Main office', baseUrl: sim.baseUrl, defaultCountry: 'AU', connectorMode: 'bus', apiClientId: SIM_CLIENT.clientId, apiClientSecret: SIM_CLIENT.secret,
  });
  pairingCode = (await store.tenants.addAgent({ tenantId, pbxId: pbx.id, extension: '101', name: 'Agent 101' })).pairingCode;
  crm = await startScenarioCrm('salesforce');
  res.add(crm.sim, (s) => s.close());
  crm.seedContacts([{ e164: CALLER.e164, name: 'Known Caller', known: true }, { e164: UNSEEN.e164, name: 'Unseen Caller', known: true }]);
  nodes = await Promise.all([0, 1].map(async () => res.add(await BusProcess.start(res.tempDir('rb-node-'), env), (n) => n.stop())));
}, 60_000);

const holds = (node: BusProcess) => node.lines.filter((l) => l.includes('"msg":"lease ')).at(-1)?.includes('"lease acquired"') ?? false;

describe('Call Control lease hand-over at the default lease length', { timeout: 90_000 }, () => {
  it('calls that end while the killed holder\'s lease runs out reach the agent once each with their talk time (one it saw begin, one nobody saw), and are logged as one CRM record each', async () => {
    await waitFor(() => sim.openSockets() === 1 && nodes.some(holds), 'one node to hold the Call Control socket', 30_000);
    const holder = nodes.find(holds)!;
    const survivor = nodes.find((n) => n !== holder)!;

    const events: BusEvent['event'][] = [];
    const link = await startAgent(res, {
      dataDir: join(res.tempDir('rb-agent-'), 'agent-101'), crm, busUrl: survivor.url, pairingCode, opts: {}, loggedAt: new Map(),
      onCore: (core) => {
        core.settings.update({ wrapUpSec: 0 });
        core.onBusEvent(({ event }) => void events.push(event));
      },
    });
    await link.signIn('salesforce');

    const call = sim.placeCall({ kind: 'inbound', from: CALLER.raw, to: '101', talkSec: 3, forms: { callControl: true, template: false, webhook: false } });
    await waitFor(() => events.some((e) => e.type === 'answered'), 'the answer to reach the agent');
    await holder.kill('SIGKILL');
    const record = await call;
    const unseen = await sim.placeCall({ kind: 'inbound', from: UNSEEN.raw, to: '101', talkSec: 1, forms: { callControl: true, template: false, webhook: false } });
    // Both calls are over, and nobody held the PBX while they were: the lease has most of its 15 s to run.
    expect(events.map((e) => e.type)).toEqual(['ringing', 'answered']);
    expect(sim.openSockets()).toBe(0);

    const ofCall = (callid: number) => events.filter((e) => e.pbxCallId === String(callid));
    await waitFor(() => ofCall(unseen.callid).some((e) => e.type === 'ended'), 'the survivor to take the lease over and report both calls', 40_000);
    // The agent's record of each call (written when it was answered) completed with its end.
    await waitFor(() => crm.callEntries().filter((e) => e.durationSec > 0).length === 2, 'the agent to complete both CRM records', 20_000);
    await new Promise((r) => setTimeout(r, 1_000)); // a duplicate would arrive right behind
    expect(ofCall(record.callid).map((e) => e.type)).toEqual(['ringing', 'answered', 'ended']);
    expect(ofCall(record.callid)[2]).toMatchObject({ durationSec: record.legs[0]!.talkSec, endReason: 'reported' });
    expect(ofCall(unseen.callid).map((e) => [e.type, e.durationSec])).toEqual([['ringing', null], ['answered', null], ['ended', unseen.legs[0]!.talkSec]]);
    expect(events).toHaveLength(6);
    const entries = crm.callEntries().map((e) => [e.remote, e.answered, e.durationSec]).sort();
    expect(entries).toEqual([[CALLER.e164, true, record.legs[0]!.talkSec], [UNSEEN.e164, true, unseen.legs[0]!.talkSec]].sort());
    expect(holds(survivor)).toBe(true);
  });
});
