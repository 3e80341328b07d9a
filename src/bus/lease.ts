// A lease on Redis so that, of several bus nodes, exactly one holds the PBXs' Call Control
// sockets: 3CX keeps one active token per API client (two holders would keep revoking each
// other's) and two trackers of one PBX would race each other's view of a call. The holder renews
// well inside the TTL; when it dies, another node takes over within one TTL. One key, so its
// scripts run on Redis Cluster too.
import { randomUUID } from 'node:crypto';
import { createRedis } from './redis-client.js';
import type { Logger } from 'pino';

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface Lease {
  held(): boolean;
  /** Gives the lease up at once, so another node need not wait out the TTL. */
  release(): Promise<void>;
}

export async function acquireLease(opts: { url: string; key: string; ttlMs: number; onChange: (held: boolean) => void; logger: Logger }): Promise<Lease> {
  const redis = createRedis(opts.url, { maxRetriesPerRequest: 1 });
  redis.on('error', (err) => opts.logger.warn({ err: err.message }, 'lease connection error'));
  await redis.connect();
  const owner = randomUUID();
  let held = false;
  let stopped = false;

  const set = (now: boolean) => {
    if (now === held) return;
    held = now;
    opts.logger.info({ key: opts.key, held }, held ? 'lease acquired' : 'lease lost');
    opts.onChange(held);
  };
  const tick = async () => {
    try {
      const ok = held
        ? (await redis.eval(RENEW, 1, opts.key, owner, String(opts.ttlMs))) === 1
        : (await redis.set(opts.key, owner, 'PX', opts.ttlMs, 'NX')) === 'OK';
      if (!stopped) set(ok);
    } catch (err) {
      // Unsure whether we still hold it: give it up locally rather than risk two holders.
      opts.logger.warn({ err: (err as Error).message }, 'lease check failed');
      if (!stopped) set(false);
    }
  };
  await tick();
  const timer = setInterval(() => void tick(), Math.max(10, Math.floor(opts.ttlMs / 3)));
  timer.unref();

  return {
    held: () => held,
    async release() {
      stopped = true;
      clearInterval(timer);
      if (held) await redis.eval(RELEASE, 1, opts.key, owner).catch(() => undefined);
      held = false;
      redis.disconnect();
    },
  };
}
