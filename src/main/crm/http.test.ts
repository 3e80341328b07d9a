import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { simError, simSession, startCrmSimulator, type CrmSimulator } from '../../sim/crm/common/index.js';
import { runAbortable } from './abort.js';
import { crmFetch, multipartForm, retryAfterMs } from './http.js';
import { CrmError } from './port.js';

let sim: CrmSimulator;
let writes = 0;
beforeAll(async () => {
  sim = await startCrmSimulator({
    oauth: { authorizePath: '/authorize', tokenPath: '/token' },
    errorBody: (status, message) => [{ message, errorCode: `E${status}` }],
    routes: (app) => {
      app.get('/thing', { config: { outsideSpec: true } }, async () => ({ name: 'thing' }));
      app.post('/write', { config: { outsideSpec: true } }, async () => ({ n: ++writes }));
      app.post('/bad', { config: { outsideSpec: true } }, async () => {
        throw simError(400, [{ message: 'Phone: bad value', errorCode: 'INVALID_FIELD' }]);
      });
      app.post('/upload', { config: { outsideSpec: true } }, async (req) => {
        const body = req.body as Record<string, { fileName: string; data: Buffer } | string>;
        const file = body.file as { fileName: string; data: Buffer };
        return { title: body.title, fileName: file.fileName, bytes: file.data.length };
      });
    },
  });
});
afterAll(() => sim.close());

const Thing = z.object({ name: z.string() });
const get = (session = simSession(sim), timeoutMs?: number) =>
  crmFetch(session, { url: `${sim.url}/thing`, schema: Thing }, { timeoutMs });
const caught = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a CrmError'); }, (e: unknown) => e as CrmError);

