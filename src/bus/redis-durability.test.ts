// What a Redis failure can lose: the start-up check of appendonly/appendfsync, and Redis killed
// with SIGKILL while webhooks are being acknowledged.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BusProcess } from '../../test/support/bus-process.js';
import { ingestApp, signedHeaders, webhookPayload } from '../../test/support/ingest-harness.js';
import { startRedis, type RedisServer } from '../../test/support/redis-server.js';
import { startRedisCluster } from '../../test/support/redis-cluster.js';
import { loadConfig } from './config.js';
import { openRedisEventLog } from './log/redis/index.js';
import { RedisDurabilityError, verifyRedisDurability } from './redis-durability.js';
import { createSqliteTenantStore } from './tenants/sqlite/store.js';

const started: { stop(): Promise<void> }[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function redisWith(args: string[], opts: { dir?: string; port?: number } = {}): Promise<RedisServer> {
  const server = await startRedis({ args, ...opts });
  started.push(server);
  return server;
}

/** A pino logger whose warnings the test reads. */
function capturingLogger() {
  const warnings: { msg: string; durability?: string }[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line) as { msg: string }) });
  return { logger, warnings };
}

describe('the Redis durability check at start-up', () => {
  it('accepts appendfsync always silently', async () => {
    const redis = await redisWith(['--appendonly', 'yes', '--appendfsync', 'always']);
    const { logger, warnings } = capturingLogger();
    expect(await verifyRedisDurability(redis.url, { required: 'always', logger })).toEqual([{ node: `127.0.0.1:${redis.port}`, durability: 'always' }]);
    expect(warnings).toEqual([]);
  });

  it('warns that everysec can lose about a second of acknowledged events, and refuses it when always is required', async () => {
    const redis = await redisWith(['--appendonly', 'yes', '--appendfsync', 'everysec']);
    const { logger, warnings } = capturingLogger();
    await verifyRedisDurability(redis.url, { required: null, logger });
    expect(warnings).toMatchObject([{ durability: 'everysec', msg: expect.stringContaining('up to about 1 s of acknowledged events') }]);
    await expect(verifyRedisDurability(redis.url, { required: 'everysec', logger })).resolves.toHaveLength(1);
    await expect(verifyRedisDurability(redis.url, { required: 'always', logger })).rejects.toThrow(
      new RedisDurabilityError(
        `Redis 127.0.0.1:${redis.port} runs with appendfsync everysec: a crash would lose up to about 1 s of acknowledged events. RINGBRIDGE_REDIS_REQUIRE_FSYNC=always requires appendonly yes and appendfsync always.`,
      ),
    );
  });

  it('refuses a Redis without an append-only file when any fsync is required, naming what it would lose', async () => {
    const redis = await redisWith([]); // the test default: appendonly no
    const { logger } = capturingLogger();
    await expect(verifyRedisDurability(redis.url, { required: 'everysec', logger })).rejects.toThrow(/appendonly no: a crash would lose every acknowledged event since the last snapshot/);
  });

  it('stops the bus from starting with RINGBRIDGE_REDIS_REQUIRE_FSYNC=always on a Redis with appendfsync everysec, saying why', async () => {
    const redis = await redisWith(['--appendonly', 'yes', '--appendfsync', 'everysec']);
    const dataDir = mkdtempSync(join(tmpdir(), 'rb-bus-fsync-'));
    dirs.push(dataDir);
    await expect(BusProcess.start(dataDir, { RINGBRIDGE_REDIS_URL: redis.url, RINGBRIDGE_REDIS_REQUIRE_FSYNC: 'always' })).rejects.toThrow(
      `bus exited (1) before listening:\nringbridge bus: cannot start: Redis 127.0.0.1:${redis.port} runs with appendfsync everysec: a crash would lose up to about 1 s of acknowledged events. RINGBRIDGE_REDIS_REQUIRE_FSYNC=always requires appendonly yes and appendfsync always.\n`,
    );
  });

  it('checks every master of a Redis Cluster', async () => {
    const cluster = await startRedisCluster();
    started.push(cluster);
    const { logger, warnings } = capturingLogger();
    expect(await verifyRedisDurability(cluster.url, { required: null, logger })).toHaveLength(3);
    expect(warnings).toHaveLength(3);
    await expect(verifyRedisDurability(cluster.url, { required: 'always', logger })).rejects.toThrow(RedisDurabilityError);
  });

  it('reads the requirement and a cluster URL from the environment, refusing anything else', () => {
    const config = loadConfig({ RINGBRIDGE_REDIS_URL: 'redis+cluster://10.0.0.1:6379,10.0.0.2:6379', RINGBRIDGE_REDIS_REQUIRE_FSYNC: 'always' });
    expect(config).toMatchObject({ redisUrl: 'redis+cluster://10.0.0.1:6379,10.0.0.2:6379', redisRequireFsync: 'always' });
    expect(() => loadConfig({ RINGBRIDGE_REDIS_REQUIRE_FSYNC: 'sometimes' })).toThrow(/RINGBRIDGE_REDIS_REQUIRE_FSYNC/);
    expect(() => loadConfig({ RINGBRIDGE_REDIS_URL: 'redis+cluster://10.0.0.1' })).toThrow(/RINGBRIDGE_REDIS_URL: must be redis:\/\/, rediss:\/\/ or redis\+cluster/);
  });
});

