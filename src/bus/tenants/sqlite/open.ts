// One place that opens the bus's SQLite files for tenants and audit the same way: owner-only
// file, WAL (readers never block the writer), full sync on commit (admin writes are rare and
// must not be lost), foreign keys on.
import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type SqliteDb = Database.Database;

/** `path` may be ':memory:' for tests. */
export function openSqlite(path: string): SqliteDb {
  const inMemory = path === ':memory:';
  if (!inMemory) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  // Before WAL mode: SQLite gives the -wal and -shm files the database file's permissions.
  if (!inMemory) chmodSync(path, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}
