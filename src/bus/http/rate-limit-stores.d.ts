// Types for the two stores @fastify/rate-limit ships (store/*.js, untyped): the bus uses them
// directly because dial and recording limits are not per HTTP route (see rate-limit.ts).
declare module '@fastify/rate-limit/store/LocalStore.js' {
  import type { RateLimitStore } from '@fastify/rate-limit/store/RedisStore.js';
  /** Fixed windows in an LRU of `cache` keys (toad-cache): the least recently used key is evicted. */
  const LocalStore: new (continueExceeding: boolean, exponentialBackoff: boolean, cache?: number) => RateLimitStore;
  export default LocalStore;
}

declare module '@fastify/rate-limit/store/RedisStore.js' {
  import type { Cluster, Redis } from 'ioredis';
  type Done = (err: Error | null, result?: { current: number; ttl: number }) => void;
  export interface RateLimitStore {
    /** Counts one hit; `ttl` is what is left of the key's window in ms. */
    incr(key: string, done: Done, timeWindow: number, max: number): void;
    /** The count without counting. */
    read(key: string, done: Done, timeWindow: number, max: number): void;
  }
  /** INCR + PEXPIRE in one Lua script on one key (`key` + the caller's key), so it runs on Redis Cluster too. */
  const RedisStore: new (continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis | Cluster, key?: string) => RateLimitStore;
  export default RedisStore;
}
