// Delivery ids on SQLite: a table in the event log's own file (log/sqlite creates it), so a new
// event and the delivery that brought it commit in one transaction: no second database, commit
// and checkpointer per webhook. Expired rows are deleted a batch at a time as new ones arrive, so
// the table holds about one retention window of deliveries.
import { openDatabase, type SqliteDb } from '../../../shared/sqlite.js';
import { DELIVERY_RETENTION_MS, type DeliveryRecord, type DeliveryStore } from './port.js';

/** Every this many deliveries, up to four times as many expired ones are deleted: more go than come. */
export const SWEEP_EVERY = 256;

export const DELIVERIES_SCHEMA = `
CREATE TABLE IF NOT EXISTS deliveries (
  key TEXT PRIMARY KEY, digest TEXT NOT NULL, event_id TEXT NOT NULL, expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_expiry ON deliveries (expires_at);
`;

export interface SqliteDeliveries extends DeliveryStore {
  /** Stores a record at once, inside whatever transaction the caller has open (the log's append). */
  put(key: string, record: DeliveryRecord): void;
}

/** The store over a database that has DELIVERIES_SCHEMA; closing it leaves the database to its owner. */
export function sqliteDeliveries(db: SqliteDb, retentionMs = DELIVERY_RETENTION_MS): SqliteDeliveries {
  const select = db.prepare<[string, number], { digest: string; event_id: string }>('SELECT digest, event_id FROM deliveries WHERE key = ? AND expires_at > ?');
  const upsert = db.prepare<[string, string, string, number]>('INSERT OR REPLACE INTO deliveries (key, digest, event_id, expires_at) VALUES (?, ?, ?, ?)');
  const sweep = db.prepare<[number, number]>('DELETE FROM deliveries WHERE key IN (SELECT key FROM deliveries WHERE expires_at <= ? LIMIT ?)');
  let sinceSweep = 0;
  const put = (key: string, record: DeliveryRecord) => {
    const now = Date.now();
    upsert.run(key, record.digest, record.eventId, now + retentionMs);
    if (++sinceSweep >= SWEEP_EVERY) {
      sinceSweep = 0;
      sweep.run(now, 4 * SWEEP_EVERY);
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
