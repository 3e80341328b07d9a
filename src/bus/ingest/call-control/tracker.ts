// Pure core of the Call Control connector: a local copy of the participants on agent DNs, turned
// into CallObservations as their states change (mapping in src/sim/3cx/NOTES.md 2.5).
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
//
// A restarted PBX numbers its calls anew, so a callid names one call only within one PBX run. A
// restart always breaks the socket; after a break, a callid at or below the highest one seen before
// it that is not a call still in progress is a new call. Its observations keep the PBX's bare callid
// (the one the webhook form carries too) with a `reusedCallId` hint (the last sign of the PBX before
// the break: calls under the id seen by then were the earlier run's); the normaliser decides, once
// for every form, that it is a new instance of the id and gives it keys of its own. Inside the
// tracker (legs of one call, delivery ids) it is told apart as `1005@2026-…Z`.
// Limits: a connector that restarts while the PBX does has no memory of old callids and sends no
// hint (the normaliser then tells the new call by its times alone); and a call that first reaches a
// monitored extension after a network blip, under an id below ones seen before it (a queue or
// transfer leg), is flagged too.
//
// A leg that vanished while the socket was down (PBX restart, network) ends at the last time it was
// seen (its last change, or the last sign of life on the socket), with endReason 'connection_lost',
// never at the reconnect.
import type { CallDirection, CallEventType, EndReason, RecordingRef } from '../../../shared/call-event.js';
import type { CallParticipant } from '../../pbx/wire.js';
import type { CallObservation } from '../observation.js';

export interface TrackedLeg {
  participant: CallParticipant;
  /** The call instance this leg belongs to: the PBX callid, qualified when the PBX reused it. */
  pbxCallId: string;
  /** A reused callid's new call: the last sign of the PBX before the break (the observations' hint). */
  earlierRunUntil: Date | null;
  direction: CallDirection;
  connectedAt: Date | null;
  /** Another leg of the call was answered while this one rang: its end reports nothing. */
  answeredElsewhere: boolean;
  /** When the connector last saw this leg's state. */
  seenAt: Date;
}

export interface EndedLeg extends TrackedLeg {
  endedAt: Date;
  endReason: EndReason;
  /** The latest it can have ended: endedAt, or for a leg lost with the connection, the reconnect. */
  goneBy: Date;
}

const key = (dn: string, id: number | string) => `${dn}/${id}`;

export class ParticipantTracker {
  private readonly legs = new Map<string, TrackedLeg>();
  /** By call instance: legs that stopped ringing unanswered while others of the call still rang. */
  private readonly released = new Map<string, TrackedLeg[]>();
  /** Highest numeric callid seen, and its value at the last session break (callids reused below it). */
  private highestCallid = -Infinity;
  private reusedUpTo = -Infinity;
  private lastBreak: Date | null = null;
  /** Reused callids first seen since the last break: their instance id and when first seen. */
  private readonly reused = new Map<string, Pick<TrackedLeg, 'pbxCallId' | 'earlierRunUntil'>>();
  private sessions = 0;

  constructor(private readonly ids: { tenantId: string; pbxId: string }) {}

  get size(): number {
    return this.legs.size;
  }

  /** A participant was created or changed (re-read after an Upsert, or found in a full state read). */
  upsert(p: CallParticipant, at: Date): CallObservation[] {
    const known = this.legs.get(key(p.dn, p.id));
    const out: CallObservation[] = [];
    if (!known) {
      const leg: TrackedLeg = { participant: p, ...this.instanceOf(p.callid, at), direction: directionOf(p), connectedAt: null, answeredElsewhere: false, seenAt: at };
      this.legs.set(key(p.dn, p.id), leg);
      // First seen already talking (connector started mid-call): no ringing to report any more.
      if (p.status !== 'Connected') out.push(this.observe(leg, 'ringing', at));
    } else {
      known.participant = p;
      known.seenAt = at;
    }
    const leg = this.legs.get(key(p.dn, p.id))!;
    if (p.status === 'Connected' && !leg.connectedAt) {
      leg.connectedAt = at;
      leg.answeredElsewhere = false;
      // Everyone the call is (or was just) offered to learns who took it.
      const losers = [...this.ringingWith(leg), ...this.takeReleased(leg.pbxCallId)];
      for (const loser of losers) loser.answeredElsewhere = true;
      out.push(this.observe(leg, 'answered', at, { agents: [p.dn, ...losers.map((l) => l.participant.dn)], answeredBy: p.dn }));
    }
    return out;
  }

  /** The participant is gone (Remove). Unknown participants (never seen: race) produce nothing. */
  remove(dn: string, id: number | string, at: Date, endReason: EndReason = 'reported'): { observations: CallObservation[]; ended: EndedLeg | null } {
    const leg = this.legs.get(key(dn, id));
    if (!leg) return { observations: [], ended: null };
    this.legs.delete(key(dn, id));
    if (leg.connectedAt) return { observations: [this.observe(leg, 'ended', at, { endReason })], ended: { ...leg, endedAt: at, endReason, goneBy: at } };
    if (leg.answeredElsewhere) return { observations: [], ended: null };
    const call = leg.pbxCallId;
    if (this.ringingWith(leg).length > 0) {
      this.released.set(call, [...(this.released.get(call) ?? []), leg]);
      return { observations: [], ended: null };
    }
    const offered = [...this.takeReleased(call), leg].map((l) => l.participant.dn);
    return { observations: [this.observe(leg, 'missed', at, { agents: offered, endReason })], ended: null };
  }

