// POST /v1/pair: the agent app trades the admin's one-time code for its device credential.
// Wrong guesses are limited per client address so a 57-bit code cannot be brute-forced online.
import type { FastifyPluginAsync } from 'fastify';
import { AGENT_WS_PATH } from '../../shared/agent-protocol.js';
import { PAIR_PATH, PairRequestSchema, type PairResponse } from '../../shared/pairing.js';
import { describeIssues } from '../ingest/routes-support.js';
import type { TenantStore } from '../tenants/port.js';
import { ProblemError, refusalLoggingHandler } from './problem.js';

export interface PairingRoutesOptions {
  tenants: Pick<TenantStore, 'pair'>;
  /** The bus's public http(s) URL; the agent stream is the same host over ws(s). */
  publicUrl: string;
  /** Failed attempts allowed per address per window (default 10 per 15 min). */
  maxFailures?: number;
  windowMs?: number;
  now?: () => number;
}

/** Fixed-window counter of failures per key; bounded so a flood of addresses cannot grow it forever. */
class FailureLimiter {
  private readonly windows = new Map<string, { failures: number; resetAt: number }>();
  private static readonly MAX_KEYS = 100_000;

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** Seconds until the key may try again, or 0 when it may now. */
  blockedFor(key: string): number {
    const w = this.windows.get(key);
    if (!w || w.resetAt <= this.now()) return 0;
    return w.failures >= this.maxFailures ? Math.ceil((w.resetAt - this.now()) / 1000) : 0;
  }

  fail(key: string): void {
    const t = this.now();
    const w = this.windows.get(key);
    if (w && w.resetAt > t) {
      w.failures += 1;
      return;
    }
    if (this.windows.size >= FailureLimiter.MAX_KEYS) {
      for (const [k, v] of this.windows) if (v.resetAt <= t) this.windows.delete(k);
    }
    if (this.windows.size < FailureLimiter.MAX_KEYS) this.windows.set(key, { failures: 1, resetAt: t + this.windowMs });
  }
}

export function agentStreamUrl(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '').replace(/^http/, 'ws')}${AGENT_WS_PATH}`;
}

export const pairingRoutes: FastifyPluginAsync<PairingRoutesOptions> = async (app, opts) => {
  // Wrong codes are recorded (address and reason, never the code) so guessing shows in the logs.
  app.setErrorHandler(refusalLoggingHandler(app.log, 'pairing refused'));
  const limiter = new FailureLimiter(opts.maxFailures ?? 10, opts.windowMs ?? 15 * 60_000, opts.now ?? Date.now);
  const wsUrl = agentStreamUrl(opts.publicUrl);

  app.post(PAIR_PATH, { bodyLimit: 4096 }, async (request): Promise<PairResponse> => {
    const retryAfter = limiter.blockedFor(request.ip);
    if (retryAfter > 0) {
      throw new ProblemError(429, 'too-many-attempts', 'Too many pairing attempts', `Try again in ${retryAfter} seconds.`, {
        'retry-after': String(retryAfter),
      });
    }
    const body = PairRequestSchema.safeParse(request.body);
    if (!body.success) {
      limiter.fail(request.ip);
      throw new ProblemError(400, 'invalid-request', 'Invalid request', describeIssues(body.error));
    }
    const paired = await opts.tenants.pair(body.data.code);
    if (!paired) {
      limiter.fail(request.ip);
      throw new ProblemError(404, 'pairing-code-not-found', 'Pairing code not accepted', 'This code is unknown, already used or expired. Ask your administrator for a new one.');
    }
    const { agent, deviceToken } = paired;
    return { deviceToken, agentId: agent.id, tenantId: agent.tenantId, extension: agent.extension, name: agent.name, crmUser: agent.crmUser, wsUrl };
  });
};
