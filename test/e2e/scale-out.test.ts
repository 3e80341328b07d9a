// Two bus nodes sharing one Redis (the log) and one data directory (tenants): a call ingested on
// node A reaches an agent connected to node B, live and on resume.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLITE_LOG_FILE } from '../../src/bus/log/sqlite/index.js';
import type { RunningBus } from '../../src/bus/server.js';
import type { PbxSimulator } from '../../src/sim/3cx/index.js';
import { startRedis } from '../support/redis-server.js';
import { Agent, callerNumber, fromCaller, provisionSite, Resources, startSim, startTestBus, type Site } from '../support/e2e.js';

const res = new Resources();
let nodeA: RunningBus;
let nodeB: RunningBus;
let sim: PbxSimulator;
let site: Site;
let dataDir: string;
afterAll(() => res.cleanup());

beforeAll(async () => {
  const redis = res.add(await startRedis(), (r) => r.stop());
  dataDir = res.tempDir();
  const env = { RINGBRIDGE_REDIS_URL: redis.url };
  nodeA = await startTestBus(res, { dataDir, env });
  nodeB = await startTestBus(res, { dataDir, env });
  sim = await startSim(res);
  // The PBX is pointed at node A (its forms post there); the agent's app will connect to node B.
  site = await provisionSite(nodeA, sim, { extensions: ['101', '102'], callControl: false });
});

describe('scale-out on Redis', () => {
  it('an event ingested on node A reaches the agent connected to node B', async () => {
    const agent = await Agent.connect(res, nodeB.wsUrl, site.tokens['101']!);
    await sim.placeCall({ kind: 'inbound', from: callerNumber(41).raw, to: '101', talkSec: 3 });
    const frames = await agent.eventsUntil((e) => fromCaller(41)(e) && e.type === 'recording_ready');
    expect(frames.map((f) => [f.event.type, f.replay])).toEqual([
      ['ringing', false],
      ['answered', false],
      ['ended', false],
      ['recording_ready', false],
    ]);
    expect(existsSync(join(dataDir, SQLITE_LOG_FILE))).toBe(false);
  });

  it('an agent that drops from node A resumes on node B with exactly what it missed', async () => {
    let agent = await Agent.connect(res, nodeA.wsUrl, site.tokens['102']!);
    await sim.placeCall({ kind: 'inbound', from: callerNumber(42).raw, to: '102', answer: false });
    await agent.eventsUntil((e) => fromCaller(42)(e) && e.type === 'missed');
    const position = agent.last;
    await agent.close();

    await sim.placeCall({ kind: 'inbound', from: callerNumber(43).raw, to: '102', answer: false });
    agent = await Agent.connect(res, nodeB.wsUrl, site.tokens['102']!, position);
    expect(agent.welcome.recovered).toBe(true);
    const missed = await agent.take(2);
    expect(missed.map((f) => [f.event.caller.e164, f.event.type, f.replay])).toEqual([
      [callerNumber(43).e164, 'ringing', true],
      [callerNumber(43).e164, 'missed', true],
    ]);
    // Live on B again, for a delivery that lands on A.
    await sim.placeCall({ kind: 'inbound', from: callerNumber(44).raw, to: '102', answer: false });
    expect((await agent.nextEvent()).event.caller.e164).toBe(callerNumber(44).e164);
  });
});

describe('Call Control with several nodes', () => {
  it('one node holds the PBX socket; when it stops, another takes over and calls keep their true outcome', async () => {
    const redis = res.add(await startRedis(), (r) => r.stop());
    // Not the 300 ms it once was: a node whose event loop stalls longer than its lease (a loaded
    // machine) loses it to the other while still holding its socket, and the two swap the PBX.
    const shared = { dataDir: res.tempDir(), env: { RINGBRIDGE_REDIS_URL: redis.url }, connectorLeaseMs: 3_000 };
    const nodes = [await startTestBus(res, shared), await startTestBus(res, shared)];
    const pbx = await startSim(res);
    const cc = await provisionSite(nodes[0]!, pbx, { extensions: ['101'] });
    await Promise.all(nodes.map((n) => n.connectors.refresh()));
    const [leader, follower] = nodes[0]!.connectors.connectors.size > 0 ? [nodes[0]!, nodes[1]!] : [nodes[1]!, nodes[0]!];
    expect([leader.connectors.connectors.size, follower.connectors.connectors.size]).toEqual([1, 0]);
    await new Promise<void>((resolve) => leader.connectors.connectors.get(cc.pbx.id)!.once('ready', () => resolve()));

    const agent = await Agent.connect(res, follower.wsUrl, cc.tokens['101']!);
    const callControlOnly = { template: false, webhook: false, callControl: true };
    await pbx.placeCall({ kind: 'inbound', from: callerNumber(45).raw, to: '101', talkSec: 3, forms: callControlOnly });
    const before = await agent.eventsUntil((e) => fromCaller(45)(e) && e.type === 'recording_ready');
    expect(before.map((f) => f.event.type)).toEqual(['ringing', 'answered', 'ended', 'recording_ready']);
    expect(pbx.openSockets()).toBe(1);

    await leader.close();
    await expect.poll(() => [follower.connectors.connectors.size, pbx.openSockets()], { message: 'the other node to take the Call Control socket over', timeout: 10_000 }).toEqual([1, 1]);
    await pbx.placeCall({ kind: 'inbound', from: callerNumber(46).raw, to: '101', talkSec: 3, forms: callControlOnly });
    const after = await agent.eventsUntil((e) => fromCaller(46)(e) && e.type === 'recording_ready');
    expect(after.map((f) => f.event.type)).toEqual(['ringing', 'answered', 'ended', 'recording_ready']);
  });
});
