import Fastify, { type FastifyInstance } from 'fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AGENT_WS_PATH, CloseCode, isTerminalClose } from '../../shared/agent-protocol.js';
import type { CallEvent } from '../../shared/call-event.js';
import type { DialOutcome, DialService } from '../dial/port.js';
import type { EventLog, LogListener } from '../log/port.js';
import { createMemoryEventLog } from '../../../test/support/memory-event-log.js';
import { openSqliteEventLog } from '../log/sqlite/index.js';
import { makeCallEvent } from '../../../test/support/make-call-event.js';
import type { RecordingGrant, RecordingService } from '../recordings/port.js';
import type { Agent } from '../tenants/port.js';
import type { GatewayOptions } from './gateway.js';
import { agentGateway } from './plugin.js';
import { TestAgent } from '../../../test/support/test-agent.js';

function agent(id: string, tenantId: string, extension: string, pbxId = `pbx_${tenantId}`): Agent {
  return { id, tenantId, extension, pbxId, name: id, crmUser: null, revokedAt: null };
}

const alice = agent('ag_alice', 't_one', '101');
const bob = agent('ag_bob', 't_one', '102');
const otherTenant101 = agent('ag_other', 't_two', '101');
const secondPbx101 = agent('ag_second_pbx', 't_one', '101', 'pbx_t_one_b');
const token = (a: Agent) => `device-token-of-${a.id}`;