  /**
   * After a (re)connect the full state is the truth and no events are replayed (NOTES 2.4): legs we
   * hold that are gone ended while we were away, at the last time they were seen (`lastAlive`: the
   * last sign of life of the previous socket); new or changed ones are upserts.
   */
  reconcile(current: CallParticipant[], at: Date, lastAlive: Date | null = null): { observations: CallObservation[]; ended: EndedLeg[] } {
    if (this.sessions++ > 0) {
      this.reusedUpTo = this.highestCallid;
      this.lastBreak = lastAlive ?? at;
      this.reused.clear();
    }
    const present = new Map(current.map((p) => [key(p.dn, p.id), p]));
    const observations: CallObservation[] = [];
    const ended: EndedLeg[] = [];
    for (const [k, leg] of [...this.legs]) {
      const now = present.get(k);
      if (now && sameParticipant(leg, now)) continue;
      const lastSeen = new Date(Math.max(leg.seenAt.getTime(), lastAlive?.getTime() ?? at.getTime()));
      const removed = this.remove(leg.participant.dn, leg.participant.id, lastSeen, 'connection_lost');
      observations.push(...removed.observations);
      if (removed.ended) ended.push({ ...removed.ended, goneBy: at });
    }
    for (const p of current) observations.push(...this.upsert(p, at));
    return { observations, ended };
  }

  recordingReady(leg: EndedLeg, recording: RecordingRef, at: Date): CallObservation {
    return this.observe(leg, 'recording_ready', at, { recording, endedAt: leg.endedAt });
  }

  /** Legs still up: a recording being polled for may belong to one (our view of its answer may lag). */
  liveLegs(): TrackedLeg[] {
    return [...this.legs.values()];
  }

  /** Which call instance a newly seen callid belongs to (see the header). */
  private instanceOf(callid: string, at: Date): Pick<TrackedLeg, 'pbxCallId' | 'earlierRunUntil'> {
    const live = [...this.legs.values(), ...[...this.released.values()].flat()].find((l) => l.participant.callid === callid);
    if (live) return { pbxCallId: live.pbxCallId, earlierRunUntil: live.earlierRunUntil };
    const known = this.reused.get(callid);
    if (known) return known;
    const bare = { pbxCallId: callid, earlierRunUntil: null };
    const n = Number(callid);
    if (!Number.isFinite(n)) return bare;
    this.highestCallid = Math.max(this.highestCallid, n);
    if (n > this.reusedUpTo) return bare;
    const instance = { pbxCallId: `${callid}@${at.toISOString()}`, earlierRunUntil: this.lastBreak };
    this.reused.set(callid, instance);
    return instance;
  }

  /** The other legs of this leg's call that are still ringing (not answered, not lost to an answer). */
  private ringingWith(leg: TrackedLeg): TrackedLeg[] {
    const out: TrackedLeg[] = [];
    for (const other of this.legs.values()) {
      if (other !== leg && other.pbxCallId === leg.pbxCallId && !other.connectedAt && !other.answeredElsewhere) out.push(other);
    }
    return out;
  }

  private takeReleased(call: string): TrackedLeg[] {
    const legs = this.released.get(call) ?? [];
    this.released.delete(call);
    return legs;
  }

  private observe(
    leg: TrackedLeg,
    type: CallEventType,
    at: Date,
    extra: { recording?: RecordingRef; endedAt?: Date; agents?: string[]; answeredBy?: string; endReason?: EndReason } = {},
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
      ...(leg.earlierRunUntil ? { reusedCallId: { earlierRunUntil: leg.earlierRunUntil } } : {}),
      caller: leg.direction === 'outbound' ? agent : remote,
      callee: leg.direction === 'outbound' ? remote : agent,
      extensions: p.party_dn_type === 'Wextension' && p.party_dn ? [...agents, p.party_dn] : agents,
      queue: p.on_behalf_of_dn || null,
      agents,
      ...(extra.answeredBy !== undefined ? { answeredBy: extra.answeredBy } : {}),
      pbxTime: at,
      durationSec: talkEnds && leg.connectedAt ? talkSeconds(leg.connectedAt, endedAt) : null,
      recording: extra.recording ?? null,
      ...(extra.endReason ? { endReason: extra.endReason } : {}),
      // Stable per transition of this leg, so a resend (reconnect, remote retry) is recognised.
      deliveryId: `cc:${this.ids.pbxId}:${leg.pbxCallId}:${p.dn}:${p.id}:${type}`,
    };
  }
}

/** The same participant as before a reconnect, not a restarted PBX's new one under a reused id. */
function sameParticipant(leg: TrackedLeg, p: CallParticipant): boolean {
  const was = leg.participant;
  return was.callid === p.callid && was.party_caller_id === p.party_caller_id && !(leg.connectedAt && p.status !== 'Connected');
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
