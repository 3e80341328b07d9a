// The bus's settings, read once from the environment and checked with zod so a typo fails at
// start-up with a clear message instead of at the first request.
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const EnvSchema = z.object({
  RINGBRIDGE_DATA_DIR: z.string().min(1).default('./.data'),
  RINGBRIDGE_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  RINGBRIDGE_HOST: z.string().min(1).default('0.0.0.0'),
  /** How agents and PBXs reach this bus (behind a proxy: the proxy's https URL). */
  RINGBRIDGE_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Set to run the log on Redis (several nodes); unset = embedded SQLite. */
  RINGBRIDGE_REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  RINGBRIDGE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(7),
  /** base64 of 32 bytes; unset = a key file in the data directory. */
  RINGBRIDGE_MASTER_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be base64 of exactly 32 bytes')
    .optional(),
  RINGBRIDGE_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
});

export interface BusConfig {
  dataDir: string;
  port: number;
  host: string;
  /** Without a trailing slash. */
  publicUrl: string;
  redisUrl: string | null;
  retentionDays: number;
  masterKey: Buffer | null;
  logLevel: (typeof LOG_LEVELS)[number];
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
  const localHost = e.RINGBRIDGE_HOST === '0.0.0.0' || e.RINGBRIDGE_HOST === '::' ? 'localhost' : e.RINGBRIDGE_HOST;
  return {
    dataDir: e.RINGBRIDGE_DATA_DIR,
    port: e.RINGBRIDGE_PORT,
    host: e.RINGBRIDGE_HOST,
    publicUrl: (e.RINGBRIDGE_PUBLIC_URL ?? `http://${localHost}:${e.RINGBRIDGE_PORT}`).replace(/\/+$/, ''),
    redisUrl: e.RINGBRIDGE_REDIS_URL ?? null,
    retentionDays: e.RINGBRIDGE_RETENTION_DAYS,
    masterKey: e.RINGBRIDGE_MASTER_KEY ? Buffer.from(e.RINGBRIDGE_MASTER_KEY, 'base64') : null,
    logLevel: e.RINGBRIDGE_LOG_LEVEL,
  };
}
