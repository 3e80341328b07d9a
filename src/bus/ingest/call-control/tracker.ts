// Pure core of the Call Control connector: a local copy of the participants on agent DNs, turned
// into CallObservations as their states change (mapping in specs/3cx/NOTES.md 2.5).
//
// One observation per agent DN, never grouped per callid: a queue call ringing three agents gives
// three `ringing` observations, each with agents = [that DN]. Grouping would need a debounce window
// (the legs arrive as separate WS events), adding latency to every screen-pop and guessing when the
// group is complete; per-DN events reach each agent at once, and a losing leg ends as that agent's
// `missed` without touching the winner's call.
import type { CallDirection, CallEventType, RecordingRef } from '../../../shared/call-event.js';
import type { CallParticipant } from '../../pbx/wire.js';
import type { CallObservation } from '../observation.js';

export interface TrackedLeg {
  participant: CallParticipant;
  direction: CallDirection;
  connectedAt: Date | null;
}

export interface EndedLeg extends TrackedLeg {
  endedAt: Date;
}

const key = (dn: string, id: number | string) => `${dn}/${id}`;

export class ParticipantTracker {
  private readonly legs = new Map<string, TrackedLeg>();

  constructor(private readonly ids: { tenantId: string; pbxId: string }) {}

  get size(): number {
    return this.legs.size;
  }

  /** A participant was created or changed (re-read after an Upsert, or found in a full state read). */
  upsert(p: CallParticipant, at: Date): CallObservation[] {
    const known = this.legs.get(key(p.dn, p.id));
    const out: CallObservation[] = [];
    if (!known) {
      const leg: TrackedLeg = { participant: p, direction: directionOf(p), connectedAt: null };
      this.legs.set(key(p.dn, p.id), leg);
      // First seen already talking (connector started mid-call): no ringing to report any more.
      if (p.status !== 'Connected') out.push(this.observe(leg, 'ringing', at));
    } else {
      known.participant = p;
    }
    const leg = this.legs.get(key(p.dn, p.id))!;
    if (p.status === 'Connected' && !leg.connectedAt) {
      leg.connectedAt = at;
      out.push(this.observe(leg, 'answered', at));
    }
    return out;
  }

  /** The participant is gone (Remove). Unknown participants (never seen: race) produce nothing. */
  remove(dn: string, id: number | string, at: Date): { observations: CallObservation[]; ended: EndedLeg | null } {
    const leg = this.legs.get(key(dn, id));
    if (!leg) return { observations: [], ended: null };
    this.legs.delete(key(dn, id));
    const ended = { ...leg, endedAt: at };
    return { observations: [this.observe(leg, leg.connectedAt ? 'ended' : 'missed', at)], ended: leg.connectedAt ? ended : null };
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

  private observe(leg: TrackedLeg, type: CallEventType, at: Date, extra: { recording?: RecordingRef; endedAt?: Date } = {}): CallObservation {
    const p = leg.participant;
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
      extensions: p.party_dn_type === 'Wextension' && p.party_dn ? [p.dn, p.party_dn] : [p.dn],
      queue: p.on_behalf_of_dn || null,
      agents: [p.dn],
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
