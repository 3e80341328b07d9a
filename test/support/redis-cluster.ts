// A throwaway 3-master Redis Cluster on free loopback ports for tests: three cluster-enabled
// redis-servers (temp dirs, no persistence) joined by `redis-cli --cluster create`.
import { execFile } from 'node:child_process';
import { setTimeout } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from './redis-server.js';

export interface RedisCluster {
  /** redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3 */
  url: string;
  /** One plain client per master, for checks a cluster client hides (PUBSUB SHARDCHANNELS). */
  masters: Redis[];
  stop(): Promise<void>;
}

export async function startRedisCluster(): Promise<RedisCluster> {
  const servers: RedisServer[] = [];
  const masters: Redis[] = [];
  const stop = async () => {
    for (const m of masters) m.disconnect();
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    // A relative cluster config file lands in each server's own temp --dir.
    for (let i = 0; i < 3; i++) servers.push(await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'] }));
    const nodes = servers.map((s) => `127.0.0.1:${s.port}`);
    await promisify(execFile)('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes']);
    masters.push(...servers.map((s) => new Redis(s.url)));
    // Every node must agree that all slots are served before a client may rely on the slot map.
    const deadline = Date.now() + 20_000;
    while (!(await Promise.all(masters.map((m) => m.cluster('INFO')))).every((info) => info.includes('cluster_state:ok'))) {
      if (Date.now() > deadline) throw new Error('the test Redis Cluster did not reach cluster_state:ok');
      await setTimeout(100);
    }
    return { url: `redis+cluster://${nodes.join(',')}`, masters, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Connections subscribed to a shard channel, over the given data nodes (each counts only its own). */
export async function shardSubscribers(nodes: Redis[], channel: string): Promise<number> {
  let n = 0;
  for (const node of nodes) n += ((await node.pubsub('SHARDNUMSUB', channel)) as [string, number])[1];
  return n;
}

/** Deletes every key matching `pattern` on the given data nodes, one key per DEL (a cluster node refuses keys of two slots in one). */
export async function wipeKeys(nodes: Redis[], pattern: string): Promise<void> {
  for (const node of nodes) {
    const keys = await node.keys(pattern);
    if (keys.length > 0) await Promise.all(keys.map((k) => node.del(k)));
  }
}
