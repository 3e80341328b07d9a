// Three bus nodes on three hosts (network namespaces this test creates, joined by a bridge), each a
// process with its own data directory, sharing one PostgreSQL and one Redis that listen on the
// bridge, behind Debian's HAProxy. Nodes are killed with SIGKILL, as a host that dies; agents reach
// the bus through the balancer and must see every acknowledged event exactly once.
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openTenantStorage, type TenantStorage } from '../../src/bus/compose.js';
import { agentStreamUrl } from '../../src/bus/http/pairing.js';
import { CloseCode, type Position } from '../../src/shared/agent-protocol.js';
import { PAIR_PATH } from '../../src/shared/pairing.js';
import type { PbxSimulator } from '../../src/sim/3cx/index.js';
import { BusProcess } from '../support/bus-process.js';
import { Agent, callerNumber, pair, postWebhook, Resources, SIM_CLIENT, startSim, type EventFrame, type Site } from '../support/e2e.js';
import { signedHeaders, webhookPayload } from '../support/ingest-harness.js';
import { createHostNetwork, namespacesUnavailable, startHaproxy, type Balancer, type Host } from '../support/netns.js';
import { startPostgres } from '../support/postgres-server.js';
import { freePort, startRedis } from '../support/redis-server.js';
import { TestAgent } from '../support/test-agent.js';

const skipReason = namespacesUnavailable();
const BUS_PORT = 8080; // every host has its own port space
const KILL_CYCLES = 20;

const res = new Resources();
let hosts: Host[];
let env: Record<string, string>;
const nodes: BusProcess[] = [];
const dataDirs: string[] = [];
let balancer: Balancer;
let store: TenantStorage;
let web: Site; // webhook-only PBX: agents 101-104
let cc: Site & { sim: PbxSimulator }; // Call Control PBX (another tenant): agent 101

const nodeUrl = (i: number) => `http://${hosts[i]!.address}:${BUS_PORT}`;
const A = 0;
const B = 1;
const C = 2;

async function startNode(i: number): Promise<BusProcess> {
  nodes[i] = await BusProcess.start(dataDirs[i]!, { ...env, RINGBRIDGE_HOST: hosts[i]!.address, RINGBRIDGE_PORT: String(BUS_PORT) }, { netns: hosts[i]!.netns });
  return nodes[i];
}

/** The admin CLI run on host i (its namespace), against the shared PostgreSQL. */
async function adminOn(i: number, ...args: string[]): Promise<string> {
  const cli = join(import.meta.dirname, '../../src/bus/cli/index.ts');
  const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', hosts[i]!.netns, process.execPath, '--import', 'tsx', cli, ...args], {
    env: { ...process.env, ...env, RINGBRIDGE_DATA_DIR: dataDirs[i]! },
  });
  return stdout;
}

/** Every node the balancer's health check can see as ready. */
async function allReady(): Promise<void> {
  await vi.waitFor(
    async () => {
      for (let i = 0; i < nodes.length; i++) expect((await request(`${nodeUrl(i)}/ready`)).statusCode).toBe(200);
    },
    { timeout: 20_000, interval: 100 },
  );
}

