// The oracle: what the CRM must hold after a scenario, from the 3CX simulator's own record of each
// call (who took it, how long they talked, which recording it made), checked against the call
// records a CRM simulator actually holds. Every PBX call is one CRM record, logged by the agent who
// answered it (nobody answered: the agent it rang, or the lowest extension of a queue), with the
// right contact, duration and recording bytes.
import { createHash } from 'node:crypto';
import type { CallRecord } from '../3cx/index.js';

export interface ExpectedCallLog {
  call: CallRecord;
  agent: string;
  /** The remote party, E.164. */
  remote: string;
  direction: 'inbound' | 'outbound';
  answered: boolean;
  durationSec: number;
  recordingId: number | null;
  /** sha256 of the recording's bytes, when there is one. */
  recordingSha: string | null;
  /** The CRM contact the call belongs to; null = an unknown caller. */
  contactId: string | null;
}

/** One call record as a CRM simulator holds it, read back in common terms. */
export interface CrmCallEntry {
  /** The CRM's record id. */
  id: string;
  agent: string | null;
  remote: string | null;
  direction: string | null;
  /** From the record's outcome (a missed or unanswered call is false). */
  answered: boolean | null;
  durationSec: number;
  startedAt: string | null;
  contactId: string | null;
  /** Phones of the linked contact (CRMs that create one for an unknown caller). */
  contactPhones: string[];
  /** sha256 of each attached recording file. */
  recordingShas: string[];
  callKey: string | null;
}

export const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * What each PBX call must leave in the CRM. `contacts` maps a known caller's E.164 to its CRM id;
 * `recordingSha` gives the sha256 of a recording's bytes as the PBX serves them.
 */
export function expectedLogs(calls: CallRecord[], contacts: ReadonlyMap<string, string>, recordingSha: ReadonlyMap<number, string>): ExpectedCallLog[] {
  return calls.map((call) => {
    const answered = call.legs.find((l) => l.outcome === 'answered');
    const missed = call.legs.filter((l) => l.outcome === 'missed').map((l) => l.dn).sort();
    const leg = answered ?? call.legs.find((l) => l.dn === missed[0])!;
    const remote = call.remote.number;
    return {
      call,
      agent: leg.dn,
      remote,
      direction: call.direction,
      answered: answered !== undefined,
      durationSec: leg.talkSec,
      recordingId: leg.recordingId,
      recordingSha: leg.recordingId === null ? null : (recordingSha.get(leg.recordingId) ?? null),
      contactId: contacts.get(remote) ?? null,
    };
  });
}

export interface OracleReport {
  /** One line per problem, naming the PBX call and what the CRM has instead. */
  problems: string[];
  /** PBX calls with a CRM record (whatever its content). */
  logged: number;
  /** PBX calls with exactly one correct CRM record. */
  correct: number;
  /** CRM records carrying a recording that is not their own call's. */
  recordingsMisattached: number;
  /** Matched pairs, for timing (record callKey per PBX call). */
  matches: Array<{ expected: ExpectedCallLog; entry: CrmCallEntry }>;
}

/** Call Control measures talk from what it observes (rounded up): a second either way is the same talk. */
const DURATION_SLACK_SEC = 1;
/** A record's start may differ from the PBX's by this much (the CRM template reports whole seconds). */
const MATCH_SLACK_MS = 1500;

export function describeExpected(e: ExpectedCallLog): string {
  const arrow = e.direction === 'inbound' ? `${e.remote} -> ${e.agent}` : `${e.agent} -> ${e.remote}`;
  const forms = Object.entries(e.call.forms).filter(([, on]) => on).map(([f]) => f).join('+');
  const what = e.answered ? `answered ${e.durationSec} s, ${e.recordingId === null ? 'not recorded' : `recording #${e.recordingId} ${short(e.recordingSha)}`}` : 'not answered';
  return `PBX call ${e.call.callid} (${e.call.script.kind} ${arrow}, ${what}, contact ${e.contactId ?? 'none'}, via ${forms})`;
}

export function describeEntry(r: CrmCallEntry): string {
  const recordings = r.recordingShas.length === 0 ? 'no recording' : `recording ${r.recordingShas.map(short).join(', ')}`;
  return `CRM record ${r.id} (agent ${r.agent ?? '?'}, ${r.direction ?? '?'} ${r.remote ?? '?'}, ${r.answered ? 'answered' : 'not answered'} ${r.durationSec} s, contact ${r.contactId ?? 'none'}, ${recordings}, started ${r.startedAt ?? '?'}, key ${r.callKey ?? '?'})`;
}

const short = (sha: string | null) => (sha ? sha.slice(0, 10) : 'none');

/**
 * Pairs PBX calls with CRM records of the same agent, remote party and direction that started
 * while the call was up, then checks each pair. Within such a group the pairing with the most
 * pairs wins; among those, the one nearest in start time, a wrong field costing as much as half a
 * second (calls of a group never overlap, so time tells them apart; back-to-back calls, like a
 * missed call and its call-back, are told apart by what they hold).
 */
