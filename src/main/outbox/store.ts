// The outbox's durable state in SQLite (better-sqlite3, synchronous: an enqueue is on disk before
// the bus client acks the event). The packaged app rebuilds better-sqlite3 for Electron's ABI with
// `electron-builder install-app-deps`; tests and the bench use the Node build.
//
// One row per call leg, created on its first event under UNIQUE(call_key): the claim exists
// before any CRM call, and the CRM record id stored on it is the mapping every retry reuses.
// What a step learned before it failed (the contact, the record id, an uploaded file) is stored on
// the row too, so its retry resumes there instead of repeating every read.
import type { CallEvent } from '../../shared/call-event.js';
import type { CrmCallRecord, CrmContact, StepMemo } from '../crm/port.js';
import type { CrmLogState } from '../../shared/call-history.js';
import { addMissingColumns, openDatabase, type Migration, type SqliteDb } from '../../shared/sqlite.js';
import type { CrmId } from '../../shared/crm.js';
import { type CallFacts, dueForLog, foldEvent } from './call-facts.js';
import type { RecordingText } from './recording.js';

/** The CRM-log states the outbox stores; `not_applicable` calls never enter it. */
export type CrmCallState = Exclude<CrmLogState, 'not_applicable'>;
export type OutboxStep = 'log' | 'attach' | 'task';

export interface OutboxRow {
  seq: number;
  callKey: string;
  facts: CallFacts;
  factsVersion: number;
  /** The facts version the CRM record reflects (0 = never logged). */
  loggedVersion: number;
  /** The call ended and this agent logs it (`dueForLog`). */
  ended: boolean;
  /** Set once a logCall was sent: a retry may meet a record the CRM already made. */
  logAttempted: boolean;
  /** undefined = not resolved yet; null = resolved to no contact. */
  contact: Pick<CrmContact, 'id' | 'kind' | 'name'> | null | undefined;
  crm: CrmId | null;
  record: CrmCallRecord | null;
  recording: { eventId: string; pbxRecordingId: string; contentType: string | null } | null;
  recordingAttached: boolean;
  /** A follow-up task is owed for this call (missed, logged by this agent, CRM has tasks) / was created. */
  followUp: boolean;
  followUpCreated: boolean;
  state: CrmCallState;
  reason: string | null;
  /** Failed tries of the step due now; with notBefore, this call's own backoff. */
  attempts: number;
  notBefore: number;
  /** What the agent typed and picked (the Call panel, a Recent calls row). */
  notes: string;
  disposition: { id: string; label: string } | null;
  /** Wrap-up: the completing log waits until then (epoch ms; 0 = not held). */
  holdUntil: number;
  /** 3CX's transcript and summary of the recording, added to the log once it came with the recording. */
  transcript: RecordingText | null;
}

interface RawRow {
  seq: number;
  call_key: string;
  facts_json: string;
  facts_version: number;
  logged_version: number;
  ended: number;
  log_attempted: number;
  contact_json: string | null;
  crm: string | null;
  record_id: string | null;
  record_url: string | null;
  recording_event_id: string | null;
  recording_id: string | null;
  recording_content_type: string | null;
  recording_attached: number;
  follow_up: number;
  follow_up_created: number;
  state: string;
  reason: string | null;
  attempts: number;
  not_before: number;
  notes: string;
  disposition_id: string | null;
  disposition_label: string | null;
  hold_until: number;
  transcript_json: string | null;
}

