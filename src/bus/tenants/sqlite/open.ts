// One place that opens the bus's embedded SQLite files the same way: WAL (readers never block
// the writer, a crash loses nothing committed), full sync on commit, foreign keys on.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type SqliteDb = Database.Database;

/** `path` may be ':memory:' for tests. */
export function openSqlite(path: string, opts: { readonly?: boolean } = {}): SqliteDb {
  if (path !== ':memory:' && !opts.readonly) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
  }
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}