export function checkCrm(expected: ExpectedCallLog[], entries: CrmCallEntry[]): OracleReport {
  const problems: string[] = [];
  const matches: OracleReport['matches'] = [];
  const unmatched = new Set(entries);
  const groupOf = (agent: string | null, remote: string | null, direction: string | null) => `${agent}|${remote}|${direction}`;
  const groups = new Map<string, ExpectedCallLog[]>();
  for (const e of [...expected].sort((a, b) => Date.parse(a.call.startedAt) - Date.parse(b.call.startedAt))) {
    const key = groupOf(e.agent, e.remote, e.direction);
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  let correct = 0;
  for (const [key, calls] of groups) {
    const records = entries.filter((r) => groupOf(r.agent, r.remote, r.direction) === key);
    const pairing = bestPairing(calls, records);
    calls.forEach((e, i) => {
      const entry = pairing[i];
      if (!entry) {
        problems.push(`${describeExpected(e)}: no CRM record`);
        return;
      }
      unmatched.delete(entry);
      matches.push({ expected: e, entry });
      const wrong = differences(e, entry);
      if (wrong.length > 0) problems.push(`${describeExpected(e)}: ${wrong.join('; ')} — ${describeEntry(entry)}`);
      else correct++;
    });
  }
  for (const r of unmatched) problems.push(`${describeEntry(r)}: no PBX call it belongs to (a duplicate or a call logged to the wrong agent/number)`);
  return { problems, logged: matches.length, correct, recordingsMisattached: misattached(matches, unmatched), matches };
}

function differences(e: ExpectedCallLog, entry: CrmCallEntry): string[] {
  const wrong: string[] = [];
  if (entry.answered !== e.answered) wrong.push(`outcome ${entry.answered ? 'answered' : 'not answered'}, expected ${e.answered ? 'answered' : 'not answered'}`);
  if (Math.abs(entry.durationSec - e.durationSec) > DURATION_SLACK_SEC) wrong.push(`duration ${entry.durationSec} s, expected ${e.durationSec} s`);
  const contactOk = e.contactId !== null ? entry.contactId === e.contactId : entry.contactId === null || entry.contactPhones.includes(e.remote);
  if (!contactOk) wrong.push(`contact ${entry.contactId ?? 'none'}, expected ${e.contactId ?? 'none (or a new one with this number)'}`);
  const expectedShas = e.recordingSha ? [e.recordingSha] : [];
  if (entry.recordingShas.join() !== expectedShas.join()) wrong.push(`recordings [${entry.recordingShas.map(short).join(', ')}], expected [${expectedShas.map(short).join(', ')}]`);
  return wrong;
}

/** What one wrong field weighs against start-time distance when pairing, in ms. */
const FIELD_COST_MS = 500;

/** For each call (in order), its record or undefined: most pairs, then least cost (exhaustive; groups are a handful of calls). */
function bestPairing(calls: ExpectedCallLog[], records: CrmCallEntry[]): Array<CrmCallEntry | undefined> {
  const cost = (e: ExpectedCallLog, r: CrmCallEntry): number | null => {
    const start = Date.parse(r.startedAt ?? '');
    const from = Date.parse(e.call.startedAt);
    if (!(start >= from - MATCH_SLACK_MS && start <= Date.parse(e.call.endedAt) + MATCH_SLACK_MS)) return null;
    return Math.abs(start - from) + FIELD_COST_MS * differences(e, r).length;
  };
  let best: { pairs: number; cost: number; pick: Array<CrmCallEntry | undefined> } = { pairs: -1, cost: Infinity, pick: [] };
  const search = (i: number, used: Set<CrmCallEntry>, pick: Array<CrmCallEntry | undefined>, pairs: number, total: number): void => {
    if (i === calls.length) {
      if (pairs > best.pairs || (pairs === best.pairs && total < best.cost)) best = { pairs, cost: total, pick: [...pick] };
      return;
    }
    for (const r of records) {
      if (used.has(r)) continue;
      const c = cost(calls[i]!, r);
      if (c === null) continue;
      used.add(r);
      search(i + 1, used, [...pick, r], pairs + 1, total + c);
      used.delete(r);
    }
    search(i + 1, used, [...pick, undefined], pairs, total);
  };
  search(0, new Set(), [], 0, 0);
  return best.pick;
}

/** Recording files on a record that are not its own call's recording (another call's, or a record with no call). */
function misattached(matches: OracleReport['matches'], unmatched: Set<CrmCallEntry>): number {
  let count = 0;
  for (const { expected, entry } of matches) count += entry.recordingShas.filter((sha) => sha !== expected.recordingSha).length;
  for (const entry of unmatched) count += entry.recordingShas.length;
  return count;
}