describe('crmFetch', () => {
  it('refreshes once on 401 and retries transparently', async () => {
    const session = simSession(sim);
    sim.faults.expireTokens();
    await expect(get(session)).resolves.toEqual({ name: 'thing' });
    expect(session.refreshCount).toBe(1);
  });

  it('turns a revoked grant into one auth error', async () => {
    const session = simSession(sim);
    sim.faults.expireTokens();
    sim.faults.revokeGrant();
    const err = await caught(get(session));
    expect(err).toBeInstanceOf(CrmError);
    expect(err.kind).toBe('auth');
    expect(session.refreshCount).toBe(1);
  });

  it('maps 429 with Retry-After seconds or HTTP date to rate_limited with the delay', async () => {
    sim.faults.next({ status: 429, retryAfterSec: 12 });
    const err = await caught(get());
    expect([err.kind, err.retryAfterMs]).toEqual(['rate_limited', 12_000]);
    const headers = new Headers({ 'retry-after': new Date(Date.UTC(2030, 0, 1, 0, 0, 30)).toUTCString() });
    expect(retryAfterMs(headers, () => Date.UTC(2030, 0, 1, 0, 0, 0))).toBe(30_000);
  });

  it('maps 5xx and timeouts of a write it cannot resend to transient', async () => {
    const write = (timeoutMs?: number) => crmFetch(simSession(sim), { method: 'POST', url: `${sim.url}/write`, json: {}, schema: z.unknown() }, { timeoutMs });
    const before = sim.requestsTo('POST', '/write').length;
    sim.faults.next({ status: 503, match: { path: '/write' } });
    expect((await caught(write())).kind).toBe('transient');
    sim.faults.next({ timeoutAfterApply: true, match: { path: '/write' } });
    const err = await caught(write(200));
    expect(err.kind).toBe('transient');
    expect(err.message).toMatch(/timed out/);
    // Either may have been applied: sent once each, never blindly again.
    expect(sim.requestsTo('POST', '/write').length - before).toBe(2);
  });

  it('times out a write the CRM never answers inside an abort scope, garbage collections included, and stops at once when aborted', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const write = () => crmFetch(simSession(sim), { method: 'POST', url: `${sim.url}/write`, json: {}, schema: z.unknown() }, { timeoutMs: 300 });
    // The outbox runs its steps in an abort scope: the request's timeout must still fire on its own.
    sim.faults.next({ timeoutAfterApply: true, match: { path: '/write' } });
    const pending = runAbortable(new AbortController().signal, () => caught(write()));
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      gc();
    }
    expect((await pending).message).toMatch(/timed out/);

    sim.faults.next({ timeoutAfterApply: true, match: { path: '/write' } });
    const quitting = new AbortController();
    const aborted = runAbortable(quitting.signal, () => crmFetch(simSession(sim), { method: 'POST', url: `${sim.url}/write`, json: {}, schema: z.unknown() }).catch((e: unknown) => e));
    await new Promise((resolve) => setTimeout(resolve, 20));
    quitting.abort(new Error('quitting'));
    expect(await aborted).toMatchObject({ message: 'quitting' });
  });

  it('retries a read through 429, 5xx and a timeout, waiting out Retry-After', async () => {
    const before = sim.requestsTo('GET', '/thing').length;
    sim.faults.next({ status: 429, retryAfterSec: 0, match: { path: '/thing' } });
    sim.faults.next({ status: 503, match: { path: '/thing' } });
    sim.faults.next({ timeoutAfterApply: true, mode: 'close', match: { path: '/thing' } });
    await expect(get()).resolves.toEqual({ name: 'thing' });
    expect(sim.requestsTo('GET', '/thing').slice(before).map((r) => r.fault)).toEqual(['status', 'status', 'timeoutAfterApply', null]);
  });

  it('gives up after a few attempts, and leaves a long Retry-After to the caller', async () => {
    sim.faults.outage({ status: 502, match: { path: '/thing' } });
    const before = sim.requestsTo('GET', '/thing').length;
    expect((await caught(get())).kind).toBe('transient');
    expect(sim.requestsTo('GET', '/thing').length - before).toBe(4);
    sim.faults.restore();
    sim.faults.next({ status: 429, retryAfterSec: 60, match: { path: '/thing' } });
    const limited = await caught(get());
    expect([limited.kind, limited.retryAfterMs]).toEqual(['rate_limited', 60_000]);
  });

  it('resends a write the CRM refused with 429, one that never left, and one marked idempotent', async () => {
    const before = writes;
    const write = (idempotent?: boolean, fetchImpl?: typeof fetch) =>
      crmFetch(simSession(sim), { method: 'POST', url: `${sim.url}/write`, json: {}, schema: z.object({ n: z.number() }), idempotent }, { fetch: fetchImpl, timeoutMs: 300 });
    sim.faults.next({ status: 429, match: { path: '/write' } });
    await write();
    let refused = 0;
    const refusing: typeof fetch = async (input, init) => {
      if (refused++ === 0) throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
      return fetch(input, init);
    };
    await write(false, refusing);
    sim.faults.next({ timeoutAfterApply: true, match: { path: '/write' } });
    await write(true);
    // The timed-out one was applied and sent again: that is why only idempotent writes are resent.
    expect(writes - before).toBe(4);
  });

  it('maps other 4xx to rejected with the CRM message', async () => {
    const err = await caught(crmFetch(simSession(sim), { method: 'POST', url: `${sim.url}/bad`, json: {}, schema: z.unknown() }));
    expect(err.kind).toBe('rejected');
    expect(err.message).toBe('Phone: bad value (INVALID_FIELD)');
  });

  it('rejects a success body that does not match the schema', async () => {
    const err = await caught(crmFetch(simSession(sim), { url: `${sim.url}/thing`, schema: z.object({ id: z.string() }) }));
    expect(err.kind).toBe('rejected');
  });

  it('uploads multipart files', async () => {
    const form = multipartForm({ title: 'rec' }, { field: 'file', fileName: 'a.mp3', contentType: 'audio/mpeg', data: new Uint8Array(1000) });
    const body = await crmFetch(simSession(sim), { method: 'POST', url: `${sim.url}/upload`, form, schema: z.unknown() });
    expect(body).toEqual({ title: 'rec', fileName: 'a.mp3', bytes: 1000 });
  });

  it('sends per-request headers and the configured auth scheme, on the 401 retry too', async () => {
    const seen: Headers[] = [];
    const fake: typeof fetch = async (_input, init) => {
      seen.push(new Headers(init?.headers));
      return seen.length === 1 ? new Response('', { status: 401 }) : Response.json({ name: 'thing' });
    };
    const session = simSession(sim);
    const headers = { 'If-Modified-Since': 'Wed, 01 Jan 2030 00:00:00 GMT', version: '2021-07-28' };
    const body = await crmFetch(session, { url: `${sim.url}/thing`, schema: Thing, headers }, { fetch: fake, authScheme: 'Zoho-oauthtoken' });
    expect(body).toEqual({ name: 'thing' });
    expect(session.refreshCount).toBe(1);
    expect(seen).toHaveLength(2);
    for (const h of seen) {
      expect(h.get('if-modified-since')).toBe('Wed, 01 Jan 2030 00:00:00 GMT');
      expect(h.get('version')).toBe('2021-07-28');
      expect(h.get('accept')).toBe('application/json');
      expect(h.get('authorization')).toMatch(/^Zoho-oauthtoken \S+$/);
    }
    expect(seen[0]!.get('authorization')).not.toBe(seen[1]!.get('authorization'));
  });

  it('defaults to a Bearer token', async () => {
    let auth: string | null = null;
    const fake: typeof fetch = async (_input, init) => {
      auth = new Headers(init?.headers).get('authorization');
      return Response.json({ name: 'thing' });
    };
    await crmFetch(simSession(sim), { url: `${sim.url}/thing`, schema: Thing }, { fetch: fake });
    expect(auth).toMatch(/^Bearer \S+$/);
  });
});
