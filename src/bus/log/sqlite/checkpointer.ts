// Moves WAL checkpoints (the only fsyncs left with synchronous=NORMAL) off the event loop: a
// worker thread with its own connection checkpoints periodically while appends keep going.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// Plain JS evaluated in the worker, so it runs the same under tsx, vitest and a build.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
const checkpoint = () => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (err) { parentPort.postMessage({ error: String(err) }); }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

export function startCheckpointer(file: string, intervalMs: number, onError: (message: string) => void): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, intervalMs } });
  worker.unref();
  worker.on('message', (m: { error: string }) => onError(m.error));
  worker.on('error', (err) => onError(String(err)));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      // Unref'd so it never keeps the bus alive, but its exit is awaited here: with nothing else
      // holding the event loop (a bus whose listen failed) Node would exit mid-await (code 13).
      worker.ref();
      worker.postMessage('stop');
      await exited;
    },
  };
}
