// Recording authorisation and streaming: grants only for the agent's own calls in its own tenant,
// signed short-lived links, audio piped from the PBX without holding the file.
import { PassThrough } from 'node:stream';
import Fastify from 'fastify';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startPbxSimulator, type PbxSimulator } from '../../sim/3cx/index.js';
import { createSqliteAuditLog } from '../audit/sqlite.js';
import { createMemoryEventLog } from '../../../test/support/memory-event-log.js';
import { makeCallEvent } from '../../../test/support/make-call-event.js';
import { createPbxGateway } from '../pbx/gateway.js';
import type { PbxGateway } from '../pbx/port.js';
import { agent, eventually, fakeTenants, memoryAudit } from '../../../test/support/pbx-fakes.js';
import { recordingRoutes } from './routes.js';
import type { Agent } from '../tenants/port.js';
import { createRecordingService, type RecordingServiceOptions } from './service.js';

const SECRET = 'k'.repeat(32);
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

const alice = agent({ tenantId: 't_1', pbxId: 'pbx_1', extension: '101' });
const bob = agent({ tenantId: 't_1', pbxId: 'pbx_1', extension: '102' });
const mallory = agent({ tenantId: 't_2', pbxId: 'pbx_2', extension: '101' });

async function setup(opts: { gateway?: Pick<PbxGateway, 'openRecording' | 'makeCall'> } & Partial<Pick<RecordingServiceOptions, 'now' | 'audit' | 'maxPerMinute'>> = {}) {
  let sim: PbxSimulator | null = null;
  let gateway = opts.gateway;
  if (!gateway) {
    sim = await startPbxSimulator({ recordingBytes: 300_000 });
    cleanup.push(() => sim!.close());
    const tenants = fakeTenants();
    tenants.put({ pbx: { id: 'pbx_1', tenantId: 't_1', baseUrl: sim.baseUrl } });
    gateway = createPbxGateway({ tenants });
  }
  const log = createMemoryEventLog();
  const audit = memoryAudit();
  // The agents as the tenant store holds them now; tests revoke or move one by replacing it.
  const agents = new Map<string, Agent>([alice, bob].map((a) => [a.id, a]));
  const app = Fastify();
  const service = createRecordingService({ log, audit, agents: { getAgent: async (id) => agents.get(id) ?? null }, secret: SECRET, publicUrl: 'http://placeholder', ttlMs: 60_000, ...opts });
  await app.register(recordingRoutes, { service, gateway, audit: opts.audit ?? audit });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  cleanup.push(() => app.close());
  // The service was built before the port was known; links carry the path, tests fetch from `url`.
  const fetchLink = (link: string) => request(`${url}${new URL(link).pathname}`);
  return { sim, log, audit, agents, service, fetchLink };
}

async function recordedCall(log: ReturnType<typeof createMemoryEventLog>, recordingId: string, overrides = {}) {
  const event = makeCallEvent({ tenantId: 't_1', pbxId: 'pbx_1', type: 'recording_ready', agents: ['101'], extensions: ['101'], recording: { pbxRecordingId: recordingId, contentType: null }, ...overrides });
  await log.append(event.tenantId, event, event.id);
  return event;
}

