// Garbage and forgeries through the real bus: each gets a 4xx problem+json, nothing reaches the
// log or any agent, and the bus keeps serving (the next good delivery is the agent's next event).
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedHeaders, webhookPayload } from '../support/ingest-harness.js';
import type { RunningBus } from '../../src/bus/server.js';
import { Agent, postWebhook, provisionSite, Resources, startSim, startTestBus, type HttpAnswer, type Site } from '../support/e2e.js';

const res = new Resources();
let bus: RunningBus;
let site: Site;
let other: Site;
afterAll(() => res.cleanup());

beforeAll(async () => {
  bus = await startTestBus(res);
  site = await provisionSite(bus, await startSim(res), { extensions: ['101'], callControl: false });
  other = await provisionSite(bus, await startSim(res), { tenantName: 'Globex', extensions: ['101'], callControl: false });
});

const ringing = (callId: string) => webhookPayload({ callId, from: { number: '0298760042', name: null } });

function expectProblem(answer: HttpAnswer, status: number): void {
  expect(answer.status).toBe(status);
  expect(answer.contentType).toMatch(/^application\/problem\+json/);
  expect(answer.body).toMatchObject({ status, type: expect.stringMatching(/^urn:ringbridge:problem:/), title: expect.any(String), detail: expect.any(String) });
}

describe('bad input end to end', () => {
  it('refuses unsigned, forged, stale, reused-id, malformed and misaddressed deliveries without pushing anything', async () => {
    const agent = await Agent.connect(res, bus.wsUrl, site.tokens['101']!);
    const top = agent.welcome.position.offset;
    const body = JSON.stringify(ringing('bad-1'));
    const secret = site.secrets.webhookSecrets[0]!;
    const accepted = JSON.stringify(ringing('replayed-1'));
    const acceptedHeaders = signedHeaders(secret, accepted);
    expect((await postWebhook(bus.url, site, accepted, acceptedHeaders)).status).toBe(200);
    await agent.nextEvent();

    const cases: Array<[string, () => Promise<HttpAnswer>, number]> = [
      ['unsigned', () => postWebhook(bus.url, site, body, { 'content-type': 'application/json' }), 401],
      ['signed with another tenant\'s secret', () => postWebhook(bus.url, site, body, signedHeaders(other.secrets.webhookSecrets[0]!, body)), 401],
      ['body changed after signing', () => postWebhook(bus.url, site, body.replace('0298760042', '0298760043'), signedHeaders(secret, body)), 401],
      ['timestamp 10 minutes old', () => postWebhook(bus.url, site, body, signedHeaders(secret, body, { at: new Date(Date.now() - 10 * 60_000) })), 401],
      ['an accepted delivery id reused with another body', () => {
        const reused = accepted.replace('0298760042', '0298760043');
        return postWebhook(bus.url, site, reused, signedHeaders(secret, reused, { id: acceptedHeaders['webhook-id'] }));
      }, 409],
      ['signed but not JSON', () => postWebhook(bus.url, site, '{"type":', signedHeaders(secret, '{"type":')), 400],
      ['signed JSON that is not a call', () => postWebhook(bus.url, site, '{"type":"call.ringing","data":{}}', signedHeaders(secret, '{"type":"call.ringing","data":{}}')), 422],
      ['unknown PBX', () => postWebhook(bus.url, { ...site, pbx: { ...site.pbx, id: 'pbx_nope' } }, body), 404],
      ['oversized', () => postWebhook(bus.url, site, JSON.stringify({ ...ringing('big'), pad: 'x'.repeat(2 * 1024 * 1024) })), 413],
      ['CRM-template lookup without its key', () => get(`/v1/pbx/${site.pbx.id}/3cx/lookup?number=0298760042&direction=Inbound&agent=101`), 401],
      ['connector post without its token', () => postJson(`/v1/pbx/${site.pbx.id}/connector/observations`, { observations: [] }), 401],
    ];
    for (const [name, send, status] of cases) {
      const answer = await send();
      expect.soft(answer.status, name).toBe(status);
      expectProblem(answer, status);
    }

    // Nothing of the above is in the log or on the socket: the next event is the next good delivery.
    expect((await bus.log.position(site.tenantId)).offset).toBe(top + 1);
    expect((await postWebhook(bus.url, site, ringing('good-1'))).status).toBe(200);
    const next = await agent.nextEvent();
    expect([next.offset, next.event.pbxCallId]).toEqual([top + 2, 'good-1']);
  });

  it('a malformed agent frame gets an error frame and the connection keeps working', async () => {
    const agent = await Agent.connect(res, bus.wsUrl, site.tokens['101']!);
    agent.socket.send('{"t":"dial","reqId":');
    expect(await agent.socket.next()).toMatchObject({ t: 'error', code: 'bad_frame' });
    agent.socket.send({ t: 'subscribe', tenant: other.tenantId });
    expect(await agent.socket.next()).toMatchObject({ t: 'error', code: 'bad_frame' });
    agent.socket.send({ t: 'ping' });
    expect(await agent.socket.next()).toEqual({ t: 'pong' });
  });
});

async function get(path: string): Promise<HttpAnswer> {
  const r = await request(`${bus.url}${path}`);
  return { status: r.statusCode, contentType: String(r.headers['content-type']), body: await r.body.json() };
}

async function postJson(path: string, payload: unknown): Promise<HttpAnswer> {
  const r = await request(`${bus.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  return { status: r.statusCode, contentType: String(r.headers['content-type']), body: await r.body.json() };
}
