// A slow-body attack from one address (127.0.0.3) against a real bus: its connections are cut off
// at the request deadline and capped per address, while webhooks, agents and a connector's long
// poll from another address (127.0.0.2; Linux routes all of 127/8 to lo) are served throughout.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent as Dispatcher, request } from 'undici';
import WebSocket from 'ws';
import { signedHeaders, webhookPayload } from '../support/ingest-harness.js';
import { connectorCommandsPath } from '../../src/bus/pbx/relay-wire.js';
import type { RunningBus } from '../../src/bus/server.js';
import { AGENT_PROTOCOL_VERSION, ServerFrameSchema, type ServerFrame } from '../../src/shared/agent-protocol.js';
import { provisionSite, Resources, startSim, startTestBus, type Site } from '../support/e2e.js';

const ATTACKER = '127.0.0.3';
const CLIENT = '127.0.0.2';
const CAP = 20;
const REQUEST_TIMEOUT_MS = 5_000;
/** Waits that span the request deadline. */
const PAST_DEADLINE = { timeout: 4 * REQUEST_TIMEOUT_MS, interval: 100 };

const res = new Resources();
let bus: RunningBus;
let site: Site;
let remote: Site;
const client = new Dispatcher({ connect: { localAddress: CLIENT } });
afterAll(async () => {
  await client.close();
  await res.cleanup();
});

beforeAll(async () => {
  bus = await startTestBus(res, {
    env: {
      RINGBRIDGE_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      RINGBRIDGE_HEADERS_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      RINGBRIDGE_MAX_CONNECTIONS_PER_ADDRESS: String(CAP),
    },
  });
  const sim = await startSim(res);
  site = await provisionSite(bus, sim, { extensions: ['101'], callControl: false, attachForms: false });
  remote = await provisionSite(bus, sim, { tenantName: 'Globex', extensions: ['201'], connectorMode: 'remote', apiKeyOnBus: false, baseUrl: 'https://pbx.unreachable.invalid', attachForms: false });
});

interface SlowBody {
  /** Everything the bus wrote back. */
  answer: string;
  closed: boolean;
}

/** A webhook POST announcing 10 kB of body and sending one byte every 200 ms. */
async function slowBody(): Promise<SlowBody> {
  const { port } = new URL(bus.url);
  const socket: Socket = res.add(connect({ host: '127.0.0.1', port: Number(port), localAddress: ATTACKER }), (s) => s.destroy());
  const state: SlowBody = { answer: '', closed: false };
  socket.on('data', (chunk: Buffer) => (state.answer += chunk.toString()));
  socket.on('error', () => undefined);
  const trickle = setInterval(() => socket.write('{'), 200);
  socket.once('close', () => {
    clearInterval(trickle);
    state.closed = true;
  });
  await once(socket, 'connect');
  socket.write(`POST /v1/pbx/${site.pbx.id}/webhook HTTP/1.1\r\nHost: bus\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n`);
  return state;
}

/** An agent socket from `localAddress`, welcomed; collects every frame after. */
async function agentFrom(localAddress: string, token: string): Promise<{ ws: WebSocket; frames: ServerFrame[] }> {
  const ws = res.add(new WebSocket(bus.wsUrl, { localAddress }), (w) => w.terminate());
  const frames: ServerFrame[] = [];
  ws.on('message', (data: Buffer) => frames.push(ServerFrameSchema.parse(JSON.parse(data.toString('utf8')))));
  await once(ws, 'open');
  ws.send(JSON.stringify({ t: 'hello', v: AGENT_PROTOCOL_VERSION, token }));
  await expect.poll(() => frames.some((f) => f.t === 'welcome'), PAST_DEADLINE).toBe(true);
  return { ws, frames };
}

async function postWebhookFrom(callId: string): Promise<number> {
  const body = JSON.stringify(webhookPayload({ callId }));
  const answer = await request(`${bus.url}/v1/pbx/${site.pbx.id}/webhook`, { method: 'POST', headers: signedHeaders(site.secrets.webhookSecrets[0]!, body), body, dispatcher: client });
  await answer.body.dump();
  return answer.statusCode;
}

const sawCall = (frames: ServerFrame[], callId: string) => frames.some((f) => f.t === 'event' && f.event.pbxCallId === callId);

describe('slow clients', () => {
  it('cuts slow bodies off at the deadline and caps them per address while other clients are served', async () => {
    // Connected before the attack, and still there after the deadline has passed several times.
    const before = await agentFrom(CLIENT, site.tokens['101']!);
    // A connector's long poll outlasting the request deadline: it has sent its whole request.
    const longPoll = request(`${bus.url}${connectorCommandsPath(remote.pbx.id)}?waitSec=${(2 * REQUEST_TIMEOUT_MS) / 1000}`, {
      headers: { authorization: `Bearer ${remote.secrets.connectorTokens[0]!}` },
      dispatcher: client,
    });

    const attack: SlowBody[] = [];
    for (let i = 0; i < CAP + 10; i++) attack.push(await slowBody());
    const refused = () => attack.filter((s) => s.closed && s.answer === '');
    // (b) Beyond the cap, the bus closes new connections from that address without reading them.
    await expect.poll(() => refused().length, PAST_DEADLINE).toBe(10);
    const held = attack.filter((s) => !refused().includes(s));
    expect(held).toHaveLength(CAP);

    // (c) Meanwhile another address is served: a webhook, and a new agent gets it as does the old one.
    const during = await agentFrom(CLIENT, site.tokens['101']!);
    expect(await postWebhookFrom('during-attack')).toBe(200);
    await expect.poll(() => sawCall(during.frames, 'during-attack') && sawCall(before.frames, 'during-attack'), PAST_DEADLINE).toBe(true);
    expect(held.filter((s) => s.closed), 'the attack still holds its connections').toEqual([]);

    // (a) Every connection the bus took is answered 408 and closed once the deadline has passed.
    await expect.poll(() => held.filter((s) => s.closed).length, PAST_DEADLINE).toBe(CAP);
    for (const s of held) expect(s.answer).toMatch(/^HTTP\/1\.1 408 /);

    // Long-lived legitimate connections outlived the deadline.
    const poll = await longPoll;
    expect([poll.statusCode, await poll.body.json()]).toEqual([200, { commands: [] }]);
    expect(before.ws.readyState).toBe(WebSocket.OPEN);
    expect(await postWebhookFrom('after-attack')).toBe(200);
    await expect.poll(() => sawCall(before.frames, 'after-attack'), PAST_DEADLINE).toBe(true);
  }, 120_000);
});
