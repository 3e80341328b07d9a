import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addMissingColumns, openDatabase, type Migration, type SqliteDb } from './sqlite.js';

let dir: string;
let file: string;
const opened: SqliteDb[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rb-sqlite-open-'));
  file = join(dir, 'store.sqlite');
});
afterEach(() => {
  for (const db of opened.splice(0)) if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(migrations: Migration[], options: Partial<Parameters<typeof openDatabase>[1]> = {}): SqliteDb {
  const db = openDatabase(file, { durability: 'normal', migrations, ...options });
  opened.push(db);
  return db;
}

const tables = (db: SqliteDb) => db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
const version = (db: SqliteDb) => db.pragma('user_version', { simple: true });

describe('openDatabase', () => {
  it('runs each migration once, in order, and records the version; reopening runs nothing', () => {
    const ran: number[] = [];
    const migrations: Migration[] = [
      (db) => { ran.push(1); db.exec('CREATE TABLE a (x INTEGER)'); },
      (db) => { ran.push(2); db.exec('ALTER TABLE a ADD COLUMN y TEXT'); },
    ];
    open(migrations).close();
    expect(ran).toEqual([1, 2]);
    const again = open(migrations);
    expect(ran).toEqual([1, 2]);
    expect(version(again)).toBe(2);
    again.close();

    // A release that appends a step runs only that step on an existing file.
    const upgraded = open([...migrations, (db) => { ran.push(3); db.exec('CREATE TABLE b (z INTEGER)'); }]);
    expect(ran).toEqual([1, 2, 3]);
    expect(tables(upgraded)).toEqual(['a', 'b']);
    expect(version(upgraded)).toBe(3);
  });

  it('leaves version and schema as they were when a migration fails, and says which one failed', () => {
    const first: Migration = (db) => db.exec('CREATE TABLE a (x INTEGER)');
    const broken: Migration = (db) => {
      db.exec('CREATE TABLE half_done (x INTEGER)');
      throw new Error('disk says no');
    };
    expect(() => open([first, broken])).toThrow(/store\.sqlite: schema migration 2 of 2 failed, file left at version 1: disk says no/);

    const db = open([first]);
    expect(version(db)).toBe(1);
    expect(tables(db)).toEqual(['a']);
  });

  it('refuses a file written by a newer release instead of using a schema it does not know', () => {
    const raw = new Database(file);
    raw.pragma('user_version = 3');
    raw.close();
    expect(() => open([(db) => db.exec('CREATE TABLE a (x INTEGER)')])).toThrow(/schema version 3, newer than this program knows \(1\)/);
    const check = new Database(file);
    expect(tables(check)).toEqual([]);
    check.close();
  });

  it('brings a file written before migrations existed up to date and keeps its rows', () => {
    // What today's stores left behind: user_version 0, the table with or without a later column.
    const legacy = new Database(file);
    legacy.exec("CREATE TABLE calls (key TEXT PRIMARY KEY, json TEXT NOT NULL); INSERT INTO calls VALUES ('c1', '{}')");
    legacy.close();
    const migrations: Migration[] = [
      (db) => {
        db.exec("CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, json TEXT NOT NULL, progress TEXT NOT NULL DEFAULT '{}')");
        addMissingColumns(db, 'calls', { progress: "TEXT NOT NULL DEFAULT '{}'" });
      },
      (db) => db.exec('CREATE INDEX calls_by_json ON calls (json)'),
    ];
    const db = open(migrations);
    expect(db.prepare('SELECT key, json, progress FROM calls').all()).toEqual([{ key: 'c1', json: '{}', progress: '{}' }]);
    expect(version(db)).toBe(2);
    db.close();
    // A fresh file gets the same schema from the same steps.
    rmSync(file);
    const fresh = open(migrations);
    expect(fresh.prepare("SELECT name FROM pragma_table_info('calls')").pluck().all()).toEqual(['key', 'json', 'progress']);
  });

  it('applies the connection settings it was asked for', () => {
    const full = open([], { durability: 'full', busyTimeoutMs: 1234, foreignKeys: true, walAutocheckpoint: 0 });
    expect([
      full.pragma('journal_mode', { simple: true }),
      full.pragma('synchronous', { simple: true }),
      full.pragma('busy_timeout', { simple: true }),
      full.pragma('foreign_keys', { simple: true }),
      full.pragma('wal_autocheckpoint', { simple: true }),
    ]).toEqual(['wal', 2, 1234, 1, 0]);
    full.close();
    const normal = open([]);
    expect(normal.pragma('synchronous', { simple: true })).toBe(1);
  });
});
