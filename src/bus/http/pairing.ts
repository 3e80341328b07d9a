// POST /v1/pair: the agent app trades the admin's one-time code for its device credential.
// Wrong guesses are limited per client address so a 57-bit code cannot be brute-forced online.
import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyPluginAsync } from 'fastify';
import { AGENT_WS_PATH } from '../../shared/agent-protocol.js';
import { PAIR_PATH, PairRequestSchema, type PairResponse } from '../../shared/pairing.js';
import { describeIssues } from '../ingest/routes-support.js';
import type { TenantStore } from '../tenants/port.js';
import { ProblemError, refusalLoggingHandler } from './problem.js';
import { limitedOr503, memoryRateLimits, type RateLimits } from './rate-limit.js';

export interface PairingRoutesOptions {
  tenants: Pick<TenantStore, 'pair'>;
  /** The bus's public http(s) URL; the agent stream is the same host over ws(s). */
  publicUrl: string;
  /** Where failures are counted: shared through Redis when the bus has it. Default: this process. */
  limits?: RateLimits;
  /** Failed attempts allowed per address per window (default 10 per 15 min). */
  maxFailures?: number;
  windowMs?: number;
}

export function agentStreamUrl(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '').replace(/^http/, 'ws')}${AGENT_WS_PATH}`;
}

/** The limiter name (key prefix) of failed pairing attempts per client address. */
export const PAIR_FAILURES_LIMIT = 'pair-failures';

export const pairingRoutes: FastifyPluginAsync<PairingRoutesOptions> = async (app, opts) => {
  // Wrong codes are recorded (address and reason, never the code) so guessing shows in the logs.
  app.setErrorHandler(refusalLoggingHandler(app.log, 'pairing refused'));
  const limiter = (opts.limits ?? memoryRateLimits()).limiter(PAIR_FAILURES_LIMIT, { max: opts.maxFailures ?? 10, windowMs: opts.windowMs ?? 15 * 60_000 });
  const wsUrl = agentStreamUrl(opts.publicUrl);

  app.post(PAIR_PATH, { bodyLimit: 4096 }, async (request): Promise<PairResponse> => {
    // An IPv6 client owns its whole /64, so that is its key (the library's default too).
    const address = normalizeIP(request.ip);
    const { allowed, retryAfterSec } = await limitedOr503(() => limiter.peek(address));
    if (!allowed) {
      throw new ProblemError(429, 'too-many-attempts', 'Too many pairing attempts', `Try again in ${retryAfterSec} seconds.`, {
        'retry-after': String(retryAfterSec),
      });
    }
    const body = PairRequestSchema.safeParse(request.body);
    if (!body.success) {
      await limitedOr503(() => limiter.take(address));
      throw new ProblemError(400, 'invalid-request', 'Invalid request', describeIssues(body.error));
    }
    const paired = await opts.tenants.pair(body.data.code);
    if (!paired) {
      await limitedOr503(() => limiter.take(address));
      throw new ProblemError(404, 'pairing-code-not-found', 'Pairing code not accepted', 'This code is unknown, already used or expired. Ask your administrator for a new one.');
    }
    const { agent, deviceToken } = paired;
    return { deviceToken, agentId: agent.id, tenantId: agent.tenantId, extension: agent.extension, name: agent.name, crmUser: agent.crmUser, wsUrl };
  });
};