describe('RecordingService grants', () => {
  it('gives the agent a signed link to its own call\'s recording and streams it', async () => {
    const { sim, log, audit, service, fetchLink } = await setup();
    const { recordingIds } = await sim!.placeCall({ kind: 'inbound', from: '+4930123456', to: '101' });
    const event = await recordedCall(log, String(recordingIds[0]));
    const grant = await service.grant(alice, event.id);
    expect(grant).toEqual({ ok: true, url: expect.stringMatching(/^http:\/\/placeholder\/v1\/recordings\/[\w-]+\.[\w-]+$/), expiresAt: expect.any(String) });
    const res = await fetchLink((grant as { url: string }).url);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('audio/x-wav');
    expect(res.headers['cache-control']).toBe('no-store');
    const audio = Buffer.from(await res.body.arrayBuffer());
    expect(audio.length).toBe(300_000);
    expect(audio.toString('ascii', 0, 4)).toBe('RIFF');
    await eventually(() => expect(audit.entries).toEqual([expect.objectContaining({ agentId: alice.id, action: 'recording', target: event.id, result: 'ok' })]));
  });

  it('refuses another agent\'s call, another tenant\'s call, a call on another PBX and calls without a recording', async () => {
    const { log, audit, service } = await setup({ gateway: { makeCall: vi.fn(), openRecording: vi.fn() } });
    const event = await recordedCall(log, '7');
    expect(await service.grant(bob, event.id)).toMatchObject({ ok: false, code: 'forbidden' });
    expect(await service.grant(mallory, event.id)).toMatchObject({ ok: false, code: 'not_found' });
    expect(await service.grant(agent({ tenantId: 't_1', pbxId: 'pbx_9', extension: '101' }), event.id)).toMatchObject({ ok: false, code: 'forbidden' });
    const ringing = await recordedCall(log, '8', { type: 'ringing', recording: null });
    expect(await service.grant(alice, ringing.id)).toMatchObject({ ok: false, code: 'not_found' });
    expect(await service.grant({ ...alice, revokedAt: new Date().toISOString() }, event.id)).toMatchObject({ ok: false, code: 'forbidden' });
    expect(audit.entries.map((e) => [e.agentId, e.result])).toEqual([
      [bob.id, 'denied'], [mallory.id, 'denied'], ['agt_101', 'denied'], [alice.id, 'denied'], [alice.id, 'denied'],
    ]);
  });

  it('grants a queue agent who was offered the call (in extensions)', async () => {
    const { log, service } = await setup({ gateway: { makeCall: vi.fn(), openRecording: vi.fn() } });
    const event = await recordedCall(log, '7', { agents: ['102'], extensions: ['101', '102'] });
    expect((await service.grant(alice, event.id)).ok).toBe(true);
  });
});

