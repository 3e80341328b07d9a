// What an operator and a load balancer see: health and readiness, the drain on shutdown, and
// logs that never hold a credential the bus handled.
import { Writable } from 'node:stream';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { webhookPayload } from '../support/ingest-harness.js';
import { createBusLogger } from '../../src/bus/logger.js';
import { CloseCode } from '../../src/shared/agent-protocol.js';
import { TestAgent } from '../support/test-agent.js';
import { Agent, callerNumber, fromCaller, pair, postWebhook, provisionSite, Resources, startSim, startTestBus } from '../support/e2e.js';

const res = new Resources();
afterAll(() => res.cleanup());

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const r = await request(url);
  return { status: r.statusCode, body: await r.body.json() };
}

describe('health, readiness and drain', () => {
  it('answers /health and /ready, then on shutdown turns unready and tells every agent to reconnect', async () => {
    const bus = await startTestBus(res, { shutdownGraceMs: 1_000 });
    const site = await provisionSite(bus, await startSim(res), { extensions: ['101'], callControl: false });
    expect(await getJson(`${bus.url}/health`)).toEqual({ status: 200, body: { status: 'ok' } });
    const agent = await Agent.connect(res, bus.wsUrl, site.tokens['101']!);
    expect(await getJson(`${bus.url}/ready`)).toEqual({ status: 200, body: { status: 'ready', sessions: 1, agents: 1 } });

    const closing = bus.close();
    expect(await agent.socket.closed).toBe(CloseCode.shutdown);
    expect(await getJson(`${bus.url}/ready`)).toMatchObject({ status: 503, body: { status: 'draining' } });
    // An agent reconnecting during the drain is turned away with the same reconnect-later code.
    const late = res.add(new TestAgent(bus.wsUrl), (s) => s.close());
    expect(await late.closed).toBe(CloseCode.shutdown);
    // Deliveries during the drain are still taken durably (the PBX is not made to retry needlessly).
    expect((await postWebhook(bus.url, site, webhookPayload({ callId: 'during-drain' }))).status).toBe(200);
    expect((await bus.log.read(site.tenantId, { since: 0, limit: 10 })).events.map((l) => l.event.pbxCallId)).toEqual(['during-drain']);
    await closing;
  });
});

describe('logs', () => {
  it('hold no pairing code, device token, webhook secret or signature, template key, connector token or recording link', async () => {
    const captured: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        captured.push(chunk.toString());
        done();
      },
    });
    const bus = await startTestBus(res, { logger: createBusLogger('trace', sink) });
    const sim = await startSim(res);
    const site = await provisionSite(bus, sim, { extensions: ['101'], callControl: false });
    const { pairingCode } = await bus.tenants.addAgent({ tenantId: site.tenantId, pbxId: site.pbx.id, extension: '102', name: 'Bob' });
    const { deviceToken } = await pair(bus.url, pairingCode);
    const agent = await Agent.connect(res, bus.wsUrl, site.tokens['101']!);
    await sim.placeCall({ kind: 'inbound', from: callerNumber(52).raw, to: '101', talkSec: 4 });
    const [ready] = (await agent.eventsUntil((e) => fromCaller(52)(e) && e.type === 'recording_ready')).slice(-1);
    // This PBX has no API client, so the download fails at the PBX; the request is logged all the same.
    agent.socket.send({ t: 'recording', reqId: 'r1', eventId: ready!.event.id });
    const link = await agent.socket.nextOf('recording_url');
    await (await request(link.url)).body.dump();
    // A forged connector post carries a bearer token in its Authorization header.
    await (await request(`${bus.url}/v1/pbx/${site.pbx.id}/connector/observations`, { method: 'POST', headers: { authorization: `Bearer ${site.secrets.connectorTokens[0]}`, 'content-type': 'application/json' }, body: '{}' })).body.dump();

    const text = captured.join('');
    expect(text).toContain('"url":"/v1/recordings/[redacted]"');
    const token = new URL(link.url).pathname.split('/').pop()!;
    for (const secret of [pairingCode, deviceToken, site.tokens['101']!, site.secrets.webhookSecrets[0]!, site.secrets.templateKeys[0]!, site.secrets.connectorTokens[0]!, token]) {
      expect(text).not.toContain(secret);
    }
    expect(sim.deliveries.some((d) => d.form === 'webhook' && d.status === 200)).toBe(true);
    expect(text).not.toMatch(/v1,[A-Za-z0-9+/=]{40,}/);
  });
});

describe('retention', () => {
  it('trims events past the retention window; an agent resuming from before it is told to resync', async () => {
    const eightDaysOn = () => Date.now() + 8 * 24 * 60 * 60 * 1000;
    const bus = await startTestBus(res, { env: { RINGBRIDGE_RETENTION_DAYS: '7' }, now: eightDaysOn, retentionSweepMs: 20 });
    const site = await provisionSite(bus, await startSim(res), { extensions: ['101'], callControl: false });
    const first = await Agent.connect(res, bus.wsUrl, site.tokens['101']!);
    expect((await postWebhook(bus.url, site, webhookPayload({ callId: 'old-call' }))).status).toBe(200);
    await first.nextEvent();
    await expect.poll(async () => (await bus.log.read(site.tenantId, { since: 0, limit: 1 })).events, { message: 'the retention sweep' }).toEqual([]);

    const resumed = await Agent.connect(res, bus.wsUrl, site.tokens['101']!, { offset: 0, epoch: first.welcome.position.epoch });
    expect([resumed.resyncReason, resumed.welcome.recovered, resumed.welcome.position.offset]).toEqual(['retention', false, 1]);
  });
});
