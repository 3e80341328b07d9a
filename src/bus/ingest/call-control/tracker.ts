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
// A leg that vanished while the socket was down (PBX restart, network) ends as the PBX's call log
// says (its true end, talk and answer, endReason 'reported') when the connector found its row there;
// otherwise at the last time it was seen (its last change, or the last sign of life on the
// socket), with endReason 'connection_lost', never at the reconnect.
//
// Legs the event log holds as in progress but this tracker never saw (another node held the
// socket, or this process restarted) are restored from their logged events before the full state
// is read: a restored leg the PBX still shows is the same leg (same DN and callid) and carries on;
// one it no longer shows ended meanwhile and is ended like any leg that vanished.
import type { CallDirection, CallEvent, CallEventType, EndReason, RecordingRef } from '../../../shared/call-event.js';
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
  /** Restored from the event log: its participant id is not known until the PBX shows the leg. */
  restored?: true;
}

/** How the PBX's call log says a leg that vanished ended. */
export interface LoggedEnd {
  endedAt: Date;
  /** When it was answered; null if it never was. */
  answeredAt: Date | null;
  /** Talk as the PBX measured it (whole seconds, at least 1 when answered). */
  talkSec: number;
}

/** An agent leg as the PBX's call log has it, for a call nobody watched (see replay). */
export interface UnwatchedLeg {
  participant: CallParticipant;
  startedAt: Date;
  answeredAt: Date | null;
  endedAt: Date;
  talkSec: number;
}

/** The event log's word that a leg is still in progress (see EventLog.openLegs). */
export interface OpenLegRecord {
  extension: string;
  event: CallEvent;
  /** Where the log holds that event: what dropping the leg checks (EventLog.dropOpenLegs). */
  offset?: number;
}

/** A participant id no PBX hands out: a restored leg's until the PBX shows it. */
const RESTORED_ID = -1;

export interface EndedLeg extends TrackedLeg {
  endedAt: Date;
  endReason: EndReason;
  /** The latest it can have ended: endedAt, or for a leg lost with the connection, the reconnect. */
  goneBy: Date;
}

