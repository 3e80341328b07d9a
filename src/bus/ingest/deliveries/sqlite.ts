// Delivery ids on SQLite: a table in the event log's own file (log/sqlite creates it), so a new
// event and the delivery that brought it commit in one transaction: no second database, commit
// and checkpointer per webhook. Expired rows are deleted as new ones arrive by a sweep that walks
// the keys in order, a slice at a time, rather than through an index on expiry (a second b-tree
// page written with every webhook): it visits four keys per delivery stored, so each row is seen
// again within a quarter of its lifetime and the table holds at most ~1.25 retention windows.
import { openDatabase, type SqliteDb } from '../../../shared/sqlite.js';
import { DELIVERY_RETENTION_MS, type DeliveryRecord, type DeliveryStore } from './port.js';

/** Every this many deliveries, the sweep looks at the next four times as many keys and deletes the expired ones. */
export const SWEEP_EVERY = 256;

export const DELIVERIES_SCHEMA = `
CREATE TABLE IF NOT EXISTS deliveries (
  key TEXT PRIMARY KEY, digest TEXT NOT NULL, event_id TEXT NOT NULL, expires_at INTEGER NOT NULL
) WITHOUT ROWID;
`;

export interface SqliteDeliveries extends DeliveryStore {
  /** Stores a record at once, inside whatever transaction the caller has open (the log's append). */
  put(key: string, record: DeliveryRecord): void;
}

/** The store over a database that has DELIVERIES_SCHEMA; closing it leaves the database to its owner. */
export function sqliteDeliveries(db: SqliteDb, retentionMs = DELIVERY_RETENTION_MS): SqliteDeliveries {
  const select = db.prepare<[string, number], { digest: string; event_id: string }>('SELECT digest, event_id FROM deliveries WHERE key = ? AND expires_at > ?');
  const upsert = db.prepare<[string, string, string, number]>('INSERT OR REPLACE INTO deliveries (key, digest, event_id, expires_at) VALUES (?, ?, ?, ?)');
  const slice = db.prepare<[string, number], { last: string | null; n: number }>('SELECT max(key) AS last, count(*) AS n FROM (SELECT key FROM deliveries WHERE key > ? ORDER BY key LIMIT ?)');
  const sweep = db.prepare<[string, string, number]>('DELETE FROM deliveries WHERE key > ? AND key <= ? AND expires_at <= ?');
  let sinceSweep = 0;
  /** Where the next slice starts; back to the first key once a slice reaches the last. */
  let cursor = '';
  const put = (key: string, record: DeliveryRecord) => {
    const now = Date.now();
    upsert.run(key, record.digest, record.eventId, now + retentionMs);
    if (++sinceSweep >= SWEEP_EVERY) {
      sinceSweep = 0;
      const { last, n } = slice.get(cursor, 4 * SWEEP_EVERY)!;
      if (last !== null) sweep.run(cursor, last, now);
      cursor = n < 4 * SWEEP_EVERY || last === null ? '' : last;
    }
  };
  return {
    async find(key) {
      const row = select.get(key, Date.now());
      return row ? { digest: row.digest, eventId: row.event_id } : null;
    },
    async remember(key, record) {
      put(key, record);
    },
    put,
    async close() {},
  };
}

/** Delivery ids in a private in-memory database: an ingestor's own when it is given none (tests). */
export function openMemoryDeliveryStore(opts: { retentionMs?: number } = {}): DeliveryStore {
  const db = openDatabase(':memory:', { durability: 'normal', migrations: [(d) => d.exec(DELIVERIES_SCHEMA)] });
  return { ...sqliteDeliveries(db, opts.retentionMs), close: async () => {
    db.close();
  } };
}
