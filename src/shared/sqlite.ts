// The one way both programs open a SQLite file: WAL, the durability the caller chose, then the
// schema brought up to date by numbered migrations recorded in `PRAGMA user_version`.
import Database from 'better-sqlite3';

export type SqliteDb = Database.Database;

/**
 * One schema step. Migration N (1-based) runs once per file, when its user_version is N-1, in a
 * transaction that also sets user_version to N (so PRAGMA foreign_keys cannot change inside one).
 * Shipped steps are never edited or reordered: a schema change is a new step appended to the list.
 */
export type Migration = (db: SqliteDb) => void;

export interface OpenDatabaseOptions {
  /**
   * full: each commit is fsynced, so it survives a power cut. normal: in WAL a commit survives the
   * process being killed; only an OS crash or power cut can lose the newest commits.
   */
  durability: 'full' | 'normal';
  /** How long a statement waits for another connection's lock. better-sqlite3's default: 5000. */
  busyTimeoutMs?: number;
  /** Sets foreign key enforcement; left as compiled in (on, in better-sqlite3's build) when absent. */
  foreignKeys?: boolean;
  /** Pages of WAL before an automatic checkpoint; 0 when a worker checkpoints instead. */
  walAutocheckpoint?: number;
  migrations: readonly Migration[];
}

/** Opens `file` (or ':memory:'); closes it again and throws when a migration fails. */
export function openDatabase(file: string, options: OpenDatabaseOptions): SqliteDb {
  const db = new Database(file, options.busyTimeoutMs === undefined ? {} : { timeout: options.busyTimeoutMs });
  try {
    // Connection settings first: journal_mode and foreign_keys cannot change inside a transaction.
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
    if (options.foreignKeys !== undefined) db.pragma(`foreign_keys = ${options.foreignKeys ? 'ON' : 'OFF'}`);
    if (options.walAutocheckpoint !== undefined) db.pragma(`wal_autocheckpoint = ${Math.trunc(options.walAutocheckpoint)}`);
    migrate(db, options.migrations);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

const userVersion = (db: SqliteDb): number => db.pragma('user_version', { simple: true }) as number;

function migrate(db: SqliteDb, migrations: readonly Migration[]): void {
  const check = (version: number) => {
    if (version > migrations.length) {
      throw new Error(`${db.name} has schema version ${version}, newer than this program knows (${migrations.length}): it was written by a newer release`);
    }
  };
  const current = userVersion(db);
  check(current);
  // Up to date (every open but the first after an upgrade): no write lock is taken.
  if (current === migrations.length) return;
  for (;;) {
    let running = 0;
    try {
      // IMMEDIATE and the version read inside: another process migrating the same file at the
      // same time makes this one wait, then see its steps done instead of running them again.
      const done = db.transaction(() => {
        const version = userVersion(db);
        check(version);
        if (version === migrations.length) return true;
        running = version + 1;
        migrations[version]!(db);
        db.pragma(`user_version = ${running}`);
        return false;
      }).immediate();
      if (done) return;
    } catch (err) {
      if (running === 0) throw err;
      throw new Error(`${db.name}: schema migration ${running} of ${migrations.length} failed, file left at version ${running - 1}: ${(err as Error).message}`, { cause: err });
    }
  }
}

/**
 * For a table's first migration only: files written before migrations existed (user_version 0)
 * may lack columns that were added by ALTER TABLE on open back then. Adds those missing.
 */
export function addMissingColumns(db: SqliteDb, table: string, columns: Readonly<Record<string, string>>): void {
  const existing = new Set(db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all(table) as string[]);
  for (const [name, type] of Object.entries(columns)) if (!existing.has(name)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
}
