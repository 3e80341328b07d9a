// Token broker: CRMs that demand a client secret (HighLevel; any CRM without public PKCE clients)
// get their code exchange and refresh through the bus, so no secret ships in the desktop app.
// Only paired agents (device token) may use it. The CRM's answer is returned unchanged, except
// that a successful one also carries the app's own settings the agent's session needs (HighLevel:
// the app's Call conversation provider id, which no token response names); the secret, codes and
// tokens are never logged.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { CrmIdSchema, type CrmId } from '../../shared/crm.js';
import { BrokerTokenRequestSchema, OAUTH_TOKEN_ROUTE, type BrokerAppContext } from '../../shared/oauth-broker.js';
import { ConfigError } from '../config.js';
import type { Agent } from '../tenants/port.js';

export interface BrokerClient {
  clientId: string;
  clientSecret: string;
  tokenUrl: string;
  /** App settings added to every successful token answer where the CRM did not send them (they land in the session context). */
  context?: Record<string, string>;
}

/** App settings per CRM, from RINGBRIDGE_OAUTH_<CRM>_<SUFFIX>: context key -> env suffix. */
const APP_CONTEXT_ENV: Partial<Record<CrmId, Record<keyof BrokerAppContext, string>>> = { highlevel: { conversationProviderId: 'CONVERSATION_PROVIDER_ID' } };

export interface OAuthBrokerOptions {
  clients: Partial<Record<CrmId, BrokerClient>>;
  authenticate: (deviceToken: string) => Promise<Agent | null>;
  fetch?: typeof fetch;
  /** Upstream timeout; default 15 s. */
  timeoutMs?: number;
}

function problem(reply: FastifyReply, status: number, title: string, detail: string) {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({ type: 'about:blank', title, status, detail });
}

export const oauthBrokerRoutes: FastifyPluginAsync<OAuthBrokerOptions> = async (app, opts) => {
  const doFetch = opts.fetch ?? fetch;

  // Malformed JSON and other framework errors answer in the same problem+json shape.
  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error.message }, 'oauth broker failed');
    return problem(reply, status, status === 500 ? 'Internal error' : 'Bad request', status === 500 ? 'token broker failed' : error.message);
  });

  app.post<{ Params: { crm: string } }>(OAUTH_TOKEN_ROUTE, async (request, reply) => {
    const bearer = /^Bearer ([^\s]+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const agent = bearer ? await opts.authenticate(bearer) : null;
    if (!agent) return problem(reply, 401, 'Unauthenticated', 'a valid device token is required');

    const crm = CrmIdSchema.safeParse(request.params.crm).data;
    const client = crm ? opts.clients[crm] : undefined;
    if (!crm || !client) return problem(reply, 404, 'Not brokered', `no OAuth client is configured for "${request.params.crm}"`);

    const parsed = BrokerTokenRequestSchema.safeParse(request.body);
    if (!parsed.success) return problem(reply, 400, 'Invalid token request', z.prettifyError(parsed.error));

    const form = new URLSearchParams({ ...parsed.data, client_id: client.clientId, client_secret: client.clientSecret });
    let upstream: Response;
    try {
      upstream = await doFetch(client.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
      });
    } catch (error) {
      request.log.warn({ crm, agentId: agent.id, err: (error as Error).name }, 'CRM token endpoint unreachable');
      return problem(reply, 502, 'CRM unreachable', `the ${crm} token endpoint did not answer`);
    }
    request.log.info({ crm, agentId: agent.id, grant: parsed.data.grant_type, status: upstream.status }, 'brokered token request');
    const retryAfter = upstream.headers.get('retry-after');
    if (retryAfter) reply.header('retry-after', retryAfter);
    const body = Buffer.from(await upstream.arrayBuffer());
    return reply
      .code(upstream.status)
      .header('cache-control', 'no-store')
      .type(upstream.headers.get('content-type') ?? 'application/json')
      .send(upstream.ok && client.context ? withAppContext(body, client.context) : body);
  });
};

/** A JSON token answer with the app's settings added under keys the CRM did not use; anything else unchanged. */
function withAppContext(body: Buffer, context: Record<string, string>): Buffer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return body;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return body;
  return Buffer.from(JSON.stringify({ ...context, ...parsed }));
}

/**
 * Brokered clients from RINGBRIDGE_OAUTH_<CRM>_CLIENT_ID / _CLIENT_SECRET / _TOKEN_URL, and for
 * HighLevel _CONVERSATION_PROVIDER_ID (the app's Call provider; without it no call can be logged).
 * A CRM with none of the three set is simply not brokered; a partial set is a start-up error.
 */
export function oauthClientsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<Record<CrmId, BrokerClient>> {
  const clients: Partial<Record<CrmId, BrokerClient>> = {};
  for (const crm of CrmIdSchema.options) {
    const prefix = `RINGBRIDGE_OAUTH_${crm.toUpperCase()}_`;
    const values = { clientId: env[`${prefix}CLIENT_ID`], clientSecret: env[`${prefix}CLIENT_SECRET`], tokenUrl: env[`${prefix}TOKEN_URL`] };
    const set = Object.values(values).filter(Boolean).length;
    if (set === 0) continue;
    if (set < 3) throw new ConfigError(`${prefix}CLIENT_ID, ${prefix}CLIENT_SECRET and ${prefix}TOKEN_URL must be set together`);
    if (!z.url({ protocol: /^https?$/ }).safeParse(values.tokenUrl).success) throw new ConfigError(`${prefix}TOKEN_URL must be an http(s) URL`);
    const context = Object.fromEntries(
      Object.entries(APP_CONTEXT_ENV[crm] ?? {}).flatMap(([key, suffix]) => (env[`${prefix}${suffix}`] ? [[key, env[`${prefix}${suffix}`]!]] : [])),
    );
    clients[crm] = { ...(values as BrokerClient), ...(Object.keys(context).length > 0 ? { context } : {}) };
  }
  return clients;
}
