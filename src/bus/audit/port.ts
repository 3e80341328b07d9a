// Who dialled what and who fetched which recording, when, with what result.
export interface AuditEntry {
  at: string;
  tenantId: string;
  agentId: string;
  action: 'dial' | 'recording';
  /** The dialled E.164 (or raw input when invalid), or the event id of the recording. */
  target: string;
  result: 'ok' | 'denied' | 'error';
  detail: string | null;
}

export interface AuditLog {
  record(entry: Omit<AuditEntry, 'at'>): Promise<void>;
  list(tenantId: string, opts?: { limit?: number }): Promise<AuditEntry[]>;
}
