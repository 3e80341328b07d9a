// The audit log on SQLite: append-only rows, newest first when read. It can share the tenants
// database file (pass its handle) or own one; either way openSqlite's migrations create its table.
// Bounded: rows past the retention are deleted on open and then at most hourly as rows are written,
// and a refusal repeated within the aggregation window (same agent, action and reason) only bumps
// the count of its first row. Those bumps are kept in memory and written at most once a second in
// one transaction, because a synchronous SQLite commit per refusal would stall the event loop
// during a flood; a kill -9 loses at most that second of counts, never a row.
import type { AuditEntry, AuditLog, AuditQuery } from './port.js';
import { openSqlite, type SqliteDb } from '../tenants/sqlite/open.js';
import { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, toAuditRecord, type AuditOptions, type AuditRow } from './rows.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;
const FLUSH_EVERY_MS = 1_000;

export interface SqliteAuditLog extends AuditLog {
  /** Deletes rows past the retention; returns how many. */
  prune(): number;
  /** Writes pending refusal counts and stops the flush timer (before the database is closed). */
  close(): Promise<void>;
}

/** The first row of a run of identical refusals and what has happened since. */
interface OpenRun { seq: number; startedMs: number; count: number; written: number; lastAt: string }

export function createSqliteAuditLog(store: { db: SqliteDb } | { path: string }, opts: AuditOptions = {}): SqliteAuditLog {
  const db = 'db' in store ? store.db : openSqlite(store.path);
  const now = opts.now ?? (() => new Date());
  const retentionMs = (opts.retentionDays ?? 90) * DAY_MS;
  const aggregateMs = opts.aggregateMs ?? 5 * 60_000;

  const insert = db.prepare<[Omit<AuditEntry, 'at'> & { at: string }]>(
    'INSERT INTO audit (at, tenant_id, agent_id, action, target, result, detail) VALUES (@at, @tenantId, @agentId, @action, @target, @result, @detail)',
  );
  const bump = db.prepare<[number, string, number]>('UPDATE audit SET count = ?, last_at = ? WHERE seq = ?');
  const deleteBefore = db.prepare<[string]>('DELETE FROM audit WHERE at < ?');
  const select = db.prepare<Record<string, string | number | null>, AuditRow>(
    `SELECT * FROM audit WHERE tenant_id = @tenantId AND (@agentId IS NULL OR agent_id = @agentId) AND (@action IS NULL OR action = @action)
       AND (@since IS NULL OR coalesce(last_at, at) >= @since) AND (@before IS NULL OR seq < @before) ORDER BY seq DESC LIMIT @limit`,
  );

  const runs = new Map<string, OpenRun>();
  let flushTimer: NodeJS.Timeout | null = null;
  let lastPrune = 0;

  const prune = (): number => {
    lastPrune = now().getTime();
    return deleteBefore.run(new Date(lastPrune - retentionMs).toISOString()).changes;
  };
  /** Writes counts not yet stored, and forgets runs whose window has ended. */
  const flush = db.transaction((all: boolean) => {
    const t = now().getTime();
    for (const [key, run] of runs) {
      if (run.count > run.written) bump.run(run.count, run.lastAt, run.seq);
      run.written = run.count;
      if (all || t - run.startedMs >= aggregateMs) runs.delete(key);
    }
  });
  const scheduleFlush = () => {
    if (flushTimer || runs.size === 0) return;
    flushTimer = setTimeout(() => {
      flushTimer = null;
      // A database closed without close() here (a test, the CLI) has nothing left to write to.
      if (!db.open) return runs.clear();
      flush(false);
      scheduleFlush();
    }, FLUSH_EVERY_MS);
    flushTimer.unref();
  };

  prune();
  return {
    async record(entry) {
      const at = now();
      const iso = at.toISOString();
      if (at.getTime() - lastPrune >= PRUNE_EVERY_MS) prune();
      if (entry.result !== 'denied') {
        insert.run({ ...entry, at: iso });
        return;
      }
      const key = JSON.stringify([entry.tenantId, entry.agentId, entry.action, entry.detail]);
      const run = runs.get(key);
      if (run && at.getTime() - run.startedMs < aggregateMs) {
        run.count += 1;
        run.lastAt = iso;
        return;
      }
      if (run && run.count > run.written) bump.run(run.count, run.lastAt, run.seq);
      const { lastInsertRowid } = insert.run({ ...entry, at: iso });
      runs.set(key, { seq: Number(lastInsertRowid), startedMs: at.getTime(), count: 1, written: 1, lastAt: iso });
      scheduleFlush();
    },
    async list(tenantId, query: AuditQuery = {}) {
      flush(false);
      const limit = Math.min(Math.max(query.limit ?? AUDIT_DEFAULT_LIMIT, 1), AUDIT_MAX_LIMIT);
      const rows = select.all({ tenantId, agentId: query.agentId ?? null, action: query.action ?? null, since: query.since ?? null, before: query.before ?? null, limit });
      return rows.map(toAuditRecord);
    },
    prune,
    async close() {
      if (flushTimer) clearTimeout(flushTimer);
      flushTimer = null;
      flush(true);
    },
  };
}
