// Pure core of the Call Control connector: a local copy of the participants on agent DNs, turned
// into CallObservations as their states change (mapping in specs/3cx/NOTES.md 2.5).
//
// One observation per agent DN for ringing, ended and recordings: a queue call ringing three
// agents gives three `ringing` observations, each with agents = [that DN], so every pop goes up
// at once without waiting to see how many legs a call will have.
//
// The legs of one call (same callid) meet only where one agent's leg decides the others':
// - A leg goes Connected while others of its call still ring (queue, ring group): one `answered`
//   for all of them (agents = the answering DN and every DN still ringing, answeredBy = the
//   answering DN). Their pops go away, and the losing legs' later Remove is no event at all: the
//   caller was served, so nobody missed it.
// - A leg stops ringing unanswered while others of its call still ring: its outcome waits for the
//   call's (it is "released"). If another leg answers, the released DNs are in that `answered`;
//   if the last ringing leg goes unanswered too, one `missed` names every DN the call rang.
//   (Cost: that agent's pop stays up until the call is answered or given up.)
// - A leg that starts ringing after another leg was answered (a transfer) is its own call leg:
//   its Remove without Connected is that agent's `missed`.
import type { CallDirection, CallEventType, RecordingRef } from '../../../shared/call-event.js';
import type { CallParticipant } from '../../pbx/wire.js';
import type { CallObservation } from '../observation.js';

export interface TrackedLeg {
  participant: CallParticipant;
  direction: CallDirection;
  connectedAt: Date | null;
  /** Another leg of the call was answered while this one rang: its end reports nothing. */
  answeredElsewhere: boolean;
}

export interface EndedLeg extends TrackedLeg {
  endedAt: Date;
}

const key = (dn: string, id: number | string) => `${dn}/${id}`;

export class ParticipantTracker {
  private readonly legs = new Map<string, TrackedLeg>();
  /** By callid: legs that stopped ringing unanswered while others of the call still rang. */
  private readonly released = new Map<string, TrackedLeg[]>();

  constructor(private readonly ids: { tenantId: string; pbxId: string }) {}

  get size(): number {
    return this.legs.size;
  }

  /** A participant was created or changed (re-read after an Upsert, or found in a full state read). */
  upsert(p: CallParticipant, at: Date): CallObservation[] {
    const known = this.legs.get(key(p.dn, p.id));
    const out: CallObservation[] = [];
    if (!known) {
      const leg: TrackedLeg = { participant: p, direction: directionOf(p), connectedAt: null, answeredElsewhere: false };
      this.legs.set(key(p.dn, p.id), leg);
      // First seen already talking (connector started mid-call): no ringing to report any more.
      if (p.status !== 'Connected') out.push(this.observe(leg, 'ringing', at));
    } else {
      known.participant = p;
    }
    const leg = this.legs.get(key(p.dn, p.id))!;
    if (p.status === 'Connected' && !leg.connectedAt) {
      leg.connectedAt = at;
      leg.answeredElsewhere = false;
      // Everyone the call is (or was just) offered to learns who took it.
      const losers = [...this.ringingWith(leg), ...this.takeReleased(p.callid)];
      for (const loser of losers) loser.answeredElsewhere = true;
      out.push(this.observe(leg, 'answered', at, { agents: [p.dn, ...losers.map((l) => l.participant.dn)], answeredBy: p.dn }));
    }
    return out;
  }

  /** The participant is gone (Remove). Unknown participants (never seen: race) produce nothing. */
  remove(dn: string, id: number | string, at: Date): { observations: CallObservation[]; ended: EndedLeg | null } {
    const leg = this.legs.get(key(dn, id));
    if (!leg) return { observations: [], ended: null };
    this.legs.delete(key(dn, id));
    if (leg.connectedAt) return { observations: [this.observe(leg, 'ended', at)], ended: { ...leg, endedAt: at } };
    if (leg.answeredElsewhere) return { observations: [], ended: null };
    const callid = leg.participant.callid;
    if (this.ringingWith(leg).length > 0) {
      this.released.set(callid, [...(this.released.get(callid) ?? []), leg]);
      return { observations: [], ended: null };
    }
    const offered = [...this.takeReleased(callid), leg].map((l) => l.participant.dn);
    return { observations: [this.observe(leg, 'missed', at, { agents: offered })], ended: null };
  }

