// The audit log on PostgreSQL, shared by every node. Retention as on SQLite (rows past it deleted on
// open and at most hourly while writing). A refusal repeated within the aggregation window (same
// tenant, agent, action and reason) bumps the count of its run's first row in the same statement
// that would otherwise insert it: no counts wait in memory (the write does not block the event
// loop as a SQLite commit would), so nodes aggregate together and a crash loses none.
import type { PgPool } from '../postgres.js';
import type { AuditLog, AuditQuery } from './port.js';
import { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, toAuditRecord, type AuditOptions, type AuditRow } from './rows.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

export interface PostgresAuditLog extends AuditLog {
  /** Deletes rows past the retention; returns how many. */
  prune(): Promise<number>;
  close(): Promise<void>;
}

/** The pool is the caller's; close() does not end it. */
export async function createPostgresAuditLog(pool: PgPool, opts: AuditOptions = {}): Promise<PostgresAuditLog> {
  const now = opts.now ?? (() => new Date());
  const retentionMs = (opts.retentionDays ?? 90) * DAY_MS;
  const aggregateMs = opts.aggregateMs ?? 5 * 60_000;
  let lastPrune = 0;

  const prune = async (): Promise<number> => {
    lastPrune = now().getTime();
    const { rowCount } = await pool.query('DELETE FROM audit WHERE at < $1', [new Date(lastPrune - retentionMs).toISOString()]);
    return rowCount ?? 0;
  };

  await prune();
  return {
    async record(entry) {
      const at = now();
      const iso = at.toISOString();
      if (at.getTime() - lastPrune >= PRUNE_EVERY_MS) await prune();
      const params = [iso, entry.tenantId, entry.agentId, entry.action, entry.target, entry.result, entry.detail];
      if (entry.result !== 'denied') {
        await pool.query('INSERT INTO audit (at, tenant_id, agent_id, action, target, result, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)', params);
        return;
      }
      await pool.query(
        `WITH bumped AS (
           UPDATE audit SET count = count + 1, last_at = $1 WHERE seq = (
             SELECT seq FROM audit WHERE tenant_id = $2 AND agent_id = $3 AND action = $4 AND result = 'denied'
               AND detail IS NOT DISTINCT FROM $7 AND at > $8 ORDER BY seq DESC LIMIT 1)
           RETURNING seq)
         INSERT INTO audit (at, tenant_id, agent_id, action, target, result, detail)
           SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS (SELECT 1 FROM bumped)`,
        [...params, new Date(at.getTime() - aggregateMs).toISOString()],
      );
    },
    async list(tenantId, query: AuditQuery = {}) {
      const limit = Math.min(Math.max(query.limit ?? AUDIT_DEFAULT_LIMIT, 1), AUDIT_MAX_LIMIT);
      // seq is a bigint, which pg returns as a string: a number is exact up to 2^53 rows.
      const { rows } = await pool.query<Omit<AuditRow, 'seq'> & { seq: string }>(
        `SELECT seq, at, tenant_id, agent_id, action, target, result, detail, count, last_at FROM audit
         WHERE tenant_id = $1 AND ($2::text IS NULL OR agent_id = $2) AND ($3::text IS NULL OR action = $3)
           AND ($4::text IS NULL OR coalesce(last_at, at) >= $4) AND ($5::bigint IS NULL OR seq < $5) ORDER BY seq DESC LIMIT $6`,
        [tenantId, query.agentId ?? null, query.action ?? null, query.since ?? null, query.before ?? null, limit],
      );
      return rows.map((r) => toAuditRecord({ ...r, seq: Number(r.seq) }));
    },
    prune,
    async close() {},
  };
}
