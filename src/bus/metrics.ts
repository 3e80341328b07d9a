// The bus's Prometheus metrics: one registry per bus instance (tests run several buses in one
// process), counters and histograms bumped on the hot path (O(1), labels from small fixed sets:
// never a tenant, PBX or agent id), gauges read from their owners only when scraped.
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ProblemError } from './http/problem.js';
import { REMOTE_OBSERVATIONS_PATH } from './ingest/call-control/routes.js';
import { JOURNAL_PATH, LOOKUP_PATH } from './ingest/crm-template/routes.js';
import { IngestError } from './ingest/normalise.js';
import { WEBHOOK_PATH } from './ingest/webhook/routes.js';
import { matchesAnySecret } from './tenants/secrets.js';
import type { Ingestor } from './ingest/observation.js';
import type { EventLog } from './log/port.js';
import type { RateLimits } from './http/rate-limit.js';

export type IngestForm = 'crm-template' | 'webhook' | 'call-control' | 'remote';
/** stored / duplicate: appended or already there; refused: the sender was told no; failed: a bus fault. */
export type IngestOutcome = 'stored' | 'duplicate' | 'refused' | 'failed';
export type ConnectorState = 'connecting' | 'connected' | 'reconnecting';
const CONNECTOR_STATES: ConnectorState[] = ['connecting', 'connected', 'reconnecting'];

/** What the scrape reads from objects that exist only once the bus is up. */
export interface MetricSources {
  agents?: () => number;
  /** Bytes queued on agent sockets, not yet written to the network. */
  sendQueueBytes?: () => number;
  connectorStates?: () => Iterable<ConnectorState>;
  /** Whether this node holds the Call Control lease (absent: no lease, this node runs the connectors). */
  leaseHeld?: () => boolean;
}

// Milliseconds-scale buckets (in seconds): the delivery target is p99 <= 50 ms.
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function createBusMetrics() {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  const sources: MetricSources = {};
  return {
    registry,
    sources,
    ingested: new Counter({ name: 'ringbridge_events_ingested_total', help: 'Call transitions received, by ingest form and outcome', labelNames: ['form', 'outcome'] as const, registers }),
    appendSeconds: new Histogram({ name: 'ringbridge_log_append_seconds', help: 'Time to append one event to the log (SQLite or Redis)', buckets: LATENCY_BUCKETS, registers }),
    deliverySeconds: new Histogram({ name: 'ringbridge_delivery_seconds', help: 'From ingest (event receivedAt) to the frame handed to the agent sockets on this node', buckets: LATENCY_BUCKETS, registers }),
    slowConsumerCloses: new Counter({ name: 'ringbridge_slow_consumer_closes_total', help: 'Agent sockets closed because their send queue passed the bound', registers }),
    resyncs: new Counter({ name: 'ringbridge_resyncs_total', help: 'Agents told to resync instead of resuming, by reason', labelNames: ['reason'] as const, registers }),
    crmTemplateRequests: new Counter({ name: 'ringbridge_crm_template_requests_total', help: '3CX CRM-template requests, by operation and HTTP status', labelNames: ['op', 'status'] as const, registers }),
    rateLimitRefusals: new Counter({ name: 'ringbridge_rate_limit_refusals_total', help: 'Requests refused by a rate limit, by limiter', labelNames: ['limiter'] as const, registers }),
    gauges: [
      new Gauge({ name: 'ringbridge_agents_connected', help: 'Authenticated agent sockets on this node', registers, collect() { this.set(sources.agents?.() ?? 0); } }),
      new Gauge({ name: 'ringbridge_send_queue_bytes', help: 'Bytes queued on agent sockets of this node (sum of ws bufferedAmount)', registers, collect() { this.set(sources.sendQueueBytes?.() ?? 0); } }),
      new Gauge({
        name: 'ringbridge_call_control_connectors',
        help: 'Call Control connectors this node runs, by state',
        labelNames: ['state'] as const,
        registers,
        collect() {
          const counts = new Map(CONNECTOR_STATES.map((s) => [s, 0]));
          for (const s of sources.connectorStates?.() ?? []) counts.set(s, counts.get(s)! + 1);
          for (const [state, n] of counts) this.set({ state }, n);
        },
      }),
      new Gauge({ name: 'ringbridge_call_control_lease_held', help: '1 when this node holds the Call Control lease (runs the connectors)', registers, collect() { this.set(sources.leaseHeld?.() === false ? 0 : 1); } }),
    ],
  };
}