/** What steps learned, by step then key (e.g. attach.fileId); absent in files from before it existed. */
type Progress = Partial<Record<OutboxStep, Record<string, string>>>;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS calls (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  call_key TEXT NOT NULL UNIQUE,
  facts_json TEXT NOT NULL,
  facts_version INTEGER NOT NULL DEFAULT 1,
  logged_version INTEGER NOT NULL DEFAULT 0,
  ended INTEGER NOT NULL DEFAULT 0,
  log_attempted INTEGER NOT NULL DEFAULT 0,
  contact_json TEXT,
  crm TEXT,
  record_id TEXT,
  record_url TEXT,
  recording_event_id TEXT,
  recording_id TEXT,
  recording_content_type TEXT,
  recording_attached INTEGER NOT NULL DEFAULT 0,
  follow_up INTEGER NOT NULL DEFAULT 0,
  follow_up_created INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'pending',
  reason TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  not_before INTEGER NOT NULL DEFAULT 0,
  progress_json TEXT NOT NULL DEFAULT '{}',
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS seen_events (
  event_id TEXT PRIMARY KEY,
  call_key TEXT NOT NULL
);
`;

/**
 * The file's schema steps (user_version counts those done). Step 1 also brings up a file from
 * before schema versions (user_version 0), whose calls table may lack the columns added since.
 */
const MIGRATIONS: Migration[] = [
  (db) => {
    db.exec(SCHEMA);
    addMissingColumns(db, 'calls', {
      follow_up: 'INTEGER NOT NULL DEFAULT 0',
      follow_up_created: 'INTEGER NOT NULL DEFAULT 0',
      progress_json: "TEXT NOT NULL DEFAULT '{}'",
    });
  },
  // Issue 11: the agent's notes and outcome, and the wrap-up hold on the completing log.
  (db) => addMissingColumns(db, 'calls', { notes: "TEXT NOT NULL DEFAULT ''", disposition_id: 'TEXT', disposition_label: 'TEXT', hold_until: 'INTEGER NOT NULL DEFAULT 0' }),
  // Issue 11 item 5: 3CX's transcript and summary, kept once they came with the recording.
  (db) => addMissingColumns(db, 'calls', { transcript_json: 'TEXT' }),
];

/**
 * What each step still has to do: a log whose facts moved on, a recording not yet attached, a
 * follow-up task not yet created (once the CRM shows the latest facts, so it is still owed).
 */
const WORK: Record<OutboxStep, string> = {
  log: 'ended = 1 AND facts_version > logged_version',
  // logged_version > 0: a record id kept from a log that has not finished yet is not attached to.
  attach: 'record_id IS NOT NULL AND logged_version > 0 AND recording_event_id IS NOT NULL AND recording_attached = 0',
  task: 'record_id IS NOT NULL AND follow_up = 1 AND follow_up_created = 0 AND logged_version = facts_version',
};
const OPEN_WORK = `state != 'needs_attention' AND ((${WORK.log}) OR (${WORK.attach}) OR (${WORK.task}))`;

export class OutboxStore {
  private readonly db: SqliteDb;

  constructor(file: string) {
    // full: an acked event must survive a power cut too, not only a process crash.
    this.db = openDatabase(file, { durability: 'full', busyTimeoutMs: 5000, migrations: MIGRATIONS });
  }

  /** Folds the event into its call row (the leg of `agentExtension`). False when the event was seen before (redelivery). */
  record(callKey: string, event: CallEvent, now: number, agentExtension: string): boolean {
    return this.db.transaction(() => {
      const fresh = this.db.prepare('INSERT OR IGNORE INTO seen_events (event_id, call_key) VALUES (?, ?)').run(event.id, callKey);
      if (fresh.changes === 0) return false;
      const existing = this.db.prepare('SELECT facts_json, ended FROM calls WHERE call_key = ?').get(callKey) as
        | { facts_json: string; ended: number }
        | undefined;
      const facts = foldEvent(existing ? (JSON.parse(existing.facts_json) as CallFacts) : null, event, agentExtension);
      const ended = dueForLog(facts) ? 1 : 0;
      const recording = event.type === 'recording_ready' && event.recording ? event.recording : null;
      if (!existing) {
        this.db
          .prepare(
            `INSERT INTO calls (call_key, facts_json, ended, recording_event_id, recording_id, recording_content_type, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(callKey, JSON.stringify(facts), ended, recording ? event.id : null, recording?.pbxRecordingId ?? null, recording?.contentType ?? null, now);
        return true;
      }
      const factsJson = JSON.stringify(facts);
      const changed = factsJson !== existing.facts_json;
      this.db
        .prepare(
          `UPDATE calls SET facts_json = ?, facts_version = facts_version + ?, ended = ?,
             recording_event_id = COALESCE(recording_event_id, ?), recording_id = COALESCE(recording_id, ?),
             recording_content_type = COALESCE(recording_content_type, ?), not_before = 0, updated_at = ?
           WHERE call_key = ?`,
        )
        .run(factsJson, changed ? 1 : 0, ended, recording ? event.id : null, recording?.pbxRecordingId ?? null, recording?.contentType ?? null, now, callKey);
      return true;
    })();
  }

  /**
   * The oldest call with this step due for this CRM, skipping calls already being worked on and
   * calls backing off (`not_before`): one failing call never holds up the others.
   */
  nextDue(step: OutboxStep, crm: CrmId, now: number, busy: ReadonlySet<string>): OutboxRow | null {
    // A log held for wrap-up waits for its end (or the agent's Save); the other steps need not.
    const held = step === 'log' ? 'AND hold_until <= ?' : 'AND ? IS NOT NULL';
    const rows = this.db
      .prepare(
        `SELECT * FROM calls WHERE state != 'needs_attention' AND (${WORK[step]}) AND not_before <= ? ${held} AND (crm IS NULL OR crm = ?)
         ORDER BY seq LIMIT ?`,
      )
      .all(now, now, crm, busy.size + 1) as RawRow[];
    const free = rows.find((r) => !busy.has(r.call_key));
    return free ? toRow(free) : null;
  }

  /** When the next call backing off or in wrap-up is due (after `now`), for the wake-up timer. */
  nextWakeAt(crm: CrmId, now: number): number | null {
    const raw = this.db
      .prepare(
        `SELECT MIN(at) AS at FROM (
           SELECT MIN(not_before) AS at FROM calls WHERE ${OPEN_WORK} AND not_before > ? AND (crm IS NULL OR crm = ?)
           UNION ALL
           SELECT MIN(hold_until) FROM calls WHERE state != 'needs_attention' AND (${WORK.log}) AND hold_until > ? AND (crm IS NULL OR crm = ?))`,
      )
      .get(now, crm, now, crm) as { at: number | null };
    return raw.at;
  }

  /** Work that could run at `now`: a log held for wrap-up is not (its end wakes the outbox). */
  hasOpenWork(crm: CrmId, now: number): boolean {
    const sql = `SELECT 1 FROM calls WHERE ${OPEN_WORK} AND NOT ((${WORK.log}) AND hold_until > ? AND NOT (${WORK.attach}) AND NOT (${WORK.task}))
      AND (crm IS NULL OR crm = ?) LIMIT 1`;
    return this.db.prepare(sql).get(now, crm) !== undefined;
  }

  get(callKey: string): OutboxRow | null {
    const raw = this.db.prepare('SELECT * FROM calls WHERE call_key = ?').get(callKey) as RawRow | undefined;
    return raw ? toRow(raw) : null;
  }

  list(limit = 200): OutboxRow[] {
    return (this.db.prepare('SELECT * FROM calls ORDER BY seq DESC LIMIT ?').all(limit) as RawRow[]).map(toRow);
  }

  /**
   * Holds the call's completing log until `until` (wrap-up); only where the call has not been
   * completed yet, so a late or replayed `ended` never re-opens a wrap-up.
   */
  holdForWrapUp(callKey: string, until: number): void {
    this.db.prepare('UPDATE calls SET hold_until = ? WHERE call_key = ? AND hold_until = 0 AND logged_version < facts_version').run(until, callKey);
  }

  /**
   * The agent's notes and outcome. `done` (Save) ends wrap-up and makes the log due again, which
   * updates a record already written; a draft only waits on disk for the log. False: no such call.
   */
  saveNotes(callKey: string, notes: string, disposition: OutboxRow['disposition'], done: boolean, now: number): boolean {
    const id = disposition?.id ?? null;
    const label = disposition?.label ?? null;
    if (!done) {
      const draft = this.db.prepare('UPDATE calls SET notes = ?, disposition_id = ?, disposition_label = ?, updated_at = ? WHERE call_key = ?');
      return draft.run(notes, id, label, now, callKey).changes > 0;
    }
    // The old values are on the right-hand side: an unchanged Save only ends the wrap-up.
    const saved = this.db
      .prepare(
        `UPDATE calls SET facts_version = facts_version + (CASE WHEN notes IS ? AND disposition_id IS ? THEN 0 ELSE 1 END),
           notes = ?, disposition_id = ?, disposition_label = ?, hold_until = 0, not_before = 0, attempts = 0, updated_at = ? WHERE call_key = ?`,
      )
      .run(notes, id, notes, id, label, now, callKey);
    return saved.changes > 0;
  }

  /** Calls in wrap-up now (held logs), for the Call panel after a restart. */
  heldWrapUps(now: number): OutboxRow[] {
    return (this.db.prepare('SELECT * FROM calls WHERE hold_until > ? ORDER BY seq').all(now) as RawRow[]).map(toRow);
  }

  /** Makes the call's log due again (the agent re-picked its record or deal); false when no such call. */
  logAgain(callKey: string, now: number): boolean {
    const due = this.db.prepare('UPDATE calls SET facts_version = facts_version + 1, not_before = 0, attempts = 0, updated_at = ? WHERE call_key = ?');
    return due.run(now, callKey).changes > 0;
  }

  saveContact(callKey: string, contact: OutboxRow['contact']): void {
    this.db.prepare('UPDATE calls SET contact_json = ? WHERE call_key = ?').run(JSON.stringify(contact ?? null), callKey);
  }

  /** The record a create made (or found), kept before the log finishes, so its retry updates it instead of searching again. */
  saveRecord(callKey: string, crm: CrmId, record: CrmCallRecord): void {
    this.db.prepare('UPDATE calls SET crm = ?, record_id = ?, record_url = ? WHERE call_key = ?').run(crm, record.id, record.url, callKey);
  }

  /** The step's memo for the adapter: each fact is on disk as soon as it is set. */
  memo(callKey: string, step: OutboxStep): StepMemo {
    const read = (): Progress => {
      const raw = this.db.prepare('SELECT progress_json FROM calls WHERE call_key = ?').get(callKey) as { progress_json: string } | undefined;
      return raw ? (JSON.parse(raw.progress_json) as Progress) : {};
    };
    return {
      get: (key) => read()[step]?.[key],
      set: (key, value) => {
        this.db.transaction(() => {
          const progress = read();
          progress[step] = { ...progress[step], [key]: value };
          this.db.prepare('UPDATE calls SET progress_json = ? WHERE call_key = ?').run(JSON.stringify(progress), callKey);
        })();
      },
    };
  }

  /** Set before a create is sent (a crash may follow); cleared when the CRM said for sure it made nothing. */
  setLogAttempted(callKey: string, crm: CrmId | null, attempted: boolean): void {
    this.db.prepare('UPDATE calls SET log_attempted = ?, crm = COALESCE(?, crm) WHERE call_key = ?').run(attempted ? 1 : 0, crm, callKey);
  }

  /**
   * The mapping callKey -> CRM record, the facts version it now shows, and whether those facts owe a
   * follow-up task (a task already created stays created).
   */
  markLogged(callKey: string, crm: CrmId, record: CrmCallRecord, factsVersion: number, followUp: boolean, now: number): CrmCallState {
    return this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE calls SET crm = ?, record_id = ?, record_url = ?, logged_version = MAX(logged_version, ?),
             follow_up = CASE WHEN follow_up_created = 1 THEN 1 ELSE ? END,
             state = CASE WHEN recording_attached = 1 THEN 'recording_attached' ELSE 'logged' END,
             reason = NULL, attempts = 0, not_before = 0, updated_at = ?
           WHERE call_key = ?`,
        )
        .run(crm, record.id, record.url, factsVersion, followUp ? 1 : 0, now, callKey);
      return (this.db.prepare('SELECT state FROM calls WHERE call_key = ?').get(callKey) as { state: CrmCallState }).state;
    })();
  }

  /**
   * The recording's transcript and summary, once: the call's log is due again so its record shows
   * them (an update). A second copy (a re-fetched recording) changes nothing.
   */
  saveTranscript(callKey: string, text: RecordingText, now: number): void {
    this.db
      .prepare('UPDATE calls SET transcript_json = ?, facts_version = facts_version + 1, updated_at = ? WHERE call_key = ? AND transcript_json IS NULL')
      .run(JSON.stringify(text), now, callKey);
  }

  markAttached(callKey: string, now: number): void {
    this.db
      .prepare(`UPDATE calls SET recording_attached = 1, state = 'recording_attached', reason = NULL, attempts = 0, not_before = 0, updated_at = ? WHERE call_key = ?`)
      .run(now, callKey);
  }

  markFollowUpCreated(callKey: string, now: number): void {
    this.db.prepare('UPDATE calls SET follow_up_created = 1, attempts = 0, not_before = 0, updated_at = ? WHERE call_key = ?').run(now, callKey);
  }

  needsAttention(callKey: string, reason: string, now: number): void {
    this.db.prepare(`UPDATE calls SET state = 'needs_attention', reason = ?, updated_at = ? WHERE call_key = ?`).run(reason, now, callKey);
  }

  /** Backs off this one call (its step failed), without holding up the others. */
  deferCall(callKey: string, notBefore: number, now: number): void {
    this.db.prepare('UPDATE calls SET attempts = attempts + 1, not_before = ?, updated_at = ? WHERE call_key = ?').run(notBefore, now, callKey);
  }

  /** Back to work after "needs attention": the state returns to what the CRM already shows. */
  retry(callKey: string, now: number): CrmCallState | null {
    return this.db.transaction(() => {
      const changed = this.db
        .prepare(
          `UPDATE calls SET state = CASE WHEN recording_attached = 1 THEN 'recording_attached' WHEN logged_version > 0 THEN 'logged' ELSE 'pending' END,
             reason = NULL, attempts = 0, not_before = 0, updated_at = ?
           WHERE call_key = ? AND state = 'needs_attention'`,
        )
        .run(now, callKey);
      if (changed.changes === 0) return null;
      return (this.db.prepare('SELECT state FROM calls WHERE call_key = ?').get(callKey) as { state: CrmCallState }).state;
    })();
  }

  close(): void {
    this.db.close();
  }
}

function toRow(r: RawRow): OutboxRow {
  return {
    seq: r.seq,
    callKey: r.call_key,
    facts: JSON.parse(r.facts_json) as CallFacts,
    factsVersion: r.facts_version,
    loggedVersion: r.logged_version,
    ended: r.ended === 1,
    logAttempted: r.log_attempted === 1,
    contact: r.contact_json === null ? undefined : (JSON.parse(r.contact_json) as OutboxRow['contact']),
    crm: r.crm as CrmId | null,
    record: r.record_id ? { id: r.record_id, url: r.record_url } : null,
    recording: r.recording_event_id ? { eventId: r.recording_event_id, pbxRecordingId: r.recording_id ?? r.recording_event_id, contentType: r.recording_content_type } : null,
    recordingAttached: r.recording_attached === 1,
    followUp: r.follow_up === 1,
    followUpCreated: r.follow_up_created === 1,
    state: r.state as CrmCallState,
    reason: r.reason,
    attempts: r.attempts,
    notBefore: r.not_before,
    notes: r.notes,
    disposition: r.disposition_id ? { id: r.disposition_id, label: r.disposition_label ?? r.disposition_id } : null,
    holdUntil: r.hold_until,
    transcript: r.transcript_json ? (JSON.parse(r.transcript_json) as RecordingText) : null,
  };
}
