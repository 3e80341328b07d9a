// Who sees what, and what an agent gets back after being away: two tenants whose PBXs use the
// same extension numbers, and an agent that disconnects while calls happen.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBus } from '../../src/bus/server.js';
import { CloseCode } from '../../src/shared/agent-protocol.js';
import type { PbxSimulator } from '../../src/sim/3cx/index.js';
import { Agent, callerNumber, fromCaller, pair, provisionSite, Resources, startSim, startTestBus, type EventFrame, type Site } from '../support/e2e.js';

const res = new Resources();
let bus: RunningBus;
/** The bus's data directory: the admin CLI, run as its own process, opens the same tenant database. */
let dataDir: string;
let simA: PbxSimulator;
let simB: PbxSimulator;
let acme: Site;
let globex: Site;
afterAll(() => res.cleanup());

beforeAll(async () => {
  dataDir = res.tempDir();
  bus = await startTestBus(res, { dataDir });
  [simA, simB] = await Promise.all([startSim(res), startSim(res)]);
  // Both PBXs number their agents 101 and 102; they send the HTTP forms (template and webhook).
  acme = await provisionSite(bus, simA, { tenantName: 'Acme', extensions: ['101', '102'], callControl: false });
  globex = await provisionSite(bus, simB, { tenantName: 'Globex', extensions: ['101', '102'], callControl: false });
});

/** An unanswered inbound call from caller `n` to `to`, through the PBX's HTTP forms. */
const ring = (sim: PbxSimulator, n: number, to: string) => sim.placeCall({ kind: 'inbound', from: callerNumber(n).raw, to, answer: false });
const callers = (frames: EventFrame[]) => frames.map((f) => `${f.event.caller.e164}:${f.event.type}`);
const c = (n: number, type: string) => `${callerNumber(n).e164}:${type}`;

describe('tenant and agent isolation', () => {
  it('an agent sees its own extension on its own PBX only, never a colleague or the other tenant', async () => {
    const acme101 = await Agent.connect(res, bus.wsUrl, acme.tokens['101']!);
    const acme102 = await Agent.connect(res, bus.wsUrl, acme.tokens['102']!);
    const globex101 = await Agent.connect(res, bus.wsUrl, globex.tokens['101']!);
    expect([acme101.welcome.tenantId, globex101.welcome.tenantId]).toEqual([acme.tenantId, globex.tenantId]);

    // Sent one after the other, so each agent's own call is logged after the others' calls.
    await ring(simA, 11, '102');
    await ring(simB, 12, '101');
    await ring(simA, 13, '101');
    await ring(simB, 14, '102');

    expect(callers(await acme101.eventsUntil((e) => fromCaller(13)(e) && e.type === 'missed'))).toEqual([c(13, 'ringing'), c(13, 'missed')]);
    expect(callers(await acme102.eventsUntil((e) => fromCaller(11)(e) && e.type === 'missed'))).toEqual([c(11, 'ringing'), c(11, 'missed')]);
    const atGlobex = await globex101.eventsUntil((e) => fromCaller(12)(e) && e.type === 'missed');
    expect(callers(atGlobex)).toEqual([c(12, 'ringing'), c(12, 'missed')]);
    expect(atGlobex.every((f) => f.event.tenantId === globex.tenantId && f.event.pbxId === globex.pbx.id)).toBe(true);

    // Nothing else is queued: each agent's next event is the next call placed to it.
    await ring(simA, 15, '101');
    await ring(simB, 16, '101');
    await ring(simA, 17, '102');
    expect(callers([await acme101.nextEvent()])).toEqual([c(15, 'ringing')]);
    expect(callers([await globex101.nextEvent()])).toEqual([c(16, 'ringing')]);
    expect(callers([await acme102.nextEvent()])).toEqual([c(17, 'ringing')]);
  });

  it('a device token of one tenant cannot be replayed against the other tenant or a revoked agent', async () => {
    // Tenants' logs are separate streams: positions and epochs differ.
    const a = await Agent.connect(res, bus.wsUrl, acme.tokens['102']!);
    const g = await Agent.connect(res, bus.wsUrl, globex.tokens['102']!);
    expect(a.welcome.position.epoch).not.toBe(g.welcome.position.epoch);

    const { agent, pairingCode } = await bus.tenants.addAgent({ tenantId: globex.tenantId, pbxId: globex.pbx.id, extension: '103', name: 'Leaver' });
    const paired = await bus.tenants.pair(pairingCode);
    await bus.tenants.revokeAgent(agent.id);
    await expect(Agent.connect(res, bus.wsUrl, paired!.deviceToken)).rejects.toThrow(/unauthenticated/);
  });
});

