// Joins a talked Call Control leg to its XAPI recording. 3CX offers no callid on Recordings
// (NOTES 3.2: "[UNCONFIRMED] join"), so a recording belongs to a leg only when everything it says
// fits that leg and no other:
// - its parties: the leg's agent DN on one side, the leg's remote number on the other;
// - its time: StartTime and EndTime inside the leg's connected…ended span, give or take the clock
//   slack (PBX and bus clocks, event delivery) on both sides (for a leg lost with the connection,
//   ended = by the reconnect: it may have talked on after we last saw it);
// - `RefParticipantId` (a nullable int in the XAPI swagger's Pbx.Recording): where 3CX fills it,
//   it must be the leg's Call Control participant id (our reading of the field: the participant
//   the recording was made for; the join is unconfirmed on a real PBX, so a mismatch is logged);
// - nothing else: a recording without RefParticipantId that also fits another answered leg of the
//   same agent and number (ended recently, or still talking), or two recordings that fit the leg,
//   is ambiguous: nothing is attached and the reason is given. Never a guess.
import type { XapiClient } from '../../pbx/xapi.js';
import type { XapiRecording } from '../../pbx/wire.js';
import type { EndedLeg, TrackedLeg } from './tracker.js';

/** PBX and bus clocks differ and events arrive late; more than this apart is another call. */
export const RECORDING_CLOCK_SLACK_MS = 10_000;

/** `reason` is set when a recording was seen but could not be given to this leg with certainty. */
export interface RecordingMatch {
  recording: XapiRecording | null;
  reason: string | null;
}

export interface RecordingContext {
  /** Recording ids already given to other legs. */
  claimed: ReadonlySet<number>;
  /** Other legs a recording could belong to: recently ended answered ones and every live one (not this leg). */
  others: ReadonlyArray<TrackedLeg | EndedLeg>;
}

export async function findRecording(xapi: XapiClient, leg: EndedLeg, context: RecordingContext, signal?: AbortSignal): Promise<RecordingMatch> {
  if (!leg.connectedAt) return { recording: null, reason: 'the leg was never answered' };
  const from = new Date(leg.connectedAt.getTime() - RECORDING_CLOCK_SLACK_MS).toISOString();
  const to = new Date(leg.goneBy.getTime() + RECORDING_CLOCK_SLACK_MS).toISOString();
  const rows = await xapi.recordings({ filter: `StartTime ge ${from} and EndTime le ${to}`, orderBy: 'Id desc', top: 50 }, signal);
  const fitting = rows.filter((r) => !context.claimed.has(r.Id) && partiesMatch(r, leg) && inSpan(r, leg));
  const id = leg.participant.id;
  const named = fitting.filter((r) => refOf(r) === id);
  if (named.length === 1) return { recording: named[0]!, reason: null };
  if (named.length > 1) return { recording: null, reason: `recordings ${ids(named)} all name participant ${id}` };
  const otherRef = fitting.filter((r) => refOf(r) !== null);
  const unnamed = fitting.filter((r) => refOf(r) === null);
  if (unnamed.length === 0) {
    return { recording: null, reason: otherRef.length ? `recordings ${ids(otherRef)} fit the call but name other participants (${otherRef.map(refOf).join(', ')}), not ${id}` : null };
  }
  if (unnamed.length > 1) return { recording: null, reason: `recordings ${ids(unnamed)} all fit the call and none names its participant` };
  const only = unnamed[0]!;
  const rivals = context.others.filter((o) => partiesMatch(only, o) && inSpan(only, o));
  if (rivals.length) {
    return { recording: null, reason: `recording ${only.Id} names no participant and also fits call(s) ${rivals.map((o) => o.pbxCallId).join(', ')} of the same agent and number` };
  }
  return { recording: only, reason: null };
}

/** RefParticipantId where 3CX filled it (null, absent and 0, the swagger's default, are "not filled"). */
function refOf(r: XapiRecording): number | null {
  const ref = r.RefParticipantId;
  return ref != null && ref > 0 ? ref : null;
}

function partiesMatch(r: XapiRecording, leg: TrackedLeg): boolean {
  const p = leg.participant;
  const remote = lastDigits(p.party_caller_id || p.party_dn);
  return (r.FromDn === p.dn && lastDigits(r.ToCallerNumber || r.ToDn) === remote) || (r.ToDn === p.dn && lastDigits(r.FromCallerNumber || r.FromDn) === remote);
}

/**
 * Start and end inside connected…ended, give or take the slack. A live leg's span is open-ended,
 * and one we have not seen answered yet (its Connected may still be on its way) starts when we last saw it.
 */
function inSpan(r: XapiRecording, leg: TrackedLeg | EndedLeg): boolean {
  const start = Date.parse(r.StartTime ?? '');
  const end = Date.parse(r.EndTime ?? '');
  if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) return false;
  const from = (leg.connectedAt ?? leg.seenAt).getTime();
  const to = 'goneBy' in leg ? leg.goneBy.getTime() : Infinity;
  return start >= from - RECORDING_CLOCK_SLACK_MS && end <= to + RECORDING_CLOCK_SLACK_MS;
}

const ids = (rows: XapiRecording[]) => rows.map((r) => r.Id).join(', ');

/** 3CX may format the same number as +49…, 0049… or 0…; the last 8 digits identify it well enough. */
function lastDigits(n: string): string {
  return n.replace(/\D/g, '').slice(-8);
}
