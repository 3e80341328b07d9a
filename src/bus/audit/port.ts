// Who dialled what, fetched which recording, controlled which call or changed their status, when, with what result.
export interface AuditEntry {
  at: string;
  tenantId: string;
  agentId: string;
  action: 'dial' | 'recording' | 'call_control' | 'presence';
  /** The dialled E.164 (or raw input when invalid), the event id of the recording, `<action> <call id> [destination]`, or `dnd on|off`/`read`. */
  target: string;
  result: 'ok' | 'denied' | 'error';
  detail: string | null;
}

/** A stored entry. Identical refusals (agent, action, detail) within a short window share one row. */
export interface AuditRecord extends AuditEntry {
  /** Increasing; the paging cursor (`before`). */
  seq: number;
  /** How many times this happened; above 1 only for aggregated refusals (`target` is the first one's). */
  count: number;
  /** When it last happened (equals `at` when count is 1). */
  lastAt: string;
}

export interface AuditQuery {
  agentId?: string;
  action?: AuditEntry['action'];
  /** ISO time: only rows that happened (last) at or after it. */
  since?: string;
  /** Only rows older than this seq: the next page after a page whose last row had it. */
  before?: number;
  limit?: number;
}

export interface AuditLog {
  record(entry: Omit<AuditEntry, 'at'>): Promise<void>;
  /** Newest first. */
  list(tenantId: string, query?: AuditQuery): Promise<AuditRecord[]>;
}
