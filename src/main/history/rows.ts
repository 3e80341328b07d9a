// Where the recent-calls list lives between runs: one row per call leg, written when the entry
// changes, before the bus event behind it is acknowledged. (A whole-list file written on a timer
// lost the rows of the last moments before a crash: the bus does not send acknowledged events
// again.) SQLite in the agent's data directory; memory for tests.
import { openDatabase } from '../../shared/sqlite.js';

export interface HistoryRows {
  /** Every stored row as written; the history validates each and removes what it cannot read. */
  load(): Array<{ callKey: string; record: unknown }>;
  put(callKey: string, record: unknown): void;
  remove(callKey: string): void;
  close(): void;
}

export function memoryHistoryRows(): HistoryRows {
  const rows = new Map<string, string>();
  return {
    load: () => [...rows].map(([callKey, json]) => ({ callKey, record: JSON.parse(json) as unknown })),
    put: (callKey, record) => void rows.set(callKey, JSON.stringify(record)),
    remove: (callKey) => void rows.delete(callKey),
    close: () => undefined,
  };
}

export function sqliteHistoryRows(file: string): HistoryRows {
  const db = openDatabase(file, {
    // normal: a committed row survives the app being killed; only an OS crash can lose the last ones.
    durability: 'normal',
    migrations: [(conn) => conn.exec('CREATE TABLE IF NOT EXISTS calls (call_key TEXT PRIMARY KEY, json TEXT NOT NULL) WITHOUT ROWID')],
  });
  const all = db.prepare<[], { call_key: string; json: string }>('SELECT call_key, json FROM calls');
  const upsert = db.prepare<[string, string]>('INSERT INTO calls (call_key, json) VALUES (?, ?) ON CONFLICT(call_key) DO UPDATE SET json = excluded.json');
  const deleteOne = db.prepare<[string]>('DELETE FROM calls WHERE call_key = ?');
  return {
    load: () => all.all().map(({ call_key: callKey, json }) => ({ callKey, record: parseOrUndefined(json) })),
    put: (callKey, record) => void upsert.run(callKey, JSON.stringify(record)),
    remove: (callKey) => void deleteOne.run(callKey),
    close: () => db.close(),
  };
}

function parseOrUndefined(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}