beforeAll(async () => {
  if (skipReason) return;
  const network = res.add(createHostNetwork(3), (n) => n.cleanup());
  hosts = network.hosts;
  const gateway = network.gateway;
  const postgres = res.add(await startPostgres({ host: gateway }), (s) => s.stop());
  const redis = res.add(await startRedis({ host: gateway }), (r) => r.stop());
  const masterKey = randomBytes(32);
  env = {
    RINGBRIDGE_DATABASE_URL: await postgres.createDatabase(),
    RINGBRIDGE_REDIS_URL: redis.url,
    RINGBRIDGE_MASTER_KEY: masterKey.toString('base64'),
    // The balancer's connections carry every agent: they are not capped, and its X-Forwarded-For is believed.
    RINGBRIDGE_TRUST_PROXY: gateway,
    // The Call Control lease keeps its default (15 s): a holder's death leaves the PBX unwatched that long.
  };
  // The PBXs exist before the nodes start, so the lease holder's first connector refresh finds them.
  store = res.add(await openTenantStorage({ dataDir: res.tempDir(), databaseUrl: env.RINGBRIDGE_DATABASE_URL!, masterKey, onError: () => undefined }), (s) => s.close());
  const sim = await startSim(res, { host: gateway, realTalkTime: true, stepDelayMs: 1_000 });
  const codes: Record<string, string> = {};
  const ccCodes: Record<string, string> = {};
  const provision = async (baseUrl: string, callControl: boolean, extensions: string[], codes: Record<string, string>) => {
    const tenantId = (await store.tenants.createTenant({ name: callControl ? 'Call Control Co' : 'Webhook Co' })).id;
    const { pbx, secrets } = await store.tenants.addPbx({
      tenantId, name: 'Main office', baseUrl, defaultCountry: 'AU', connectorMode: 'bus',
      apiClientId: callControl ? SIM_CLIENT.clientId : null, apiClientSecret: callControl ? SIM_CLIENT.secret : null,
    });
    for (const extension of extensions) codes[extension] = (await store.tenants.addAgent({ tenantId, pbxId: pbx.id, extension, name: `Agent ${extension}` })).pairingCode;
    return { tenantId, pbx, secrets, tokens: {} as Record<string, string> };
  };
  web = await provision('https://pbx.webhook.test', false, ['101', '102', '103', '104'], codes);
  cc = { ...(await provision(sim.baseUrl, true, ['101'], ccCodes)), sim };

  for (let i = 0; i < hosts.length; i++) dataDirs.push(res.tempDir('rb-host-'));
  res.add(null, () => Promise.all(nodes.map((n) => n.stop())));
  await Promise.all(hosts.map((_, i) => startNode(i)));
  balancer = res.add(
    await startHaproxy(res.tempDir('rb-haproxy-'), { host: gateway, port: await freePort(gateway) }, hosts.map((h) => `${h.address}:${BUS_PORT}`)),
    (b) => b.stop(),
  );
  await allReady();
  await vi.waitFor(async () => expect((await request(`${balancer.url}/ready`)).statusCode).toBe(200), { timeout: 10_000, interval: 100 });
  for (const extension of ['101', '102', '103', '104']) web.tokens[extension] = (await pair(balancer.url, codes[extension]!)).deviceToken;
  cc.tokens['101'] = (await pair(balancer.url, ccCodes['101']!)).deviceToken;
}, 90_000);

afterAll(() => res.cleanup(), 30_000);

/** `promise`, or a failure naming `what` after `ms` (a hang would otherwise only show as the test's timeout). */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  return Promise.race([promise, sleep(ms).then(() => Promise.reject(new Error(`no ${what} within ${ms} ms`)))]);
}

/**
 * An agent app behind the balancer: on any close it reconnects (wherever the balancer sends it)
 * resuming from the last event it saw, and keeps every event frame it receives.
 */
class RoamingAgent {
  readonly frames: EventFrame[] = [];
  reconnects = 0;
  resyncs = 0;
  /** Where it resumes from; set by its first welcome. */
  last: Position | undefined;
  private stopped = false;
  private socket: TestAgent | null = null;
  private readonly running: Promise<void>;

  constructor(private readonly token: string) {
    this.running = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const socket = (this.socket = new TestAgent(agentStreamUrl(balancer.url)));
      socket.ws.on('error', () => undefined); // the close that follows is what counts
      try {
        await socket.opened;
        socket.hello(this.token, this.last);
        for (;;) {
          const frame = await socket.next();
          if (frame.t === 'resync') this.resyncs++;
          if (frame.t === 'welcome') this.last ??= frame.position;
          if (frame.t === 'event') {
            this.frames.push(frame);
            this.last = { offset: frame.offset, epoch: frame.epoch };
          }
        }
      } catch {
        socket.close();
        if (!this.stopped) {
          this.reconnects++;
          await sleep(50);
        }
      }
    }
  }

  /** How often each call id was delivered. */
  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const f of this.frames) counts.set(f.event.pbxCallId, (counts.get(f.event.pbxCallId) ?? 0) + 1);
    return counts;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.socket?.close();
    await this.running;
  }
}

/**
 * A PBX posting webhooks through the balancer, one call per delivery, to the agents' extensions in
 * turn; a delivery that fails (a node died under it) is retried with the same webhook-id and body,
 * as 3CX retries, until acknowledged. `acked` holds the call ids the bus acknowledged, per extension.
 */
