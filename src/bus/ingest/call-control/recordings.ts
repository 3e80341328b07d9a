// Joins a talked Call Control leg to its XAPI recording. 3CX offers no callid on Recordings
// (NOTES 3.2: "[UNCONFIRMED] join"), so match on the agent DN, the remote number and the time window.
import type { XapiClient } from '../../pbx/xapi.js';
import type { XapiRecording } from '../../pbx/wire.js';
import type { EndedLeg } from './tracker.js';

/** PBX and bus clocks differ; a recording ending this long before we saw the answer is another call. */
const CLOCK_SLACK_MS = 120_000;

/** `claimed`: recording ids already given to other legs (two calls from one number to one agent). */
export async function findRecording(xapi: XapiClient, leg: EndedLeg, claimed: ReadonlySet<number>, signal?: AbortSignal): Promise<XapiRecording | null> {
  const since = new Date(leg.connectedAt!.getTime() - CLOCK_SLACK_MS).toISOString();
  const rows = await xapi.recordings({ filter: `EndTime ge ${since}`, orderBy: 'Id desc', top: 50 }, signal);
  const p = leg.participant;
  const remote = lastDigits(p.party_caller_id || p.party_dn);
  return (
    rows.find(
      (r) =>
        !claimed.has(r.Id) &&
        ((r.FromDn === p.dn && lastDigits(r.ToCallerNumber || r.ToDn) === remote) ||
        (r.ToDn === p.dn && lastDigits(r.FromCallerNumber || r.FromDn) === remote)),
    ) ?? null
  );
}

/** 3CX may format the same number as +49…, 0049… or 0…; the last 8 digits identify it well enough. */
function lastDigits(n: string): string {
  return n.replace(/\D/g, '').slice(-8);
}
