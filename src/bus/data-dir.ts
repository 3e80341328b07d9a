// The data directory holds call data and tenant secrets: it and every database file the bus opens
// in it are the owner's alone (0700 and 0600), whatever the umask, or an older bus, left behind.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { openDatabase, type OpenDatabaseOptions, type SqliteDb } from '../shared/sqlite.js';

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** What SQLite keeps beside a database file in WAL mode (and the rollback journal of an older run). */
const SQLITE_COMPANIONS = ['-wal', '-shm', '-journal'];

/**
 * Call before opening the SQLite database `file`: tightens its directory (creating it when
 * missing), creates the file owner-only when missing and tightens it and companions left by
 * earlier runs. New -wal and -shm files need nothing more: SQLite gives them the database's mode.
 */
function ownerOnlyDatabase(file: string): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  chmodSync(dir, DIR_MODE);
  writeFileSync(file, '', { flag: 'a', mode: FILE_MODE });
  chmodSync(file, FILE_MODE);
  for (const suffix of SQLITE_COMPANIONS) {
    try {
      chmodSync(file + suffix, FILE_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/** How the bus opens every database of its own: owner-only (a file, not ':memory:'), then openDatabase. */
export function openBusDatabase(file: string, options: OpenDatabaseOptions): SqliteDb {
  if (file !== ':memory:') ownerOnlyDatabase(file);
  return openDatabase(file, options);
}
