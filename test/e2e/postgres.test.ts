// Two bus nodes with separate data directories sharing one PostgreSQL (tenants, agents, pairing
// codes, audit) and one Redis (the log), the way nodes on separate hosts run; the admin CLI works on
// the same PostgreSQL from its own process. No tenants file is written anywhere.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TENANTS_DB_FILE } from '../../src/bus/compose.js';
import type { RunningBus } from '../../src/bus/server.js';
import { CloseCode } from '../../src/shared/agent-protocol.js';
import type { PbxSimulator } from '../../src/sim/3cx/index.js';
import { startPostgres } from '../support/postgres-server.js';
import { startRedis } from '../support/redis-server.js';
import { Agent, callerNumber, fromCaller, pair, provisionSite, Resources, startSim, startTestBus, type Site } from '../support/e2e.js';

const res = new Resources();
let nodeA: RunningBus;
let nodeB: RunningBus;
let sim: PbxSimulator;
let site: Site;
const dataDirs: string[] = [];
let env: Record<string, string>;
afterAll(() => res.cleanup());

beforeAll(async () => {
  const postgres = res.add(await startPostgres(), (s) => s.stop());
  const redis = res.add(await startRedis(), (r) => r.stop());
  // Nodes share the master key through the environment, as they share no data directory.
  env = { RINGBRIDGE_DATABASE_URL: await postgres.createDatabase(), RINGBRIDGE_REDIS_URL: redis.url, RINGBRIDGE_MASTER_KEY: randomBytes(32).toString('base64') };
  dataDirs.push(res.tempDir(), res.tempDir());
  // Both start at once: the schema migrations run once, under the advisory lock.
  [nodeA, nodeB] = await Promise.all([startTestBus(res, { dataDir: dataDirs[0], env }), startTestBus(res, { dataDir: dataDirs[1], env })]);
  sim = await startSim(res);
  // Provisioned through node A; the PBX posts to node A, the agents connect to node B.
  site = await provisionSite(nodeA, sim, { extensions: ['101'], callControl: false });
}, 60_000);

// The CLI from source, in its own process, configured like the nodes.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
async function admin(...args: string[]): Promise<string> {
  const cli = resolve(import.meta.dirname, '../../src/bus/cli/index.ts');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', TSX, cli, ...args], {
    env: { ...process.env, ...env, RINGBRIDGE_DATA_DIR: res.tempDir() },
  });
  return stdout;
}

describe('the bus on PostgreSQL', { timeout: 60_000 }, () => {
  it('pairs an agent on one node and delivers an event ingested on the other', async () => {
    const agent = await Agent.connect(res, nodeB.wsUrl, site.tokens['101']!);
    await sim.placeCall({ kind: 'inbound', from: callerNumber(51).raw, to: '101', answer: false });
    const frames = await agent.eventsUntil((e) => fromCaller(51)(e) && e.type === 'missed');
    expect(frames.map((f) => [f.event.type, f.replay])).toEqual([['ringing', false], ['missed', false]]);
    for (const dir of dataDirs) expect(existsSync(join(dir, TENANTS_DB_FILE))).toBe(false);
  });

  it('the admin CLI adds an agent whose code pairs through a node, and its revocation closes the socket on the other', async () => {
    const added = await admin('agent', 'add', '--tenant', site.tenantId, '--pbx', site.pbx.id, '--extension', '102', '--name', 'Bea');
    const code = /pairing code \(one use, valid 7 days\): (\S+)/.exec(added)![1]!;
    const agentId = /agent (\S+) "Bea"/.exec(added)![1]!;
    const bea = await Agent.connect(res, nodeB.wsUrl, (await pair(nodeA.url, code)).deviceToken);
    await expect(pair(nodeB.url, code)).rejects.toThrow(/pairing failed/);
    await sim.placeCall({ kind: 'inbound', from: callerNumber(52).raw, to: '102', answer: false });
    expect((await bea.nextEvent()).event.caller.e164).toBe(callerNumber(52).e164);

    await admin('agent', 'revoke', '--agent', agentId);
    expect(await bea.socket.closed).toBe(CloseCode.revoked);
    expect(await admin('tenant', 'list')).toContain(site.tenantId);
  });
});
