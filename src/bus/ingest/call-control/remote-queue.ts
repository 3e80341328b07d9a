// Where a remote connector keeps observations until the bus has accepted them. On disk by default
// (SQLite, like the bus's own log), so a connector restarted while the bus is unreachable still
// sends what it had seen; in memory for tests and throwaway runs. The bus drops resends by
// deliveryId, so sending an entry twice after a crash is harmless; losing one is not.
import { openDatabase } from '../../../shared/sqlite.js';
import type { RemoteObservation } from './wire.js';

export interface QueuedObservation {
  seq: number;
  observation: RemoteObservation;
}

export interface ObservationQueue {
  push(observation: RemoteObservation): void;
  /** The oldest entries, in order. */
  peek(limit: number): QueuedObservation[];
  /** Removes every entry up to and including `seq`. */
  removeThrough(seq: number): void;
  size(): number;
  close(): void;
}

export function memoryObservationQueue(): ObservationQueue {
  let entries: QueuedObservation[] = [];
  let next = 1;
  return {
    push: (observation) => void entries.push({ seq: next++, observation }),
    peek: (limit) => entries.slice(0, limit),
    removeThrough: (seq) => void (entries = entries.filter((e) => e.seq > seq)),
    size: () => entries.length,
    close: () => undefined,
  };
}

export function sqliteObservationQueue(file: string): ObservationQueue {
  const db = openDatabase(file, {
    // normal survives the process being killed (each push is committed before it returns).
    durability: 'normal',
    migrations: [(conn) => conn.exec('CREATE TABLE IF NOT EXISTS observations (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)')],
  });
  const insert = db.prepare<[string]>('INSERT INTO observations (body) VALUES (?)');
  const oldest = db.prepare<[number], { seq: number; body: string }>('SELECT seq, body FROM observations ORDER BY seq LIMIT ?');
  const remove = db.prepare<[number]>('DELETE FROM observations WHERE seq <= ?');
  let size = (db.prepare('SELECT count(*) AS n FROM observations').get() as { n: number }).n;
  return {
    push(observation) {
      insert.run(JSON.stringify(observation));
      size++;
    },
    peek: (limit) => oldest.all(limit).map(({ seq, body }) => ({ seq, observation: JSON.parse(body) as RemoteObservation })),
    removeThrough(seq) {
      size -= remove.run(seq).changes;
    },
    size: () => size,
    close: () => db.close(),
  };
}
