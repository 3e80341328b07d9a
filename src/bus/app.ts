// The bus as one Fastify instance, built from ports so tests can hand in memory adapters.
// Registration order matters only for the root error and not-found handlers (first); each route
// group is its own encapsulated plugin with its own problem+json handler. Nothing listens here:
// server.ts is the only place that does.
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AuditLog } from './audit/port.js';
import type { DialService } from './dial/port.js';
import { agentGateway, type GatewayOptions } from './fanout/index.js';
import { capConnectionsPerAddress, DEFAULT_CONNECTION_LIMITS, idleTimeoutOnRequests, serverTimeouts, type ConnectionLimits } from './http/connections.js';
import { pairingRoutes } from './http/pairing.js';
import type { RateLimits } from './http/rate-limit.js';
import { problemHandler } from './http/problem.js';
import { connectorRoutes } from './ingest/call-control/index.js';
import type { Ingestor } from './ingest/observation.js';
import { ingestRoutes } from './ingest/routes.js';
import type { EventLog } from './log/port.js';
import { oauthBrokerRoutes, type OAuthBrokerOptions } from './oauth-broker/index.js';
import type { PbxGateway } from './pbx/port.js';
import type { ConnectorRelay } from './pbx/relay.js';
import { recordingRoutes, type RecordingLinks } from './recordings/index.js';
import { createBusMetrics, meteredIngestor, metricsRoutes, type BusMetrics, type IngestForm } from './metrics.js';
import type { ContactCache } from './tenants/contacts.js';
import type { TenantStore } from './tenants/port.js';

export interface BusDeps {
  log: EventLog;
  tenants: Pick<TenantStore, 'getPbx' | 'pbxSecrets' | 'pair' | 'authenticateDevice' | 'revokedSince'>;
  contacts: Pick<ContactCache, 'findContact'>;
  audit: AuditLog;
  ingestor: Ingestor;
  dial: DialService;
  recordings: RecordingLinks;
  /** The 3CX side of recording downloads. */
  pbx: Pick<PbxGateway, 'openRecording'>;
  /** Where remote connectors collect makecall and recording requests; without it they can do neither. */
  relay?: ConnectorRelay;
  /** Where pairing failures are counted (shared through Redis when configured); default: this process. */
  limits?: RateLimits;
  /** How agents reach this bus (pairing answers with the ws URL derived from it). */
  publicUrl: string;
  /** CRMs whose OAuth code exchange goes through the bus; the broker route exists only when one is set. */
  oauthClients?: OAuthBrokerOptions['clients'];
  /** Fan-out tuning (heartbeat, auth timeout, slow-consumer bound, revocation poll, frame budget, sessions per device). */
  fanout?: Pick<GatewayOptions, 'heartbeatMs' | 'authTimeoutMs' | 'maxBufferedBytes' | 'revocationPollMs' | 'frameRate' | 'frameBurst' | 'maxSessionsPerDevice'>;
  logger?: Logger;
  /** Proxies (addresses, CIDRs, proxy-addr names) whose X-Forwarded-For is believed; none by default. */
  trustProxy?: string[];
  /** Request deadlines and the cap per client address (defaults: DEFAULT_CONNECTION_LIMITS). */
  connections?: ConnectionLimits;
  /** This bus's metrics (server.ts also counts appends, limits and connectors into them); default: a fresh registry. */
  metrics?: BusMetrics;
  /** /metrics answers only requests bearing this token; without one the route does not exist. */
  metricsToken?: string | null;
  /** Readiness probe of the storage (a trivial query on each engine); rejects when one does not answer. */
  pingStorage?: () => Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: BusMetrics;
    /**
     * First step of a graceful shutdown: /ready answers 503 so the load balancer stops routing
     * here, and every agent is closed with CloseCode.shutdown (it reconnects and resumes).
     */
    drain(): void;
  }
}

/**
 * Fastify's two lines per request at info were the largest item on the ingest hot path. Refusals
 * are logged at warn by the routes that refuse and 5xx at error by the problem handler, so a
 * request that went well is one line at debug.
 */
class RequestLogAtDebug extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) return super.requestCompleted(error, request, reply);
    reply.log.debug({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

export async function buildApp(deps: BusDeps): Promise<FastifyInstance> {
  const connections = deps.connections ?? DEFAULT_CONNECTION_LIMITS;
  const app = Fastify({
    // Pino instance from server.ts (redacting); silent for tests that pass none.
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    logController: new RequestLogAtDebug(),
    // Behind a TLS proxy request.ip (the pairing rate limit's key) is the client's only if trusted.
    trustProxy: deps.trustProxy?.length ? deps.trustProxy : false,
    // Idle keep-alive sockets must not hold app.close() open during shutdown.
    forceCloseConnections: 'idle',
    ...serverTimeouts(connections),
  }) as unknown as FastifyInstance;
  capConnectionsPerAddress(app.server, { max: connections.maxConnectionsPerAddress, trustProxy: deps.trustProxy ?? [], log: app.log });
  idleTimeoutOnRequests(app.server);

  await app.register(problemHandler);

  const metrics = deps.metrics ?? createBusMetrics();
  app.decorate('metrics', metrics);
  await app.register(metricsRoutes, { metrics, token: deps.metricsToken ?? null });

  let draining = false;
  // Alive: the process answers. Ready: not draining and every storage engine answers.
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (request, reply) => {
    if (draining) return reply.code(503).header('retry-after', '5').send({ status: 'draining' });
    try {
      await deps.pingStorage?.();
    } catch (err) {
      request.log.warn({ err: (err as Error).message }, 'not ready: storage does not answer');
      return reply.code(503).header('retry-after', '5').send({ status: 'storage-unreachable' });
    }
    return { status: 'ready', ...app.agentGateway.stats() };
  });

  // HTTP forms count only stored/duplicate here; refusals and faults by status (metricsRoutes).
  const httpIngestor = (form: (source: IngestForm) => IngestForm) => meteredIngestor(deps.ingestor, metrics, form, false);
  await app.register(ingestRoutes, { ingestor: httpIngestor((source) => source), tenants: deps.tenants, contacts: deps.contacts });
  await app.register(connectorRoutes, { ingestor: httpIngestor(() => 'remote'), tenants: deps.tenants, relay: deps.relay });
  await app.register(pairingRoutes, { tenants: deps.tenants, publicUrl: deps.publicUrl, limits: deps.limits });
  await app.register(agentGateway, {
    log: deps.log,
    tenants: deps.tenants,
    dial: deps.dial,
    recordings: deps.recordings,
    ...deps.fanout,
    meter: {
      delivered: (seconds) => metrics.deliverySeconds.observe(seconds),
      slowConsumerClosed: () => metrics.slowConsumerCloses.inc(),
      resynced: (reason) => metrics.resyncs.inc({ reason }),
    },
  });
  metrics.sources.agents = () => app.agentGateway.stats().agents;
  metrics.sources.sendQueueBytes = () => app.agentGateway.queuedBytes();
  await app.register(recordingRoutes, { service: deps.recordings, gateway: deps.pbx, audit: deps.audit });
  if (deps.oauthClients && Object.keys(deps.oauthClients).length > 0) {
    await app.register(oauthBrokerRoutes, {
      clients: deps.oauthClients,
      authenticate: (deviceToken) => deps.tenants.authenticateDevice(deviceToken),
    });
  }

  app.decorate('drain', () => {
    draining = true;
    app.agentGateway.close();
  });
  return app;
}
