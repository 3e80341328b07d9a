// End-to-end fixtures: a real bus (startBus: SQLite in a temp dir, real loopback HTTP/WS), tenants
// provisioned the way an admin would (PBX pointing at a 3CX simulator, agents paired over HTTP),
// and agent sockets speaking the shared protocol. Waits are on conditions, never on sleeps.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { PAIR_PATH, PairResponseSchema } from '../../src/shared/pairing.js';
import type { EventFrame as EventFrameSchema, Position, ServerFrame, WelcomeFrame } from '../../src/shared/agent-protocol.js';
import type { CallEvent } from '../../src/shared/call-event.js';
import type { z } from 'zod';
import { loadConfig } from '../../src/bus/config.js';
import { signedHeaders } from './ingest-harness.js';
import { startBus, type RunningBus, type StartBusOptions } from '../../src/bus/server.js';
import { TestAgent } from './test-agent.js';
import type { Pbx, PbxSecrets, TenantStore } from '../../src/bus/tenants/port.js';
import { startPbxSimulator, type PbxSimulator, type PbxSimulatorOptions } from '../../src/sim/3cx/index.js';

export type EventFrame = z.infer<typeof EventFrameSchema>;
export type Welcome = z.infer<typeof WelcomeFrame>;

/** The simulator's default API client (route point 900). */
export const SIM_CLIENT = { clientId: '900', secret: 'sim-api-key' };

/** Connector settings that keep tests quick: fast reconnects, recordings looked up every 20 ms. */
export const FAST_CONNECTORS: StartBusOptions['connectors'] = {
  backoff: { baseMs: 10, capMs: 100 },
  recordingPoll: { attempts: 50, intervalMs: 20 },
};

/** Everything a test started, closed in reverse order by `cleanup()`. */
export class Resources {
  private readonly closers: Array<() => Promise<unknown> | unknown> = [];

  add<T>(value: T, close: (value: T) => Promise<unknown> | unknown): T {
    this.closers.push(() => close(value));
    return value;
  }

  tempDir(prefix = 'rb-e2e-'): string {
    return this.add(mkdtempSync(join(tmpdir(), prefix)), (dir) => rmSync(dir, { recursive: true, force: true }));
  }

  async cleanup(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close();
  }
}

export function busEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { RINGBRIDGE_DATA_DIR: dataDir, RINGBRIDGE_PORT: '0', RINGBRIDGE_HOST: '127.0.0.1', RINGBRIDGE_LOG_LEVEL: 'silent', ...extra };
}

/** A bus in this process on a fresh data directory (or the given one). */
export async function startTestBus(res: Resources, opts: StartBusOptions & { dataDir?: string; env?: Record<string, string> } = {}): Promise<RunningBus> {
  const { dataDir = res.tempDir(), env = {}, ...options } = opts;
  const bus = await startBus(loadConfig(busEnv(dataDir, env)), { shutdownGraceMs: 0, connectors: FAST_CONNECTORS, ...options });
  return res.add(bus, (b) => b.close());
}

export async function startSim(res: Resources, opts: PbxSimulatorOptions = {}): Promise<PbxSimulator> {
  return res.add(await startPbxSimulator(opts), (s) => s.close());
}

export interface Site {
  tenantId: string;
  pbx: Pbx;
  secrets: PbxSecrets;
  /** Device token per extension, obtained by pairing over HTTP. */
  tokens: Record<string, string>;
}

/**
 * What the admin does for one PBX: tenant (new or given), the PBX pointing at the simulator with
 * its API client, one agent per extension, each paired over POST /v1/pair like the app does.
 */
export async function provisionSite(
  bus: { url: string; tenants: TenantStore },
  sim: PbxSimulator,
  opts: {
    tenantId?: string;
    tenantName?: string;
    extensions: string[];
    connectorMode?: 'bus' | 'remote';
    callControl?: boolean;
    attachForms?: boolean;
    /** false: the bus gets the client id but not the API key (remote mode, connector owns the token). */
    apiKeyOnBus?: boolean;
    /** The PBX address the bus is given; default the simulator's. */
    baseUrl?: string;
  },
): Promise<Site> {
  const tenantId = opts.tenantId ?? (await bus.tenants.createTenant({ name: opts.tenantName ?? 'Acme' })).id;
  const callControl = opts.callControl ?? true;
  const { pbx, secrets } = await bus.tenants.addPbx({
    tenantId,
    name: 'Main office',
    baseUrl: opts.baseUrl ?? sim.baseUrl,
    defaultCountry: 'AU',
    apiClientId: callControl ? SIM_CLIENT.clientId : null,
    apiClientSecret: callControl && (opts.apiKeyOnBus ?? true) ? SIM_CLIENT.secret : null,
    connectorMode: opts.connectorMode ?? 'bus',
  });
  if (opts.attachForms ?? true) {
    sim.attachBus({ url: bus.url, pbxId: pbx.id, templateKey: secrets.templateKeys[0], webhookSecret: secrets.webhookSecrets[0] });
  }
  const tokens: Record<string, string> = {};
  for (const extension of opts.extensions) {
    const { pairingCode } = await bus.tenants.addAgent({ tenantId, pbxId: pbx.id, extension, name: `Agent ${extension}` });
    tokens[extension] = (await pair(bus.url, pairingCode)).deviceToken;
  }
  return { tenantId, pbx, secrets, tokens };
}

