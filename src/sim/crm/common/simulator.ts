// The shared CRM simulator harness: a Fastify server on 127.0.0.1:0 with OAuth endpoints, a bearer
// check, fault injection, a request log and wire validation (OpenAPI where the vendor publishes
// one, zod via `sim.parse` where it does not). Vendor folders only add their routes and state.
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { SeededRandom } from '../../random.js';
import { OAuthServer, type OAuthSimOptions } from './oauth.js';
import { OpenApiValidator } from './openapi.js';

/** Which requests a fault applies to; default: every API request (not the OAuth endpoints). */
export interface FaultMatch {
  method?: string;
  /** Exact path, or a RegExp tested against the path. */
  path?: string | RegExp;
}

export type Fault =
  | {
      match?: FaultMatch;
      /** Answer with this status instead of running the route (429, 500, 503…). */
      status: number;
      /** Sets Retry-After in seconds… */
      retryAfterSec?: number;
      /** …or verbatim (an HTTP date). */
      retryAfter?: string;
      headers?: Record<string, string>;
      /** Body; default the vendor's error body for the status. */
      body?: unknown;
    }
  | {
      match?: FaultMatch;
      /** Run the route (the write happens), then never answer ('hang', default) or drop the connection ('close'). */
      timeoutAfterApply: true;
      mode?: 'hang' | 'close';
    };

/** A fault that answers with a status (injected, or a vendor rate limit's refusal). */
export type StatusFault = Extract<Fault, { status: number }>;

export type RandomFaultKind = 'rateLimit' | 'serverError' | 'unavailable' | 'timeout';

/** Faults drawn per request from a seeded generator: "ordinary error rates", not every Nth request. */
export interface RandomFaults {
  seed: number;
  /** Chance that one matching request fails (0..1). */
  rate: number;
  /** Relative weights of 429 (rateLimit), 500 (serverError), 503 (unavailable), timeout-after-apply; default equal. */
  kinds?: Partial<Record<RandomFaultKind, number>>;
  /** Retry-After on the 429s, in seconds; default 1. */
  retryAfterSec?: number;
  /** How a timeout-after-apply ends (see Fault); default 'hang'. */
  timeoutMode?: 'hang' | 'close';
  /** Default: every API request (never the OAuth endpoints). */
  match?: FaultMatch;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, unknown>;
  /** Parsed request body (multipart: field -> string | SimFile). */
  body: unknown;
  status: number | null;
  /** Set when an injected fault answered (or swallowed) the request. */
  fault: 'status' | 'timeoutAfterApply' | null;
}

/** A file part of a multipart request. */
export interface SimFile {
  fileName: string;
  contentType: string;
  data: Buffer;
}

export interface CrmSimulatorOptions {
  oauth: OAuthSimOptions;
  /** Official OpenAPI files; every API request and response is validated against them. */
  openapi?: string | string[];
  /** The vendor's error body for harness-made errors (401, injected faults, spec-invalid requests). */
  errorBody?: (status: number, message: string) => unknown;
  /**
   * The vendor's own rate limits, asked for each authenticated API request no injected fault answered:
   * `refuse` answers it like an injected status fault; `headers` go on whatever answer it gets.
   */
  rateLimit?: (req: { method: string; path: string; token: string }) => RateLimitDecision | null;
  /** Registers the vendor routes. Mark routes the spec does not cover with `config: { outsideSpec: true }`. */
  routes: (app: FastifyInstance, sim: CrmSimulator) => void | Promise<void>;
}

export interface RateLimitDecision {
  refuse?: StatusFault;
  headers?: Record<string, string>;
}

