// Wiring from configuration to adapters: which storage engine backs the log, where the tenant
// database lives, and the services built on top. Pure assembly, no listening, no timers.
import { hkdfSync } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AuditLog } from './audit/port.js';
import { createSqliteAuditLog } from './audit/sqlite.js';
import type { BusConfig } from './config.js';
import type { DialService } from './dial/port.js';
import { createDialService } from './dial/service.js';
import { memoryRateLimits, redisRateLimits, type RateLimits } from './http/rate-limit.js';
import type { DeliveryStore } from './ingest/deliveries/port.js';
import { openRedisDeliveryStore } from './ingest/deliveries/redis.js';
import { DELIVERIES_DB_FILE, openSqliteDeliveryStore } from './ingest/deliveries/sqlite.js';
import { createIngestor } from './ingest/normalise.js';
import type { Ingestor } from './ingest/observation.js';
import type { EventLog } from './log/port.js';
import { openRedisEventLog } from './log/redis/index.js';
import { verifyRedisDurability } from './redis-durability.js';
import { openSqliteEventLog } from './log/sqlite/index.js';
import { createConnectorRelay, createPbxApiRegistry, createPbxGateway, type ConnectorRelay, type PbxApiRegistry } from './pbx/index.js';
import type { PbxGateway } from './pbx/port.js';
import { createRecordingService, type RecordingLinks } from './recordings/index.js';
import { loadMasterKey } from './tenants/secrets.js';
import { createSqliteTenantStore, type SqliteTenantStore } from './tenants/sqlite/store.js';

/** Tenants, PBXs, agents, contacts and the audit trail share this file in the data directory. */
export const TENANTS_DB_FILE = 'tenants.sqlite';

export interface BusStorage {
  log: EventLog;
  tenants: SqliteTenantStore;
  audit: AuditLog;
  /** Delivery ids already stored (webhook retries), beside the log: Redis when it has one, else SQLite. */
  deliveries: DeliveryStore;
  /** Rate-limit counters: in Redis when configured (so every node counts together), else in this process. */
  limits: RateLimits;
  masterKey: Buffer;
  /** Readiness: rejects unless the tenant database and Redis (when configured) answer a trivial query. */
  ping(): Promise<void>;
  /** Closes the log and delivery ids, then the tenant database (SQLite checkpoints its WAL on the last close). */
  close(): Promise<void>;
}

/**
 * The log on SQLite in the data directory, or on Redis when a URL is configured (several nodes).
 * Tenants stay in SQLite either way: nodes sharing a Redis log must share the data directory
 * (one host, or a shared volume with working POSIX locks); a networked tenant store is not built.
 */
export async function openStorage(config: Pick<BusConfig, 'dataDir' | 'redisUrl' | 'masterKey'> & Partial<Pick<BusConfig, 'auditRetentionDays' | 'redisRequireFsync'>>, logger: Logger): Promise<BusStorage> {
  const onError = (err: unknown) => logger.error({ err }, 'event log background error');
  // Before anything is acknowledged: what a Redis crash could lose (refuses when required and weaker).
  if (config.redisUrl) await verifyRedisDurability(config.redisUrl, { required: config.redisRequireFsync ?? null, logger });
  const masterKey = loadMasterKey({ configured: config.masterKey, dataDir: config.dataDir });
  const log = config.redisUrl ? await openRedisEventLog({ url: config.redisUrl, onError }) : openSqliteEventLog({ dataDir: config.dataDir, onError });
  let tenants: SqliteTenantStore;
  let limits: RateLimits | undefined;
  let deliveries: DeliveryStore | undefined;
  try {
    deliveries = config.redisUrl ? await openRedisDeliveryStore({ url: config.redisUrl }) : openSqliteDeliveryStore({ path: join(config.dataDir, DELIVERIES_DB_FILE), onError: (err) => logger.error({ err }, 'delivery ids background error') });
    limits = config.redisUrl ? await redisRateLimits({ url: config.redisUrl, onError: (err) => logger.warn({ err: err.message }, 'rate limit store connection error') }) : memoryRateLimits();
    tenants = createSqliteTenantStore({ path: join(config.dataDir, TENANTS_DB_FILE), masterKey });
  } catch (err) {
    await limits?.close();
    await deliveries?.close();
    await log.close();
    throw err;
  }
  const audit = createSqliteAuditLog({ db: tenants.db }, { retentionDays: config.auditRetentionDays });
  return {
    log,
    tenants,
    audit,
    deliveries,
    limits,
    masterKey,
    async ping() {
      tenants.db.prepare('SELECT 1').get();
      // Every Redis user of the bus shares one server: the limits' connection answers for it,
      // and it fails at once while Redis is down (no offline queue).
      await limits.ping();
    },
    async close() {
      await audit.close();
      await limits.close();
      await log.close();
      await deliveries.close();
      await tenants.close();
    },
  };
}

export interface BusServices {
  ingestor: Ingestor;
  /** One token owner per 3CX API client, shared by the connectors, dialling and recordings. */
  pbxApis: PbxApiRegistry;
  pbx: PbxGateway;
  /** Makecall and recordings for PBXs in remote mode, carried over their connector's own connection. */
  relay: ConnectorRelay;
  dial: DialService;
  recordings: RecordingLinks;
}

export function composeServices(storage: BusStorage, opts: { publicUrl: string }): BusServices {
  const { log, tenants, audit, deliveries } = storage;
  const pbxApis = createPbxApiRegistry({ tenants });
  const relay = createConnectorRelay();
  const pbx = createPbxGateway({ tenants, registry: pbxApis, relay });
  return {
    ingestor: createIngestor({ log, tenants, deliveries }),
    pbxApis,
    pbx,
    relay,
    dial: createDialService({ tenants, gateway: pbx, audit, limits: storage.limits }),
    // Derived from the master key, so links stay valid across restarts and on every node.
    recordings: createRecordingService({ log, audit, agents: tenants, limits: storage.limits, secret: recordingLinkKey(storage.masterKey), publicUrl: opts.publicUrl }),
  };
}

function recordingLinkKey(masterKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'ringbridge recording links v1', 32));
}
