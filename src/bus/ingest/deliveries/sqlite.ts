// Delivery ids on SQLite, in a file of their own in the data directory (one bus process). Expired
// rows are deleted a batch at a time as new ones arrive, so the table holds about one retention
// window of deliveries.
import { startCheckpointer, type Checkpointer } from '../../log/sqlite/checkpointer.js';
import { openBusDatabase } from '../../data-dir.js';
import type { Migration } from '../../../shared/sqlite.js';
import { DELIVERY_RETENTION_MS, type DeliveryRecord, type DeliveryStore } from './port.js';

export const DELIVERIES_DB_FILE = 'deliveries.sqlite';

/** Every this many deliveries, up to four times as many expired ones are deleted: more go than come. */
export const SWEEP_EVERY = 256;
const CHECKPOINT_EVERY_MS = 1_000;

const MIGRATIONS: Migration[] = [
  (db) => db.exec(`
CREATE TABLE IF NOT EXISTS deliveries (
  key TEXT PRIMARY KEY, digest TEXT NOT NULL, event_id TEXT NOT NULL, expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_expiry ON deliveries (expires_at);
`),
];

export interface SqliteDeliveryStoreOptions {
  /** The database file, or ':memory:' (tests). */
  path: string;
  retentionMs?: number;
  /** A background WAL checkpoint failed (the store keeps working). */
  onError?: (err: unknown) => void;
}

export function openSqliteDeliveryStore(opts: SqliteDeliveryStoreOptions): DeliveryStore {
  const retentionMs = opts.retentionMs ?? DELIVERY_RETENTION_MS;
  const db = openBusDatabase(opts.path, {
    // One insert per webhook on the ingest path: no fsync per commit. A crash of the process loses
    // nothing (WAL); a power cut may lose the newest ids, and their retries then reach the log, whose
    // idempotency keys still store each transition once. Checkpoints (the fsyncs left) run on a
    // worker, as for the event log, not inside an insert on the event loop.
    durability: 'normal',
    walAutocheckpoint: 0,
    migrations: MIGRATIONS,
  });
  let checkpointer: Checkpointer | null = null;
  if (opts.path !== ':memory:') {
    checkpointer = startCheckpointer(opts.path, CHECKPOINT_EVERY_MS, (message) => opts.onError?.(new Error(`delivery ids WAL checkpoint failed: ${message}`)));
  }
  const select = db.prepare<[string, number], { digest: string; event_id: string }>('SELECT digest, event_id FROM deliveries WHERE key = ? AND expires_at > ?');
  const upsert = db.prepare<[string, string, string, number]>('INSERT OR REPLACE INTO deliveries (key, digest, event_id, expires_at) VALUES (?, ?, ?, ?)');
  const sweep = db.prepare<[number, number]>('DELETE FROM deliveries WHERE key IN (SELECT key FROM deliveries WHERE expires_at <= ? LIMIT ?)');
  let sinceSweep = 0;

  return {
    async find(key) {
      const row = select.get(key, Date.now());
      return row ? { digest: row.digest, eventId: row.event_id } : null;
    },
    async remember(key, record: DeliveryRecord) {
      const now = Date.now();
      upsert.run(key, record.digest, record.eventId, now + retentionMs);
      if (++sinceSweep >= SWEEP_EVERY) {
        sinceSweep = 0;
        sweep.run(now, 4 * SWEEP_EVERY);
      }
    },
    async close() {
      await checkpointer?.stop();
      db.close();
    },
  };
}
