// A generated set of hostile and broken requests against every HTTP ingest form. Each must get a
// 4xx RFC 9457 problem, store nothing, and leave the bus answering. Seeded, so a failure replays.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIngestHarness, signedHeaders, webhookPayload, type IngestHarness } from '../support/ingest-harness.js';
import { MAX_WEBHOOK_BODY_BYTES } from '../../src/bus/ingest/webhook/payload.js';
import { mulberry32 } from '../../src/sim/prng.js';

const SEED = 0x5eed_1234;
const CASES_PER_GENERATOR = 40;

interface FuzzRequest {
  name: string;
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

function generate(h: IngestHarness): FuzzRequest[] {
  const rand = mulberry32(SEED);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const junkString = () => pick([
    '', ' ', '[Number]', 'null', '\u0000\u0001', '😀'.repeat(int(50)), 'x'.repeat(int(5000)), '+'.repeat(70), '-1', '1e999',
    '<script>alert(1)</script>', "'; DROP TABLE tenants; --", '../../etc/passwd', '%00', '\ud800', bytes(int(40)).toString('latin1'),
  ]);
  const junkValue = (): unknown => pick([junkString(), int(1e9) - 5e8, rand(), true, null, [], {}, [junkString()], { a: junkString() }]);

  const secret = h.secrets.webhookSecrets[0]!;
  const key = h.secrets.templateKeys[0]!;
  const hook = `/v1/pbx/${h.pbx.id}/webhook`;
  const lookup = `/v1/pbx/${h.pbx.id}/3cx/lookup`;
  const journal = `/v1/pbx/${h.pbx.id}/3cx/journal`;
  const validJournal = { callType: 'Inbound', number: '0298765432', agent: '101', duration: '10' };

  // Values each payload field can never take, so every mutation is definitely invalid.
  const invalidFor: Record<string, unknown[]> = {
    type: ['call.exploded', 42, null, ''],
    timestamp: ['yesterday', 0, '', '2026-13-45T99:00:00Z'],
    callId: ['', 42, 'x'.repeat(200), null],
    direction: ['sideways', null, 1],
    from: [{ number: '' }, 'string', { name: 'x' }, { number: 'x'.repeat(100) }, null],
    to: [{ number: 42 }, [], {}],
    extensions: [['abc'], 'x', [1], Array(300).fill('1'), [''], null],
    queue: ['sales', 5, ''],
    durationSec: [-1, 1.5, 'ten'],
    recordingId: ['', 42, 'x'.repeat(100)],
  };
  const required = ['type', 'timestamp', 'data', 'callId', 'direction', 'from', 'to', 'extensions'];
  const mutatePayload = (): unknown => {
    if (rand() < 0.1) return pick([junkValue(), [webhookPayload()], 'null', 0]);
    const p = webhookPayload() as unknown as Record<string, unknown>;
    const data = p.data as Record<string, unknown>;
    const field = pick([...Object.keys(invalidFor), 'data']);
    const target = field === 'type' || field === 'timestamp' || field === 'data' ? p : data;
    if (required.includes(field) && rand() < 0.3) delete target[field];
    else target[field] = field === 'data' ? junkValue() : pick(invalidFor[field]!);
    return p;
  };

  const generators: Array<(i: number) => FuzzRequest> = [
    // Random bytes, correctly signed: must fail parsing or validation, never crash.
    (i) => {
      const body = bytes(int(2000)).toString('latin1');
      return { name: `signed random bytes ${i}`, method: 'POST', url: hook, headers: signedHeaders(secret, body), body };
    },
    // Well-formed JSON of the wrong shape, correctly signed.
    (i) => {
      const body = JSON.stringify(mutatePayload());
      return { name: `signed wrong shape ${i}`, method: 'POST', url: hook, headers: signedHeaders(secret, body), body };
    },
    // Valid payload, broken signature headers.
    (i) => {
      const body = JSON.stringify(webhookPayload({ callId: `fz-${i}` }));
      const headers = signedHeaders(secret, body);
      const breakage = pick(['drop-id', 'drop-ts', 'drop-sig', 'bad-sig', 'v2-sig', 'wrong-secret', 'junk-id', 'junk-ts', 'stale', 'future'] as const);
      if (breakage === 'drop-id') delete (headers as Record<string, string | undefined>)['webhook-id'];
      if (breakage === 'drop-ts') delete (headers as Record<string, string | undefined>)['webhook-timestamp'];
      if (breakage === 'drop-sig') delete (headers as Record<string, string | undefined>)['webhook-signature'];
      if (breakage === 'bad-sig') headers['webhook-signature'] = `v1,${randomBytes(32).toString('base64')}`;
      if (breakage === 'v2-sig') headers['webhook-signature'] = headers['webhook-signature']!.replace('v1,', 'v2,');
      if (breakage === 'wrong-secret') Object.assign(headers, signedHeaders(`whsec_${randomBytes(32).toString('base64')}`, body));
      if (breakage === 'junk-id') headers['webhook-id'] = pick(['a.b', ' ', 'x'.repeat(300), 'id\twith\ttabs']);
      if (breakage === 'junk-ts') headers['webhook-timestamp'] = pick(['', 'yesterday', '-1', '9'.repeat(30), '1.5']);
      if (breakage === 'stale') Object.assign(headers, signedHeaders(secret, body, { at: new Date(Date.now() - (301 + int(1e6)) * 1000) }));
      if (breakage === 'future') Object.assign(headers, signedHeaders(secret, body, { at: new Date(Date.now() + (301 + int(1e6)) * 1000) }));
      return { name: `webhook ${breakage} ${i}`, method: 'POST', url: hook, headers, body };
    },
    // Oversized bodies, signed or not.
    (i) => {
      const body = 'x'.repeat(MAX_WEBHOOK_BODY_BYTES + 1 + int(10_000));
      return { name: `oversized ${i}`, method: 'POST', url: hook, headers: rand() < 0.5 ? signedHeaders(secret, body) : { 'content-type': 'application/json' }, body };
    },
    // Unknown or hostile PBX ids.
    (i) => {
      const pbxId = pick(['pbx_nope', '..%2F..', 'x'.repeat(100), '%00', h.pbx.id.toUpperCase(), `${h.pbx.id}%20`]);
      const body = JSON.stringify(webhookPayload());
      const form = pick(['webhook', 'lookup', 'journal'] as const);
      if (form === 'webhook') return { name: `unknown pbx webhook ${i}`, method: 'POST', url: `/v1/pbx/${pbxId}/webhook`, headers: signedHeaders(secret, body), body };
      if (form === 'lookup') return { name: `unknown pbx lookup ${i}`, method: 'GET', url: `/v1/pbx/${pbxId}/3cx/lookup?number=0298765432`, headers: { 'x-api-key': key } };
      return { name: `unknown pbx journal ${i}`, method: 'POST', url: `/v1/pbx/${pbxId}/3cx/journal`, headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify(validJournal) };
    },
    // Template lookups with a bad or missing key.
    (i) => {
      const headers = pick<Record<string, string>>([{}, { 'x-api-key': '' }, { 'x-api-key': key.slice(0, -1) }, { 'x-api-key': `${key} ` }, { 'x-api-key': h.secrets.webhookSecrets[0]! }, { 'x-api-key': 'x'.repeat(8000) }]);
      return { name: `lookup bad key ${i}`, method: 'GET', url: `${lookup}?number=0298765432&direction=Inbound`, headers };
    },
    // Template lookups with the right key and broken queries.
    (i) => {
      const q = pick([
        '', 'number=', 'number=[Number]', `number=${encodeURIComponent('x'.repeat(100))}`, 'direction=Inbound',
        'number=0298765432&direction=Upward', 'number=0298765432&agent=abc', `number=0298765432&agent=${'1'.repeat(20)}`,
        'number=0298765432&direction=' + encodeURIComponent('x'.repeat(40)),
      ]);
      return { name: `lookup bad query ${i} (${q.slice(0, 30)})`, method: 'GET', url: `${lookup}?${q}`, headers: { 'x-api-key': key } };
    },
    // Template journals with the right key and broken bodies.
    (i) => {
      const body: Record<string, unknown> = { ...validJournal };
      const invalidJournal = {
        callType: ['inbound', 'Exploded', '', 1, null],
        number: ['', '[Number]', 'x'.repeat(65), 42, null, ['0298765432']],
        agent: ['', '[Agent]', 'abc', '1'.repeat(17), 101],
        duration: ['ten', '1:2:3:4', '-3', '99:99', 10],
        queue: ['sales', 800, 'x'.repeat(20)],
        direction: ['Sideways', 42, 'x'.repeat(17), {}],
        startUtc: [42, 'x'.repeat(41), {}],
      };
      const field = pick(Object.keys(invalidJournal) as Array<keyof typeof invalidJournal>);
      if ((field === 'callType' || field === 'number' || field === 'agent') && rand() < 0.3) delete body[field];
      else body[field] = pick(invalidJournal[field]);
      const asText = rand() < 0.15;
      return {
        name: `journal bad ${field} ${i}`,
        method: 'POST',
        url: journal,
        headers: { 'x-api-key': key, 'content-type': asText ? pick(['application/xml', 'application/x-www-form-urlencoded']) : 'application/json' },
        body: asText ? 'callType=Inbound' : rand() < 0.1 ? '{"callType":' : JSON.stringify(body),
      };
    },
  ];
  return generators.flatMap((g) => Array.from({ length: CASES_PER_GENERATOR }, (_, i) => g(i)));
}

describe('ingest fuzz set', () => {
  let h: IngestHarness;
  let cases: FuzzRequest[];
  beforeAll(async () => {
    h = await buildIngestHarness();
    cases = generate(h);
  });
  afterAll(() => h.close());

  it('answers every malformed, unsigned, stale, oversized or unknown request with a 4xx problem and stores nothing', async () => {
    expect(cases.length).toBeGreaterThanOrEqual(300);
    const wrong: string[] = [];
    const statuses = new Set<number>();
    for (const c of cases) {
      const res = await h.app.inject({ method: c.method, url: c.url, headers: c.headers, ...(c.body !== undefined ? { payload: c.body } : {}) });
      const problem = res.headers['content-type']?.toString().startsWith('application/problem+json') ? res.json() : null;
      const ok = res.statusCode >= 400 && res.statusCode < 500 && problem?.status === res.statusCode && typeof problem.type === 'string' && typeof problem.title === 'string' && typeof problem.detail === 'string';
      statuses.add(res.statusCode);
      if (!ok) wrong.push(`${c.name}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
    expect(wrong).toEqual([]);
    // Each kind of refusal was reached, so the set is not stopped at one gate.
    expect([...statuses].sort()).toEqual(expect.arrayContaining([400, 401, 404, 413, 422]));
    expect(await h.logged()).toHaveLength(0);
  });

  it('still takes a good delivery afterwards', async () => {
    const body = JSON.stringify(webhookPayload({ callId: 'after-fuzz' }));
    const res = await h.app.inject({ method: 'POST', url: `/v1/pbx/${h.pbx.id}/webhook`, headers: signedHeaders(h.secrets.webhookSecrets[0]!, body), payload: body });
    expect(res.statusCode).toBe(200);
    expect(await h.logged()).toHaveLength(1);
  });
});
