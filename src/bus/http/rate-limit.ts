// Fixed-window rate limits on @fastify/rate-limit's stores: with Redis configured, one counter per
// key shared by every bus node (so N nodes still allow the configured rate, not N times it);
// otherwise an in-process LRU that evicts the least recently used key instead of refusing to record
// a new one. Limits fail closed: a store error rejects with RateLimitUnavailable, never "allowed".
import LocalStore from '@fastify/rate-limit/store/LocalStore.js';
import RedisStore, { type RateLimitStore } from '@fastify/rate-limit/store/RedisStore.js';
import { createRedis } from '../redis-client.js';
import { ProblemError } from './problem.js';

export interface LimitRule {
  /** Hits allowed per key per window. */
  max: number;
  windowMs: number;
}

export interface LimitState {
  /** For take(): this hit was within the limit. For peek(): one more hit would be. */
  allowed: boolean;
  /** Seconds until the key's window ends (0 when it has none). */
  retryAfterSec: number;
}

export interface RateLimiter {
  /** Counts one hit against `key`. Rejects with RateLimitUnavailable when the store cannot answer. */
  take(key: string): Promise<LimitState>;
  /** Reads `key`'s count without counting. Rejects with RateLimitUnavailable when the store cannot answer. */
  peek(key: string): Promise<LimitState>;
}

export interface RateLimits {
  /** A limiter whose keys live under `name`, so two limiters never share a counter. */
  limiter(name: string, rule: LimitRule): RateLimiter;
  /** Rejects when the store cannot answer (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The limit store did not answer; callers refuse (503, or an error frame) rather than allow. */
export class RateLimitUnavailable extends Error {
  override name = 'RateLimitUnavailable';
}

/** Keys each in-process limiter remembers before evicting the least recently used. */
export const DEFAULT_MAX_KEYS = 100_000;

function limiterOn(store: RateLimitStore, rule: LimitRule): RateLimiter {
  const call = (method: 'incr' | 'read', key: string) =>
    new Promise<{ current: number; ttl: number }>((resolve, reject) => {
      try {
        store[method](key, (err, result) => (err || !result ? reject(new RateLimitUnavailable(`rate limit store failed: ${err?.message ?? 'no answer'}`, { cause: err })) : resolve(result)), rule.windowMs, rule.max);
      } catch (err) {
        reject(new RateLimitUnavailable(`rate limit store failed: ${(err as Error).message}`, { cause: err }));
      }
    });
  const retryAfterSec = (ttl: number) => Math.max(0, Math.ceil(ttl / 1000));
  return {
    async take(key) {
      const { current, ttl } = await call('incr', key);
      return { allowed: current <= rule.max, retryAfterSec: retryAfterSec(ttl) };
    },
    async peek(key) {
      const { current, ttl } = await call('read', key);
      return { allowed: current < rule.max, retryAfterSec: retryAfterSec(ttl) };
    },
  };
}

/** Limits kept in this process only (a single bus node, tests). */
export function memoryRateLimits(opts: { maxKeys?: number } = {}): RateLimits {
  // One store per name, as on Redis, where a name is a key prefix.
  const stores = new Map<string, RateLimitStore>();
  return {
    limiter(name, rule) {
      let store = stores.get(name);
      if (!store) stores.set(name, (store = new LocalStore(false, false, opts.maxKeys ?? DEFAULT_MAX_KEYS)));
      return limiterOn(store, rule);
    },
    ping: async () => undefined,
    close: async () => undefined,
  };
}

/**
 * Limits shared through Redis (the bus's RINGBRIDGE_REDIS_URL). Commands fail at once while the
 * connection is down (no offline queue) and time out after `commandTimeoutMs`, so a dead Redis
 * means prompt refusals, not hung requests; ioredis reconnects in the background.
 */
export async function redisRateLimits(opts: { url: string; keyPrefix?: string; commandTimeoutMs?: number; onError?: (err: Error) => void }): Promise<RateLimits> {
  const redis = createRedis(opts.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: opts.commandTimeoutMs ?? 2_000 });
  redis.on('error', (err: Error) => opts.onError?.(err));
  await redis.connect();
  const prefix = opts.keyPrefix ?? 'rb';
  return {
    limiter: (name, rule) => limiterOn(new RedisStore(false, false, redis, `${prefix}:rl:${name}:`), rule),
    async ping() {
      await redis.ping();
    },
    async close() {
      redis.disconnect();
    },
  };
}

/** Runs a limiter call; a store that cannot answer refuses the request (fail closed) with a 503. */
export async function limitedOr503<T>(check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (err) {
    if (!(err instanceof RateLimitUnavailable)) throw err;
    throw new ProblemError(503, 'rate-limit-unavailable', 'Temporarily unavailable', 'The bus cannot check its rate limits right now; nothing was done. Try again shortly.', { 'retry-after': '5' });
  }
}