describe('revocation', () => {
  it('signs a departing agent out at once when the admin CLI revokes it from its own process', async () => {
    const { agent, pairingCode } = await bus.tenants.addAgent({ tenantId: acme.tenantId, pbxId: acme.pbx.id, extension: '104', name: 'Leaver' });
    const leaver = await Agent.connect(res, bus.wsUrl, (await pair(bus.url, pairingCode)).deviceToken);
    const colleague = await Agent.connect(res, bus.wsUrl, acme.tokens['101']!);

    // The CLI from source (as `npm run admin` would after a build), so the suite needs no build first.
    const admin = ['--import', 'tsx', resolve(import.meta.dirname, '../../src/bus/cli/index.ts')];
    await promisify(execFile)(process.execPath, [...admin, 'agent', 'revoke', '--agent', agent.id], { env: { ...process.env, RINGBRIDGE_DATA_DIR: dataDir, RINGBRIDGE_MASTER_KEY: '' } });

    expect(await leaver.socket.closed).toBe(CloseCode.revoked);
    await ring(simA, 31, '101');
    expect(callers([await colleague.nextEvent()])).toEqual([c(31, 'ringing')]);
  });
});

describe('resume after disconnect', () => {
  it('reconnecting with the last acknowledged position replays exactly the missed events, then goes live', async () => {
    let agent = await Agent.connect(res, bus.wsUrl, acme.tokens['101']!);
    await ring(simA, 21, '101');
    await agent.eventsUntil((e) => fromCaller(21)(e) && e.type === 'missed');
    agent.socket.send({ t: 'ack', offset: agent.last.offset });
    const acked = agent.last;
    await agent.close();

    // While the agent is away: two calls to it, one to a colleague, one at the other tenant.
    await ring(simA, 22, '101');
    await ring(simA, 23, '102');
    await simA.placeCall({ kind: 'inbound', from: callerNumber(24).raw, to: '101', talkSec: 12, forms: { template: false } });
    await ring(simB, 25, '101');

    agent = await Agent.connect(res, bus.wsUrl, acme.tokens['101']!, acked);
    expect(agent.welcome.recovered).toBe(true);
    expect(agent.resyncReason).toBe(null);
    const missed = await agent.eventsUntil((e) => fromCaller(24)(e) && e.type === 'recording_ready');
    expect(callers(missed)).toEqual([c(22, 'ringing'), c(22, 'missed'), c(24, 'ringing'), c(24, 'answered'), c(24, 'ended'), c(24, 'recording_ready')]);
    expect(missed.every((f) => f.replay)).toBe(true);
    const offsets = missed.map((f) => f.offset);
    expect(offsets[0]).toBeGreaterThan(acked.offset);
    expect([...offsets].sort((x, y) => x - y)).toEqual(offsets);

    // Live again: the next call arrives as live, with nothing replayed twice in between.
    await ring(simA, 26, '101');
    const live = await agent.nextEvent();
    expect([callers([live]), live.replay]).toEqual([[c(26, 'ringing')], false]);
  });

  it('a position from another epoch is refused with resync instead of a silent gap', async () => {
    const agent = await Agent.connect(res, bus.wsUrl, acme.tokens['102']!, { offset: 1, epoch: 'another-log' });
    expect(agent.resyncReason).toBe('epoch');
    expect(agent.welcome.recovered).toBe(false);
    await ring(simA, 27, '102');
    expect(callers([await agent.nextEvent()])).toEqual([c(27, 'ringing')]);
  });
});
