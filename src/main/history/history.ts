// Recent calls as the agent saw them, one entry per call leg (call + this agent), built from
// CallEvents in log order, with the CRM-log state the outbox keeps up to date.
import { z } from 'zod';
import { CallDirection, answeringExtension, remoteParty, type CallEvent } from '../../shared/call-event.js';
import { CrmLogState, HistoryOutcome } from '../../shared/call-history.js';
import { Signal } from '../signal.js';
import type { HistoryRows } from './rows.js';

export const CallRecordSchema = z.object({
  /** tenant:pbx:callId:extension — the same key the outbox gives the CRM for idempotency. */
  callKey: z.string(),
  pbxCallId: z.string(),
  direction: CallDirection,
  remote: z.object({ raw: z.string(), e164: z.string().nullable(), name: z.string().nullable() }),
  contactName: z.string().nullable(),
  queue: z.string().nullable(),
  startedAt: z.string(),
  answeredAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  durationSec: z.number().nullable(),
  outcome: HistoryOutcome,
  hasRecording: z.boolean(),
  crm: z.object({ state: CrmLogState, reason: z.string().nullable(), updatedAt: z.string() }),
});
export type CallRecord = z.infer<typeof CallRecordSchema>;

const FINAL: ReadonlySet<HistoryOutcome> = new Set(['missed', 'answered', 'answered_elsewhere', 'not_answered']);

export function callKeyOf(event: Pick<CallEvent, 'tenantId' | 'pbxId' | 'pbxCallId'>, extension: string): string {
  return `${event.tenantId}:${event.pbxId}:${event.pbxCallId}:${extension}`;
}

export interface CallHistoryOptions {
  /** Each change is written here at once, so what was acknowledged to the bus is never lost. */
  rows: HistoryRows;
  /** Contact name for a number from the local index, when the history learns of a call. */
  contactNameOf?: (e164: string) => string | null;
  maxEntries?: number;
  maxAgeDays?: number;
  now?: () => number;
}

export class CallHistory {
  /** Insertion order is arrival order, so the oldest call is always first. */
  private readonly entries = new Map<string, CallRecord>();
  /** Latest two calls per number, newest first, so the pop's "last call" is O(1). */
  private readonly lastCalls = new Map<string, Array<{ callKey: string; at: number }>>();
  private readonly changed = new Signal<CallRecord>();

  constructor(private readonly options: CallHistoryOptions) {
    const saved = options.rows.load().flatMap(({ callKey, record }) => {
      const parsed = CallRecordSchema.safeParse(record);
      if (!parsed.success) options.rows.remove(callKey); // unreadable (a newer or damaged row): not shown, not kept
      return parsed.success ? [parsed.data] : [];
    });
    for (const record of saved.sort((a, b) => a.startedAt.localeCompare(b.startedAt))) this.add(record);
    this.prune();
  }

