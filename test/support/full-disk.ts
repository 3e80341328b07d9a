// A full disk under the agent's outbox: OutboxStore.record throws as better-sqlite3 does on SQLITE_FULL.
import { vi } from 'vitest';
import { OutboxStore } from '../../src/main/outbox/store.js';

export const DISK_FULL = 'SQLITE_FULL: database or disk is full';

/** From now until heal(), every outbox write fails; restore() removes the stand-in. */
export function fillOutboxDisk(): { heal(): void; restore(): void } {
  let full = true;
  const record = OutboxStore.prototype.record;
  const spy = vi.spyOn(OutboxStore.prototype, 'record').mockImplementation(function (this: OutboxStore, ...args) {
    if (full) throw new Error(DISK_FULL);
    return record.apply(this, args);
  });
  return { heal: () => void (full = false), restore: () => spy.mockRestore() };
}
