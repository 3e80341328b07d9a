// What a Redis crash can take from the log: an event is acknowledged to the PBX (2xx) once Redis
// has applied the append; whether it survives a crash of the server (SIGKILL, power loss) depends
// on Redis's append-only file, checked here at start-up on every server that holds data.
//   appendonly yes + appendfsync always   : nothing acknowledged is lost (fsync before each reply).
//   appendonly yes + appendfsync everysec : up to about the last second of acknowledged events.
//   appendonly yes + appendfsync no       : whatever the OS had not yet flushed (tens of seconds).
//   appendonly no                         : everything since the last RDB snapshot, if any.
// The PBX does not resend an acknowledged webhook, so a lost event is a call missing from the CRM.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createRedis, dataNodes, type RedisClient } from './redis-client.js';

export const FSYNC_POLICIES = ['always', 'everysec'] as const;
export type FsyncPolicy = (typeof FSYNC_POLICIES)[number];

type Durability = 'always' | 'everysec' | 'no' | 'off';
const RANK: Record<Durability, number> = { off: 0, no: 1, everysec: 2, always: 3 };
const LOSES: Record<Durability, string> = {
  always: 'nothing acknowledged',
  everysec: 'up to about 1 s of acknowledged events',
  no: 'acknowledged events the OS had not flushed yet (up to ~30 s)',
  off: 'every acknowledged event since the last snapshot (appendonly is off)',
};

export interface NodeDurability {
  node: string;
  durability: Durability;
}

export class RedisDurabilityError extends Error {
  override name = 'RedisDurabilityError';
}

async function durabilityOf(node: Redis): Promise<Durability> {
  const [, appendonly] = (await node.config('GET', 'appendonly')) as string[];
  if (appendonly !== 'yes') return 'off';
  const [, fsync] = (await node.config('GET', 'appendfsync')) as string[];
  return fsync === 'always' || fsync === 'everysec' ? fsync : 'no';
}

/**
 * Reads appendonly/appendfsync from every data node. With `required` set, refuses (throws) when a
 * node is weaker or will not say (CONFIG renamed away, as on some managed services); without it,
 * warns with what a crash can lose. Returns each node's setting.
 */
export async function checkRedisDurability(client: RedisClient, opts: { required: FsyncPolicy | null; logger: Logger }): Promise<NodeDurability[]> {
  const found: NodeDurability[] = [];
  for (const node of dataNodes(client)) {
    const name = `${node.options.host}:${node.options.port}`;
    let durability: Durability;
    try {
      durability = await durabilityOf(node);
    } catch (err) {
      const why = `cannot read appendonly/appendfsync from Redis ${name} (${(err as Error).message})`;
      if (opts.required) throw new RedisDurabilityError(`${why}; RINGBRIDGE_REDIS_REQUIRE_FSYNC=${opts.required} needs it. Allow CONFIG GET, or unset the requirement.`);
      opts.logger.warn({ node: name }, `${why}: what a Redis crash can lose is unknown`);
      continue;
    }
    found.push({ node: name, durability });
    if (opts.required && RANK[durability] < RANK[opts.required]) {
      throw new RedisDurabilityError(
        `Redis ${name} runs with ${durability === 'off' ? 'appendonly no' : `appendfsync ${durability}`}: a crash would lose ${LOSES[durability]}. ` +
          `RINGBRIDGE_REDIS_REQUIRE_FSYNC=${opts.required} requires appendonly yes and appendfsync ${opts.required === 'always' ? 'always' : 'everysec or always'}.`,
      );
    }
    if (durability !== 'always') opts.logger.warn({ node: name, durability }, `Redis crash can lose ${LOSES[durability]} (set appendonly yes, appendfsync always to lose nothing acknowledged)`);
  }
  return found;
}

/** The start-up check on a short-lived connection of its own. */
export async function verifyRedisDurability(url: string, opts: { required: FsyncPolicy | null; logger: Logger }): Promise<NodeDurability[]> {
  const client = createRedis(url, { maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    return await checkRedisDurability(client, opts);
  } finally {
    client.disconnect();
  }
}
