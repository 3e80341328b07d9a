// What an operator's Prometheus and load balancer see: /metrics (bearer token only) moving with
// real traffic, /health, and /ready turning 503 when a storage engine stops answering or the
// node drains.
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, callerNumber, connectorReady, postWebhook, provisionSite, Resources, startSim, startTestBus } from '../../test/support/e2e.js';
import { webhookPayload } from '../../test/support/ingest-harness.js';
import { startRedis } from '../../test/support/redis-server.js';
import { PAIR_PATH } from '../shared/pairing.js';
import { TEMPLATE_KEY_HEADER } from './ingest/crm-template/wire.js';

const TOKEN = 'metrics-token-0123456789';

const res = new Resources();
afterEach(() => res.cleanup());

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; text: string }> {
  const r = await request(url, { headers });
  return { status: r.statusCode, type: String(r.headers['content-type'] ?? ''), text: await r.body.text() };
}

/** The value of one sample in Prometheus text exposition (0 when absent), matched on every given label. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
}

describe('/metrics', () => {
  it('counts a webhook, a template lookup, a connected agent and its delivery, a rate-limit refusal and the connector, for the token bearer only', async () => {
    const bus = await startTestBus(res, { env: { RINGBRIDGE_METRICS_TOKEN: TOKEN } });
    const sim = await startSim(res);
    const site = await provisionSite(bus, sim, { extensions: ['101'], attachForms: false });
    await connectorReady(bus, site.pbx.id);
    const scrape = async () => {
      const r = await get(`${bus.url}/metrics`, { authorization: `Bearer ${TOKEN}` });
      expect(r.status).toBe(200);
      expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
      return r.text;
    };

    expect((await get(`${bus.url}/metrics`)).status).toBe(401);
    expect((await get(`${bus.url}/metrics`, { authorization: 'Bearer not-the-token-at-all' })).status).toBe(401);

    const agent = await Agent.connect(res, bus.wsUrl, site.tokens['101']!);
    let text = await scrape();
    expect(sample(text, 'ringbridge_agents_connected')).toBe(1);
    expect(sample(text, 'ringbridge_call_control_connectors', { state: 'connected' })).toBe(1);
    expect(sample(text, 'ringbridge_call_control_lease_held')).toBe(1);
    expect(sample(text, 'ringbridge_send_queue_bytes')).toBeGreaterThanOrEqual(0);

    const payload = webhookPayload({ callId: 'metrics-1', from: { number: callerNumber(1).raw, name: null }, extensions: ['101'] });
    expect((await postWebhook(bus.url, site, payload)).status).toBe(200);
    await agent.eventsUntil((e) => e.caller.e164 === callerNumber(1).e164);
    expect((await postWebhook(bus.url, site, payload, { 'content-type': 'application/json' })).status).toBe(401);
    const lookup = await request(`${bus.url}/v1/pbx/${site.pbx.id}/3cx/lookup?number=${encodeURIComponent(callerNumber(2).raw)}&agent=101`, {
      headers: { [TEMPLATE_KEY_HEADER]: site.secrets.templateKeys[0]! },
    });
    expect(lookup.statusCode).toBe(200);
    await lookup.body.dump();
    // Ten wrong codes per window are allowed; the eleventh attempt is refused by the limiter.
    for (let i = 0; i <= 10; i++) {
      const r = await request(`${bus.url}${PAIR_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'WRONG-CODE' }) });
      await r.body.dump();
    }

    text = await scrape();
    expect(sample(text, 'ringbridge_events_ingested_total', { form: 'webhook', outcome: 'stored' })).toBe(1);
    expect(sample(text, 'ringbridge_events_ingested_total', { form: 'webhook', outcome: 'refused' })).toBe(1);
    expect(sample(text, 'ringbridge_events_ingested_total', { form: 'crm-template', outcome: 'stored' })).toBe(1);
    expect(sample(text, 'ringbridge_crm_template_requests_total', { op: 'lookup', status: '200' })).toBe(1);
    expect(sample(text, 'ringbridge_log_append_seconds_count')).toBe(2);
    expect(sample(text, 'ringbridge_delivery_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'ringbridge_rate_limit_refusals_total', { limiter: 'pair-failures' })).toBe(1);
    expect(sample(text, 'ringbridge_slow_consumer_closes_total')).toBe(0);
    expect(sample(text, 'ringbridge_resyncs_total', { reason: 'epoch' })).toBe(0);

    // An app resuming in a log that no longer exists (another epoch) is told to resync.
    const resumed = await Agent.connect(res, bus.wsUrl, site.tokens['101']!, { offset: 1, epoch: 'an-old-epoch' });
    expect(resumed.resyncReason).toBe('epoch');
    expect(sample(await scrape(), 'ringbridge_resyncs_total', { reason: 'epoch' })).toBe(1);
    // No label carries a tenant, PBX or agent id.
    expect(text).not.toContain(site.tenantId);
    expect(text).not.toContain(site.pbx.id);
  }, 30_000);

  it('does not exist without RINGBRIDGE_METRICS_TOKEN', async () => {
    const bus = await startTestBus(res);
    expect((await get(`${bus.url}/metrics`)).status).toBe(404);
    expect((await get(`${bus.url}/health`)).status).toBe(200);
  });
});

describe('/ready', () => {
  it('answers 503 once Redis stops answering, while /health stays 200', async () => {
    const redis = await startRedis();
    const bus = await startTestBus(res, { env: { RINGBRIDGE_REDIS_URL: redis.url } });
    expect((await get(`${bus.url}/ready`)).status).toBe(200);
    await redis.stop();
    const ready = await get(`${bus.url}/ready`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.text)).toMatchObject({ status: 'storage-unreachable' });
    expect((await get(`${bus.url}/health`)).status).toBe(200);
  }, 30_000);

  it('answers 503 while the node drains, before its connections close', async () => {
    const bus = await startTestBus(res);
    expect((await get(`${bus.url}/ready`)).status).toBe(200);
    bus.app.drain();
    const ready = await get(`${bus.url}/ready`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.text)).toMatchObject({ status: 'draining' });
  });
});
