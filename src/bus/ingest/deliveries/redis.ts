// Delivery ids on the Redis every bus node shares: one key per delivery, expired by Redis itself
// (one key per command, so Redis Cluster routes each by its own slot).
import { createRedis } from '../../redis-client.js';
import { DELIVERY_RETENTION_MS, DeliveryRecordSchema, type DeliveryStore } from './port.js';

export interface RedisDeliveryStoreOptions {
  url: string;
  /** Prefix of every key, as for the event log, so several buses can share one Redis. */
  keyPrefix?: string;
  retentionMs?: number;
}

export async function openRedisDeliveryStore(opts: RedisDeliveryStoreOptions): Promise<DeliveryStore> {
  const retentionMs = opts.retentionMs ?? DELIVERY_RETENTION_MS;
  const prefix = `${opts.keyPrefix ?? 'rb'}:delivery:`;
  const redis = createRedis(opts.url);
  await redis.connect();
  return {
    async find(key) {
      const stored = await redis.get(prefix + key);
      return stored === null ? null : DeliveryRecordSchema.parse(JSON.parse(stored));
    },
    async remember(key, record) {
      await redis.set(prefix + key, JSON.stringify(record), 'PX', retentionMs);
    },
    async close() {
      await redis.quit();
    },
  };
}