export interface CrmSimulator {
  /** Base URL, e.g. http://127.0.0.1:40123 — pass as the adapter's `origin`. */
  readonly url: string;
  readonly app: FastifyInstance;
  readonly oauth: OAuthServer;
  readonly faults: Faults;
  readonly requests: RequestLogEntry[];
  readonly specViolations: string[];
  /** Requests whose method and path match (path: exact string or RegExp). */
  requestsTo(method: string, path: string | RegExp): RequestLogEntry[];
  /** Records a wire violation (used by zod-validated vendors); it fails assertNoSpecViolations. */
  recordViolation(message: string): void;
  /** Validates a request part with zod; on failure records a violation and throws a 400 with the vendor error body. */
  parse<S extends z.ZodType>(schema: S, data: unknown, where: string): z.output<S>;
  /** Throws listing every request/response that broke the vendor's published contract. */
  assertNoSpecViolations(): void;
  close(): Promise<void>;
}

export class Faults {
  private readonly queue: Fault[] = [];
  private outageFault: Fault | null = null;
  private randomFaults: { options: RandomFaults; rng: SeededRandom } | null = null;
  /** Random faults fired so far, by kind. */
  readonly randomFired: Record<RandomFaultKind, number> = { rateLimit: 0, serverError: 0, unavailable: 0, timeout: 0 };
  private periodic: { n: number; faults: StatusFault[]; seen: number; fired: number } | null = null;

  constructor(private readonly oauth: OAuthServer) {}

  /** Queues a fault for the next matching request (each queued fault fires once, in order). */
  next(fault: Fault): void {
    this.queue.push(fault);
  }

  /** Every matching request fails with this status until `restore()` (the CRM is down for a stretch). */
  outage(fault: StatusFault): void {
    this.outageFault = fault;
  }

  /**
   * An ordinary error rate: every `n`th matching request fails, taking `faults` in turn (e.g. every
   * 3rd answered 429, then 503, then 429…). Matches per fault's `match`; `restore()` ends it.
   */
  every(n: number, faults: StatusFault[]): void {
    if (!Number.isInteger(n) || n < 1 || faults.length === 0) throw new Error('faults.every needs n >= 1 and at least one fault');
    this.periodic = { n, faults, seen: 0, fired: 0 };
  }

  /**
   * Each matching request fails with probability `rate`, drawn from a generator seeded with `seed`
   * (429 with Retry-After, 500, 503, or timeout-after-apply). `restore()` ends it.
   */
  random(options: RandomFaults): void {
    if (!(options.rate >= 0 && options.rate <= 1)) throw new Error(`random fault rate must be within 0..1, got ${options.rate}`);
    this.randomFaults = { options, rng: new SeededRandom(options.seed) };
  }

  restore(): void {
    this.outageFault = null;
    this.periodic = null;
    this.randomFaults = null;
  }

  /** Queued faults that have not fired yet. */
  get pending(): number {
    return this.queue.length;
  }

  expireTokens(): void {
    this.oauth.expireTokens();
  }

  revokeGrant(): void {
    this.oauth.revokeGrant();
  }

  /** The fault for this request, consuming a queued one. */
  take(method: string, path: string): Fault | null {
    const matches = (f: Fault): boolean => {
      const m = f.match;
      if (m?.method && m.method.toUpperCase() !== method) return false;
      if (m?.path !== undefined) return typeof m.path === 'string' ? m.path === path : m.path.test(path);
      return !this.oauth.isOAuthPath(path);
    };
    if (this.outageFault && matches(this.outageFault)) return this.outageFault;
    const i = this.queue.findIndex(matches);
    if (i >= 0) return this.queue.splice(i, 1)[0]!;
    const p = this.periodic;
    if (p && matches(p.faults[p.fired % p.faults.length]!)) return ++p.seen % p.n === 0 ? p.faults[p.fired++ % p.faults.length]! : null;
    return this.drawRandom(matches);
  }

