// What the outbox knows about one call leg, folded from its events (in any order, each at most
// once), and the CRM call-log input derived from it. Pure: no I/O.
//
// Who logs a call that rang several agents (queue, ring group) — the call is in the CRM once:
// - answered: the agent who answered it. The others' legs are "answered elsewhere", not logged.
// - nobody answered: the one `missed` event names every agent it rang; the first of them (lowest
//   extension, as the bus sorts `agents`) logs it, the others show it missed but do not log it.
//   Deterministic on every agent without talking to each other; if that agent never runs the
//   app, the missed call is not logged (the bus's `agents` are the PBX's monitored extensions).
import type { CallEvent, Party } from '../../shared/call-event.js';
import { answeringExtension, remoteParty } from '../../shared/call-event.js';
import { composeFollowUpSubject, composeNotes, composeSubject } from '../crm/compose.js';
import type { CallLogInput, CallOutcome, CrmContact, FollowUpTaskInput } from '../crm/port.js';

export interface CallFacts {
  direction: CallEvent['direction'];
  caller: Party;
  callee: Party;
  queue: string | null;
  /** Earliest PBX time seen for the call. */
  firstSeenAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  durationSec: number | null;
  missed: boolean;
  /** Another extension logs this call (see the rule above); this agent does not. */
  loggedBy: string | null;
}

export type OutboxEventType = Extract<CallEvent['type'], 'answered' | 'ended' | 'missed' | 'recording_ready'>;
export const OUTBOX_EVENT_TYPES: ReadonlySet<string> = new Set<OutboxEventType>(['answered', 'ended', 'missed', 'recording_ready']);

const earlier = (a: string, b: string) => (Date.parse(a) <= Date.parse(b) ? a : b);

/** Folds one event into this agent's (`agentExtension`) view of the call. */
export function foldEvent(facts: CallFacts | null, event: CallEvent, agentExtension: string): CallFacts {
  const base: CallFacts = facts ?? {
    direction: event.direction,
    caller: event.caller,
    callee: event.callee,
    queue: event.queue,
    firstSeenAt: event.pbxTime,
    answeredAt: null,
    endedAt: null,
    durationSec: null,
    missed: false,
    loggedBy: null,
  };
  // `loggedBy` is absent from facts stored before it existed.
  const next: CallFacts = { ...base, loggedBy: base.loggedBy ?? null, firstSeenAt: earlier(base.firstSeenAt, event.pbxTime) };
  // Later events may know the parties better (a name resolved, a number normalised).
  if (!next.caller.name && event.caller.name) next.caller = event.caller;
  if (!next.callee.name && event.callee.name) next.callee = event.callee;
  switch (event.type) {
    case 'answered': {
      const by = answeringExtension(event);
      if (by !== null && by !== agentExtension) {
        if (!next.answeredAt) next.loggedBy = by;
        break;
      }
      next.answeredAt = next.answeredAt ? earlier(next.answeredAt, event.pbxTime) : event.pbxTime;
      next.loggedBy = null;
      break;
    }
    case 'ended':
      next.endedAt = event.pbxTime;
      next.durationSec = event.durationSec ?? next.durationSec;
      break;
    case 'missed': {
      next.missed = true;
      next.endedAt ??= event.pbxTime;
      const first = [...event.agents].sort()[0];
      if (!next.answeredAt && next.loggedBy === null && first !== undefined && first !== agentExtension) next.loggedBy = first;
      break;
    }
    case 'recording_ready':
      // A recording exists only for a finished call: if its `ended` was lost, log the call anyway.
      next.endedAt ??= event.pbxTime;
      next.durationSec ??= event.durationSec;
      break;
  }
  return next;
}

/**
 * The CRM logs a leg once this agent answered it (the live record, completed when it ends) or once
 * it ended, unless another extension logs the call.
 */
export function dueForLog(facts: CallFacts): boolean {
  return (facts.endedAt !== null || facts.answeredAt !== null) && !facts.loggedBy;
}

/** Why this agent does not log the call, for its history; null when it does. */
export function loggedElsewhereReason(facts: CallFacts): string | null {
  if (!facts.loggedBy) return null;
  return facts.missed && !facts.answeredAt
    ? `Rang several agents and nobody answered; extension ${facts.loggedBy} logs it to the CRM once.`
    : `Answered by extension ${facts.loggedBy}, who logs it to the CRM.`;
}

