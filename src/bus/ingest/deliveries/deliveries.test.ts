// One contract for every DeliveryStore adapter (SQLite, Redis), then what only SQLite must show.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../../../test/support/redis-server.js';
import { contentDigest, deliveryKey, type DeliveryStore } from './port.js';
import { openRedisDeliveryStore } from './redis.js';
import { DELIVERIES_DB_FILE, SWEEP_EVERY, openSqliteDeliveryStore } from './sqlite.js';

interface Engine {
  /** A store over the engine's storage for this test; every call sees the same data (a restart, another node). */
  open(opts?: { retentionMs?: number }): Promise<DeliveryStore>;
}

let redis: RedisServer;
let dir: string;
let run = 0;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rb-deliveries-'));
  run++;
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const engines: Array<[string, Engine]> = [
  ['sqlite', { open: async (opts) => openSqliteDeliveryStore({ path: join(dir, DELIVERIES_DB_FILE), ...opts }) }],
  ['redis', { open: (opts) => openRedisDeliveryStore({ url: redis.url, keyPrefix: `rb_test_${run}`, ...opts }) }],
];

describe.each(engines)('DeliveryStore contract: %s', (_name, engine) => {
  const opened: DeliveryStore[] = [];
  const open = async (opts?: { retentionMs?: number }) => {
    const store = await engine.open(opts);
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  const record = { digest: contentDigest({ type: 'ringing', caller: '+61298765432' }), eventId: 'ev_1' };

  it('knows nothing it was not told, and returns what it was told under that key only', async () => {
    const store = await open();
    const key = deliveryKey('pbx_1', 'msg_1', 1_000);
    expect(await store.find(key)).toBeNull();
    await store.remember(key, record);
    expect(await store.find(key)).toEqual(record);
    expect(await store.find(deliveryKey('pbx_2', 'msg_1', 1_000))).toBeNull();
    expect(await store.find(deliveryKey('pbx_1', 'msg_1', 2_000))).toBeNull();
  });

  it('is seen by another store on the same storage, open at once (another node) or after close (a restart)', async () => {
    const [a, b] = [await open(), await open()];
    const key = deliveryKey('pbx_1', 'msg_shared', 1_000);
    await a.remember(key, record);
    expect(await b.find(key)).toEqual(record);
    await a.close();
    opened.splice(opened.indexOf(a), 1);
    expect(await (await open()).find(key)).toEqual(record);
  });

  it('forgets a delivery once its retention has passed', async () => {
    const store = await open({ retentionMs: 20 });
    const key = deliveryKey('pbx_1', 'msg_old', 1_000);
    await store.remember(key, record);
    await expect.poll(() => store.find(key)).toBeNull();
  });

  it('keeps the latest record when told twice', async () => {
    const store = await open();
    const key = deliveryKey('pbx_1', 'msg_twice', 1_000);
    await store.remember(key, record);
    await store.remember(key, { ...record, eventId: 'ev_2' });
    expect(await store.find(key)).toEqual({ ...record, eventId: 'ev_2' });
  });
});

describe('SQLite DeliveryStore', () => {
  it('deletes expired deliveries from the file as new ones arrive, so it holds about one retention window', async () => {
    const path = join(dir, DELIVERIES_DB_FILE);
    const short = openSqliteDeliveryStore({ path, retentionMs: 1 });
    const last = deliveryKey('pbx_1', 'short', 3 * SWEEP_EVERY);
    for (let i = 1; i <= 3 * SWEEP_EVERY; i++) await short.remember(deliveryKey('pbx_1', 'short', i), { digest: 'd', eventId: `ev_${i}` });
    await expect.poll(() => short.find(last)).toBeNull();
    await short.close();

    const store = openSqliteDeliveryStore({ path });
    for (let i = 1; i <= SWEEP_EVERY; i++) await store.remember(deliveryKey('pbx_1', 'live', i), { digest: 'd', eventId: `ev_${i}` });
    await store.close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM deliveries').get()).toEqual({ n: SWEEP_EVERY });
    } finally {
      db.close();
    }
  });
});

describe('content digest', () => {
  it('ignores key order and Date objects versus their ISO form, but not any change of a value', () => {
    const at = new Date('2026-05-01T10:00:00Z');
    expect(contentDigest({ a: 1, b: { c: at, d: [1, 2] } })).toBe(contentDigest({ b: { d: [1, 2], c: at.toISOString() }, a: 1 }));
    expect(contentDigest({ a: 1, b: { d: [1, 2] } })).not.toBe(contentDigest({ a: 1, b: { d: [2, 1] } }));
    expect(contentDigest({ a: 1 })).not.toBe(contentDigest({ a: '1' }));
  });
});
