// The durable outbox: call events in, CRM writes out, each call exactly once and in order.
//
// Per call leg: log (create, or update when facts moved on) once the call has ended, then attach
// the recording when it is ready; a missed inbound call this agent logs also gets a follow-up task
// where the CRM has tasks, as its own step after the log (its own flag on disk, so a crash between
// the log and the task neither loses nor doubles it). Steps of one call run in that order, one at
// a time; across calls, logs of different callers run side by side (one caller's oldest first) and
// recording uploads beside them, so no call waits behind another caller's stuck request.
//
// Errors: the HTTP layer already retried each request a few times (crm/http.ts), so a step that
// still fails backs off on its own (capped exponential backoff with full jitter, at most a minute)
// while the other calls go ahead, and resumes from what it had learned (contact, record id,
// uploaded file: kept on the row). The whole queue pauses only when the CRM itself says so or is
// down: a rate limit (until Retry-After; the call that met it goes first afterwards), failures of
// two different calls with no success between (capped backoff), or a lost grant (until signed in
// again). A refusal that retrying cannot fix parks that one call as "needs attention" with the
// CRM's message until `retry(callKey)`. A crash anywhere resumes from the stored mapping, and
// adapters are idempotent per callKey (log) and per record+file name (attach), so nothing doubles.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type CallEvent, remoteParty } from '../../shared/call-event.js';
import type { CrmLogState } from '../../shared/call-history.js';
import { type BackoffPolicy, backoffDelay } from '../../shared/retry.js';
import { runAbortable } from '../crm/abort.js';
import { CrmError, linksOf, type CallLinks, type CrmAdapter, type CrmContact, type StepMemo } from '../crm/port.js';
import type { CallChoice } from '../call-choices/choices.js';
import { Signal } from '../signal.js';
import { callKeyOf } from '../history/index.js';
import { OUTBOX_EVENT_TYPES, callLogInput, followUpDue, followUpTaskInput, loggedElsewhereReason } from './call-facts.js';
import { RecordingUnavailable, type RecordingSource, fetchRecording } from './recording.js';
import { type OutboxRow, type OutboxStep, OutboxStore } from './store.js';

// A CRM that answers again is tried again within a minute, never left for minutes.
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 60_000 };

/** The call-history side (recent-calls screen) that shows each call's CRM state ('not_applicable': another extension logs it). */
export interface CrmStateSink {
  setCrmState(callKey: string, state: CrmLogState, reason: string | null): void | Promise<void>;
}

/** The contact a call is logged against: the contacts index, preferring the agent's own match. */
export type ResolveContact = (e164: string) => Promise<Pick<CrmContact, 'id' | 'kind' | 'name'> | null>;

export interface OutboxOptions {
  /** The agent's data directory; the database is `outbox.sqlite` in it. */
  dataDir: string;
  /** This agent's extension: only events naming it are taken, and it is part of every callKey. */
  agentExtension: string;
  /** The signed-in CRM, or null while none is (events still queue). */
  adapter: CrmAdapter | null;
  bus: RecordingSource;
  history: CrmStateSink;
  resolveContact: ResolveContact;
  /** The agent's CRM user id, owner of the logged activities. */
  ownerId?: () => string | null;
  /** The agent's picks (call-choices/): the record and deal each write of a call's log goes to. */
  choices?: { forCall(callKey: string): CallChoice | null };
  logger: Logger;
  backoff?: BackoffPolicy;
  random?: () => number;
  now?: () => number;
}

export interface CrmStateChange {
  callKey: string;
  state: CrmLogState;
  reason: string | null;
}

/**
 * Logs of different callers run side by side, so a call stuck on a CRM request that never answers
 * (up to the request timeout, per try) holds up no one else's; one caller's calls are logged one at
 * a time, oldest first. Uploads and follow-up tasks overlap them. The CRM's request budget paces it all.
 */
const LANE_SLOTS: Record<OutboxStep, number> = { log: 4, attach: 2, task: 1 };
const STEPS: readonly OutboxStep[] = ['log', 'attach', 'task'];
/** Floor for the wake-up timer, so a clock oddity can never spin it. */
const MIN_WAKE_MS = 5;

type Pause = { kind: 'none' } | { kind: 'until'; at: number } | { kind: 'auth' };

