// The oracle must itself be right: a wrong pairing would hide a misattached recording or invent one.
import { describe, expect, it } from 'vitest';
import type { CallRecord } from '../3cx/index.js';
import { checkCrm, expectedLogs, type CrmCallEntry } from './oracle.js';

const T0 = Date.parse('2026-12-07T00:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function call(callid: number, startMs: number, endMs: number, leg: { outcome: 'answered' | 'missed'; talkSec: number; recordingId: number | null }): CallRecord {
  return {
    callid,
    recordingIds: leg.recordingId === null ? [] : [leg.recordingId],
    script: { kind: 'inbound', from: '+61298765000', to: '101' },
    direction: 'inbound',
    remote: { number: '+61298765000', name: '' },
    queue: null,
    forms: { callControl: true, template: false, webhook: false },
    startedAt: at(startMs),
    endedAt: at(endMs),
    legs: [{ dn: '101', ...leg }],
  };
}

const entry = (id: string, startMs: number, answered: boolean, durationSec: number, recordingShas: string[]): CrmCallEntry => ({
  id, agent: '101', remote: '+61298765000', direction: 'inbound', answered, durationSec, startedAt: at(startMs), contactId: 'c1', contactPhones: [], recordingShas, callKey: `k${id}`,
});

const contacts = new Map([['+61298765000', 'c1']]);
const shas = new Map([[7, 'sha-of-7'], [8, 'sha-of-8']]);

describe('scenario oracle', () => {
  it('pairs back-to-back calls by what they hold: a missed call and its call-back, the missed call not logged', () => {
    const expected = expectedLogs([call(1, 0, 20, { outcome: 'missed', talkSec: 0, recordingId: null }), call(2, 25, 2100, { outcome: 'answered', talkSec: 2, recordingId: 7 })], contacts, shas);
    const report = checkCrm(expected, [entry('r2', 30, true, 2, ['sha-of-7'])]);
    expect(report.problems).toEqual([expect.stringMatching(/^PBX call 1 .*not answered.*: no CRM record$/)]);
    expect(report.correct).toBe(1);
    expect(report.recordingsMisattached).toBe(0);
  });

  it('an unrecorded call given the next call\'s recording: the first has a recording it should not, the second none', () => {
    const expected = expectedLogs([call(1, 0, 1000, { outcome: 'answered', talkSec: 1, recordingId: null }), call(2, 1010, 3010, { outcome: 'answered', talkSec: 2, recordingId: 8 })], contacts, shas);
    const report = checkCrm(expected, [entry('r1', 5, true, 1, ['sha-of-8']), entry('r2', 1015, true, 2, [])]);
    expect(report.problems).toEqual([
      expect.stringMatching(/^PBX call 1 .*recordings \[sha-of-8\], expected \[\] — CRM record r1/),
      expect.stringMatching(/^PBX call 2 .*recordings \[\], expected \[sha-of-8\] — CRM record r2/),
    ]);
    expect(report.recordingsMisattached).toBe(1);
  });

  it('a second record of one call is a duplicate, and a record with another agent matches nothing', () => {
    const expected = expectedLogs([call(1, 0, 1000, { outcome: 'answered', talkSec: 1, recordingId: null })], contacts, shas);
    const report = checkCrm(expected, [entry('r1', 5, true, 1, []), entry('r1b', 900, true, 1, []), { ...entry('r9', 5, true, 1, []), agent: '102' }]);
    expect(report.correct).toBe(1);
    expect(report.problems).toEqual([expect.stringMatching(/^CRM record r1b .*no PBX call/), expect.stringMatching(/^CRM record r9 \(agent 102.*no PBX call/)]);
  });
});
