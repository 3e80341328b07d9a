// Wiring from configuration to adapters: which storage engine backs the log, where the tenant
// database lives, and the services built on top. Pure assembly, no listening, no timers.
import { hkdfSync } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AuditLog } from './audit/port.js';
import { createPostgresAuditLog } from './audit/postgres.js';
import { createSqliteAuditLog } from './audit/sqlite.js';
import type { BusConfig } from './config.js';
import type { DialService } from './dial/port.js';
import { createDialService } from './dial/service.js';
import { memoryRateLimits, redisRateLimits, type RateLimits } from './http/rate-limit.js';
import type { DeliveryStore } from './ingest/deliveries/port.js';
import { openRedisDeliveryStore } from './ingest/deliveries/redis.js';
import { createIngestor } from './ingest/normalise.js';
import type { Ingestor } from './ingest/observation.js';
import type { EventLog } from './log/port.js';
import { openRedisEventLog } from './log/redis/index.js';
import { verifyRedisDurability } from './redis-durability.js';
import { openSqliteEventLog } from './log/sqlite/index.js';
import { createConnectorRelay, createPbxApiRegistry, createPbxGateway, type ConnectorRelay, type PbxApiRegistry } from './pbx/index.js';
import type { PbxGateway } from './pbx/port.js';
import { openPostgres } from './postgres.js';
import { createRecordingService, type RecordingLinks } from './recordings/index.js';
import { MIGRATIONS as POSTGRES_MIGRATIONS } from './tenants/postgres/schema.js';
import { createPostgresTenantStore } from './tenants/postgres/store.js';
import type { AdminTenantStore } from './tenants/rows.js';
import { loadMasterKey } from './tenants/secrets.js';
import { createSqliteTenantStore } from './tenants/sqlite/store.js';

/** Without a database URL, tenants, PBXs, agents, contacts and the audit trail share this file in the data directory. */
export const TENANTS_DB_FILE = 'tenants.sqlite';

/** Tenants (with PBXs, agents, pairing codes, contacts) and the audit trail: one engine for both. */
export interface TenantStorage {
  tenants: AdminTenantStore;
  audit: AuditLog;
  /** Rejects unless the database answers a trivial query. */
  ping(): Promise<void>;
  /** Writes what the audit log holds back, then closes the database (or pool). */
  close(): Promise<void>;
}

/**
 * PostgreSQL when a database URL is configured (every node and the admin CLI share it; migrations
 * run here), else the SQLite file in the data directory (nodes must then share that directory).
 */
export async function openTenantStorage(opts: {
  dataDir: string;
  databaseUrl: string | null;
  masterKey: Buffer;
  auditRetentionDays?: number;
  onError: (err: Error) => void;
}): Promise<TenantStorage> {
  const auditOptions = { retentionDays: opts.auditRetentionDays };
  if (opts.databaseUrl) {
    const pool = await openPostgres({ url: opts.databaseUrl, migrations: POSTGRES_MIGRATIONS, onError: opts.onError });
    try {
      const audit = await createPostgresAuditLog(pool, auditOptions);
      return {
        tenants: createPostgresTenantStore({ pool, masterKey: opts.masterKey }),
        audit,
        async ping() {
          await pool.query('SELECT 1');
        },
        close: () => pool.end(),
      };
    } catch (err) {
      await pool.end();
      throw err;
    }
  }
  const tenants = createSqliteTenantStore({ path: join(opts.dataDir, TENANTS_DB_FILE), masterKey: opts.masterKey });
  const audit = createSqliteAuditLog({ db: tenants.db }, auditOptions);
  return {
    tenants,
    audit,
    async ping() {
      tenants.db.prepare('SELECT 1').get();
    },
    async close() {
      await audit.close();
      await tenants.close();
    },
  };
}

export interface BusStorage {
  log: EventLog;
  tenants: AdminTenantStore;
  audit: AuditLog;
  /** Delivery ids already stored (webhook retries), beside the log: Redis when it has one, else the SQLite log's file. */
  deliveries: DeliveryStore;
  /** Rate-limit counters: in Redis when configured (so every node counts together), else in this process. */
  limits: RateLimits;
  masterKey: Buffer;
  /** Readiness: rejects unless the tenant database and Redis (when configured) answer a trivial query. */
  ping(): Promise<void>;
  /** Closes the log and delivery ids, then the tenant storage (SQLite checkpoints its WAL on the last close). */
  close(): Promise<void>;
}

/**
 * The log (and delivery ids) on SQLite in the data directory, or on Redis when a URL is configured.
 * Tenants and the audit trail on PostgreSQL when a database URL is configured, else SQLite in the
 * data directory. Nodes on separate hosts need both URLs; with SQLite tenants they must share the
 * data directory (one host, or a shared volume with working POSIX locks).
 */
export async function openStorage(config: Pick<BusConfig, 'dataDir' | 'redisUrl' | 'masterKey'> & Partial<Pick<BusConfig, 'auditRetentionDays' | 'redisRequireFsync' | 'databaseUrl'>>, logger: Logger): Promise<BusStorage> {
  const onError = (err: unknown) => logger.error({ err }, 'event log background error');
  // Before anything is acknowledged: what a Redis crash could lose (refuses when required and weaker).
  if (config.redisUrl) await verifyRedisDurability(config.redisUrl, { required: config.redisRequireFsync ?? null, logger });
  const masterKey = loadMasterKey({ configured: config.masterKey, dataDir: config.dataDir });
  const log = config.redisUrl ? await openRedisEventLog({ url: config.redisUrl, onError }) : openSqliteEventLog({ dataDir: config.dataDir, onError });
  let tenantStorage: TenantStorage;
  let limits: RateLimits | undefined;
  let deliveries: DeliveryStore | undefined;
  try {
    deliveries = log.deliveries ?? (await openRedisDeliveryStore({ url: config.redisUrl! }));
    limits = config.redisUrl ? await redisRateLimits({ url: config.redisUrl, onError: (err) => logger.warn({ err: err.message }, 'rate limit store connection error') }) : memoryRateLimits();
    tenantStorage = await openTenantStorage({
      dataDir: config.dataDir,
      databaseUrl: config.databaseUrl ?? null,
      masterKey,
      auditRetentionDays: config.auditRetentionDays,
      onError: (err) => logger.error({ err }, 'tenant database connection error'),
    });
  } catch (err) {
    await limits?.close();
    await deliveries?.close();
    await log.close();
    throw err;
  }
  return {
    log,
    tenants: tenantStorage.tenants,
    audit: tenantStorage.audit,
    deliveries,
    limits,
    masterKey,
    async ping() {
      await tenantStorage.ping();
      // Every Redis user of the bus shares one server: the limits' connection answers for it,
      // and it fails at once while Redis is down (no offline queue).
      await limits.ping();
    },
    async close() {
      await limits.close();
      await log.close();
      await deliveries.close();
      await tenantStorage.close();
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
    recordings: createRecordingService({ log, audit, agents: tenants, limits: storage.limits, secret: recordingLinkKey(storage.masterKey), publicUrl: opts.publicUrl, text: pbx }),
  };
}

function recordingLinkKey(masterKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'ringbridge recording links v1', 32));
}