/** Starts the in-bus connector for PBXs added since start (the bus also does this periodically) and waits for its first state read. */
export async function connectorReady(bus: RunningBus, pbxId: string): Promise<void> {
  await bus.connectors.refresh();
  const connector = bus.connectors.connectors.get(pbxId);
  if (!connector) throw new Error(`no in-bus connector for ${pbxId}`);
  await new Promise<void>((resolve) => connector.once('ready', () => resolve()));
}

export async function pair(busUrl: string, code: string) {
  const res = await request(`${busUrl}${PAIR_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
  const body = await res.body.json();
  if (res.statusCode !== 200) throw new Error(`pairing failed: ${res.statusCode} ${JSON.stringify(body)}`);
  return PairResponseSchema.parse(body);
}

/** An agent connection that has been welcomed; remembers the last event position it saw. */
export class Agent {
  last: Position;

  private constructor(
    readonly socket: TestAgent,
    readonly welcome: Welcome,
    /** Why the bus refused the resume position (resync frame before the welcome), if it did. */
    readonly resyncReason: 'retention' | 'epoch' | null,
  ) {
    this.last = welcome.position;
  }

  static async connect(res: Resources, wsUrl: string, token: string, resume?: Position): Promise<Agent> {
    const socket = res.add(new TestAgent(wsUrl), (s) => s.close());
    await socket.opened;
    socket.hello(token, resume);
    let first = await socket.next();
    const resyncReason = first.t === 'resync' ? first.reason : null;
    if (resyncReason) first = await socket.next();
    if (first.t !== 'welcome') throw new Error(`expected welcome, got ${JSON.stringify(first)}`);
    return new Agent(socket, first, resyncReason);
  }

  /** The bus's answer to the request `reqId` (a dial or a recording request), frames before it skipped. */
  async reply(reqId: string): Promise<ServerFrame> {
    for (;;) {
      const frame = await this.socket.next();
      if ('reqId' in frame && frame.reqId === reqId) return frame;
    }
  }

  async nextEvent(): Promise<EventFrame> {
    const frame = await this.socket.nextOf('event');
    this.last = { offset: frame.offset, epoch: frame.epoch };
    return frame;
  }

  /** Every event up to and including the first one `stop` accepts. */
  async eventsUntil(stop: (event: CallEvent) => boolean): Promise<EventFrame[]> {
    const frames: EventFrame[] = [];
    for (;;) {
      const frame = await this.nextEvent();
      frames.push(frame);
      if (stop(frame.event)) return frames;
    }
  }

  async take(n: number): Promise<EventFrame[]> {
    const frames: EventFrame[] = [];
    while (frames.length < n) frames.push(await this.nextEvent());
    return frames;
  }

  close(): Promise<number> {
    this.socket.close();
    return this.socket.closed;
  }
}

export interface HttpAnswer {
  status: number;
  contentType: string;
  body: unknown;
}

/** Posts a webhook delivery to a PBX's ingest URL; `headers` defaults to a valid signature with the PBX's current secret. */
export async function postWebhook(busUrl: string, site: Pick<Site, 'pbx' | 'secrets'>, payload: unknown, headers?: Record<string, string>): Promise<HttpAnswer> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const res = await request(`${busUrl}/v1/pbx/${site.pbx.id}/webhook`, { method: 'POST', headers: headers ?? signedHeaders(site.secrets.webhookSecrets[0]!, body), body });
  const text = await res.body.text();
  return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), body: text ? (JSON.parse(text) as unknown) : null };
}

/** A distinct Australian caller per call, so a test can tell its calls apart in any form. */
export function callerNumber(n: number): { raw: string; e164: string } {
  const local = String(98_760_000 + n).padStart(8, '0');
  return { raw: `02 ${local.slice(0, 4)} ${local.slice(4)}`, e164: `+612${local}` };
}

export const fromCaller = (n: number) => (event: CallEvent) => event.caller.e164 === callerNumber(n).e164;

/** Polls `probe` until it yields a value: for code the bench runs too, outside vitest (tests use expect.poll). */
export async function waitFor<T>(probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