/** An unanswered outbound call is the callee's no-answer, never a missed call. */
export function outcomeOf(facts: CallFacts): CallOutcome {
  if (facts.answeredAt || (facts.durationSec ?? 0) > 0) return 'answered';
  if (facts.direction === 'outbound') return 'no_answer';
  if (facts.missed || facts.direction === 'inbound') return 'missed';
  return 'no_answer';
}

/** A missed inbound call this agent logs gets a "call back" task (user journeys: where the CRM has tasks). */
export function followUpDue(facts: CallFacts): boolean {
  return facts.direction === 'inbound' && !facts.loggedBy && outcomeOf(facts) === 'missed';
}

/** The call-back is due an hour after the call was missed: from the call, so every retry sends the same. */
export const FOLLOW_UP_DUE_AFTER_MS = 60 * 60_000;

export function followUpTaskInput(
  callKey: string,
  facts: CallFacts,
  contact: Pick<CrmContact, 'id' | 'kind' | 'name'> | null,
  ownerId: string | null,
): FollowUpTaskInput {
  const remote = remoteParty(facts);
  const missedAt = Date.parse(facts.endedAt ?? facts.firstSeenAt);
  return {
    callKey,
    contact: contact ? { id: contact.id, kind: contact.kind } : null,
    ownerId,
    subject: composeFollowUpSubject({ remoteNumber: remote.e164 ?? remote.raw, remoteName: contact?.name ?? remote.name }),
    dueAt: new Date(missedAt + FOLLOW_UP_DUE_AFTER_MS).toISOString(),
  };
}

export function startedAtOf(facts: CallFacts): string {
  // Events carry no ring time: the talk start minus nothing, or end minus duration, bounded by what we saw first.
  if (facts.endedAt && facts.durationSec !== null && !facts.answeredAt) {
    return earlier(facts.firstSeenAt, new Date(Date.parse(facts.endedAt) - facts.durationSec * 1000).toISOString());
  }
  return facts.firstSeenAt;
}

/** What the agent added to the call: typed notes and the picked outcome (Call panel, Recent calls). */
export interface AgentAdditions {
  notes: string;
  disposition: { id: string; label: string } | null;
  /** 3CX's transcript and summary of the recording, once they came with it. */
  transcript?: { transcription: string | null; summary: string | null } | null;
}

export const NO_ADDITIONS: AgentAdditions = { notes: '', disposition: null };

export function callLogInput(
  callKey: string,
  agentExtension: string,
  facts: CallFacts,
  contact: Pick<CrmContact, 'id' | 'kind' | 'name'> | null,
  ownerId: string | null,
  added: AgentAdditions = NO_ADDITIONS,
): CallLogInput {
  const remote = remoteParty(facts);
  const outcome = outcomeOf(facts);
  const answered = outcome === 'answered';
  const inProgress = facts.endedAt === null;
  const summary = {
    callKey,
    direction: facts.direction,
    remoteNumber: remote.e164 ?? remote.raw,
    remoteName: contact?.name ?? remote.name,
    agentExtension,
    startedAt: startedAtOf(facts),
    answeredAt: answered ? facts.answeredAt : null,
    durationSec: answered ? (facts.durationSec ?? 0) : 0,
    outcome,
    queue: facts.queue,
    inProgress,
    agentNotes: added.notes,
    disposition: added.disposition?.label ?? null,
    transcript: added.transcript ?? null,
  };
  return {
    callKey,
    direction: facts.direction,
    from: facts.caller.e164 ?? facts.caller.raw,
    to: facts.callee.e164 ?? facts.callee.raw,
    startedAt: summary.startedAt,
    answeredAt: summary.answeredAt,
    durationSec: summary.durationSec,
    outcome,
    subject: composeSubject(summary),
    notes: composeNotes(summary),
    status: inProgress ? 'in_progress' : 'completed',
    disposition: added.disposition,
    contact: contact ? { id: contact.id, kind: contact.kind } : null,
    ownerId,
  };
}
