// One contract for every DeliveryStore adapter (SQLite: the event log's file; Redis), then what only SQLite must show.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../../../test/support/redis-server.js';
import { SQLITE_LOG_FILE, openSqliteEventLog, type SqliteEventLog } from '../../log/sqlite/index.js';
import { makeCallEvent } from '../../../../test/support/make-call-event.js';
import type { CallObservation } from '../observation.js';
import { contentDigest, deliveryKey, type DeliveryStore } from './port.js';
import { openRedisDeliveryStore } from './redis.js';
import { SWEEP_EVERY } from './sqlite.js';

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

/** The SQLite store is its log's: each open is a log on the test's data directory, closed with its store. */
function sqliteStore(opts: { retentionMs?: number } = {}): DeliveryStore {
  const log = openSqliteEventLog({ dataDir: dir, deliveryRetentionMs: opts.retentionMs });
  return { ...log.deliveries, close: () => log.close() };
}

const engines: Array<[string, Engine]> = [
  ['sqlite', { open: async (opts) => sqliteStore(opts) }],
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

  const record = { digest: 'digest_1', eventId: 'ev_1' };

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
    const short = sqliteStore({ retentionMs: 1 });
    const last = deliveryKey('pbx_1', 'short', 3 * SWEEP_EVERY);
    for (let i = 1; i <= 3 * SWEEP_EVERY; i++) await short.remember(deliveryKey('pbx_1', 'short', i), { digest: 'd', eventId: `ev_${i}` });
    await expect.poll(() => short.find(last)).toBeNull();
    await short.close();

    const store = sqliteStore();
    for (let i = 1; i <= SWEEP_EVERY; i++) await store.remember(deliveryKey('pbx_1', 'live', i), { digest: 'd', eventId: `ev_${i}` });
    await store.close();
    expect(countDeliveries()).toBe(SWEEP_EVERY);
  });

  it('sweeps the whole key space in turn: after a pass, no expired delivery is left wherever its key falls', async () => {
    const short = sqliteStore({ retentionMs: 1 });
    for (let i = 0; i < 12 * SWEEP_EVERY; i++) await short.remember(deliveryKey('pbx_1', 'short', i), { digest: 'd', eventId: `ev_${i}` });
    await short.close();
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Four slices of 4 x SWEEP_EVERY keys cover all 16 x SWEEP_EVERY rows.
    const store = sqliteStore();
    for (let i = 0; i < 4 * SWEEP_EVERY; i++) await store.remember(deliveryKey('pbx_1', 'live', i), { digest: 'd', eventId: `ev_${i}` });
    await store.close();
    expect(countDeliveries()).toBe(4 * SWEEP_EVERY);
  });

  it('stores a delivery in the commit of the event it brought, and only when that event is new', async () => {
    const log: SqliteEventLog = openSqliteEventLog({ dataDir: dir });
    try {
      const event = makeCallEvent({ tenantId: 't_a' });
      const delivery = (id: string) => ({ key: deliveryKey('pbx_1', id, 1_000), record: { digest: 'd', eventId: event.id } });
      expect(await log.append('t_a', event, 'k1', delivery('msg_1'))).toMatchObject({ duplicate: false, deliveryStored: true });
      expect(await log.deliveries.find(delivery('msg_1').key)).toEqual(delivery('msg_1').record);
      // A duplicate stores nothing: whoever ingests decides what its delivery id then stands for.
      const again = await log.append('t_a', event, 'k1', delivery('msg_2'));
      expect([again.duplicate, again.deliveryStored ?? false]).toEqual([true, false]);
      expect(await log.deliveries.find(delivery('msg_2').key)).toBeNull();
    } finally {
      await log.close();
    }
  });
});

function countDeliveries(): number {
  const db = new Database(join(dir, SQLITE_LOG_FILE), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM deliveries').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('content digest', () => {
  const observation: CallObservation = {
    tenantId: 't_a', pbxId: 'pbx_1', source: 'webhook', type: 'answered', direction: 'inbound', pbxCallId: '1001',
    caller: { raw: '0298765432', name: null }, callee: { raw: '101', name: 'Ann' }, extensions: ['101', '102'], queue: '800',
    agents: ['101', '102'], answeredBy: '101', pbxTime: new Date('2026-05-01T10:00:00Z'), durationSec: null, recording: null,
  };

  it('is the same for the same content built in another key order or sent under another delivery id', () => {
    const reordered = Object.fromEntries(Object.entries(observation).reverse()) as unknown as CallObservation;
    const caller = { name: null, raw: '0298765432' };
    expect(contentDigest({ ...reordered, caller, deliveryId: 'msg_other' })).toBe(contentDigest(observation));
  });

  it('changes with any value, nested or not', () => {
    const digest = contentDigest(observation);
    const variants: Array<Partial<CallObservation>> = [
      { caller: { raw: '0298765433', name: null } }, { callee: { raw: '101', name: 'Bob' } }, { agents: ['102', '101'] },
      { answeredBy: '102' }, { pbxTime: new Date('2026-05-01T10:00:01Z') }, { recording: { pbxRecordingId: 'r1', contentType: null } },
      { endReason: 'connection_lost' }, { journal: { identity: 'j', endedAt: null } }, { reusedCallId: { earlierRunUntil: new Date(0) } },
    ];
    for (const variant of variants) expect(contentDigest({ ...observation, ...variant })).not.toBe(digest);
  });
});