export class Outbox {
  /** Every state change, for the UI (history gets the same through its port). */
  readonly stateChanged = new Signal<CrmStateChange>();
  /** Each call log the CRM took: the live record (`in_progress`) and every write of its completion. */
  readonly logWritten = new Signal<{ callKey: string; status: 'in_progress' | 'completed' }>();
  private readonly store: OutboxStore;
  private readonly now: () => number;
  private adapter: CrmAdapter | null;
  private pause: Pause = { kind: 'none' };
  /** CRM-wide pauses in a row (rate limits, outages), for their backoff; reset by any step that succeeds. */
  private crmFailures = 0;
  /** Calls whose steps failed since the last success: two or more means the CRM is down, not one call. */
  private readonly failingCalls = new Set<string>();
  /** Steps in flight by callKey (one per call at a time). */
  private readonly busy = new Map<string, Promise<void>>();
  /** Remote parties whose call is being logged now (see LANE_SLOTS). */
  private readonly loggingCallers = new Set<string>();
  private readonly active: Record<OutboxStep, number> = { log: 0, attach: 0, task: 0 };
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Aborted by close(): steps in flight stop waiting and leave their row as it was, due again next start. */
  private readonly closing = new AbortController();
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly opts: OutboxOptions) {
    this.store = new OutboxStore(join(opts.dataDir, 'outbox.sqlite'));
    this.now = opts.now ?? Date.now;
    this.adapter = opts.adapter;
    this.kick(); // work left by a previous run (crash, quit) resumes at once
  }

  /**
   * Durably takes an event concerning this agent (answered, ended, missed, recording_ready).
   * Returns once it is on disk, so the bus client may ack after it. Redeliveries are no-ops.
   */
  enqueue(event: CallEvent, { wrapUpMs = 0 }: { wrapUpMs?: number } = {}): boolean {
    if (!OUTBOX_EVENT_TYPES.has(event.type) || !event.agents.includes(this.opts.agentExtension)) return false;
    // Extension-to-extension calls have no customer to log against.
    if (event.direction === 'internal') return false;
    const callKey = callKeyOf(event, this.opts.agentExtension);
    const before = this.store.get(callKey);
    const taken = this.store.record(callKey, event, this.now(), this.opts.agentExtension);
    if (!taken) return false;
    let after = this.store.get(callKey)!;
    // The agent's call ended: its completing log waits for wrap-up (notes, outcome) or its end.
    if (wrapUpMs > 0 && (event.type === 'ended' || event.type === 'missed') && after.facts.answeredAt && !after.facts.loggedBy) {
      this.store.holdForWrapUp(callKey, this.now() + wrapUpMs);
      after = this.store.get(callKey)!;
    }
    // A colleague answered (or logs the unanswered queue call): kept on disk so a late event for
    // this leg cannot log it after all, but shown as not this agent's to log.
    const elsewhere = loggedElsewhereReason(after.facts);
    if (elsewhere !== null && after.record === null && (before === null || loggedElsewhereReason(before.facts) === null)) {
      this.announce(callKey, 'not_applicable', elsewhere);
    } else if (before === null) {
      this.announce(callKey, 'pending', null);
    }
    this.kick();
    return true;
  }

  /** Switches CRM (sign-in to another one) or sets the first one; queued calls follow. */
  setAdapter(adapter: CrmAdapter | null): void {
    this.adapter = adapter;
    this.pause = { kind: 'none' };
    this.kick();
  }

  /** The user signed in again: resume a queue paused on auth. */
  resume(): void {
    if (this.pause.kind === 'auth') this.pause = { kind: 'none' };
    this.kick();
  }

  /** The retry button of a call that needs attention. False when it did not need any. */
  retry(callKey: string): boolean {
    const state = this.store.retry(callKey, this.now());
    if (!state) return false;
    this.announce(callKey, state, null);
    this.kick();
    return true;
  }

  /**
   * The agent's notes and outcome for a call of this outbox. `done` (Save) ends its wrap-up and
   * writes them (an update when the call is logged already); a draft waits on disk for the log.
   * False when the outbox has no such call (internal, or another agent's to log).
   */
  saveNotes(callKey: string, notes: string, disposition: OutboxRow['disposition'], done: boolean): boolean {
    const row = this.store.get(callKey);
    if (!row || row.facts.loggedBy) return false;
    this.store.saveNotes(callKey, notes, disposition, done, this.now());
    if (done) this.kick();
    return true;
  }

  /**
   * The agent picked another record or deal for the call: its log is written again, an update of
   * the record already made (the adapter moves its links), never a second record. False: no such call.
   */
  relog(callKey: string): boolean {
    const due = this.store.logAgain(callKey, this.now());
    if (due) this.kick();
    return due;
  }

  /** Calls whose log waits for wrap-up now (the Call panel shows them again after a restart). */
  heldWrapUps(): OutboxRow[] {
    return this.store.heldWrapUps(this.now());
  }

  /** Current rows, newest first, for the history screen on start-up. */
  calls(limit?: number): Array<Pick<OutboxRow, 'callKey' | 'state' | 'reason' | 'record'>> {
    return this.store.list(limit).map(({ callKey, state, reason, record }) => ({ callKey, state, reason, record }));
  }

  call(callKey: string): OutboxRow | null {
    return this.store.get(callKey);
  }

  /** Why the queue is not moving, if it is not ('auth' = waiting for sign-in). */
  get paused(): 'auth' | 'backoff' | null {
    if (this.pause.kind === 'auth') return 'auth';
    return this.pause.kind === 'until' && this.pause.at > this.now() ? 'backoff' : null;
  }

  /** Resolves when no call has CRM work left that could run (parked calls and logs held for wrap-up do not count). */
  whenIdle(): Promise<void> {
    if (this.busy.size === 0 && !this.hasRunnableWork()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Aborts the steps in flight (a quitting user must not wait for a CRM retry or a recording
   * download) and stops. Their rows stay as they were, so the next start does them again, and the
   * adapters' idempotency (callKey, record + file name) keeps a write that did land from doubling.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.closing.abort(new Error('outbox closing'));
    await Promise.all(this.busy.values());
    this.store.close();
  }

  private hasRunnableWork(): boolean {
    return this.adapter !== null && this.pause.kind !== 'auth' && this.store.hasOpenWork(this.adapter.id, this.now());
  }

  /** Starts every step that may run now: logs one at a time in call order, recordings beside them. */
  private kick(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const adapter = this.adapter;
    const now = this.now();
    const blocked = !adapter || this.pause.kind === 'auth' || (this.pause.kind === 'until' && this.pause.at > now);
    try {
      if (!blocked) {
        for (const step of STEPS) {
          if (step === 'task' && !adapter.createFollowUpTask) continue;
          while (this.active[step] < LANE_SLOTS[step]) {
            const row = this.nextStartable(step, adapter.id, now);
            if (!row) break;
            this.start(step, adapter, row);
          }
        }
      }
    } catch (error) {
      this.opts.logger.error({ err: (error as Error).message }, 'outbox storage error');
    }
    this.scheduleWake(now);
  }

  /** The oldest due row for `step` not in flight; for logs, also not from a caller being logged now. */
  private nextStartable(step: OutboxStep, crm: CrmAdapter['id'], now: number): OutboxRow | null {
    const skip = new Set(this.busy.keys());
    for (;;) {
      const row = this.store.nextDue(step, crm, now, skip);
      if (!row || step !== 'log' || !this.loggingCallers.has(callerOf(row))) return row;
      skip.add(row.callKey);
    }
  }

  private start(step: OutboxStep, adapter: CrmAdapter, row: OutboxRow): void {
    this.active[step]++;
    const caller = step === 'log' ? callerOf(row) : null;
    if (caller !== null) this.loggingCallers.add(caller);
    const run = runAbortable(this.closing.signal, () => this.step(step, adapter, row)).finally(() => {
      this.active[step]--;
      if (caller !== null) this.loggingCallers.delete(caller);
      this.busy.delete(row.callKey);
      this.kick();
    });
    this.busy.set(row.callKey, run);
  }

  /**
   * Wakes for the end of a pause or the next call done backing off; steps finishing kick the rest.
   * `now` is the instant kick() looked for due work: a call due since then is woken for, not missed.
   */
  private scheduleWake(now: number): void {
    if (!this.adapter || this.pause.kind === 'auth') return this.settleIdle();
    const wakeAt = this.pause.kind === 'until' && this.pause.at > now ? this.pause.at : this.store.nextWakeAt(this.adapter.id, now);
    if (wakeAt !== null) this.timer = setTimeout(() => this.kick(), Math.max(MIN_WAKE_MS, wakeAt - now));
    // Idle may hold with a timer set: a log held for wrap-up waits, but it is no work to wait for.
    this.settleIdle();
  }

  private settleIdle(): void {
    if (this.busy.size > 0 || this.hasRunnableWork()) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async step(step: OutboxStep, adapter: CrmAdapter, row: OutboxRow): Promise<void> {
    try {
      if (step === 'log') await this.logCall(adapter, row);
      else if (step === 'attach') await this.attachRecording(adapter, row);
      else await this.createFollowUpTask(adapter, row);
      this.crmFailures = 0;
      this.failingCalls.clear();
    } catch (error) {
      // Aborted by close(): not a failure of the call, so no backoff and no attempt counted.
      if (!this.closing.signal.aborted) this.onFailure(row, error);
    }
  }

  private async logCall(adapter: CrmAdapter, row: OutboxRow): Promise<void> {
    const chosen = this.opts.choices?.forCall(row.callKey) ?? null;
    let contact = row.contact;
    if (chosen?.contact && chosen.contact.id !== contact?.id) {
      contact = chosen.contact; // the follow-up task goes to the picked record too
      this.store.saveContact(row.callKey, contact);
    }
    if (contact === undefined) {
      contact = await this.contactFor(row);
      this.store.saveContact(row.callKey, contact);
    }
    const input = { ...callLogInput(row.callKey, this.opts.agentExtension, row.facts, contact, this.opts.ownerId?.() ?? null, { notes: row.notes, disposition: row.disposition, transcript: row.transcript }), deal: chosen?.deal ?? null };
    const memo = this.store.memo(row.callKey, 'log');
    let record = row.record;
    if (record) {
      // Noted only once a write lands: a move cut short is redone from the same links (unlinking one
      // already gone and linking one again both change nothing).
      record = await adapter.updateCall(record.id, input, writtenLinks(memo, record.id));
    } else {
      const retrying = row.logAttempted;
      this.store.setLogAttempted(row.callKey, adapter.id, true);
      try {
        record = await adapter.logCall(input, memo);
      } catch (error) {
        // Only a timeout, 5xx or network error leaves it open whether the CRM made the record.
        const certainlyNotMade = error instanceof CrmError && error.kind !== 'transient';
        if (certainlyNotMade && !retrying) this.store.setLogAttempted(row.callKey, null, false);
        throw error;
      }
      // Kept at once: should the update below fail, its retry updates this record, no search again.
      this.store.saveRecord(row.callKey, adapter.id, record);
      // A create that may have landed before a crash or timeout comes back as the existing record,
      // which may hold older facts: bring it up to date.
      // (Its links are unknown too: the update reads them.)
      if (retrying) record = await adapter.updateCall(record.id, input);
    }
    // Kept on disk: a later write of an unchanged pick (the completion after the live record) need not read the links again.
    memo.set(WRITTEN_LINKS, JSON.stringify({ recordId: record.id, ...linksOf(input) }));
    const followUp = followUpDue(row.facts) && adapter.createFollowUpTask !== undefined;
    const state = this.store.markLogged(row.callKey, adapter.id, record, row.factsVersion, followUp, this.now());
    if (state !== row.state) this.announce(row.callKey, state, null);
    this.logWritten.emit({ callKey: row.callKey, status: input.status ?? 'completed' });
  }

  private async attachRecording(adapter: CrmAdapter, row: OutboxRow): Promise<void> {
    const recording = row.recording!;
    const { data, contentType, text } = await fetchRecording(this.opts.bus, recording.eventId);
    const type = recording.contentType ?? contentType ?? 'audio/wav';
    const fileName = recordingFileName(recording.pbxRecordingId, type);
    await adapter.attachRecording(row.record!, { fileName, contentType: type, data }, row.callKey, this.store.memo(row.callKey, 'attach'));
    // Before the attach is marked done: a crash in between re-fetches, so the text is never lost.
    // Kept once; the log is due again and its update adds them to the record, after the recording.
    if (text) this.store.saveTranscript(row.callKey, text, this.now());
    this.store.markAttached(row.callKey, this.now());
    this.announce(row.callKey, 'recording_attached', null);
  }

  private async createFollowUpTask(adapter: CrmAdapter, row: OutboxRow): Promise<void> {
    const input = followUpTaskInput(row.callKey, row.facts, row.contact ?? null, this.opts.ownerId?.() ?? null);
    try {
      await adapter.createFollowUpTask!(row.record!, input);
    } catch (error) {
      // The call itself is logged: say that it is the task the CRM refused.
      if (error instanceof CrmError && error.kind === 'rejected') throw new CrmError('rejected', `Follow-up task: ${error.message}`, error.status);
      throw error;
    }
    this.store.markFollowUpCreated(row.callKey, this.now());
  }

  private async contactFor(row: OutboxRow): Promise<Pick<CrmContact, 'id' | 'kind' | 'name'> | null> {
    const remote = remoteParty(row.facts);
    if (!remote.e164) return null;
    try {
      return await this.opts.resolveContact(remote.e164);
    } catch (error) {
      // A CRM that is down or limiting will refuse the log too: back off, and get the contact right.
      // Closing is no answer about the contact either: look again next start.
      if ((error instanceof CrmError && error.kind !== 'rejected') || this.closing.signal.aborted) throw error;
      // Anything else will not improve by waiting: log the call unattached rather than not at all.
      this.opts.logger.warn({ callKey: row.callKey, err: (error as Error).message }, 'contact lookup for call log failed');
      return null;
    }
  }

  private onFailure(row: OutboxRow, error: unknown): void {
    const now = this.now();
    const policy = this.opts.backoff ?? DEFAULT_BACKOFF;
    const { callKey } = row;
    if (error instanceof RecordingUnavailable) {
      if (!error.retryable) return this.park(callKey, error.message);
      const delay = backoffDelay(row.attempts, policy, this.opts.random);
      this.opts.logger.warn({ callKey, delayMs: delay, err: error.message }, 'recording not fetched; will retry');
      this.store.deferCall(callKey, now + delay, now);
      return;
    }
    const crmError = error instanceof CrmError ? error : new CrmError('transient', (error as Error)?.message ?? String(error));
    const log = { callKey, kind: crmError.kind, status: crmError.status, err: crmError.message };
    switch (crmError.kind) {
      case 'rejected':
        this.failingCalls.delete(callKey); // the CRM answered this one: no sign it is down
        return this.park(callKey, crmError.message);
      case 'auth':
        // The session already raised the one "sign in again" prompt; calls keep queueing.
        this.opts.logger.warn({ callKey }, 'CRM sign-in needed; outbox paused');
        this.pause = { kind: 'auth' };
        return;
      case 'rate_limited': {
        // The CRM paces everyone: the whole queue waits, and this call keeps its place at the front.
        const delay = crmError.retryAfterMs ?? backoffDelay(this.crmFailures++, policy, this.opts.random);
        this.pauseCrm(now + delay);
        this.opts.logger.warn({ ...log, delayMs: delay }, 'CRM rate limit; queue paused');
        return;
      }
      case 'transient': {
        // This call backs off on its own; the others go ahead unless they fail too.
        const delay = backoffDelay(row.attempts, policy, this.opts.random);
        this.store.deferCall(callKey, now + delay, now);
        this.failingCalls.add(callKey);
        if (this.failingCalls.size >= 2) {
          const pause = backoffDelay(this.crmFailures++, policy, this.opts.random);
          this.pauseCrm(now + pause);
          this.opts.logger.warn({ ...log, delayMs: pause, failingCalls: this.failingCalls.size }, 'CRM failing for several calls; queue paused');
        } else {
          this.opts.logger.warn({ ...log, delayMs: delay }, 'CRM step failed; this call backs off');
        }
      }
    }
  }

  private pauseCrm(until: number): void {
    if (this.pause.kind === 'auth') return; // only a sign-in ends that one
    const current = this.pause.kind === 'until' ? this.pause.at : 0;
    this.pause = { kind: 'until', at: Math.max(current, until) };
  }

  private park(callKey: string, reason: string): void {
    this.opts.logger.warn({ callKey, reason }, 'call needs attention');
    this.store.needsAttention(callKey, reason, this.now());
    this.announce(callKey, 'needs_attention', reason);
  }

  private announce(callKey: string, state: CrmLogState, reason: string | null): void {
    this.stateChanged.emit({ callKey, state, reason });
    Promise.resolve()
      .then(() => this.opts.history.setCrmState(callKey, state, reason))
      .catch((error: Error) => this.opts.logger.error({ callKey, err: error.message }, 'history update failed'));
  }
}

const EXTENSIONS: Record<string, string> = { 'audio/wav': 'wav', 'audio/x-wav': 'wav', 'audio/wave': 'wav', 'audio/mpeg': 'mp3', 'audio/mp3': 'mp3', 'audio/ogg': 'ogg', 'audio/opus': 'opus' };

/** The log step's memo key for the links its last successful write gave the record. */
const WRITTEN_LINKS = 'writtenLinks';

/** The links the outbox last wrote on this record; undefined when it never wrote this one (or knows not what it holds). */
function writtenLinks(memo: StepMemo, recordId: string): CallLinks | undefined {
  const raw = memo.get(WRITTEN_LINKS);
  if (!raw) return undefined;
  const { recordId: id, contactId, dealId } = JSON.parse(raw) as CallLinks & { recordId: string };
  return id === recordId ? { contactId, dealId } : undefined;
}

/** Whose calls are logged one at a time (see LANE_SLOTS). */
function callerOf(row: OutboxRow): string {
  const remote = remoteParty(row.facts);
  return remote.e164 ?? remote.raw;
}

/** Stable per recording, so a re-upload after a crash is recognised by the adapter. */
export function recordingFileName(pbxRecordingId: string, contentType: string): string {
  const safeId = pbxRecordingId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
  return `call-recording-${safeId}.${EXTENSIONS[contentType] ?? 'wav'}`;
}
