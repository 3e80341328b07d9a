// The notes every CRM shows on a call: what a person reads, whichever 3CX form reported the call.
import { describe, expect, it } from 'vitest';
import { composeNotes, type CallSummary } from './compose.js';

const call: CallSummary = {
  callKey: 't1:p1:tpl_abc:101',
  direction: 'inbound',
  remoteNumber: '+61298765432',
  remoteName: 'Jane Citizen',
  agentExtension: '101',
  startedAt: '2026-12-07T00:00:00.000Z',
  answeredAt: null,
  durationSec: 95,
  outcome: 'answered',
  queue: null,
};

describe('call notes', () => {
  it('say how long an answered call lasted even when only its talk time is known (CRM template journal, no answer time)', () => {
    expect(composeNotes(call).split('\n')).toContain('Duration: 1m 35s');
    expect(composeNotes({ ...call, answeredAt: '2026-12-07T00:00:05.000Z' }).split('\n')).toEqual(expect.arrayContaining(['Answered: 2026-12-07T00:00:05.000Z', 'Duration: 1m 35s']));
  });

  it('give a missed call no duration', () => {
    expect(composeNotes({ ...call, outcome: 'missed', durationSec: 0 })).not.toContain('Duration');
  });
});
