// Applies the retention window to an EventLog: trims at start and then periodically.
import type { EventLog } from './port.js';

export const DEFAULT_RETENTION_MS = 7 * 86_400_000;

export interface RetentionOptions {
  retentionMs?: number;
  /** How often to trim; hourly by default. */
  intervalMs?: number;
  onTrimmed?: (removed: number) => void;
  onError?: (err: unknown) => void;
}

/** Returns a stop function that also waits for a trim in progress. */
export function startRetention(log: EventLog, options: RetentionOptions = {}): () => Promise<void> {
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    running = log
      .trim(new Date(Date.now() - retentionMs))
      .then((removed) => options.onTrimmed?.(removed), options.onError);
  };
  run();
  const timer = setInterval(run, options.intervalMs ?? 3_600_000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
