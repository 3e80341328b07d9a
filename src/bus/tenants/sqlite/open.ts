// One place that opens the bus's SQLite files for tenants and audit the same way: owner-only
// file, WAL (readers never block the writer), full sync on commit (admin writes are rare and
// must not be lost), foreign keys on.
import Database from 'better-sqlite3';
import { ownerOnlyDatabase } from '../../data-dir.js';

export type SqliteDb = Database.Database;

/** `path` may be ':memory:' for tests. */
export function openSqlite(path: string): SqliteDb {
  const inMemory = path === ':memory:';
  if (!inMemory) ownerOnlyDatabase(path);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}
