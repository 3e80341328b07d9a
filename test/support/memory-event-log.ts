// In-memory EventLog for tests: same contract as the durable adapters, nothing survives the process.
import type { CallEvent } from '../../src/shared/call-event.js';
import type { Position } from '../../src/shared/agent-protocol.js';
import type { AgentAddress, AppendResult, EventLog, LogListener, LoggedEvent, OpenLeg, ReadResult } from '../../src/bus/log/port.js';
import { agentExtensions, ListenerSet, newEpoch, openLegChanges, openLegField, parseOpenLegField, receivedAtMs } from '../../src/bus/log/support.js';

interface Entry {
  logged: LoggedEvent;
  idempotencyKey: string;
  receivedAt: number;
}

interface Stream {
  epoch: string;
  top: number;
  /** Contiguous, oldest first: entries[i].logged.offset === firstRetained + i. */
  entries: Entry[];
  byKey: Map<string, number>;
  byEventId: Map<string, Entry>;
  /** Agent index: agentKey -> its events, oldest first. */
  byAgent: Map<string, LoggedEvent[]>;
  /** Open-legs index: field -> the event that opened it. */
  open: Map<string, LoggedEvent>;
}

function agentKey(pbxId: string, extension: string): string {
  return JSON.stringify([pbxId, extension]);
}

/** Index of the first event with an offset above `offset` in a list sorted by offset. */
function firstAfter(list: LoggedEvent[], offset: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.offset <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function createMemoryEventLog(): EventLog {
  const streams = new Map<string, Stream>();
  const listeners = new ListenerSet();

  function stream(tenantId: string): Stream {
    let s = streams.get(tenantId);
    if (!s) {
      s = { epoch: newEpoch(), top: 0, entries: [], byKey: new Map(), byEventId: new Map(), byAgent: new Map(), open: new Map() };
      streams.set(tenantId, s);
    }
    return s;
  }

  function firstRetained(s: Stream): number {
    return s.entries[0]?.logged.offset ?? s.top + 1;
  }

  return {
    async append(tenantId: string, event: CallEvent, idempotencyKey: string): Promise<AppendResult> {
      const s = stream(tenantId);
      const existing = s.byKey.get(idempotencyKey);
      if (existing !== undefined) return { offset: existing, epoch: s.epoch, duplicate: true };
      const entry: Entry = { logged: { offset: ++s.top, event: structuredClone(event) }, idempotencyKey, receivedAt: receivedAtMs(event) };
      s.entries.push(entry);
      s.byKey.set(idempotencyKey, entry.logged.offset);
      if (!s.byEventId.has(event.id)) s.byEventId.set(event.id, entry);
      for (const extension of agentExtensions(event)) {
        const key = agentKey(event.pbxId, extension);
        const list = s.byAgent.get(key);
        if (list) list.push(entry.logged);
        else s.byAgent.set(key, [entry.logged]);
      }
      const legs = openLegChanges(event);
      for (const field of legs.close) s.open.delete(field);
      for (const field of legs.open) s.open.set(field, entry.logged);
      listeners.emit(tenantId, entry.logged, s.epoch);
      return { offset: entry.logged.offset, epoch: s.epoch, duplicate: false };
    },

    async read(tenantId: string, { since, limit }: { since: number; limit: number }): Promise<ReadResult> {
      const s = stream(tenantId);
      const first = firstRetained(s);
      const start = Math.max(0, since + 1 - first);
      const events = limit > 0 ? s.entries.slice(start, start + limit).map((e) => e.logged) : [];
      return { events, position: { offset: s.top, epoch: s.epoch }, firstRetained: first };
    },

    async readForAgent(tenantId: string, { pbxId, extension, since, limit }: AgentAddress & { since: number; limit: number }): Promise<ReadResult> {
      const s = stream(tenantId);
      const list = s.byAgent.get(agentKey(pbxId, extension)) ?? [];
      const start = firstAfter(list, since);
      const events = limit > 0 ? list.slice(start, start + limit) : [];
      return { events, position: { offset: s.top, epoch: s.epoch }, firstRetained: firstRetained(s) };
    },

    async position(tenantId: string): Promise<Position> {
      const s = stream(tenantId);
      return { offset: s.top, epoch: s.epoch };
    },

    async openLegs(tenantId: string, pbxId: string): Promise<OpenLeg[]> {
      const open = streams.get(tenantId)?.open ?? new Map<string, LoggedEvent>();
      return [...open].flatMap(([field, logged]) => {
        const leg = parseOpenLegField(field);
        return leg.pbxId === pbxId ? [{ extension: leg.extension, logged }] : [];
      });
    },

    async dropOpenLegs(tenantId: string, pbxId: string, legs: Array<{ pbxCallId: string; extension: string; offset: number }>): Promise<void> {
      const open = streams.get(tenantId)?.open;
      for (const leg of legs) {
        const field = openLegField(pbxId, leg.pbxCallId, leg.extension);
        if (open?.get(field)?.offset === leg.offset) open.delete(field);
      }
    },

    async findById(tenantId: string, eventId: string): Promise<LoggedEvent | null> {
      return streams.get(tenantId)?.byEventId.get(eventId)?.logged ?? null;
    },

    subscribe(listener: LogListener): () => void {
      return listeners.add(listener);
    },

    async trim(olderThan: Date): Promise<number> {
      const cutoff = olderThan.getTime();
      let removed = 0;
      for (const s of streams.values()) {
        // Only a prefix goes, so what remains stays contiguous for resume.
        let n = 0;
        while (n < s.entries.length && s.entries[n]!.receivedAt < cutoff) n++;
        for (const gone of s.entries.splice(0, n)) {
          s.byKey.delete(gone.idempotencyKey);
          if (s.byEventId.get(gone.logged.event.id) === gone) s.byEventId.delete(gone.logged.event.id);
          // The oldest events go first, so each is the head of its agents' lists.
          for (const extension of agentExtensions(gone.logged.event)) {
            const key = agentKey(gone.logged.event.pbxId, extension);
            const list = s.byAgent.get(key)!;
            list.shift();
            if (list.length === 0) s.byAgent.delete(key);
          }
        }
        for (const [field, logged] of s.open) if (logged.offset < firstRetained(s)) s.open.delete(field);
        removed += n;
      }
      return removed;
    },

    async close(): Promise<void> {
      listeners.clear();
    },
  };
}
