// What the outbox knows about one call leg, folded from its events (in any order, each at most
// once), and the CRM call-log input derived from it. Pure: no I/O.
import type { CallEvent, Party } from '../../shared/call-event.js';
import { remoteParty } from '../../shared/call-event.js';
import { composeNotes, composeSubject } from '../crm/compose.js';
import type { CallLogInput, CallOutcome, CrmContact } from '../crm/port.js';

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
}

export type OutboxEventType = Extract<CallEvent['type'], 'answered' | 'ended' | 'missed' | 'recording_ready'>;
export const OUTBOX_EVENT_TYPES: ReadonlySet<string> = new Set<OutboxEventType>(['answered', 'ended', 'missed', 'recording_ready']);

const earlier = (a: string, b: string) => (Date.parse(a) <= Date.parse(b) ? a : b);

export function foldEvent(facts: CallFacts | null, event: CallEvent): CallFacts {
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
  };
  const next: CallFacts = { ...base, firstSeenAt: earlier(base.firstSeenAt, event.pbxTime) };
  // Later events may know the parties better (a name resolved, a number normalised).
  if (!next.caller.name && event.caller.name) next.caller = event.caller;
  if (!next.callee.name && event.callee.name) next.callee = event.callee;
  switch (event.type) {
    case 'answered':
      next.answeredAt = next.answeredAt ? earlier(next.answeredAt, event.pbxTime) : event.pbxTime;
      break;
    case 'ended':
      next.endedAt = event.pbxTime;
      next.durationSec = event.durationSec ?? next.durationSec;
      break;
    case 'missed':
      next.missed = true;
      next.endedAt ??= event.pbxTime;
      break;
    case 'recording_ready':
      // A recording exists only for a finished call: if its `ended` was lost, log the call anyway.
      next.endedAt ??= event.pbxTime;
      next.durationSec ??= event.durationSec;
      break;
  }
  return next;
}

export function outcomeOf(facts: CallFacts): CallOutcome {
  if (facts.answeredAt || (facts.durationSec ?? 0) > 0) return 'answered';
  if (facts.missed || facts.direction === 'inbound') return 'missed';
  return 'no_answer';
}

export function startedAtOf(facts: CallFacts): string {
  // Events carry no ring time: the talk start minus nothing, or end minus duration, bounded by what we saw first.
  if (facts.endedAt && facts.durationSec !== null && !facts.answeredAt) {
    return earlier(facts.firstSeenAt, new Date(Date.parse(facts.endedAt) - facts.durationSec * 1000).toISOString());
  }
  return facts.firstSeenAt;
}

export function callLogInput(
  callKey: string,
  agentExtension: string,
  facts: CallFacts,
  contact: Pick<CrmContact, 'id' | 'kind' | 'name'> | null,
  ownerId: string | null,
): CallLogInput {
  const remote = remoteParty({ direction: facts.direction, caller: facts.caller, callee: facts.callee } as CallEvent);
  const outcome = outcomeOf(facts);
  const answered = outcome === 'answered';
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
    contact: contact ? { id: contact.id, kind: contact.kind } : null,
    ownerId,
  };
}