describe('GET /v1/recordings/:token', () => {
  it('refuses tampered and expired links', async () => {
    let clock = 1_000_000;
    const openRecording = vi.fn();
    const { log, audit, service, fetchLink } = await setup({ gateway: { makeCall: vi.fn(), openRecording }, now: () => clock });
    const event = await recordedCall(log, '7');
    const grant = (await service.grant(alice, event.id)) as { url: string };
    const [payload, mac] = new URL(grant.url).pathname.split('/').pop()!.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), r: '8' })).toString('base64url');
    const tampered = await fetchLink(`http://x/v1/recordings/${forged}.${mac}`);
    expect(tampered.statusCode).toBe(403);
    expect(tampered.headers['content-type']).toContain('application/problem+json');
    await tampered.body.dump();
    clock += 61_000;
    const expired = await fetchLink(grant.url);
    expect(expired.statusCode).toBe(403);
    expect(((await expired.body.json()) as { detail: string }).detail).toMatch(/expired/);
    expect(openRecording).not.toHaveBeenCalled();
    expect(audit.entries).toEqual([expect.objectContaining({ agentId: alice.id, result: 'denied', detail: 'link expired' })]);
  });

  it('streams: the agent receives the first bytes before the PBX has sent the rest', async () => {
    const upstream = new PassThrough();
    const { log, service, fetchLink, audit } = await setup({
      gateway: { makeCall: vi.fn(), openRecording: async () => ({ body: upstream, contentType: 'audio/x-wav', contentLength: null }) },
    });
    const event = await recordedCall(log, '7');
    const grant = (await service.grant(alice, event.id)) as { url: string };
    upstream.write(Buffer.alloc(64 * 1024, 1));
    const res = await fetchLink(grant.url);
    const reader = res.body[Symbol.asyncIterator]();
    const first = await reader.next();
    expect((first.value as Buffer).length).toBeGreaterThan(0);
    // Only now does the PBX finish; a buffering route could not have answered yet.
    upstream.end(Buffer.alloc(64 * 1024, 2));
    let total = (first.value as Buffer).length;
    for (let next = await reader.next(); !next.done; next = await reader.next()) total += (next.value as Buffer).length;
    expect(total).toBe(128 * 1024);
    await eventually(() => expect(audit.entries.at(-1)).toMatchObject({ result: 'ok' }));
  });

  it('answers 502 and audits when the PBX cannot deliver', async () => {
    const { log, service, fetchLink, audit } = await setup({
      gateway: { makeCall: vi.fn(), openRecording: async () => { throw new Error('3CX DownloadRecording(7) answered HTTP 500'); } },
    });
    const event = await recordedCall(log, '7');
    const res = await fetchLink(((await service.grant(alice, event.id)) as { url: string }).url);
    expect(res.statusCode).toBe(502);
    expect(JSON.stringify(await res.body.json())).not.toContain('DownloadRecording');
    expect(audit.entries).toEqual([expect.objectContaining({ result: 'error', detail: expect.stringContaining('HTTP 500') })]);
  });

  it('refuses a link whose agent was revoked after it was made, audits it, and limits repeated use', async () => {
    const openRecording = vi.fn();
    const audit = createSqliteAuditLog({ path: ':memory:' });
    const { log, agents, service, fetchLink } = await setup({ gateway: { makeCall: vi.fn(), openRecording }, audit, maxPerMinute: 5 });
    const event = await recordedCall(log, '7');
    const link = ((await service.grant(alice, event.id)) as { url: string }).url;
    agents.set(alice.id, { ...alice, revokedAt: new Date().toISOString() });
    const statuses = [];
    for (let i = 0; i < 20; i++) {
      const res = await fetchLink(link);
      const problem = (await res.body.json()) as { type: string; status: number };
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(problem.status).toBe(res.statusCode);
      statuses.push(problem.type.replace('urn:ringbridge:problem:', ''));
    }
    // The grant took one of the five; four refusals as revoked, then the limit.
    expect(statuses).toEqual([...Array(4).fill('agent-not-authorised'), ...Array(16).fill('too-many-requests')]);
    expect(openRecording).not.toHaveBeenCalled();
    expect((await audit.list('t_1')).map((r) => [r.agentId, r.result, r.detail, r.count])).toEqual([
      [alice.id, 'denied', 'rate_limited: At most 5 recording requests a minute; try again shortly.', 16],
      [alice.id, 'denied', 'agent revoked', 4],
    ]);
    await audit.close();
  });

  it('refuses a link once its agent belongs to another tenant', async () => {
    const openRecording = vi.fn();
    const { log, agents, audit, service, fetchLink } = await setup({ gateway: { makeCall: vi.fn(), openRecording } });
    const event = await recordedCall(log, '7');
    const link = ((await service.grant(alice, event.id)) as { url: string }).url;
    agents.set(alice.id, { ...alice, tenantId: 't_2' });
    const res = await fetchLink(link);
    expect([res.statusCode, ((await res.body.json()) as { type: string }).type]).toEqual([403, 'urn:ringbridge:problem:agent-not-authorised']);
    expect(openRecording).not.toHaveBeenCalled();
    expect(audit.entries.at(-1)).toMatchObject({ agentId: alice.id, result: 'denied', detail: 'agent not in this tenant' });
  });
});

describe('recording request limits', () => {
  it('limits grant requests per agent before checking them: a flood of refusals is two audit rows', async () => {
    const audit = createSqliteAuditLog({ path: ':memory:' });
    const { log, service } = await setup({ gateway: { makeCall: vi.fn(), openRecording: vi.fn() }, audit, maxPerMinute: 10 });
    const event = await recordedCall(log, '7');
    const codes = [];
    for (let i = 0; i < 300; i++) codes.push(((await service.grant(bob, event.id)) as { code: string }).code);
    expect(codes).toEqual([...Array(10).fill('forbidden'), ...Array(290).fill('rate_limited')]);
    expect((await service.grant(alice, event.id)).ok).toBe(true);
    expect((await audit.list('t_1')).map((r) => [r.agentId, r.detail?.split(':')[0], r.count])).toEqual([
      [bob.id, 'rate_limited', 290],
      [bob.id, 'forbidden', 10],
    ]);
    await audit.close();
  });
});