  private drawRandom(matches: (f: Fault) => boolean): Fault | null {
    if (!this.randomFaults) return null;
    const { options, rng } = this.randomFaults;
    const { match } = options;
    if (!matches({ match, status: 0 }) || !rng.chance(options.rate)) return null;
    const kind = rng.weighted({ rateLimit: 1, serverError: 1, unavailable: 1, timeout: 1, ...options.kinds });
    this.randomFired[kind]++;
    switch (kind) {
      case 'rateLimit':
        return { match, status: 429, retryAfterSec: options.retryAfterSec ?? 1 };
      case 'serverError':
        return { match, status: 500 };
      case 'unavailable':
        return { match, status: 503 };
      case 'timeout':
        return { match, timeoutAfterApply: true, mode: options.timeoutMode ?? 'hang' };
    }
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route is not in the vendor's OpenAPI (OAuth browser leg, spec-less vendors); don't flag it as unknown. */
    outsideSpec?: boolean;
  }
}

interface RequestState {
  entry: RequestLogEntry;
  hangAfterApply: 'hang' | 'close' | null;
  skipResponseValidation: boolean;
}

const defaultErrorBody = (status: number, message: string) => ({ status, message });

export async function startCrmSimulator(options: CrmSimulatorOptions): Promise<CrmSimulator> {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024, forceCloseConnections: true });
  const oauth = new OAuthServer(options.oauth);
  const faults = new Faults(oauth);
  const files = options.openapi === undefined ? [] : [options.openapi].flat();
  const validator = files.length > 0 ? new OpenApiValidator(files) : null;
  const errorBody = options.errorBody ?? defaultErrorBody;
  const requests: RequestLogEntry[] = [];
  const specViolations: string[] = [];
  const states = new WeakMap<FastifyRequest, RequestState>();
  const pathOf = (req: FastifyRequest) => req.url.split('?')[0]!;

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (req, body, done) => {
    parseMultipart(body as Buffer, String(req.headers['content-type'])).then(
      (parsed) => done(null, parsed),
      (err: Error) => done(err, undefined),
    );
  });

  app.addHook('onRequest', async (req, reply) => {
    const entry: RequestLogEntry = { method: req.method, path: pathOf(req), query: { ...(req.query as object) }, body: undefined, status: null, fault: null };
    requests.push(entry);
    const state: RequestState = { entry, hangAfterApply: null, skipResponseValidation: false };
    states.set(req, state);
    if (oauth.isOAuthPath(entry.path)) return;
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const tokenState = oauth.checkAccessToken(bearer);
    if (tokenState !== 'ok') {
      return reply.code(401).send(errorBody(401, tokenState === 'expired' ? 'access token expired' : 'invalid access token'));
    }
    const fault = faults.take(req.method, entry.path);
    if (!fault) {
      const limit = options.rateLimit?.({ method: req.method, path: entry.path, token: bearer! });
      for (const [k, v] of Object.entries(limit?.headers ?? {})) reply.header(k, v);
      if (limit?.refuse) return answerWith(limit.refuse);
      return;
    }
    if ('timeoutAfterApply' in fault) {
      state.hangAfterApply = fault.mode ?? 'hang';
      entry.fault = 'timeoutAfterApply';
      return;
    }
    return answerWith(fault);

    // The vendor-shaped answer of a status fault (injected or a rate limit): not spec-validated.
    function answerWith(f: StatusFault) {
      entry.fault = 'status';
      state.skipResponseValidation = true;
      const retryAfter = f.retryAfter ?? (f.retryAfterSec === undefined ? undefined : String(f.retryAfterSec));
      if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
      for (const [k, v] of Object.entries(f.headers ?? {})) reply.header(k, v);
      return reply.code(f.status).send(f.body ?? errorBody(f.status, `injected ${f.status}`));
    }
  });

  app.addHook('preHandler', async (req, reply) => {
    const state = states.get(req)!;
    state.entry.body = req.body;
    // Unrouted requests are the not-found handler's to answer.
    if (!validator || req.is404) return;
    const outside = req.routeOptions.config.outsideSpec === true;
    if (outside && !validator.findOperation(req.method, state.entry.path)) return;
    const problems = validator.validateRequest({
      method: req.method,
      path: state.entry.path,
      query: req.query as Record<string, unknown>,
      contentType: req.headers['content-type'],
      body: multipartForValidation(req.body),
    });
    if (problems.length > 0) {
      specViolations.push(...problems);
      state.skipResponseValidation = true;
      return reply.code(400).send(errorBody(400, problems.join('; ')));
    }
  });

  app.addHook('onSend', async (req, reply, payload) => {
    const state = states.get(req);
    if (!state) return payload;
    if (validator && !state.skipResponseValidation && typeof payload === 'string' && payload.length > 0) {
      let body: unknown;
      try {
        body = JSON.parse(payload);
      } catch {
        body = payload;
      }
      specViolations.push(
        ...validator.validateResponse(req.method, state.entry.path, reply.statusCode, String(reply.getHeader('content-type') ?? ''), body),
      );
    }
    if (state.hangAfterApply === 'close') {
      req.raw.socket.destroy();
    } else if (state.hangAfterApply === 'hang') {
      // The write is applied; the answer never leaves. close() force-closes the socket.
      return new Promise<never>(() => {});
    }
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    const state = states.get(req);
    if (state) state.entry.status = reply.statusCode;
  });

  const sim: CrmSimulator = {
    url: '',
    app,
    oauth,
    faults,
    requests,
    specViolations,
    requestsTo: (method, path) =>
      requests.filter((r) => r.method === method.toUpperCase() && (typeof path === 'string' ? r.path === path : path.test(r.path))),
    recordViolation: (message) => {
      specViolations.push(message);
    },
    parse: (schema, data, where) => {
      const result = schema.safeParse(data);
      if (result.success) return result.data;
      const message = `${where}: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`;
      specViolations.push(message);
      throw Object.assign(new Error(message), { statusCode: 400, vendorBody: errorBody(400, message) });
    },
    assertNoSpecViolations: () => {
      if (specViolations.length > 0) {
        throw new Error(`CRM wire contract violated ${specViolations.length}×:\n- ${specViolations.join('\n- ')}`);
      }
    },
    close: () => app.close(),
  };

  // Errors thrown by routes (sim.parse, vendor checks) answer in the vendor's error format.
  app.setErrorHandler((err: Error & { statusCode?: number; vendorBody?: unknown }, _req, reply) => {
    const status = err.statusCode ?? 500;
    void reply.code(status).send(err.vendorBody ?? errorBody(status, err.message));
  });

  // An endpoint the simulator lacks answers as the vendor answers an unknown one (404, its error
  // body) and fails the test: nothing reaches a permissive default.
  app.setNotFoundHandler(async (req, reply) => {
    const path = pathOf(req);
    const known = validator?.findOperation(req.method, path) ? 'in the spec but not simulated' : 'not in the spec';
    specViolations.push(`${req.method} ${path}: no such endpoint (${known})`);
    return reply.code(404).send(errorBody(404, `No endpoint ${req.method} ${path}`));
  });
  oauth.register(app);
  await options.routes(app, sim);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  (sim as { url: string }).url = address.replace('localhost', '127.0.0.1');
  return sim;
}

/** Throws from a route to answer with a vendor error body and status. */
export function simError(status: number, vendorBody: unknown): Error {
  return Object.assign(new Error(`sim ${status}`), { statusCode: status, vendorBody });
}

async function parseMultipart(body: Buffer, contentType: string): Promise<Record<string, string | SimFile>> {
  const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  const out: Record<string, string | SimFile> = {};
  for (const [name, value] of form.entries()) {
    out[name] =
      typeof value === 'string'
        ? value
        : { fileName: value.name, contentType: value.type, data: Buffer.from(await value.arrayBuffer()) };
  }
  return out;
}

/** Multipart files validate as strings (OpenAPI `format: binary`). */
function multipartForValidation(body: unknown): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
  const entries = Object.entries(body as Record<string, unknown>);
  if (!entries.some(([, v]) => isSimFile(v))) return body;
  return Object.fromEntries(entries.map(([k, v]) => [k, isSimFile(v) ? v.fileName : v]));
}

export function isSimFile(value: unknown): value is SimFile {
  return !!value && typeof value === 'object' && Buffer.isBuffer((value as SimFile).data);
}