export type BusMetrics = ReturnType<typeof createBusMetrics>;

/**
 * Counts each transition by outcome. HTTP forms count only what was stored: their refusals and
 * faults are counted from the response status (metricsHooks), once per request.
 */
export function meteredIngestor(ingestor: Ingestor, metrics: BusMetrics, form: (source: IngestForm) => IngestForm, countErrors: boolean): Ingestor {
  return {
    async ingest(observation) {
      const label = form(observation.source);
      try {
        const result = await ingestor.ingest(observation);
        metrics.ingested.inc({ form: label, outcome: result.duplicate ? 'duplicate' : 'stored' });
        return result;
      } catch (err) {
        if (countErrors) metrics.ingested.inc({ form: label, outcome: err instanceof IngestError ? 'refused' : 'failed' });
        throw err;
      }
    },
  };
}

/** The same log, with each append timed. */
export function timedLog(log: EventLog, metrics: BusMetrics): EventLog {
  return new Proxy(log, {
    get(target, prop) {
      if (prop !== 'append') return Reflect.get(target, prop) as unknown;
      return async (...args: Parameters<EventLog['append']>) => {
        const end = metrics.appendSeconds.startTimer();
        try {
          return await target.append(...args);
        } finally {
          end();
        }
      };
    },
  });
}

/** The same limits, counting every answer "not allowed" (a refusal: take gates dial/recording, peek gates pairing). */
export function meteredLimits(limits: RateLimits, metrics: BusMetrics): RateLimits {
  return {
    limiter(name, rule) {
      const inner = limits.limiter(name, rule);
      const counted = async (state: ReturnType<typeof inner.take>) => {
        const s = await state;
        if (!s.allowed) metrics.rateLimitRefusals.inc({ limiter: name });
        return s;
      };
      return { take: (key) => counted(inner.take(key)), peek: (key) => counted(inner.peek(key)) };
    },
    close: () => limits.close(),
    ping: () => limits.ping(),
  };
}

/** Ingest routes by their template (never the raw URL, which holds a PBX id). */
const INGEST_ROUTES = new Map<string, { form: IngestForm; templateOp?: 'lookup' | 'journal' }>([
  [WEBHOOK_PATH, { form: 'webhook' }],
  [LOOKUP_PATH, { form: 'crm-template', templateOp: 'lookup' }],
  [JOURNAL_PATH, { form: 'crm-template', templateOp: 'journal' }],
  [REMOTE_OBSERVATIONS_PATH, { form: 'remote' }],
]);

/**
 * GET /metrics (Prometheus text format) for a request bearing `token`; without a token the route
 * does not exist. Also counts ingest requests by response status: a refusal (4xx) or fault (5xx)
 * of an HTTP form is counted here, once per request, whether or not it reached the normaliser.
 */
const metricsPlugin: FastifyPluginAsync<{ metrics: BusMetrics; token: string | null }> = async (app, { metrics, token }) => {
  app.addHook('onResponse', (request, reply, done) => {
    const route = INGEST_ROUTES.get(request.routeOptions.url ?? '');
    if (route) {
      const status = reply.statusCode;
      if (route.templateOp) metrics.crmTemplateRequests.inc({ op: route.templateOp, status: String(status) });
      if (status >= 400) metrics.ingested.inc({ form: route.form, outcome: status >= 500 ? 'failed' : 'refused' });
    }
    done();
  });
  if (!token) return;
  app.get('/metrics', async (request, reply) => {
    const presented = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!presented || !matchesAnySecret(presented, [token])) {
      throw new ProblemError(401, 'bad-credentials', 'Not authorised', 'Present the metrics token (RINGBRIDGE_METRICS_TOKEN) as a bearer token.', { 'www-authenticate': 'Bearer' });
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
};

export const metricsRoutes = fp(metricsPlugin, { name: 'ringbridge-metrics', fastify: '5.x' });
