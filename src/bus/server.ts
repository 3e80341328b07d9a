// The bus process: the only place that listens. Opens storage from configuration, builds the app,
// starts the in-bus Call Control connectors and the retention sweep, and shuts down in order:
// readiness 503 -> agents told to reconnect (CloseCode.shutdown) -> grace -> connectors stop ->
// app.close() -> log and tenant database closed.
//   npm run bus            (runs out/bus/server.js from npm run build; settings from RINGBRIDGE_* variables)
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp, type BusDeps } from './app.js';
import { openStorage, composeServices, type BusStorage } from './compose.js';
import { ConfigError, loadConfig, type BusConfig } from './config.js';
import { agentStreamUrl } from './http/pairing.js';
import { startConnectors, type ConnectorManager, type StartConnectorsOptions } from './ingest/call-control/index.js';
import type { EventLog } from './log/port.js';
import { acquireLease, type Lease } from './lease.js';
import { RedisDurabilityError } from './redis-durability.js';
import { createBusLogger, flushLogger } from './logger.js';
import { createBusMetrics, meteredIngestor, meteredLimits, timedLog } from './metrics.js';
import { oauthClientsFromEnv } from './oauth-broker/index.js';
import type { AdminTenantStore } from './tenants/rows.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface StartBusOptions {
  /** Default: JSON to stdout (asynchronous, flushed on close) at config.logLevel, secrets redacted. */
  logger?: Logger;
  /** Between telling agents to reconnect and closing the server. Default 500 ms. */
  shutdownGraceMs?: number;
  fanout?: BusDeps['fanout'];
  oauthClients?: BusDeps['oauthClients'];
  /** Connector tuning (tests shorten backoff and the recording poll). */
  connectors?: Pick<StartConnectorsOptions, 'backoff' | 'recordingPoll' | 'pingIntervalMs'>;
  /** How often PBXs added by the admin CLI get their connector started. Default 30 s. */
  connectorRefreshMs?: number;
  /** With Redis: TTL of the lease that lets one node hold the Call Control sockets. Default config.callControlLeaseMs. */
  connectorLeaseMs?: number;
  /** How often events older than the retention are trimmed. Default 1 h. */
  retentionSweepMs?: number;
  /** The clock retention is measured against. */
  now?: () => number;
}

export interface RunningBus {
  /** Where this process listens, as a loopback-reachable http URL. */
  url: string;
  /** How agents and PBXs are told to reach the bus. */
  publicUrl: string;
  /** The agent WebSocket URL (public). */
  wsUrl: string;
  app: FastifyInstance;
  log: EventLog;
  tenants: AdminTenantStore;
  storage: BusStorage;
  connectors: ConnectorManager;
  /** Graceful shutdown; safe to call more than once. */
  close(): Promise<void>;
}

