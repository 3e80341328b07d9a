// Embedded default EventLog: one SQLite file (WAL) in the bus data directory. Single process
// only (several bus nodes share a log through the Redis adapter instead).
import { join } from 'node:path';
import type { CallEvent } from '../../../shared/call-event.js';
import type { Position } from '../../../shared/agent-protocol.js';
import type { AgentAddress, AppendResult, DeliveryWrite, EventLog, LogListener, LoggedEvent, OpenLeg, ReadResult } from '../port.js';
import { agentExtensions, ListenerSet, newEpoch, openLegChanges, openLegField, parseOpenLegField, receivedAtMs } from '../support.js';
import { openBusDatabase } from '../../data-dir.js';
import type { Migration } from '../../../shared/sqlite.js';
import { startCheckpointer } from './checkpointer.js';
import { DELIVERIES_SCHEMA, sqliteDeliveries, type SqliteDeliveries } from '../../ingest/deliveries/sqlite.js';

export const SQLITE_LOG_FILE = 'events.sqlite';

export interface SqliteEventLogOptions {
  /** Directory holding the log file; created when missing. */
  dataDir: string;
  /** How often the WAL is checkpointed into the database file. */
  checkpointIntervalMs?: number;
  /** Errors that cannot fail an append: a listener throwing, a background checkpoint failing. */
  onError?: (err: unknown) => void;
  /** How long delivery ids are remembered (default DELIVERY_RETENTION_MS). */
  deliveryRetentionMs?: number;
}

/** The SQLite log keeps delivery ids in its own file, committed with the events they brought. */
export interface SqliteEventLog extends EventLog {
  readonly deliveries: SqliteDeliveries;
}

interface PendingAppend {
  tenantId: string;
  event: CallEvent;
  idempotencyKey: string;
  delivery: DeliveryWrite | undefined;
  resolve(result: AppendResult): void;
  reject(err: unknown): void;
}

interface Stream {
  epoch: string;
  top: number;
}