const key = (dn: string, id: number | string) => `${dn}/${id}`;
const restoredKey = (dn: string, pbxCallId: string) => `${dn}/restored:${pbxCallId}`;

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
    if (p.status === 'Connected' && !leg.connectedAt) out.push(this.answer(leg, at));
    return out;
  }

  /** The leg was answered: everyone the call is (or was just) offered to learns who took it. */
  private answer(leg: TrackedLeg, at: Date): CallObservation {
    leg.connectedAt = at;
    leg.answeredElsewhere = false;
    const losers = [...this.ringingWith(leg), ...this.takeReleased(leg.pbxCallId)];
    for (const loser of losers) loser.answeredElsewhere = true;
    const dn = leg.participant.dn;
    return this.observe(leg, 'answered', at, { agents: [dn, ...losers.map((l) => l.participant.dn)], answeredBy: dn });
  }

  /** The participant is gone (Remove). Unknown participants (never seen: race) produce nothing. */
  remove(dn: string, id: number | string, at: Date, endReason: EndReason = 'reported'): { observations: CallObservation[]; ended: EndedLeg | null } {
    return this.end(key(dn, id), at, endReason);
  }

  private end(k: string, at: Date, endReason: EndReason, talkSec?: number): { observations: CallObservation[]; ended: EndedLeg | null } {
    const leg = this.legs.get(k);
    if (!leg) return { observations: [], ended: null };
    this.legs.delete(k);
    if (leg.connectedAt) return { observations: [this.observe(leg, 'ended', at, { endReason, talkSec })], ended: { ...leg, endedAt: at, endReason, goneBy: at } };
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
   * Takes in the legs the event log holds as in progress that this tracker does not know (by DN
   * and callid): the ring or answer the log has is where each stands. Only ids the PBX gave (a
   * template-opened call's `tpl_` id is not one).
   */
  restore(open: OpenLegRecord[]): void {
    for (const { extension, event } of open) {
      const callid = event.pbxCallId.split('@')[0]!;
      if (!/^\d+$/.test(callid) || this.findLeg(extension, callid)) continue;
      const inbound = event.direction !== 'outbound';
      const remote = inbound ? event.caller : event.callee;
      const participant: CallParticipant = {
        id: RESTORED_ID,
        status: event.type === 'answered' ? 'Connected' : inbound ? 'Ringing' : 'Dialing',
        dn: extension,
        party_caller_name: remote.name ?? '',
        party_dn: remote.extension ?? '',
        party_caller_id: remote.raw,
        party_did: '',
        device_id: '',
        party_dn_type: event.direction === 'internal' ? 'Wextension' : '',
        originated_by_dn: '',
        referred_by_dn: '',
        on_behalf_of_dn: event.queue ?? '',
        on_behalf_of_type: event.queue ? 'Wqueue' : '',
        callid,
      };
      const at = new Date(event.pbxTime);
      this.legs.set(restoredKey(extension, event.pbxCallId), {
        participant, pbxCallId: event.pbxCallId, earlierRunUntil: null, direction: event.direction,
        connectedAt: event.type === 'answered' ? at : null, answeredElsewhere: false, seenAt: at, restored: true,
      });
    }
  }

  /** Legs held that the full state no longer shows: they ended while nobody watched. */
  vanished(current: CallParticipant[]): TrackedLeg[] {
    return [...this.vanishedEntries(current).values()];
  }

  private vanishedEntries(current: CallParticipant[]): Map<string, TrackedLeg> {
    const present = new Map(current.map((p) => [key(p.dn, p.id), p]));
    return new Map(
      [...this.legs].filter(([k, leg]) => {
        if (leg.restored) return !current.some((p) => showsRestored(p, leg));
        const now = present.get(k);
        return !now || !sameParticipant(leg, now);
      }),
    );
  }

  /**
   * After a (re)connect the full state is the truth and no events are replayed (NOTES 2.4): legs we
   * hold that are gone ended while we were away: as the PBX's call log says (`ends`, by leg), else
   * at the last time they were seen (`lastAlive`: the last sign of life of the previous socket);
   * new or changed ones are upserts.
   */
  reconcile(current: CallParticipant[], at: Date, lastAlive: Date | null = null, ends: ReadonlyMap<TrackedLeg, LoggedEnd> = new Map()): { observations: CallObservation[]; ended: EndedLeg[] } {
    if (this.sessions++ > 0) {
      this.reusedUpTo = this.highestCallid;
      this.lastBreak = lastAlive ?? at;
      this.reused.clear();
    }
    const observations: CallObservation[] = [];
    const ended: EndedLeg[] = [];
    for (const [k, leg] of this.vanishedEntries(current)) {
      const end = ends.get(leg);
      // Answered while nobody watched: its answer is reported first, at the time the PBX logged.
      if (end?.answeredAt && !leg.connectedAt) observations.push(this.answer(leg, end.answeredAt));
      const lastSeen = new Date(Math.max(leg.seenAt.getTime(), lastAlive?.getTime() ?? at.getTime()));
      const removed = end ? this.end(k, end.endedAt, 'reported', end.talkSec) : this.end(k, lastSeen, 'connection_lost');
      observations.push(...removed.observations);
      if (removed.ended) ended.push({ ...removed.ended, goneBy: at });
    }
    // A restored leg the PBX still shows (same DN, callid and remote number: a restarted PBX reuses
    // ids) is that leg: it takes its participant id and carries on.
    for (const [k, leg] of [...this.legs]) {
      if (!leg.restored) continue;
      const p = current.find((c) => showsRestored(c, leg))!;
      this.legs.delete(k);
      this.legs.set(key(p.dn, p.id), { ...leg, participant: { ...p, status: leg.connectedAt ? 'Connected' : p.status }, restored: undefined });
    }
    for (const p of current) observations.push(...this.upsert(p, at));
    return { observations, ended };
  }

  /**
   * Calls that rang and ended while nobody watched, from the PBX's call log: every leg presented,
   * answered and ended at the times the PBX logged, in time order, through the same rules as live
   * legs (a queue call's answer concerns every agent it rang; a call nobody took is one missed).
   * Legs of calls this tracker holds are not given here.
   */
  replay(legs: UnwatchedLeg[]): { observations: CallObservation[]; ended: EndedLeg[] } {
    const observations: CallObservation[] = [];
    const ended: EndedLeg[] = [];
    const steps = legs.flatMap((l) => {
      const { dn, id } = l.participant;
      return [
        { at: l.startedAt, order: 0, run: () => observations.push(...this.upsert(l.participant, l.startedAt)) },
        ...(l.answeredAt ? [{ at: l.answeredAt, order: 1, run: () => observations.push(...this.upsert({ ...l.participant, status: 'Connected' }, l.answeredAt!)) }] : []),
        {
          at: l.endedAt,
          order: 2,
          run: () => {
            const removed = this.end(key(dn, id), l.endedAt, 'reported', l.talkSec);
            observations.push(...removed.observations);
            if (removed.ended) ended.push(removed.ended);
          },
        },
      ];
    });
    steps.sort((a, b) => a.at.getTime() - b.at.getTime() || a.order - b.order);
    for (const step of steps) step.run();
    return { observations, ended };
  }

  /** Drops legs without reporting anything (restored ones nothing is known of any more). */
  forget(legs: TrackedLeg[]): void {
    for (const [k, leg] of [...this.legs]) if (legs.includes(leg)) this.legs.delete(k);
  }

  /** Whether this tracker holds a leg of this callid on this DN. */
  holds(dn: string, callid: string): boolean {
    return this.findLeg(dn, callid) !== undefined;
  }

  recordingReady(leg: EndedLeg, recording: RecordingRef, at: Date): CallObservation {
    return this.observe(leg, 'recording_ready', at, { recording, endedAt: leg.endedAt });
  }

  /** Legs still up: a recording being polled for may belong to one (our view of its answer may lag). */
  liveLegs(): TrackedLeg[] {
    return [...this.legs.values()];
  }

  private findLeg(dn: string, callid: string): TrackedLeg | undefined {
    return [...this.legs.values()].find((l) => l.participant.dn === dn && l.participant.callid === callid);
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
    extra: { recording?: RecordingRef; endedAt?: Date; agents?: string[]; answeredBy?: string; endReason?: EndReason; talkSec?: number } = {},
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
      // A qualified id with no break of ours behind it came from the log (a restored leg's call, on
      // any of its legs, restored or since shown by the PBX): the normaliser must keep it.
      ...(!leg.earlierRunUntil && leg.pbxCallId !== p.callid ? { instanceId: leg.pbxCallId } : {}),
      caller: leg.direction === 'outbound' ? agent : remote,
      callee: leg.direction === 'outbound' ? remote : agent,
      extensions: p.party_dn_type === 'Wextension' && p.party_dn ? [...agents, p.party_dn] : agents,
      queue: p.on_behalf_of_dn || null,
      agents,
      ...(extra.answeredBy !== undefined ? { answeredBy: extra.answeredBy } : {}),
      pbxTime: at,
      durationSec: talkEnds && leg.connectedAt ? (extra.talkSec ?? talkSeconds(leg.connectedAt, endedAt)) : null,
      recording: extra.recording ?? null,
      ...(extra.endReason ? { endReason: extra.endReason } : {}),
      // Stable per transition of this leg, so a resend (reconnect, remote retry) is recognised.
      deliveryId: `cc:${this.ids.pbxId}:${leg.pbxCallId}:${p.dn}:${p.id}:${type}`,
    };
  }
}

/** Two renderings of one phone number: digits compared, one may carry a prefix the other lacks; an empty one matches. */
export function sameNumber(a: string, b: string): boolean {
  const [x, y] = [a.replace(/\D/g, ''), b.replace(/\D/g, '')];
  return !x || !y || x.endsWith(y) || y.endsWith(x);
}

function showsRestored(p: CallParticipant, leg: TrackedLeg): boolean {
  const was = leg.participant;
  return p.dn === was.dn && p.callid === was.callid && sameNumber(p.party_caller_id, was.party_caller_id);
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
