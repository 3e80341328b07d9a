// One way to reach the bus's Redis, single server or Cluster, for the log, delivery ids, rate
// limits and the Call Control lease. RINGBRIDGE_REDIS_URL is `redis://` / `rediss://` for one server,
// or `redis+cluster://[user:pass@]host:port,host:port` (`rediss+cluster://` with TLS) naming some of
// a Redis Cluster's nodes; ioredis discovers the rest and follows slot moves.
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';

export type RedisClient = Redis | Cluster;

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#]+)\/?$/;
const NodeSchema = z.object({ host: z.string().min(1), port: z.coerce.number().int().min(1).max(65535) });

interface ClusterTarget {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls: boolean;
}

/** The cluster seed nodes of a `redis+cluster://` URL, null for a plain `redis://` URL; throws on a malformed one. */
export function parseClusterUrl(url: string): ClusterTarget | null {
  if (!/^rediss?\+cluster:/.test(url)) return null;
  const m = CLUSTER_SCHEME.exec(url);
  if (!m) throw new Error('a cluster URL looks like redis+cluster://host:port,host:port');
  const nodes = m[3]!.split(',').map((hostPort) => {
    const at = hostPort.lastIndexOf(':');
    const node = NodeSchema.safeParse({ host: hostPort.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: hostPort.slice(at + 1) }); // [IPv6]:port
    if (at < 0 || !node.success) throw new Error(`cluster node "${hostPort}" is not host:port`);
    return node.data;
  });
  const [user, pass] = m[2] === undefined ? [] : m[2].includes(':') ? [m[2].slice(0, m[2].indexOf(':')), m[2].slice(m[2].indexOf(':') + 1)] : [undefined, m[2]];
  return { nodes, username: user ? decodeURIComponent(user) : undefined, password: pass ? decodeURIComponent(pass) : undefined, tls: m[1] === 'rediss' };
}

/** A URL createRedis takes: redis://, rediss://, or a well-formed cluster URL. */
export function isRedisUrl(url: string): boolean {
  try {
    return parseClusterUrl(url) !== null || /^rediss?:$/.test(new URL(url).protocol);
  } catch {
    return false;
  }
}

/**
 * A client, not yet connected (call connect()). `sharded` makes a Cluster client subscribe to each
 * shard channel on the node that owns its slot (SSUBSCRIBE must go there).
 */
export function createRedis(url: string, options: RedisOptions & { sharded?: boolean } = {}): RedisClient {
  const { sharded, lazyConnect: _ignored, enableOfflineQueue, ...redisOptions } = options;
  const cluster = parseClusterUrl(url);
  if (!cluster) return new Redis(url, { ...redisOptions, enableOfflineQueue, lazyConnect: true });
  return new Cluster(cluster.nodes, {
    lazyConnect: true,
    enableOfflineQueue,
    shardedSubscribers: sharded ?? false,
    redisOptions: { ...redisOptions, username: cluster.username, password: cluster.password, ...(cluster.tls ? { tls: {} } : {}) },
  });
}

/** Every server that holds data: the one server, or each master of the cluster. */
export function dataNodes(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}