export async function startBus(config: BusConfig, options: StartBusOptions = {}): Promise<RunningBus> {
  const logger = options.logger ?? createBusLogger(config.logLevel);
  // The public URL is baked into pairing answers and recording links, so a free port is chosen
  // before the app is built when the configuration asks for "any port".
  const port = config.port === 0 ? await freePort(config.host) : config.port;
  const publicUrl = new URL(config.publicUrl).port === '0' ? withPort(config.publicUrl, port) : config.publicUrl;

  const storage = await openStorage(config, logger);
  const metrics = createBusMetrics();
  // Bound once the connectors exist; a lease change before that is seen by their first refresh.
  let refresh: () => void = () => undefined;
  let app: FastifyInstance | undefined;
  let connectors: ConnectorManager | undefined;
  let lease: Lease | null = null;
  try {
    // Several nodes share a Redis log: only the lease holder runs connectors (see lease.ts).
    lease = config.redisUrl
      ? await acquireLease({ url: config.redisUrl, key: 'rb:call-control:lease', ttlMs: options.connectorLeaseMs ?? config.callControlLeaseMs, onChange: () => refresh(), logger })
      : null;
    const holder = lease;
    const connectorTenants = holder
      ? { ...storage.tenants, listPbxs: (tenantId?: string) => (holder.held() ? storage.tenants.listPbxs(tenantId) : Promise.resolve([])) }
      : storage.tenants;
    metrics.sources.leaseHeld = holder ? () => holder.held() : undefined;
    // Services append through a timed log and take limits that count refusals; fan-out reads the log itself.
    const limits = meteredLimits(storage.limits, metrics);
    const services = composeServices({ ...storage, log: timedLog(storage.log, metrics), limits }, { publicUrl });
    app = await buildApp({
      log: storage.log,
      tenants: storage.tenants,
      contacts: storage.tenants,
      audit: storage.audit,
      limits,
      ingestor: services.ingestor,
      dial: services.dial,
      recordings: services.recordings,
      pbx: services.pbx,
      relay: services.relay,
      publicUrl,
      oauthClients: options.oauthClients,
      fanout: { ...config.fanout, ...options.fanout },
      logger,
      trustProxy: config.trustProxy,
      connections: config.connections,
      metrics,
      metricsToken: config.metricsToken,
      pingStorage: () => storage.ping(),
    });
    await app.listen({ port, host: config.host });
    connectors = await startConnectors({
      tenants: connectorTenants,
      ingestor: meteredIngestor(services.ingestor, metrics, () => 'call-control', true),
      log: storage.log,
      // A node that takes the lease over: nobody may have watched the PBXs since the previous
      // holder's last renewal, up to a lease and a renewal tick before, plus slack.
      firstLookbackMs: holder ? Math.ceil(((options.connectorLeaseMs ?? config.callControlLeaseMs) * 4) / 3) + 5_000 : undefined,
      registry: services.pbxApis,
      logger: logger.child({ component: 'call-control' }),
      ...options.connectors,
    });
  } catch (err) {
    await connectors?.stop();
    await lease?.release();
    await app?.close();
    await storage.close();
    throw err;
  }
  const running = { app, connectors };
  metrics.sources.connectorStates = () => running.connectors.states();

  const retentionDays = config.retentionDays;
  const now = options.now ?? Date.now;
  const trim = serialised(async () => {
    const removed = await storage.log.trim(new Date(now() - retentionDays * DAY_MS));
    if (removed > 0) logger.info({ removed, retentionDays }, 'trimmed events past retention');
  }, (err) => logger.error({ err }, 'retention trim failed'));
  const refreshConnectors = serialised(() => running.connectors.refresh(), (err) => logger.error({ err }, 'connector refresh failed'));
  refresh = refreshConnectors;
  const timers = [
    setInterval(trim, options.retentionSweepMs ?? 60 * 60_000),
    setInterval(refreshConnectors, options.connectorRefreshMs ?? 30_000),
  ];
  for (const t of timers) t.unref();
  trim();

  let closing: Promise<void> | null = null;
  return {
    url: `http://${loopbackHost(config.host)}:${port}`,
    publicUrl,
    wsUrl: agentStreamUrl(publicUrl),
    app,
    log: storage.log,
    tenants: storage.tenants,
    storage,
    connectors,
    close() {
      closing ??= (async () => {
        for (const t of timers) clearInterval(t);
        refresh = () => undefined; // a lease change must not restart connectors mid-shutdown
        running.app.drain();
        await sleep(options.shutdownGraceMs ?? 500);
        await running.connectors.stop();
        await lease?.release();
        await running.app.close();
        await storage.close();
        await flushLogger(logger);
      })();
      return closing;
    },
  };
}

/** Runs `task` at most once at a time; a call while it runs makes it run once more afterwards. */
function serialised(task: () => Promise<void>, onError: (err: unknown) => void): () => void {
  let running = false;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    task()
      .catch(onError)
      .finally(() => {
        running = false;
        if (again) {
          again = false;
          run();
        }
      });
  };
  return run;
}

function loopbackHost(host: string): string {
  if (host === '0.0.0.0' || host === 'localhost') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function withPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString().replace(/\/+$/, '');
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** One line an operator can act on; the stack only for causes not foreseen here. */
function startFailure(err: unknown, config: BusConfig): string {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e.syscall === 'listen') {
    const where = `${e.address ?? config.host}:${e.port ?? config.port}`;
    if (e.code === 'EADDRINUSE') return `${where} is already in use (another process listens there; change RINGBRIDGE_PORT or stop it)`;
    if (e.code === 'EADDRNOTAVAIL') return `${where}: RINGBRIDGE_HOST is not an address of this machine`;
    if (e.code === 'EACCES') return `${where}: not permitted to listen there (ports below 1024 need privileges)`;
  }
  if (typeof e.path === 'string' && e.syscall) return `data directory ${config.dataDir} (RINGBRIDGE_DATA_DIR) is not usable: ${e.message}`;
  if (err instanceof RedisDurabilityError) return err.message; // a refusal by policy: the message says what to change
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

async function main(): Promise<void> {
  let config: BusConfig;
  let oauthClients: BusDeps['oauthClients'];
  try {
    config = loadConfig();
    oauthClients = oauthClientsFromEnv();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`ringbridge bus: ${err.message}\n`);
    process.exit(2);
  }
  // Its asynchronous stdout is flushed by pino's exit hook on every process.exit below.
  const logger = createBusLogger(config.logLevel);
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception; exiting');
    process.exit(1);
  });

  let bus: RunningBus;
  try {
    bus = await startBus(config, { logger, oauthClients });
  } catch (err) {
    logger.fatal({ err }, 'bus cannot start');
    process.stderr.write(`ringbridge bus: cannot start: ${startFailure(err, config)}\n`);
    process.exit(1);
  }
  logger.info({ url: bus.url, publicUrl: bus.publicUrl, log: config.redisUrl ? 'redis' : 'sqlite', dataDir: config.dataDir }, 'bus listening');

  let signalled = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal; exiting without waiting');
      process.exit(1);
    }
    signalled = true;
    logger.info({ signal }, 'shutting down');
    // A shutdown that hangs (a stuck socket, a dead Redis) must not keep the process forever.
    setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, 10_000).unref();
    bus.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
