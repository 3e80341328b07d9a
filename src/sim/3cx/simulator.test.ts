// The simulator must speak the wire 3CX V20 speaks (src/sim/3cx/NOTES.md), or every test built on it lies.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/support/pbx-fakes.js';
import WebSocket from 'ws';
import { JournalBodySchema, LookupQuerySchema } from '../../bus/ingest/crm-template/wire.js';
import { WebhookCallPayloadSchema } from '../../bus/ingest/webhook/payload.js';
import { startPbxSimulator, type PbxSimulator } from './simulator.js';

let sim: PbxSimulator | undefined;
const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await sim?.close();
  sim = undefined;
});

async function token(base: string, encoding: 'multipart' | 'urlencoded' = 'multipart', secret = 'sim-api-key') {
  const fields = { client_id: '900', client_secret: secret, grant_type: 'client_credentials' };
  let body: FormData | string;
  const headers: Record<string, string> = {};
  if (encoding === 'multipart') {
    body = new FormData();
    for (const [k, v] of Object.entries(fields)) body.set(k, v);
  } else {
    body = new URLSearchParams(fields).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const res = await fetch(`${base}/connect/token`, { method: 'POST', body, headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function get(base: string, path: string, bearer?: string) {
  const res = await request(`${base}${path}`, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text ? (JSON.parse(text) as unknown) : null };
}

/** A minimal official-style watcher: connects with the bearer, re-GETs every Upsert entity. */
async function watch(base: string, bearer: string) {
  const frames: Array<{ sequence: number; event: { event_type: number; entity: string; attached_data: unknown } }> = [];
  const reads: Array<Record<string, unknown> | null> = [];
  const ws = new WebSocket(`${base.replace('http', 'ws')}/callcontrol/ws`, { headers: { authorization: `Bearer ${bearer}` } });
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as (typeof frames)[number];
    frames.push(frame);
    if (frame.event.event_type === 0) void get(base, frame.event.entity, bearer).then((r) => reads.push(r.status === 200 ? (r.body as Record<string, unknown>) : null));
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  closers.push(() => ws.close());
  return { ws, frames, reads };
}

describe('3CX simulator: OAuth client credentials (NOTES 1.2)', () => {
  it('issues bearer tokens to multipart and urlencoded requests, in seconds', async () => {
    sim = await startPbxSimulator({ tokenTtlSec: 1800 });
    for (const encoding of ['multipart', 'urlencoded'] as const) {
      const { status, body } = await token(sim.baseUrl, encoding);
      expect(status).toBe(200);
      expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 1800 });
      expect(typeof body.access_token).toBe('string');
    }
  });

  it('reports minutes like 3CX before 20.0.9 when asked to', async () => {
    sim = await startPbxSimulator({ tokenTtlSec: 3600, expiresInUnit: 'minutes' });
    expect((await token(sim.baseUrl)).body.expires_in).toBe(60);
  });

  it('answers a wrong secret with an OAuth error body', async () => {
    sim = await startPbxSimulator();
    const { status, body } = await token(sim.baseUrl, 'multipart', 'wrong');
    expect(status).toBe(400);
    expect(body).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
  });

  it('keeps one active token per client: a new one kills the old', async () => {
    sim = await startPbxSimulator();
    const first = (await token(sim.baseUrl)).body.access_token as string;
    expect((await get(sim.baseUrl, '/callcontrol', first)).status).toBe(200);
    const second = (await token(sim.baseUrl)).body.access_token as string;
    expect((await get(sim.baseUrl, '/callcontrol', first)).status).toBe(401);
    expect((await get(sim.baseUrl, '/callcontrol', second)).status).toBe(200);
    sim.faults.expireTokens();
    expect((await get(sim.baseUrl, '/callcontrol', second)).status).toBe(401);
  });
});

describe('3CX simulator: Call Control REST (NOTES 2.1-2.3)', () => {
  it('needs a bearer and shows only monitored DNs', async () => {
    sim = await startPbxSimulator({ clients: [{ clientId: '900', secret: 'sim-api-key', monitored: ['101'] }] });
    const bearer = (await token(sim.baseUrl)).body.access_token as string;
    expect((await get(sim.baseUrl, '/callcontrol')).status).toBe(401);
    const all = await get(sim.baseUrl, '/callcontrol', bearer);
    expect((all.body as Array<{ dn: string }>).map((d) => d.dn).sort()).toEqual(['101', '900']);
    expect((await get(sim.baseUrl, '/callcontrol/102', bearer)).status).toBe(403);
    const one = await get(sim.baseUrl, '/callcontrol/101', bearer);
    expect(one.body).toEqual({ dn: '101', type: 'Wextension', devices: [expect.objectContaining({ dn: '101', device_id: expect.any(String), user_agent: expect.any(String) })], participants: [] });
  });

  it('places calls from a device or the DN and answers CallControlResultResponse', async () => {
    sim = await startPbxSimulator();
    const bearer = (await token(sim.baseUrl)).body.access_token as string;
    const [device] = (await get(sim.baseUrl, '/callcontrol/101/devices', bearer)).body as Array<{ device_id: string }>;
    const post = (path: string) =>
      request(`${sim!.baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify({ destination: '+4930123456' }) }).then(async (r) => ({ status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> }));
    const viaDevice = await post(`/callcontrol/101/devices/${encodeURIComponent(device!.device_id)}/makecall`);
    expect(viaDevice.body).toMatchObject({ finalstatus: 1, reason: expect.any(String), reasontext: expect.any(String), result: { dn: '101', status: 'Dialing', party_caller_id: '+4930123456', callid: expect.any(Number) } });
    sim.faults.refuseMakeCall('Destination barred');
    const refused = await post('/callcontrol/101/makecall');
    expect(refused.body).toMatchObject({ finalstatus: 0, reasontext: 'Destination barred', result: null });
    expect(sim.makeCallRequests).toEqual([
      { dn: '101', deviceId: device!.device_id, destination: '+4930123456' },
      { dn: '101', deviceId: null, destination: '+4930123456' },
    ]);
  });

  it('injects 5xx on the next N requests, then recovers', async () => {
    sim = await startPbxSimulator();
    sim.faults.failNextRest(2, 503);
    expect((await token(sim.baseUrl)).status).toBe(503);
    expect((await token(sim.baseUrl)).status).toBe(503);
    expect((await token(sim.baseUrl)).status).toBe(200);
  });
});

describe('3CX simulator: WebSocket events (NOTES 2.4)', () => {
  it('refuses the upgrade without a valid bearer', async () => {
    sim = await startPbxSimulator();
    const ws = new WebSocket(`${sim.baseUrl.replace('http', 'ws')}/callcontrol/ws`);
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(401);
  });

  it('announces entity paths (Upsert/Remove) whose re-read shows the participant states', async () => {
    sim = await startPbxSimulator();
    const bearer = (await token(sim.baseUrl)).body.access_token as string;
    const watcher = await watch(sim.baseUrl, bearer);
    const call = await sim.placeCall({ kind: 'inbound', from: '+4930123456', fromName: 'Ada Lovelace', did: '+4930999', to: '101', talkSec: 12 });

    const entity = expect.stringMatching(/^\/callcontrol\/101\/participants\/\d+$/);
    // Upserts are re-read before the script moves on; the final Remove arrives on its own.
    await eventually(() => expect(watcher.frames.map((f) => f.event.event_type)).toEqual([0, 0, 1]));
    expect(watcher.frames[0]).toEqual({ sequence: expect.any(Number), event: { event_type: 0, entity, attached_data: {} } });
    expect(watcher.frames[1]!.sequence).toBeGreaterThan(watcher.frames[0]!.sequence);
    expect(watcher.reads.map((p) => p?.status)).toEqual(['Ringing', 'Connected']);
    expect(watcher.reads[0]).toEqual({
      id: expect.any(Number), status: 'Ringing', dn: '101', party_caller_name: 'Ada Lovelace', party_dn: expect.any(String),
      party_caller_id: '+4930123456', party_did: '+4930999', device_id: expect.any(String), party_dn_type: expect.any(String),
      direct_control: expect.any(Boolean), originated_by_dn: expect.any(String), originated_by_type: expect.any(String),
      referred_by_dn: '', referred_by_type: '', on_behalf_of_dn: '', on_behalf_of_type: '', callid: call.callid, legid: expect.any(Number),
    });
    // After a Remove the entity cannot be fetched any more.
    expect((await get(sim.baseUrl, watcher.frames[2]!.event.entity, bearer)).status).toBe(404);
  });

  it('rings every queue agent and removes the ones that lost', async () => {
    sim = await startPbxSimulator();
    const bearer = (await token(sim.baseUrl)).body.access_token as string;
    const watcher = await watch(sim.baseUrl, bearer);
    await sim.placeCall({ kind: 'queue', from: '+4930123456', queue: '800', agents: ['101', '102', '103'], answeredBy: '102' });
    const byType = (t: number) => watcher.frames.filter((f) => f.event.event_type === t).map((f) => f.event.entity.split('/')[2]);
    expect(byType(0).sort()).toEqual(['101', '102', '102', '103']);
    await eventually(() => expect(byType(1).sort()).toEqual(['101', '102', '103']));
    expect(watcher.reads.filter((p) => p?.status === 'Ringing').every((p) => p!.on_behalf_of_dn === '800')).toBe(true);
  });

  it('drops sockets on demand', async () => {
    sim = await startPbxSimulator();
    const bearer = (await token(sim.baseUrl)).body.access_token as string;
    const { ws } = await watch(sim.baseUrl, bearer);
    const closed = new Promise((resolve) => ws.once('close', resolve));
    sim.faults.dropWebSockets();
    await closed;
    expect(sim.openSockets()).toBe(0);
  });
});

describe('3CX simulator: XAPI recordings (NOTES 3.2)', () => {
  it('lists an answered call\'s recording by Id filter and streams it as WAV', async () => {
    sim = await startPbxSimulator({ recordingBytes: 100_000 });
    const bearer = (await token(sim.baseUrl)).body.access_token as string;
    const missed = await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101', answer: false });
    expect(missed.recordingIds).toEqual([]);
    const { recordingIds: [recId] } = await sim.placeCall({ kind: 'outbound', from: '102', to: '+4930555' });
    const list = await get(sim.baseUrl, `/xapi/v1/Recordings?$filter=${encodeURIComponent(`Id eq ${recId}`)}&$top=1`, bearer);
    expect((list.body as { value: unknown[] }).value).toEqual([
      expect.objectContaining({ Id: recId, CallType: 'OutboundExternal', FromDn: '102', ToCallerNumber: '+4930555', StartTime: expect.any(String), EndTime: expect.any(String) }),
    ]);
    expect((await get(sim.baseUrl, '/xapi/v1/Recordings?$filter=Nonsense', bearer)).body).toEqual({ error: { code: 'BadRequest', message: expect.any(String) } });

    const res = await request(`${sim.baseUrl}/xapi/v1/Recordings/Pbx.DownloadRecording(recId=${recId})`, { headers: { authorization: `Bearer ${bearer}` } });
    expect(res.headers['content-type']).toBe('audio/x-wav');
    const audio = Buffer.from(await res.body.arrayBuffer());
    expect(audio.length).toBe(Number(res.headers['content-length']));
    expect(audio.length).toBe(100_000);
    expect(audio.toString('ascii', 0, 4)).toBe('RIFF');
    expect(audio.toString('ascii', 8, 12)).toBe('WAVE');
    expect(audio.readUInt32LE(40)).toBe(100_000 - 44);
    expect(audio).toEqual(await sim.recordingContent(recId!));
  });

  it('answers a query the official XAPI file does not allow with 400, and its close() names the violation', async () => {
    sim = await startPbxSimulator();
    const bearer = (await token(sim.baseUrl)).body.access_token as string;
    // Bus bugs the file catches: an option 3CX does not have, a $top that is not an integer.
    expect((await get(sim.baseUrl, '/xapi/v1/Recordings?$where=Id%20eq%201', bearer)).status).toBe(400);
    expect((await get(sim.baseUrl, '/xapi/v1/Recordings?$top=ten', bearer)).status).toBe(400);
    expect(sim.specViolations()).toEqual([
      expect.stringContaining('query option $where is not in the spec'),
      expect.stringContaining('query $top must be integer'),
    ]);
    const closing = sim.close();
    sim = undefined;
    await expect(closing).rejects.toThrow(/XAPI traffic broke the official description/);
  });
});

describe('3CX simulator: XAPI call log (NOTES 3.1)', () => {
  const callLogPath = (from: string, to: string, rest = "sourceType=0,sourceFilter='',destinationType=0,destinationFilter='',callsType=0,callTimeFilterType=0,callTimeFilterFrom='0:00:0',callTimeFilterTo='0:00:0',hidePcalls=true") =>
    `/xapi/v1/ReportCallLogData/Pbx.GetCallLogData(${encodeURI(`periodFrom=${from},periodTo=${to},${rest}`)})`;

  it('serves one GetCallLogData row per agent leg that ended, as the official swagger describes it, paged by $top/$skip', async () => {
    sim = await startPbxSimulator({ realTalkTime: true });
    const bearer = (await token(sim.baseUrl)).body.access_token as string;
    const answered = await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101', talkSec: 1 });
    await sim.placeCall({ kind: 'outbound', from: '102', to: '+4930555', answer: false });
    const [from, to] = [new Date(Date.now() - 60_000).toISOString().slice(0, 19) + 'Z', new Date(Date.now() + 60_000).toISOString().slice(0, 19) + 'Z'];
    const page = await get(sim.baseUrl, callLogPath(from, to), bearer);
    expect(page.status).toBe(200);
    expect((page.body as { value: unknown[] }).value).toEqual([
      expect.objectContaining({ CallId: answered.callid, SourceCallerId: '+4930123456', DestinationDn: '101', Answered: true, Status: 'Answered', Direction: 'Inbound', TalkingDuration: 'PT1S', DstRecId: answered.recordingIds[0] }),
      expect.objectContaining({ SourceDn: '102', DestinationCallerId: '+4930555', Answered: false, Status: 'Unanswered', Direction: 'Outbound', TalkingDuration: 'PT0S' }),
    ]);
    expect((await get(sim.baseUrl, `${callLogPath(from, to)}?$top=1&$skip=1`, bearer)).body).toMatchObject({ value: [{ SourceDn: '102' }] });
    // A period the calls did not start in has none.
    expect((await get(sim.baseUrl, callLogPath('2020-01-01T00:00:00Z', '2020-01-02T00:00:00Z'), bearer)).body).toMatchObject({ value: [] });
    expect(sim.specViolations()).toEqual([]);
  });

  it('refuses GetCallLogData arguments the official swagger does not allow', async () => {
    sim = await startPbxSimulator();
    const bearer = (await token(sim.baseUrl)).body.access_token as string;
    expect((await get(sim.baseUrl, callLogPath('yesterday', '2026-01-02T00:00:00Z'), bearer)).status).toBe(400);
    expect((await get(sim.baseUrl, callLogPath('2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', "sourceType=all,sourceFilter='',destinationType=0,destinationFilter='',callsType=0,callTimeFilterType=0,callTimeFilterFrom='',callTimeFilterTo='',hidePcalls=maybe"), bearer)).status).toBe(400);
    const violations = sim.specViolations().join('\n');
    expect(violations).toContain('path periodFrom must match');
    expect(violations).toContain('path sourceType must be integer');
    expect(violations).toContain('path hidePcalls must be boolean');
    const closing = sim.close();
    sim = undefined;
    await expect(closing).rejects.toThrow(/XAPI traffic broke the official description/);
  });
});

describe('3CX simulator: its own record of every call (the oracle for generated scenarios)', () => {
  it('records each leg: answered with its talk and recording, unrecorded, missed, and queue legs a colleague took', async () => {
    sim = await startPbxSimulator({ recordingBytes: 4_000, realTalkTime: true });
    const recorded = await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101', talkSec: 1 });
    const unrecorded = await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101', talkSec: 1, record: false });
    await sim.placeCall({ kind: 'queue', from: '+4930777', queue: '800', agents: ['101', '102'], answeredBy: '102', talkSec: 0 });
    await sim.placeCall({ kind: 'outbound', from: '103', to: '+4930555', answer: false });

    expect(sim.callRecords().map((c) => ({ callid: c.callid, direction: c.direction, queue: c.queue, legs: c.legs }))).toEqual([
      { callid: recorded.callid, direction: 'inbound', queue: null, legs: [{ dn: '101', outcome: 'answered', talkSec: 1, recordingId: recorded.recordingIds[0] }] },
      { callid: unrecorded.callid, direction: 'inbound', queue: null, legs: [{ dn: '101', outcome: 'answered', talkSec: 1, recordingId: null }] },
      { callid: expect.any(Number), direction: 'inbound', queue: '800', legs: [{ dn: '101', outcome: 'elsewhere', talkSec: 0, recordingId: null }, { dn: '102', outcome: 'answered', talkSec: 0, recordingId: expect.any(Number) }] },
      { callid: expect.any(Number), direction: 'outbound', queue: null, legs: [{ dn: '103', outcome: 'missed', talkSec: 0, recordingId: null }] },
    ]);
    // Talk took its time for real, and the recording spans it.
    const [rec] = sim.recordings();
    expect(Date.parse(rec!.EndTime) - Date.parse(rec!.StartTime)).toBe(1000);
    expect(Date.parse(sim.callRecords()[0]!.endedAt) - Date.parse(sim.callRecords()[0]!.startedAt)).toBeGreaterThanOrEqual(1000);
    const [a, b] = await Promise.all(sim.recordings().slice(0, 2).map((r) => sim!.recordingContent(r.Id)));
    expect(a!.length).toBe(b!.length);
    expect(a!.equals(b!)).toBe(false);
  });

  it('restarts: tokens and sockets dropped, and call ids counted from the start again only when asked', async () => {
    sim = await startPbxSimulator();
    const bearer = (await token(sim.baseUrl)).body.access_token as string;
    const first = await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101', answer: false });
    await sim.restart({ reuseCallIds: false, downMs: 10 });
    expect((await get(sim.baseUrl, '/callcontrol', bearer)).status).toBe(401);
    const second = await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101', answer: false });
    expect(second.callid).toBeGreaterThan(first.callid);
    await sim.restart({ reuseCallIds: true, downMs: 10 });
    expect((await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101', answer: false })).callid).toBe(first.callid);
  });

  it('cuts a call by a restart: its participant vanishes with no Remove, the record says so, the recording ends at the cut', async () => {
    sim = await startPbxSimulator();
    const bearer = (await token(sim.baseUrl)).body.access_token as string;
    const watcher = await watch(sim.baseUrl, bearer);
    const call = await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '101', cutByRestart: { reuseCallIds: false, downMs: 10 } });
    expect(watcher.frames.map((f) => f.event.event_type)).toEqual([0, 0]);
    expect(sim.participants('101')).toEqual([]);
    expect(sim.callRecords()[0]!.legs).toEqual([{ dn: '101', outcome: 'answered', talkSec: 30, recordingId: call.recordingIds[0], cutByRestart: true }]);
    const [rec] = sim.recordings();
    expect(Date.parse(rec!.StartTime)).toBeLessThanOrEqual(Date.parse(rec!.EndTime));
    expect(rec!.RefParticipantId).toBe(rec!.ToIdParticipant);
  });

  it('leaves RefParticipantId null when asked (the swagger types it nullable)', async () => {
    sim = await startPbxSimulator({ refParticipantId: false });
    await sim.placeCall({ kind: 'outbound', from: '102', to: '+4930555' });
    expect(sim.recordings()).toEqual([expect.objectContaining({ FromDn: '102', FromIdParticipant: expect.any(Number), RefParticipantId: null })]);
  });
});

describe('3CX simulator: the forms the PBX sends to the bus', () => {
  it('sends the CRM-template lookup and journal and signed webhooks in the bus wire shapes', async () => {
    const received: Array<{ req: IncomingMessage; body: string }> = [];
    const bus = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c)).on('end', () => {
        received.push({ req, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => bus.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => bus.close(() => r())));
    const secret = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
    sim = await startPbxSimulator({ bus: { url: `http://127.0.0.1:${(bus.address() as AddressInfo).port}`, pbxId: 'pbx_1', templateKey: 'tk_1', webhookSecret: secret } });
    const call = await sim.placeCall({ kind: 'inbound', from: '+4930123456', fromName: 'Ada', to: '101', talkSec: 65 });

    const lookups = received.filter((r) => r.req.url!.startsWith('/v1/pbx/pbx_1/3cx/lookup'));
    expect(lookups).toHaveLength(1);
    expect(lookups[0]!.req.headers['x-api-key']).toBe('tk_1');
    expect(LookupQuerySchema.parse(Object.fromEntries(new URL(lookups[0]!.req.url!, 'http://x').searchParams))).toEqual({ number: '+4930123456', direction: 'Inbound', agent: '101' });

    const journal = received.find((r) => r.req.url === '/v1/pbx/pbx_1/3cx/journal')!;
    expect(JournalBodySchema.parse(JSON.parse(journal.body))).toMatchObject({ callType: 'Inbound', agent: '101', number: '+4930123456', duration: '00:01:05', recordingUrl: expect.stringContaining(`recId=${call.recordingIds[0]}`) });

    const hooks = received.filter((r) => r.req.url === '/v1/pbx/pbx_1/webhook');
    const verifier = new Webhook(secret);
    const payloads = hooks.map((h) => WebhookCallPayloadSchema.parse(verifier.verify(h.body, h.req.headers as Record<string, string>)));
    expect(payloads.map((p) => p.type)).toEqual(['call.ringing', 'call.answered', 'call.ended', 'call.recording_ready']);
    expect(payloads[2]!.data).toMatchObject({ callId: String(call.callid), extensions: ['101'], durationSec: 65 });
    expect(payloads[3]!.data.recordingId).toBe(String(call.recordingIds[0]));
    expect(new Set(hooks.map((h) => h.req.headers['webhook-id'])).size).toBe(4);
    expect(sim.deliveries.every((d) => d.status === 200)).toBe(true);
  });

  it('leaves a form out when the call switches it off', async () => {
    const urls: string[] = [];
    const bus = createServer((req, res) => {
      urls.push(req.url!);
      req.resume().on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => bus.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => bus.close(() => r())));
    sim = await startPbxSimulator({ bus: { url: `http://127.0.0.1:${(bus.address() as AddressInfo).port}`, pbxId: 'p', templateKey: 'k', webhookSecret: 'whsec_' + Buffer.alloc(32, 1).toString('base64') } });
    await sim.placeCall({ kind: 'outbound', from: '101', to: '+4930555', forms: { template: false } });
    expect(urls.length).toBeGreaterThan(0);
    expect(urls.every((u) => u === '/v1/pbx/p/webhook')).toBe(true);
  });
});