it('loses no acknowledged webhook when Redis (appendfsync always) is killed with SIGKILL under load and restarted on its data', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rb-redis-kill-'));
  dirs.push(dir);
  const args = ['--appendonly', 'yes', '--appendfsync', 'always'];
  let redis = await redisWith(args, { dir });
  const log = await openRedisEventLog({ url: redis.url, onError: () => undefined });
  const tenants = createSqliteTenantStore({ path: ':memory:', masterKey: randomBytes(32) });
  const tenant = await tenants.createTenant({ name: 'Acme' });
  const { pbx, secrets } = await tenants.addPbx({ tenantId: tenant.id, name: 'Main', baseUrl: 'https://pbx.acme.test', defaultCountry: 'AU', apiClientId: null, connectorMode: 'bus' });
  const app = await ingestApp({ log, tenants });
  try {
    // The "PBX": eight concurrent senders, each webhook a new call; an eventId answered 200 is acknowledged.
    const acked: string[] = [];
    let calls = 0;
    let stop = false;
    const sender = async () => {
      while (!stop) {
        const body = JSON.stringify(webhookPayload({ callId: `call-${++calls}` }));
        const res = await app.inject({ method: 'POST', url: `/v1/pbx/${pbx.id}/webhook`, payload: body, headers: signedHeaders(secrets.webhookSecrets[0]!, body) });
        // Anything else (a 503 while Redis is down) is not acknowledged: the PBX sends it again.
        if (res.statusCode === 200) acked.push((res.json() as { eventId: string }).eventId);
      }
    };
    const senders = Array.from({ length: 8 }, sender);
    await expect.poll(() => acked.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(300);
    await redis.kill();
    const ackedBeforeKill = acked.length;
    await sleep(300); // appends in flight wait for Redis to come back, or fail
    redis = await redisWith(args, { dir, port: redis.port });
    await expect.poll(() => acked.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(ackedBeforeKill + 300);
    stop = true;
    await Promise.all(senders);

    const { events } = await log.read(tenant.id, { since: 0, limit: 100_000 });
    const stored = new Set(events.map((e) => e.event.id));
    expect(acked.filter((id) => !stored.has(id))).toEqual([]);
    // Appends Redis ran but never answered before dying are resent by the client: their idempotency key keeps them single.
    expect(stored.size).toBe(events.length);
    expect(new Set(acked).size).toBe(acked.length);
  } finally {
    await app.close();
    await log.close();
    await tenants.close();
  }
});