function webhookLoad(extensions: string[], prefix: string) {
  const acked = new Map<string, Set<string>>(extensions.map((e) => [e, new Set<string>()]));
  let stopped = false;
  let n = 0;
  const deliver = async (callId: string, extension: string) => {
    const body = JSON.stringify(webhookPayload({ callId, extensions: [extension], to: { number: extension } }));
    const id = `msg_${randomBytes(8).toString('hex')}`;
    for (;;) {
      const answer = await postWebhook(balancer.url, web, body, signedHeaders(web.secrets.webhookSecrets[0]!, body, { id })).catch(() => null);
      if (answer?.status === 200) return;
      await sleep(20);
    }
  };
  const worker = async () => {
    while (!stopped) {
      const extension = extensions[n % extensions.length]!;
      const callId = `${prefix}-${n++}`;
      await deliver(callId, extension);
      acked.get(extension)!.add(callId);
    }
  };
  const workers = [worker(), worker()];
  return {
    acked,
    async stop() {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

/** Lost (acknowledged, never delivered) and duplicated deliveries of the load's calls at the agents; offsets must only grow. */
function tally(agents: Map<string, RoamingAgent>, acked: Map<string, Set<string>>, prefix: string) {
  let lost = 0;
  let duplicated = 0;
  for (const [extension, agent] of agents) {
    const counts = agent.counts();
    for (const callId of acked.get(extension)!) if (!counts.has(callId)) lost++;
    for (const [callId, count] of counts) if (callId.startsWith(prefix) && count > 1) duplicated += count - 1;
    const offsets = agent.frames.map((f) => f.offset);
    expect(offsets, `agent ${extension}'s offsets only grow`).toEqual([...offsets].sort((a, b) => a - b));
  }
  return { lost, duplicated };
}

async function roamUnderLoad(prefix: string, disrupt: () => Promise<void>) {
  const extensions = ['102', '103', '104'];
  const agents = new Map(extensions.map((e) => [e, new RoamingAgent(web.tokens[e]!)]));
  try {
    // Every agent is welcomed before the load starts, so it is owed every call.
    await vi.waitFor(() => expect([...agents.values()].every((a) => a.last !== undefined)).toBe(true), { timeout: 10_000 });
    const load = webhookLoad(extensions, prefix);
    await disrupt();
    await sleep(300);
    await load.stop();
    await vi.waitFor(() => expect(tally(agents, load.acked, prefix).lost).toBe(0), { timeout: 20_000, interval: 100 });
    await sleep(300); // a duplicate would arrive right behind
    const reconnects = [...agents.values()].reduce((sum, a) => sum + a.reconnects, 0);
    const resyncs = [...agents.values()].reduce((sum, a) => sum + a.resyncs, 0);
    const sent = [...load.acked.values()].reduce((sum, s) => sum + s.size, 0);
    return { ...tally(agents, load.acked, prefix), sent, reconnects, resyncs };
  } finally {
    await Promise.all([...agents.values()].map((a) => a.stop()));
  }
}

describe.skipIf(skipReason)(`three bus nodes on three hosts${skipReason ? ` (skipped: ${skipReason})` : ''}`, { timeout: 120_000 }, () => {
  it('an agent connected to node B receives what node A ingested', async () => {
    const agent = await Agent.connect(res, agentStreamUrl(nodeUrl(B)), web.tokens['101']!);
    const body = webhookPayload({ callId: 'a-to-b', from: { number: callerNumber(1).raw, name: 'Jane Citizen' } });
    expect((await postWebhook(nodeUrl(A), web, body)).status).toBe(200);
    const frame = await agent.nextEvent();
    expect([frame.event.pbxCallId, frame.event.type, frame.event.caller.e164, frame.replay]).toEqual(['a-to-b', 'ringing', callerNumber(1).e164, false]);
    await agent.close();
  });

  let bea: { agentId: string; socket: Agent };
  it('a pairing code made on host C pairs through node A, once', async () => {
    const added = await adminOn(C, 'agent', 'add', '--tenant', web.tenantId, '--pbx', web.pbx.id, '--extension', '105', '--name', 'Bea');
    const code = /pairing code \(one use, valid 7 days\): (\S+)/.exec(added)![1]!;
    const agentId = /agent (\S+) "Bea"/.exec(added)![1]!;
    const { deviceToken } = await pair(nodeUrl(A), code);
    await expect(pair(nodeUrl(B), code)).rejects.toThrow(/pairing failed: 404/);
    bea = { agentId, socket: await Agent.connect(res, agentStreamUrl(nodeUrl(B)), deviceToken) };
    expect((await postWebhook(nodeUrl(C), web, webhookPayload({ callId: 'for-bea', extensions: ['105'], to: { number: '105' } }))).status).toBe(200);
    expect((await bea.socket.nextEvent()).event.pbxCallId).toBe('for-bea');
  });

  it('a revocation on host C closes the agent socket on node B within 2 s', async () => {
    let closedWith: number | null = null;
    void bea.socket.socket.closed.then((code) => (closedWith = code));
    await adminOn(C, 'agent', 'revoke', '--agent', bea.agentId);
    await vi.waitFor(() => expect(closedWith).toBe(CloseCode.revoked), { timeout: 2_000, interval: 20 });
  });

  it('pairing failures add up across nodes: the tenth wrong code through any node is the last one allowed', async () => {
    const client = `203.0.113.${randomInt(1, 255)}`; // as the balancer would forward it
    const attempt = async (node: number) =>
      (await request(`${nodeUrl(node)}${PAIR_PATH}`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': client }, body: JSON.stringify({ code: 'WRONG-CODE-0000' }),
      })).statusCode;
    const answers: number[] = [];
    for (let n = 0; n < 10; n++) answers.push(await attempt(n % 3));
    expect(answers).toEqual(Array(10).fill(404));
    expect([await attempt(A), await attempt(B), await attempt(C)]).toEqual([429, 429, 429]);
  });

  it('node B killed with SIGKILL: its agents reconnect through the balancer to another node and resume with no gap and no duplicate', async () => {
    const result = await roamUnderLoad('b-kill', async () => {
      await sleep(500);
      await nodes[B]!.kill('SIGKILL');
      await sleep(1_000);
    });
    console.log(`node B SIGKILL under load: ${result.sent} calls acknowledged, lost ${result.lost}, duplicated ${result.duplicated}, reconnects ${result.reconnects}`);
    expect(result).toMatchObject({ lost: 0, duplicated: 0, resyncs: 0 });
    expect(result.reconnects).toBeGreaterThan(0); // an agent was on B
    await startNode(B);
    await allReady();
  });

  it('the Call Control lease moves to a surviving node, which reconciles with the PBX so a call answered and ended during the hand-over keeps its true outcome and talk time', async () => {
    const holds = (i: number) => nodes[i]!.lines.filter((l) => l.includes('"msg":"lease ')).at(-1)?.includes('"lease acquired"') ?? false;
    const leaseLines = () => nodes.map((n, i) => `node ${i}: ${n.lines.filter((l) => l.includes('"msg":"lease ')).join(' ')}`).join('\n');
    // A holder killed in the test before (node B) hands the lease on only once it expires.
    await vi.waitFor(() => expect(cc.sim.openSockets(), `Call Control sockets open on the PBX; lease logs:\n${leaseLines()}`).toBe(1), { timeout: 40_000 });
    const killed = [A, B, C].find(holds)!;
    const survivor = (killed + 1) % 3;
    expect(killed).toBeDefined();
    // On a survivor, so the agent's own socket outlives the kill.
    const agent = await Agent.connect(res, agentStreamUrl(nodeUrl(survivor)), cc.tokens['101']!);
    const forms = { template: false, webhook: false, callControl: true };
    const call = cc.sim.placeCall({ kind: 'inbound', from: callerNumber(7).raw, to: '101', talkSec: 2, forms });
    expect((await within(10_000, 'ringing', agent.nextEvent())).event.type).toBe('ringing');
    await nodes[killed]!.kill('SIGKILL');
    const record = await within(20_000, 'end of the call', call);
    // Over before the killed holder's lease ran out: the survivor learns its end from the PBX's call log.
    const frames = await within(40_000, 'end event', agent.eventsUntil((e) => e.type === 'ended' || e.type === 'missed'));
    expect(record.legs.map((l) => [l.dn, l.outcome])).toEqual([['101', 'answered']]);
    expect(frames.map((f) => f.event.type)).toEqual(['answered', 'ended']);
    expect(frames.at(-1)!.event.durationSec).toBe(record.legs[0]!.talkSec);
    expect(frames.at(-1)!.event.endReason).toBe('reported');
    expect([A, B, C].filter((i) => i !== killed).filter(holds)).toHaveLength(1);
    await agent.close();
    await startNode(killed);
    await allReady();
  });

  it(`${KILL_CYCLES} cycles of a random node killed with SIGKILL (and restarted) under webhook load lose and duplicate nothing`, async () => {
    const result = await roamUnderLoad('loop', async () => {
      // A node comes back in the background (a start takes seconds here) while the next is killed;
      // at least one stays up, as the balancer needs somewhere to send agents and webhooks.
      const restarting = new Map<number, Promise<unknown>>();
      for (let cycle = 0; cycle < KILL_CYCLES; cycle++) {
        const up = [A, B, C].filter((i) => !restarting.has(i));
        if (up.length < 2) await Promise.race(restarting.values());
        const candidates = [A, B, C].filter((i) => !restarting.has(i));
        const victim = candidates[randomInt(0, candidates.length)]!;
        await nodes[victim]!.kill('SIGKILL');
        restarting.set(victim, startNode(victim).finally(() => restarting.delete(victim)));
        await sleep(randomInt(500, 1_500));
      }
      await Promise.all(restarting.values());
    });
    console.log(`kill loop: ${KILL_CYCLES} SIGKILLs, ${result.sent} calls acknowledged, lost ${result.lost}, duplicated ${result.duplicated}, agent reconnects ${result.reconnects}`);
    expect(result).toMatchObject({ lost: 0, duplicated: 0, resyncs: 0 });
  }, 300_000); // 20 restarts of a bus process take minutes when other work loads the two cores
});
