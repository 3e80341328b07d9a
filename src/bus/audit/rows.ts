// What the SQLite and PostgreSQL audit logs share: options, the row shape, paging limits.
import type { AuditEntry, AuditRecord } from './port.js';

export const AUDIT_DEFAULT_LIMIT = 100;
export const AUDIT_MAX_LIMIT = 10_000;

export interface AuditOptions {
  /** Rows older than this many days are deleted. Default 90. */
  retentionDays?: number;
  /** Identical refusals within this window share one row. Default 5 minutes. */
  aggregateMs?: number;
  now?: () => Date;
}

export interface AuditRow { seq: number; at: string; tenant_id: string; agent_id: string; action: AuditEntry['action']; target: string; result: AuditEntry['result']; detail: string | null; count: number; last_at: string | null }

export const toAuditRecord = (r: AuditRow): AuditRecord => ({
  seq: r.seq, at: r.at, tenantId: r.tenant_id, agentId: r.agent_id, action: r.action, target: r.target, result: r.result, detail: r.detail,
  count: r.count, lastAt: r.last_at ?? r.at,
});