  /**
   * After a (re)connect the full state is the truth and no events are replayed (NOTES 2.4): legs we
   * hold that are gone ended while we were away; new or changed ones are upserts.
   */
  reconcile(current: CallParticipant[], at: Date): { observations: CallObservation[]; ended: EndedLeg[] } {
    const present = new Set(current.map((p) => key(p.dn, p.id)));
    const observations: CallObservation[] = [];
    const ended: EndedLeg[] = [];
    for (const [k, leg] of [...this.legs]) {
      if (present.has(k)) continue;
      const removed = this.remove(leg.participant.dn, leg.participant.id, at);
      observations.push(...removed.observations);
      if (removed.ended) ended.push(removed.ended);
    }
    for (const p of current) observations.push(...this.upsert(p, at));
    return { observations, ended };
  }

  recordingReady(leg: EndedLeg, recording: RecordingRef, at: Date): CallObservation {
    return this.observe(leg, 'recording_ready', at, { recording, endedAt: leg.endedAt });
  }

  /** The other legs of this leg's call that are still ringing (not answered, not lost to an answer). */
  private ringingWith(leg: TrackedLeg): TrackedLeg[] {
    const out: TrackedLeg[] = [];
    for (const other of this.legs.values()) {
      if (other !== leg && other.participant.callid === leg.participant.callid && !other.connectedAt && !other.answeredElsewhere) out.push(other);
    }
    return out;
  }

  private takeReleased(callid: string): TrackedLeg[] {
    const legs = this.released.get(callid) ?? [];
    this.released.delete(callid);
    return legs;
  }

  private observe(
    leg: TrackedLeg,
    type: CallEventType,
    at: Date,
    extra: { recording?: RecordingRef; endedAt?: Date; agents?: string[]; answeredBy?: string } = {},
  ): CallObservation {
    const p = leg.participant;
    const agents = [...new Set(extra.agents ?? [p.dn])];
    const agent = { raw: p.dn, name: null };
    const remote = { raw: p.party_caller_id || p.party_dn, name: p.party_caller_name || null };
    const endedAt = extra.endedAt ?? at;
    const talkEnds = type === 'ended' || type === 'recording_ready';
    return {
      tenantId: this.ids.tenantId,
      pbxId: this.ids.pbxId,
      source: 'call-control',
      type,
      direction: leg.direction,
      pbxCallId: p.callid,
      caller: leg.direction === 'outbound' ? agent : remote,
      callee: leg.direction === 'outbound' ? remote : agent,
      extensions: p.party_dn_type === 'Wextension' && p.party_dn ? [...agents, p.party_dn] : agents,
      queue: p.on_behalf_of_dn || null,
      agents,
      ...(extra.answeredBy !== undefined ? { answeredBy: extra.answeredBy } : {}),
      pbxTime: at,
      durationSec: talkEnds && leg.connectedAt ? talkSeconds(leg.connectedAt, endedAt) : null,
      recording: extra.recording ?? null,
      // Stable per transition of this leg, so a resend (reconnect, remote retry) is recognised.
      deliveryId: `cc:${this.ids.pbxId}:${p.callid}:${p.dn}:${p.id}:${type}`,
    };
  }
}

/** An answered leg talked for at least a second: every form reads duration 0 as "not answered". */
function talkSeconds(from: Date, to: Date): number {
  return Math.max(1, Math.ceil((to.getTime() - from.getTime()) / 1000));
}

/** Ringing = presented to the agent, Dialing = placed by the agent (official dialer's reading). */
function directionOf(p: CallParticipant): CallDirection {
  if (p.party_dn_type === 'Wextension') return 'internal';
  if (p.status === 'Dialing') return 'outbound';
  if (p.status === 'Ringing') return 'inbound';
  return p.originated_by_dn === p.dn ? 'outbound' : 'inbound';
}