interface Bus {
  app: FastifyInstance;
  log: EventLog;
  url: string;
  dialled: Array<[string, string]>;
  /** Revokes as the admin CLI does: the token stops working and the store lists the agent as revoked. */
  revoke(a: Agent): void;
  /** Credential lookups made so far. */
  lookups(): number;
  connect(a: Agent, options?: { autoPong?: boolean }): Promise<TestAgent>;
  /** Appends an event for agents of a tenant's first PBX (or the given one). */
  append(a: Agent, overrides?: Partial<CallEvent>): Promise<number>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let keySeq = 0;
async function startBus(options: Partial<GatewayOptions> & { dialOutcome?: DialOutcome; grant?: RecordingGrant | Error } = {}): Promise<Bus> {
  const log = options.log ?? createMemoryEventLog();
  const devices = new Map([alice, bob, otherTenant101, secondPbx101].map((a) => [token(a), a]));
  const revocations: Array<{ agentId: string; at: number }> = [];
  let lookups = 0;
  const dialled: Array<[string, string]> = [];
  const dial: DialService = {
    async dial(a, number) {
      dialled.push([a.id, number]);
      return options.dialOutcome ?? { ok: true, e164: '+61298765432', pbxCallId: 'call-77' };
    },
    control: async () => ({ ok: true, destination: null }),
    presence: async () => ({ ok: false, e164: null, code: 'pbx_error', message: 'unused' }),
  };
  const recordings: RecordingService = {
    async grant(a, eventId) {
      if (options.grant instanceof Error) throw options.grant;
      return options.grant ?? { ok: true, url: `https://bus.example/rec/${a.id}/${eventId}`, expiresAt: '2026-05-01T10:05:00.000Z' };
    },
  };
  const app = Fastify();
  await app.register(agentGateway, {
    log,
    tenants: {
      authenticateDevice: async (t) => {
        lookups++;
        return devices.get(t) ?? null;
      },
      revokedSince: async (since) => revocations.filter((r) => r.at >= since.getTime()).map((r) => r.agentId),
    },
    dial,
    recordings,
    ...options,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => app.close());
  const { port } = app.server.address() as { port: number };
  const url = `ws://127.0.0.1:${port}${AGENT_WS_PATH}`;
  const open = async (o?: { autoPong?: boolean }) => {
    const client = new TestAgent(url, o);
    cleanups.push(async () => {
      client.close();
      await client.closed;
    });
    await client.opened;
    return client;
  };
  return {
    app,
    log,
    url,
    dialled,
    revoke(a) {
      devices.delete(token(a));
      revocations.push({ agentId: a.id, at: Date.now() });
    },
    lookups: () => lookups,
    async connect(a, o) {
      const client = await open(o);
      client.hello(token(a));
      await client.nextOf('welcome');
      return client;
    },
    async append(a, overrides = {}) {
      const event = makeCallEvent({ tenantId: a.tenantId, pbxId: a.pbxId, agents: [a.extension], ...overrides });
      return (await log.append(a.tenantId, event, `k${++keySeq}`)).offset;
    },
  };
}

async function openRaw(bus: Bus, o?: { autoPong?: boolean }): Promise<TestAgent> {
  const client = new TestAgent(bus.url, o);
  cleanups.push(async () => {
    client.close();
    await client.closed;
  });
  await client.opened;
  return client;
}

describe('authentication', () => {
  it('welcomes a known device with its own identity and the tenant log position', async () => {
    const bus = await startBus();
    await bus.append(alice);
    const client = await openRaw(bus);
    client.hello(token(alice));
    const welcome = await client.nextOf('welcome');
    expect(welcome).toMatchObject({ agentId: alice.id, tenantId: 't_one', extension: '101', recovered: false });
    expect(welcome.position.offset).toBe(1);
  });

  it('rejects an unknown or revoked token with an error frame and a terminal close', async () => {
    const bus = await startBus();
    const client = await openRaw(bus);
    client.hello('not-a-real-device-token');
    expect(await client.nextOf('error')).toMatchObject({ code: 'unauthenticated' });
    expect(await client.closed).toBe(CloseCode.unauthenticated);
  });

  it('closes a connection that never says hello', async () => {
    const bus = await startBus({ authTimeoutMs: 50 });
    const client = await openRaw(bus);
    expect(await client.closed).toBe(CloseCode.authTimeout);
  });

  it('refuses any other first frame and another protocol version', async () => {
    const bus = await startBus();
    const dialFirst = await openRaw(bus);
    dialFirst.send({ t: 'dial', reqId: 'r1', number: '+61298765432' });
    expect(await dialFirst.nextOf('error')).toMatchObject({ code: 'unauthenticated' });
    expect(await dialFirst.closed).toBe(CloseCode.unauthenticated);
    expect(bus.dialled).toEqual([]);

    const future = await openRaw(bus);
    future.send({ t: 'hello', v: 2, token: token(alice) });
    expect(await future.nextOf('error')).toMatchObject({ code: 'bad_frame' });
    expect(await future.closed).toBe(CloseCode.protocolVersion);
  });
});

describe('frame loop', () => {
  it("answers a malformed request with bad_frame carrying its reqId, so the agent's click settles at once instead of timing out", async () => {
    const bus = await startBus();
    const client = await bus.connect(alice);
    client.send({ t: 'call_control', reqId: 'c1', pbxCallId: '1234@2026-12-07T05:00:00.000Z', action: 'answer' });
    expect(await client.nextOf('error')).toMatchObject({ code: 'bad_frame', reqId: 'c1', message: expect.stringMatching(/pbxCallId/) });
    // No usable reqId, none echoed.
    client.send({ t: 'call_control', reqId: 'x'.repeat(65), pbxCallId: '1', action: 'answer' });
    expect(await client.nextOf('error')).not.toHaveProperty('reqId');
  });

  it('answers every malformed or unknown frame with bad_frame and keeps serving', async () => {
    const bus = await startBus();
    const client = await bus.connect(alice);
    for (const bad of ['not json', '{"t":"nope"}', '{"t":"dial","reqId":"r"}', '[]', 'null', JSON.stringify({ t: 'ack', offset: -1 })]) {
      client.send(bad);
      expect(await client.nextOf('error')).toMatchObject({ code: 'bad_frame' });
    }
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await client.nextOf('error')).toMatchObject({ code: 'bad_frame' });
    client.send({ t: 'hello', v: 1, token: token(bob) });
    expect(await client.nextOf('error')).toMatchObject({ code: 'bad_frame' });
    client.send({ t: 'ping' });
    await client.nextOf('pong');
    const offset = await bus.append(alice);
    expect(await client.nextOf('event')).toMatchObject({ offset, replay: false });
  });
});

describe('routing', () => {
  it('gives each agent only events for its own extension, PBX and tenant', async () => {
    const bus = await startBus();
    const clients = new Map<Agent, TestAgent>();
    for (const a of [alice, bob, otherTenant101, secondPbx101]) clients.set(a, await bus.connect(a));

    const forAlice = await bus.append(alice);
    const queueCall = await bus.append(alice, { agents: ['101', '102', '101'] });
    // Each agent's next event must be its own: anything misrouted above would arrive first.
    const own = new Map<Agent, number>();
    for (const a of [bob, otherTenant101, secondPbx101]) own.set(a, await bus.append(a));

    const a = clients.get(alice)!;
    expect((await a.nextOf('event')).offset).toBe(forAlice);
    const q = await a.nextOf('event');
    expect(q.offset).toBe(queueCall);
    expect(q.event.tenantId).toBe('t_one');
    expect((await clients.get(bob)!.nextOf('event')).offset).toBe(queueCall);
    expect((await clients.get(bob)!.nextOf('event')).offset).toBe(own.get(bob));
    const other = await clients.get(otherTenant101)!.nextOf('event');
    expect(other).toMatchObject({ offset: own.get(otherTenant101), event: { tenantId: 't_two' } });
    const second = await clients.get(secondPbx101)!.nextOf('event');
    expect(second).toMatchObject({ offset: own.get(secondPbx101), event: { pbxId: 'pbx_t_one_b' } });
    // Alice got the queue call once although her extension is listed twice, and nothing else.
    const check = await bus.append(alice);
    expect((await a.nextOf('event')).offset).toBe(check);
  });
});

describe('resume', () => {
  it('replays exactly the missed events of the agent after a disconnect, then continues live', async () => {
    const bus = await startBus();
    const first = await bus.connect(alice);
    await bus.append(alice);
    const { offset, epoch } = await first.nextOf('event');
    first.send({ t: 'ack', offset });
    first.close();
    await first.closed;

    const missedA = await bus.append(alice);
    await bus.append(bob);
    const missedB = await bus.append(alice);
    const client = await openRaw(bus);
    client.hello(token(alice), { offset, epoch });
    expect(await client.nextOf('welcome')).toMatchObject({ recovered: true, position: { offset: missedB, epoch } });
    expect(await client.nextOf('event')).toMatchObject({ offset: missedA, replay: true });
    expect(await client.nextOf('event')).toMatchObject({ offset: missedB, replay: true });
    const live = await bus.append(alice);
    expect(await client.nextOf('event')).toMatchObject({ offset: live, replay: false });
  });

  // Events appended while history is being read reach the agent once: both when the history read
  // already contains them and when it does not.
  for (const when of ['before', 'after'] as const) {
    it(`delivers events appended during replay exactly once (appended ${when} the history read)`, async () => {
      const inner = createMemoryEventLog();
      let duringReplay: (() => Promise<unknown>) | null = null;
      const log: EventLog = {
        ...inner,
        async readForAgent(tenantId, opts) {
          const hook = opts.limit > 0 ? duringReplay : null;
          if (hook) duringReplay = null;
          if (hook && when === 'before') await hook();
          const result = await inner.readForAgent(tenantId, opts);
          if (hook && when === 'after') await hook();
          return result;
        },
      };
      const bus = await startBus({ log });
      const epoch = (await log.position('t_one')).epoch;
      for (let i = 0; i < 3; i++) await bus.append(alice);
      duringReplay = async () => {
        await bus.append(alice);
        await bus.append(alice);
      };
      const client = await openRaw(bus);
      client.hello(token(alice), { offset: 1, epoch });
      await client.nextOf('welcome');
      const after = await bus.append(alice);
      const offsets: number[] = [];
      while (offsets.at(-1) !== after) offsets.push((await client.nextOf('event')).offset);
      expect(offsets).toEqual([2, 3, 4, 5, 6]);
    });
  }

  it('tells an agent from another epoch to resync, sends no history, then goes live', async () => {
    const bus = await startBus();
    await bus.append(alice);
    const client = await openRaw(bus);
    client.hello(token(alice), { offset: 1, epoch: 'an-old-epoch' });
    const resync = await client.nextOf('resync');
    expect(resync).toMatchObject({ reason: 'epoch', position: { offset: 1 } });
    expect(await client.nextOf('welcome')).toMatchObject({ recovered: false, position: resync.position });
    const live = await bus.append(alice);
    expect(await client.nextOf('event')).toMatchObject({ offset: live, replay: false });
  });

  it('tells an agent whose position is past retention to resync', async () => {
    const bus = await startBus();
    const old = new Date(Date.now() - 10 * 86_400_000).toISOString();
    for (let i = 0; i < 3; i++) await bus.append(alice, { receivedAt: old });
    await bus.append(alice);
    await bus.log.trim(new Date(Date.now() - 7 * 86_400_000));
    const { epoch } = await bus.log.position('t_one');
    const client = await openRaw(bus);
    client.hello(token(alice), { offset: 1, epoch });
    expect(await client.nextOf('resync')).toMatchObject({ reason: 'retention', position: { offset: 4 } });
    expect(await client.nextOf('welcome')).toMatchObject({ recovered: false });

    const recent = await openRaw(bus);
    recent.hello(token(alice), { offset: 3, epoch });
    expect(await recent.nextOf('welcome')).toMatchObject({ recovered: true });
    expect(await recent.nextOf('event')).toMatchObject({ offset: 4, replay: true });
  });

  it('replays exactly the missed calls of an agent while 100,000 other agents’ events were logged in its tenant', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rb-gateway-resume-'));
    const log = openSqliteEventLog({ dataDir });
    cleanups.push(async () => {
      await log.close();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const bus = await startBus({ log });
    const first = await bus.connect(alice);
    await bus.append(alice);
    const acked = await first.nextOf('event');
    first.close();
    await first.closed;

    // While Alice is away: 100,000 events of 500 other extensions of her PBX (Bob's among them),
    // with 1,200 calls to her spread through them.
    const missed: number[] = [];
    for (let chunk = 0; chunk < 100; chunk++) {
      const appends = Array.from({ length: 1_012 }, (_, i) => {
        const own = i % 84 === 41;
        const extension = own ? alice.extension : String(102 + ((chunk * 1_000 + i) % 500));
        return bus.append(alice, { agents: [extension] }).then((offset) => own && missed.push(offset));
      });
      await Promise.all(appends);
    }
    missed.sort((a, b) => a - b);
    expect(missed).toHaveLength(1_200);

    const client = await openRaw(bus);
    client.hello(token(alice), { offset: acked.offset, epoch: acked.epoch });
    expect(await client.nextOf('welcome')).toMatchObject({ recovered: true, position: { offset: acked.offset + 101_200 } });
    const replayed: number[] = [];
    while (replayed.length < missed.length) {
      const f = await client.nextOf('event');
      expect(f).toMatchObject({ replay: true, event: { pbxId: alice.pbxId, agents: [alice.extension] } });
      replayed.push(f.offset);
    }
    expect(replayed).toEqual(missed);
    // Nothing else follows the replay: the next frame is the next live call.
    const live = await bus.append(alice);
    expect(await client.nextOf('event')).toMatchObject({ offset: live, replay: false });
  }, 120_000);

  it('sends an agent away when the log under it is recreated, and resyncs it on return', async () => {
    const inner = createMemoryEventLog();
    let emit: LogListener | null = null;
    const log: EventLog = {
      ...inner,
      subscribe(listener) {
        emit = listener;
        return inner.subscribe(listener);
      },
    };
    const bus = await startBus({ log });
    const client = await bus.connect(alice);
    const first = await bus.append(alice);
    const { epoch } = await client.nextOf('event');
    // What a node sees after Redis lost the stream: offsets start again under a new epoch.
    emit!('t_one', { offset: 1, event: makeCallEvent({ tenantId: 't_one', pbxId: alice.pbxId, agents: ['101'] }) }, 'a-new-epoch');
    expect(await client.closed).toBe(CloseCode.shutdown);
    const back = await openRaw(bus);
    back.hello(token(alice), { offset: first, epoch: 'a-new-epoch' });
    expect(await back.nextOf('resync')).toMatchObject({ reason: 'epoch', position: { epoch } });
  });
});

describe('backpressure and liveness', () => {
  it('closes a consumer that stops reading while the others keep receiving, and counts the close once', async () => {
    const counted = { slowConsumerClosed: 0, delivered: 0 };
    const meter = { delivered: () => counted.delivered++, slowConsumerClosed: () => counted.slowConsumerClosed++, resynced() {} };
    const bus = await startBus({ maxBufferedBytes: 64 * 1024, meter });
    const slow = await bus.connect(alice);
    const fast = await bus.connect(bob);
    slow.ws.pause(); // stops reading from the TCP socket
    const bulky = { agents: ['101', '102'], extensions: Array.from({ length: 256 }, (_, i) => String(1000 + i)) };
    for (let round = 0; round < 500 && bus.app.agentGateway.stats().agents === 2; round++) {
      const offsets: number[] = [];
      for (let i = 0; i < 50; i++) offsets.push(await bus.append(alice, bulky));
      for (const offset of offsets) expect((await fast.nextOf('event')).offset).toBe(offset);
    }
    expect(bus.app.agentGateway.stats().agents).toBe(1);
    const after = await bus.append(bob);
    expect((await fast.nextOf('event')).offset).toBe(after);
    slow.ws.resume();
    expect(await slow.closed).toBe(CloseCode.slowConsumer);
    expect(counted.slowConsumerClosed).toBe(1);
    expect(counted.delivered).toBeGreaterThan(0);
  });

  it('drops a connection that stops answering pings', async () => {
    const bus = await startBus({ heartbeatMs: 30 });
    const alive = await bus.connect(bob);
    const dead = await bus.connect(alice, { autoPong: false });
    expect(await dead.closed).toBe(1006); // terminated: no close frame
    alive.send({ t: 'ping' });
    await alive.nextOf('pong');
  });

  it('closes a live connection when its agent is revoked, leaving the others', async () => {
    const bus = await startBus({ revocationPollMs: 20 });
    const client = await bus.connect(alice);
    const other = await bus.connect(bob);
    bus.revoke(alice);
    expect(await client.closed).toBe(CloseCode.revoked);
    other.send({ t: 'ping' });
    await other.nextOf('pong');
    // The revoked credential no longer opens a connection.
    const again = await openRaw(bus);
    again.hello(token(alice));
    expect(await again.closed).toBe(CloseCode.unauthenticated);
  });

  it('checks credentials once per connection, not on every heartbeat', async () => {
    const bus = await startBus({ heartbeatMs: 20 });
    const client = await bus.connect(alice);
    let pings = 0;
    client.ws.on('ping', () => pings++);
    await vi.waitFor(() => expect(pings).toBeGreaterThanOrEqual(3), { timeout: 15_000 });
    expect(bus.lookups()).toBe(1);
  });

  it('disconnects one agent on demand and tells every agent to come back on shutdown', async () => {
    const bus = await startBus();
    const a = await bus.connect(alice);
    const b = await bus.connect(bob);
    expect(bus.app.agentGateway.disconnectAgent(alice.id, CloseCode.revoked)).toBe(1);
    expect(await a.closed).toBe(CloseCode.revoked);
    await bus.app.close();
    expect(await b.closed).toBe(CloseCode.shutdown);
  });
});

describe('requests', () => {
  it('routes a dial request to the dial service as the authenticated agent', async () => {
    const bus = await startBus();
    const client = await bus.connect(alice);
    client.send({ t: 'dial', reqId: 'd1', number: '02 9876 5432' });
    expect(await client.nextOf('dial_result')).toEqual({ t: 'dial_result', reqId: 'd1', ok: true, e164: '+61298765432', pbxCallId: 'call-77', error: null });
    expect(bus.dialled).toEqual([[alice.id, '02 9876 5432']]);
  });

  it('returns the dial service’s refusal', async () => {
    const bus = await startBus({ dialOutcome: { ok: false, e164: '+19005550100', code: 'dial_policy', message: 'premium numbers are blocked' } });
    const client = await bus.connect(alice);
    client.send({ t: 'dial', reqId: 'd2', number: '+19005550100' });
    expect(await client.nextOf('dial_result')).toMatchObject({ ok: false, pbxCallId: null, error: { code: 'dial_policy' } });
  });

  it('answers a recording request with the granted URL or the refusal', async () => {
    const granted = await startBus();
    const a = await granted.connect(alice);
    a.send({ t: 'recording', reqId: 'r1', eventId: 'evt_1234567' });
    expect(await a.nextOf('recording_url')).toMatchObject({ reqId: 'r1', url: `https://bus.example/rec/${alice.id}/evt_1234567` });

    const refused = await startBus({ grant: { ok: false, code: 'forbidden', message: 'not your call' } });
    const b = await refused.connect(alice);
    b.send({ t: 'recording', reqId: 'r2', eventId: 'evt_1234567' });
    expect(await b.nextOf('error')).toEqual({ t: 'error', code: 'forbidden', message: 'not your call', reqId: 'r2' });

    const broken = await startBus({ grant: new Error('xapi down') });
    const c = await broken.connect(alice);
    c.send({ t: 'recording', reqId: 'r3', eventId: 'evt_1234567' });
    expect(await c.nextOf('error')).toMatchObject({ code: 'internal', reqId: 'r3' });
    c.send({ t: 'ping' });
    await c.nextOf('pong');
  });
});

describe('limits per socket and per device', () => {
  it('closes a socket that floods frames after hello, at the default budget, and keeps serving the other agents', async () => {
    const bus = await startBus();
    const flooder = await bus.connect(alice);
    const colleague = await bus.connect(bob);
    for (let i = 0; i < 20_000; i++) flooder.send(i % 2 ? { t: 'ping' } : 'not json');
    expect(await flooder.closed).toBe(CloseCode.rateLimited);
    colleague.send({ t: 'ping' });
    await colleague.nextOf('pong');
    const offset = await bus.append(bob);
    expect((await colleague.nextOf('event')).offset).toBe(offset);
    expect(bus.app.agentGateway.stats()).toEqual({ sessions: 1, agents: 1 });
  });

  it('closes a socket that floods frames before its hello', async () => {
    const bus = await startBus();
    const raw = await openRaw(bus);
    for (let i = 0; i < 100; i++) raw.send('not json');
    raw.hello(token(alice));
    expect(await raw.closed).toBe(CloseCode.rateLimited);
    expect(bus.lookups()).toBe(0);
  });

  it('lets an agent ack every event of a long replay without spending its budget, but not repeat an ack', async () => {
    const bus = await startBus({ frameBurst: 20, frameRate: 1 });
    const epoch = (await bus.log.position('t_one')).epoch;
    const missed: number[] = [];
    for (let i = 0; i < 300; i++) missed.push(await bus.append(alice));
    const client = await openRaw(bus);
    client.hello(token(alice), { offset: 0, epoch });
    await client.nextOf('welcome');
    const received: number[] = [];
    while (received.length < missed.length) {
      const { offset } = await client.nextOf('event');
      client.send({ t: 'ack', offset });
      received.push(offset);
    }
    expect(received).toEqual(missed);
    const live = await bus.append(alice);
    expect((await client.nextOf('event')).offset).toBe(live);
    for (let i = 0; i < 100; i++) client.send({ t: 'ack', offset: live - 1 });
    expect(await client.closed).toBe(CloseCode.rateLimited);
  });

  it('keeps at most two sessions per device token by default: a newer one closes the oldest with a terminal code', async () => {
    const bus = await startBus();
    const first = await bus.connect(alice);
    const second = await bus.connect(alice);
    const colleague = await bus.connect(bob);
    const third = await bus.connect(alice);
    await expect.poll(() => bus.app.agentGateway.stats().agents).toBe(3);
    expect(await first.closed).toBe(CloseCode.replaced);
    expect(isTerminalClose(CloseCode.replaced)).toBe(true);
    const offset = await bus.append(alice, { agents: ['101', '102'] });
    for (const client of [second, third, colleague]) expect((await client.nextOf('event')).offset).toBe(offset);
  });
});