  /** Newest first. */
  list(): CallRecord[] {
    return [...this.entries.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  get(callKey: string): CallRecord | undefined {
    return this.entries.get(callKey);
  }

  onChange(listener: (record: CallRecord) => void): () => void {
    return this.changed.on(listener);
  }

  /** Folds one event (live or replayed) into the call it belongs to. */
  record(event: CallEvent, extension: string): CallRecord {
    const callKey = callKeyOf(event, extension);
    const entry = this.entries.get(callKey) ?? this.create(callKey, event);
    if (entry.contactName === null && entry.remote.e164) entry.contactName = this.options.contactNameOf?.(entry.remote.e164) ?? null;
    switch (event.type) {
      case 'ringing':
        break;
      case 'answered': {
        entry.answeredAt ??= event.pbxTime;
        const answeredBy = answeringExtension(event);
        if (!FINAL.has(entry.outcome) || entry.outcome === 'missed') {
          entry.outcome = answeredBy !== null && answeredBy !== extension ? 'answered_elsewhere' : 'answered';
        }
        break;
      }
      case 'ended':
        entry.endedAt ??= event.pbxTime;
        entry.durationSec = event.durationSec ?? entry.durationSec;
        if (!FINAL.has(entry.outcome)) {
          if ((event.durationSec ?? 0) > 0) entry.outcome = 'answered';
          else entry.outcome = entry.direction === 'inbound' ? 'missed' : 'not_answered';
        }
        break;
      case 'missed':
        entry.endedAt ??= event.pbxTime;
        // Nobody picked up: the agent missed an inbound call, or the callee did not answer theirs.
        if (entry.answeredAt === null) entry.outcome = entry.direction === 'outbound' ? 'not_answered' : 'missed';
        break;
      case 'recording_ready':
        entry.hasRecording = true;
        break;
    }
    return this.commit(entry);
  }

  /** The outbox reports how the CRM write went. Returns false for a call the history does not know. */
  setCrmState(callKey: string, state: CrmLogState, reason: string | null = null): boolean {
    const entry = this.entries.get(callKey);
    if (!entry) return false;
    entry.crm = { state, reason, updatedAt: this.nowIso() };
    this.commit(entry);
    return true;
  }

  /** A remote lookup found the caller after the call was recorded. */
  setContactName(callKey: string, name: string): void {
    const entry = this.entries.get(callKey);
    if (!entry || entry.contactName === name) return;
    entry.contactName = name;
    this.commit(entry);
  }

  /** When this number last called or was called (ms), other than `exceptCallKey`. */
  lastCallWith(e164: string, exceptCallKey: string): number | null {
    return this.lastCalls.get(e164)?.find((call) => call.callKey !== exceptCallKey)?.at ?? null;
  }

  /** Closes the stored rows (on quit). */
  close(): void {
    this.options.rows.close();
  }

  private create(callKey: string, event: CallEvent): CallRecord {
    const remote = remoteParty(event);
    const internal = event.direction === 'internal';
    const entry: CallRecord = {
      callKey,
      pbxCallId: event.pbxCallId,
      direction: event.direction,
      remote: { raw: remote.raw, e164: remote.e164, name: remote.name },
      contactName: null,
      queue: event.queue,
      startedAt: event.pbxTime,
      answeredAt: null,
      endedAt: null,
      durationSec: null,
      outcome: 'ringing',
      hasRecording: false,
      crm: { state: internal ? 'not_applicable' : 'pending', reason: internal ? 'Internal calls are not logged to the CRM.' : null, updatedAt: this.nowIso() },
    };
    this.add(entry);
    return entry;
  }

  private add(entry: CallRecord): void {
    this.entries.set(entry.callKey, entry);
    if (!entry.remote.e164) return;
    const at = Date.parse(entry.startedAt);
    const calls = (this.lastCalls.get(entry.remote.e164) ?? []).filter((c) => c.callKey !== entry.callKey);
    calls.push({ callKey: entry.callKey, at });
    calls.sort((a, b) => b.at - a.at);
    this.lastCalls.set(entry.remote.e164, calls.slice(0, 2));
  }

  private drop(callKey: string): void {
    const entry = this.entries.get(callKey);
    this.entries.delete(callKey);
    this.options.rows.remove(callKey);
    const e164 = entry?.remote.e164;
    if (!e164) return;
    const rest = (this.lastCalls.get(e164) ?? []).filter((c) => c.callKey !== callKey);
    if (rest.length > 0) this.lastCalls.set(e164, rest);
    else this.lastCalls.delete(e164);
  }

  private commit(entry: CallRecord): CallRecord {
    if (this.entries.size > (this.options.maxEntries ?? 500)) this.drop(this.entries.keys().next().value!);
    this.options.rows.put(entry.callKey, entry);
    const snapshot = structuredClone(entry);
    this.changed.emit(snapshot);
    return snapshot;
  }

  private prune(): void {
    const { maxEntries = 500, maxAgeDays = 30 } = this.options;
    const oldest = new Date(this.now() - maxAgeDays * 86_400_000).toISOString();
    const keep = this.list().filter((e) => e.startedAt >= oldest).slice(0, maxEntries);
    if (keep.length === this.entries.size) return;
    const kept = new Set(keep.map((e) => e.callKey));
    for (const key of [...this.entries.keys()]) if (!kept.has(key)) this.drop(key);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private nowIso(): string {
    return new Date(this.now()).toISOString();
  }
}
