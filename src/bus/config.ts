// The bus's settings, read once from the environment and checked with zod so a typo fails at
// start-up with a clear message instead of at the first request.
import { isIP } from 'node:net';
import { z } from 'zod';
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './http/connections.js';
import { isRedisUrl } from './redis-client.js';
import { FSYNC_POLICIES, type FsyncPolicy } from './redis-durability.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** proxy-addr's names for ranges (127/8 and ::1; 169.254/16 and fe80::/10; 10/8, 172.16/12, 192.168/16 and fc00::/7). */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** One trusted proxy: an IP address, a CIDR, or a proxy-addr range name. */
function isProxyEntry(entry: string): boolean {
  if (PROXY_RANGE_NAMES.includes(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

const EnvSchema = z.object({
  RINGBRIDGE_DATA_DIR: z.string().min(1).default('./.data'),
  RINGBRIDGE_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  RINGBRIDGE_HOST: z.string().min(1).default('0.0.0.0'),
  /** How agents and PBXs reach this bus (behind a proxy: the proxy's https URL). */
  RINGBRIDGE_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Set to run the log on Redis (several nodes); unset = embedded SQLite. redis+cluster://h:p,h:p = Redis Cluster. */
  RINGBRIDGE_REDIS_URL: z.string().refine(isRedisUrl, 'must be redis://, rediss:// or redis+cluster://host:port,host:port').optional(),
  /** Set to keep tenants, agents, pairing codes, contacts and the audit trail in PostgreSQL (nodes on several hosts); unset = SQLite in the data directory. */
  RINGBRIDGE_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /** Refuse to start unless every Redis data node fsyncs its append-only file this often (redis-durability.ts). */
  RINGBRIDGE_REDIS_REQUIRE_FSYNC: z.enum(FSYNC_POLICIES).optional(),
  /** With Redis: TTL of the lease that lets one node hold the Call Control sockets (a dead holder's PBXs wait up to this long for another node). */
  RINGBRIDGE_CALL_CONTROL_LEASE_MS: z.coerce.number().int().min(300).max(600_000).default(15_000),
  RINGBRIDGE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(7),
  /** How long dial and recording audit rows are kept. */
  RINGBRIDGE_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  /** base64 of 32 bytes; unset = a key file in the data directory. */
  RINGBRIDGE_MASTER_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be base64 of exactly 32 bytes')
    .optional(),
  RINGBRIDGE_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** Bearer token Prometheus presents for /metrics; unset: no /metrics route at all. */
  RINGBRIDGE_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Request deadlines and the per-address connection cap (http/connections.ts says why these defaults). */
  RINGBRIDGE_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(DEFAULT_CONNECTION_LIMITS.requestTimeoutMs),
  RINGBRIDGE_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(DEFAULT_CONNECTION_LIMITS.headersTimeoutMs),
  RINGBRIDGE_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(DEFAULT_CONNECTION_LIMITS.keepAliveTimeoutMs),
  /** Behind a load balancer, list it in RINGBRIDGE_TRUST_PROXY: its connections are not capped. */
  RINGBRIDGE_MAX_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_CONNECTION_LIMITS.maxConnectionsPerAddress),
  /** Frames per second one agent socket may send on average, and at once; beyond, it is closed. */
  RINGBRIDGE_AGENT_FRAME_RATE: z.coerce.number().int().min(1).max(100_000).default(100),
  RINGBRIDGE_AGENT_FRAME_BURST: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  /** Concurrent agent connections per device token; a newer one closes the oldest. */
  RINGBRIDGE_AGENT_SESSIONS_PER_DEVICE: z.coerce.number().int().min(1).max(100).default(2),
  /**
   * Proxies in front of the bus whose X-Forwarded-For is believed (comma-separated addresses,
   * CIDRs or loopback/linklocal/uniquelocal), so request.ip is the client's. Unset = none.
   * No hop count: it trusts whoever connects, so a client reaching the bus directly could spoof.
   */
  RINGBRIDGE_TRUST_PROXY: z
    .string()
    .transform((v) => v.split(',').map((entry) => entry.trim()).filter((entry) => entry !== ''))
    .refine((list) => list.every(isProxyEntry), 'must be proxy addresses or CIDRs, comma-separated (or loopback, linklocal, uniquelocal)')
    .default([]),
});

export interface BusConfig {
  dataDir: string;
  port: number;
  host: string;
  /** Without a trailing slash. */
  publicUrl: string;
  redisUrl: string | null;
  /** postgres:// URL of the tenant database; null = SQLite in the data directory. */
  databaseUrl: string | null;
  /** null: start whatever Redis's appendfsync, warning when a crash could lose acknowledged events. */
  redisRequireFsync: FsyncPolicy | null;
  callControlLeaseMs: number;
  retentionDays: number;
  auditRetentionDays: number;
  masterKey: Buffer | null;
  logLevel: (typeof LOG_LEVELS)[number];
  /** /metrics is served only to a request bearing this token; null: not served. */
  metricsToken: string | null;
  /** Limits of each agent connection (see GatewayOptions). */
  fanout: { frameRate: number; frameBurst: number; maxSessionsPerDevice: number };
  /** Empty: X-Forwarded-For is ignored and request.ip is the connecting peer. */
  trustProxy: string[];
  connections: ConnectionLimits;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; throws ConfigError naming every bad variable (never echoing values). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): BusConfig {
  const blankAsUnset = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(blankAsUnset);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  if (e.RINGBRIDGE_HEADERS_TIMEOUT_MS > e.RINGBRIDGE_REQUEST_TIMEOUT_MS) {
    throw new ConfigError('invalid configuration: RINGBRIDGE_HEADERS_TIMEOUT_MS: must not exceed RINGBRIDGE_REQUEST_TIMEOUT_MS (headers are part of the request)');
  }
  const localHost = e.RINGBRIDGE_HOST === '0.0.0.0' || e.RINGBRIDGE_HOST === '::' ? 'localhost' : e.RINGBRIDGE_HOST;
  return {
    dataDir: e.RINGBRIDGE_DATA_DIR,
    port: e.RINGBRIDGE_PORT,
    host: e.RINGBRIDGE_HOST,
    publicUrl: (e.RINGBRIDGE_PUBLIC_URL ?? `http://${localHost}:${e.RINGBRIDGE_PORT}`).replace(/\/+$/, ''),
    redisUrl: e.RINGBRIDGE_REDIS_URL ?? null,
    databaseUrl: e.RINGBRIDGE_DATABASE_URL ?? null,
    redisRequireFsync: e.RINGBRIDGE_REDIS_REQUIRE_FSYNC ?? null,
    callControlLeaseMs: e.RINGBRIDGE_CALL_CONTROL_LEASE_MS,
    retentionDays: e.RINGBRIDGE_RETENTION_DAYS,
    auditRetentionDays: e.RINGBRIDGE_AUDIT_RETENTION_DAYS,
    masterKey: e.RINGBRIDGE_MASTER_KEY ? Buffer.from(e.RINGBRIDGE_MASTER_KEY, 'base64') : null,
    logLevel: e.RINGBRIDGE_LOG_LEVEL,
    metricsToken: e.RINGBRIDGE_METRICS_TOKEN ?? null,
    fanout: { frameRate: e.RINGBRIDGE_AGENT_FRAME_RATE, frameBurst: e.RINGBRIDGE_AGENT_FRAME_BURST, maxSessionsPerDevice: e.RINGBRIDGE_AGENT_SESSIONS_PER_DEVICE },
    trustProxy: e.RINGBRIDGE_TRUST_PROXY,
    connections: {
      requestTimeoutMs: e.RINGBRIDGE_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: e.RINGBRIDGE_HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: e.RINGBRIDGE_KEEP_ALIVE_TIMEOUT_MS,
      maxConnectionsPerAddress: e.RINGBRIDGE_MAX_CONNECTIONS_PER_ADDRESS,
    },
  };
}