interface Committed {
  tenantId: string;
  logged: LoggedEvent;
  epoch: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS streams (
  tenant_id TEXT PRIMARY KEY,
  epoch TEXT NOT NULL,
  top INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  tenant_id TEXT NOT NULL,
  log_offset INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (tenant_id, log_offset)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS events_idempotency ON events (tenant_id, idempotency_key);
CREATE INDEX IF NOT EXISTS events_event_id ON events (tenant_id, event_id);
CREATE INDEX IF NOT EXISTS events_received_at ON events (tenant_id, received_at);
CREATE TABLE IF NOT EXISTS event_agents (
  tenant_id TEXT NOT NULL,
  pbx_id TEXT NOT NULL,
  extension TEXT NOT NULL,
  log_offset INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, pbx_id, extension, log_offset)
) WITHOUT ROWID;
`;

/**
 * The log file's schema steps (user_version N = the first N done). 1: the tables and the agent
 * index (event_agents) covering every event. A log written before the index had user_version 0
 * and no index: step 1 fills it from the stored events.
 */
const BACKFILL_AGENT_INDEX = `
INSERT OR IGNORE INTO event_agents (tenant_id, pbx_id, extension, log_offset)
SELECT e.tenant_id, json_extract(e.body, '$.pbxId'), a.value, e.log_offset FROM events e, json_each(e.body, '$.agents') a;
`;
/** 2: the open-legs index (openLegChanges per event), filled by replaying the stored events in order. */
const OPEN_LEGS = `
CREATE TABLE IF NOT EXISTS open_legs (
  tenant_id TEXT NOT NULL,
  pbx_id TEXT NOT NULL,
  leg TEXT NOT NULL,
  log_offset INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, pbx_id, leg)
) WITHOUT ROWID;
`;
const MIGRATIONS: Migration[] = [
  (db) => db.exec(SCHEMA + BACKFILL_AGENT_INDEX),
  (db) => {
    db.exec(OPEN_LEGS);
    const rows = db.prepare<[], { tenant_id: string; log_offset: number; body: string }>('SELECT tenant_id, log_offset, body FROM events ORDER BY tenant_id, log_offset');
    const apply = openLegsWriter(db);
    for (const row of rows.all()) apply(row.tenant_id, JSON.parse(row.body) as CallEvent, row.log_offset);
  },
  // 3: delivery ids, committed with the events they brought (before: a deliveries.sqlite file of their own).
  (db) => db.exec(DELIVERIES_SCHEMA),
  // 4: no index on received_at: only the trim asked it, and it reads the events in offset order instead.
  (db) => db.exec('DROP INDEX IF EXISTS events_received_at'),
  // 5: event_id is '' where it equals the idempotency key (every event the ingest writes), so the
  // index on event ids holds only the others and an append writes one index fewer.
  (db) => db.exec(`
    UPDATE events SET event_id = '' WHERE event_id = idempotency_key;
    DROP INDEX IF EXISTS events_event_id;
    CREATE INDEX IF NOT EXISTS events_other_id ON events (tenant_id, event_id) WHERE event_id <> '';
  `),
];

/** Applies one event's openLegChanges to the index (inside the caller's transaction). */
function openLegsWriter(db: Parameters<Migration>[0]): (tenantId: string, event: CallEvent, offset: number) => void {
  const open = db.prepare<[string, string, string, number]>('INSERT OR REPLACE INTO open_legs (tenant_id, pbx_id, leg, log_offset) VALUES (?, ?, ?, ?)');
  const close = db.prepare<[string, string, string]>('DELETE FROM open_legs WHERE tenant_id = ? AND pbx_id = ? AND leg = ?');
  return (tenantId, event, offset) => {
    const legs = openLegChanges(event);
    for (const leg of legs.close) close.run(tenantId, event.pbxId, leg);
    for (const leg of legs.open) open.run(tenantId, event.pbxId, leg, offset);
  };
}

export function openSqliteEventLog(options: SqliteEventLogOptions): SqliteEventLog {
  const file = join(options.dataDir, SQLITE_LOG_FILE);
  const db = openBusDatabase(file, {
    // normal: with WAL, a commit is in the OS page cache when it returns, so an acknowledged append
    // survives SIGKILL or any crash of the bus process (the SIGKILL test proves it); only a kernel
    // crash or power cut could lose the last commits. FULL would fsync every commit: measured on
    // this VM at p50 2 ms / p99 25 ms per append, which alone breaks the 20 ms ingest-to-agent p99.
    durability: 'normal',
    // Checkpoints do fsync; a worker thread runs them so they never block the event loop (and with
    // it every agent's delivery). Measured at 50 appends/s: append p99 1.4-2.5 ms with the worker,
    // 1.3-8.2 ms with autocheckpoint.
    walAutocheckpoint: 0,
    migrations: MIGRATIONS,
  });
  const checkpointer = startCheckpointer(file, options.checkpointIntervalMs ?? 1_000, (message) =>
    options.onError?.(new Error(`WAL checkpoint failed: ${message}`)),
  );

  const sql = {
    // The top is the newest event's offset, read through the primary key; streams.top keeps it only
    // across a trim that removes every event (an append then leaves the streams page untouched).
    stream: db.prepare<[string], { epoch: string; top: number }>(
      'SELECT epoch, max(top, coalesce((SELECT max(log_offset) FROM events e WHERE e.tenant_id = s.tenant_id), 0)) AS top FROM streams s WHERE s.tenant_id = ?',
    ),
    createStream: db.prepare<[string, string]>('INSERT OR IGNORE INTO streams (tenant_id, epoch, top) VALUES (?, ?, 0)'),
    setTop: db.prepare<[number, string]>('UPDATE streams SET top = ? WHERE tenant_id = ?'),
    byKey: db.prepare<[string, string], { log_offset: number }>(
      'SELECT log_offset FROM events WHERE tenant_id = ? AND idempotency_key = ?',
    ),
    insert: db.prepare<[string, number, string, string, number, string]>(
      'INSERT INTO events (tenant_id, log_offset, event_id, idempotency_key, received_at, body) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    range: db.prepare<[string, number, number], { log_offset: number; body: string }>(
      'SELECT log_offset, body FROM events WHERE tenant_id = ? AND log_offset > ? ORDER BY log_offset LIMIT ?',
    ),
    insertAgent: db.prepare<[string, string, string, number]>(
      'INSERT OR IGNORE INTO event_agents (tenant_id, pbx_id, extension, log_offset) VALUES (?, ?, ?, ?)',
    ),
    agentRange: db.prepare<[string, string, string, number, number], { log_offset: number; body: string }>(
      `SELECT e.log_offset, e.body FROM event_agents a JOIN events e ON e.tenant_id = a.tenant_id AND e.log_offset = a.log_offset
       WHERE a.tenant_id = ? AND a.pbx_id = ? AND a.extension = ? AND a.log_offset > ? ORDER BY a.log_offset LIMIT ?`,
    ),
    first: db.prepare<[string], { first: number | null }>('SELECT MIN(log_offset) AS first FROM events WHERE tenant_id = ?'),
    // An id is an idempotency key (event_id '') or in events_other_id: named, as the planner does not
    // pick a partial index on its own without statistics (it would walk the tenant's events instead).
    byEventId: db.prepare<[{ tenant: string; id: string }], { log_offset: number; body: string }>(
      `SELECT log_offset, body FROM events WHERE tenant_id = @tenant AND idempotency_key = @id AND event_id = ''
       UNION ALL SELECT log_offset, body FROM events INDEXED BY events_other_id WHERE tenant_id = @tenant AND event_id = @id AND event_id <> ''
       ORDER BY log_offset LIMIT 1`,
    ),
    tenants: db.prepare<[], { tenant_id: string }>('SELECT tenant_id FROM streams'),
    // In offset order from the oldest: it reads only the events the trim is about to remove.
    firstKept: db.prepare<[string, number], { first: number }>(
      'SELECT log_offset AS first FROM events WHERE tenant_id = ? AND received_at >= ? ORDER BY log_offset LIMIT 1',
    ),
    deleteBefore: db.prepare<[string, number]>('DELETE FROM events WHERE tenant_id = ? AND log_offset < ?'),
    deleteAll: db.prepare<[string]>('DELETE FROM events WHERE tenant_id = ?'),
    deleteAgentsBefore: db.prepare<[string, number]>('DELETE FROM event_agents WHERE tenant_id = ? AND log_offset < ?'),
    deleteOpenLegsBefore: db.prepare<[string, number]>('DELETE FROM open_legs WHERE tenant_id = ? AND log_offset < ?'),
    dropOpenLeg: db.prepare<[string, string, string, number]>('DELETE FROM open_legs WHERE tenant_id = ? AND pbx_id = ? AND leg = ? AND log_offset = ?'),
    openLegs: db.prepare<[string, string], { leg: string; log_offset: number; body: string }>(
      `SELECT o.leg, o.log_offset, e.body FROM open_legs o JOIN events e ON e.tenant_id = o.tenant_id AND e.log_offset = o.log_offset
       WHERE o.tenant_id = ? AND o.pbx_id = ?`,
    ),
  };
  const applyOpenLegs = openLegsWriter(db);
  const deliveries = sqliteDeliveries(db, options.deliveryRetentionMs);

  const listeners = new ListenerSet(options.onError);
  let queue: PendingAppend[] = [];
  let closed = false;
  /**
   * Each tenant's stream as of the last commit, once an append has read it: this process is the
   * file's one writer of events (the admin CLI's watch only reads), so only these appends move a
   * top, and an append need not read it again (a query per append in a profile of the bus).
   */
  const committedStreams = new Map<string, Stream>();

  function ensureStream(tenantId: string): Stream {
    // Read first: creating (a random epoch and a write) is needed once per tenant, not per call.
    const existing = sql.stream.get(tenantId);
    if (existing) return existing;
    sql.createStream.run(tenantId, newEpoch());
    return sql.stream.get(tenantId)!;
  }

  const ensureStreamTx = db.transaction(ensureStream);

  /** Writes a batch in one transaction; returns per-append results and the new events in offset order. */
  const writeBatch = db.transaction((batch: PendingAppend[]) => {
    // This batch's tops: copies, so a batch that rolls back leaves committedStreams as it was.
    const streams = new Map<string, Stream>();
    const results: AppendResult[] = [];
    const committed: Committed[] = [];
    for (const item of batch) {
      let stream = streams.get(item.tenantId);
      if (!stream) {
        stream = { ...(committedStreams.get(item.tenantId) ?? ensureStream(item.tenantId)) };
        streams.set(item.tenantId, stream);
      }
      const existing = sql.byKey.get(item.tenantId, item.idempotencyKey);
      if (existing) {
        results.push({ offset: existing.log_offset, epoch: stream.epoch, duplicate: true });
        continue;
      }
      const offset = ++stream.top;
      const json = JSON.stringify(item.event);
      const otherId = item.event.id === item.idempotencyKey ? '' : item.event.id;
      sql.insert.run(item.tenantId, offset, otherId, item.idempotencyKey, receivedAtMs(item.event), json);
      for (const extension of agentExtensions(item.event)) sql.insertAgent.run(item.tenantId, item.event.pbxId, extension, offset);
      applyOpenLegs(item.tenantId, item.event, offset);
      if (item.delivery) deliveries.put(item.delivery.key, item.delivery.record);
      results.push(item.delivery ? { offset, epoch: stream.epoch, duplicate: false, deliveryStored: true } : { offset, epoch: stream.epoch, duplicate: false });
      committed.push({ tenantId: item.tenantId, logged: { offset, event: item.event, json }, epoch: stream.epoch });
    }
    return { results, committed, streams };
  });

  // Group commit: appends made in the same tick share one transaction (commits do not fsync under
  // synchronous = NORMAL, see above; checkpoints do, on the worker).
  function flush(): void {
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    let outcome: ReturnType<typeof writeBatch>;
    try {
      outcome = writeBatch.immediate(batch);
    } catch (err) {
      for (const item of batch) item.reject(err);
      return;
    }
    for (const [tenantId, stream] of outcome.streams) committedStreams.set(tenantId, stream);
    batch.forEach((item, i) => item.resolve(outcome.results[i]!));
    for (const c of outcome.committed) listeners.emit(c.tenantId, c.logged, c.epoch);
  }

  function toLogged(row: { log_offset: number; body: string }): LoggedEvent {
    return { offset: row.log_offset, event: JSON.parse(row.body) as CallEvent, json: row.body };
  }

  const readSnapshot = db.transaction((tenantId: string, since: number, limit: number): ReadResult => {
    const stream = ensureStream(tenantId);
    const events = limit > 0 ? sql.range.all(tenantId, since, limit).map(toLogged) : [];
    return snapshotOf(tenantId, stream, events);
  });

  const readForAgentSnapshot = db.transaction((tenantId: string, { pbxId, extension, since, limit }: AgentAddress & { since: number; limit: number }): ReadResult => {
    const stream = ensureStream(tenantId);
    const events = limit > 0 ? sql.agentRange.all(tenantId, pbxId, extension, since, limit).map(toLogged) : [];
    return snapshotOf(tenantId, stream, events);
  });

  function snapshotOf(tenantId: string, stream: Stream, events: LoggedEvent[]): ReadResult {
    const first = sql.first.get(tenantId)?.first ?? null;
    return { events, position: { offset: stream.top, epoch: stream.epoch }, firstRetained: first ?? stream.top + 1 };
  }

  const trimTx = db.transaction((cutoff: number): number => {
    let removed = 0;
    for (const { tenant_id } of sql.tenants.all()) {
      // Only the prefix before the first event still inside retention goes, so what stays is contiguous.
      const keepFrom = sql.firstKept.get(tenant_id, cutoff)?.first ?? null;
      // Every event goes: the top no longer follows from them, and an offset is never given twice.
      if (keepFrom === null) sql.setTop.run(ensureStream(tenant_id).top, tenant_id);
      removed += (keepFrom === null ? sql.deleteAll.run(tenant_id) : sql.deleteBefore.run(tenant_id, keepFrom)).changes;
      sql.deleteAgentsBefore.run(tenant_id, keepFrom ?? Number.MAX_SAFE_INTEGER);
      sql.deleteOpenLegsBefore.run(tenant_id, keepFrom ?? Number.MAX_SAFE_INTEGER);
    }
    return removed;
  });

  function assertOpen(): void {
    if (closed) throw new Error('event log is closed');
  }

  return {
    deliveries,

    append(tenantId: string, event: CallEvent, idempotencyKey: string, delivery?: DeliveryWrite): Promise<AppendResult> {
      assertOpen();
      return new Promise((resolve, reject) => {
        if (queue.length === 0) setImmediate(flush);
        queue.push({ tenantId, event, idempotencyKey, delivery, resolve, reject });
      });
    },

    async read(tenantId: string, { since, limit }: { since: number; limit: number }): Promise<ReadResult> {
      assertOpen();
      return readSnapshot.immediate(tenantId, since, limit);
    },

    async readForAgent(tenantId, opts): Promise<ReadResult> {
      assertOpen();
      return readForAgentSnapshot.immediate(tenantId, opts);
    },

    async position(tenantId: string): Promise<Position> {
      assertOpen();
      const { epoch, top } = ensureStreamTx(tenantId);
      return { offset: top, epoch };
    },

    async openLegs(tenantId: string, pbxId: string): Promise<OpenLeg[]> {
      assertOpen();
      return sql.openLegs.all(tenantId, pbxId).map((row) => ({ extension: parseOpenLegField(row.leg).extension, logged: toLogged(row) }));
    },

    async dropOpenLegs(tenantId: string, pbxId: string, legs: Array<{ pbxCallId: string; extension: string; offset: number }>): Promise<void> {
      assertOpen();
      db.transaction(() => {
        for (const leg of legs) sql.dropOpenLeg.run(tenantId, pbxId, openLegField(pbxId, leg.pbxCallId, leg.extension), leg.offset);
      })();
    },

    async findById(tenantId: string, eventId: string): Promise<LoggedEvent | null> {
      assertOpen();
      const row = sql.byEventId.get({ tenant: tenantId, id: eventId });
      return row ? toLogged(row) : null;
    },

    subscribe(listener: LogListener): () => void {
      return listeners.add(listener);
    },

    async trim(olderThan: Date): Promise<number> {
      assertOpen();
      return trimTx.immediate(olderThan.getTime());
    },

    async close(): Promise<void> {
      if (closed) return;
      if (queue.length > 0) flush();
      closed = true;
      listeners.clear();
      await checkpointer.stop();
      db.close(); // the last connection to close checkpoints the WAL fully
    },
  };
}
