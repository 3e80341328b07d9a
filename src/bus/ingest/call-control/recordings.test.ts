// A recording goes to a Call Control leg only when everything it says fits that leg and no other.
import { describe, expect, it } from 'vitest';
import type { CallParticipant, XapiRecording } from '../../pbx/wire.js';
import type { XapiClient } from '../../pbx/xapi.js';
import { findRecording } from './recordings.js';
import type { EndedLeg } from './tracker.js';

const t = (sec: number) => new Date(Date.UTC(2026, 4, 1, 10, 0, sec));

function leg(id: number, connected: number, ended: number, dn = '101', from = '+4930123456'): EndedLeg {
  const participant = { id, dn, status: 'Connected', party_caller_id: from, party_dn: '10000', callid: String(1000 + id) } as CallParticipant;
  return { participant, pbxCallId: participant.callid, earlierRunUntil: null, direction: 'inbound', connectedAt: t(connected), answeredElsewhere: false, seenAt: t(connected), endedAt: t(ended), endReason: 'reported', goneBy: t(ended) };
}

function recording(id: number, start: number, end: number, ref: number | null = null): XapiRecording {
  return { Id: id, StartTime: t(start).toISOString(), EndTime: t(end).toISOString(), FromDn: '10000', FromCallerNumber: '+4930123456', ToDn: '101', ToCallerNumber: '101', RefParticipantId: ref };
}

/** An XAPI that answers every query with these rows (the join must not rely on the server's filter). */
const xapi = (rows: XapiRecording[]) => ({ recordings: async () => rows }) as unknown as XapiClient;

describe('findRecording', () => {
  it('without RefParticipantId, two calls a minute apart from one number to one extension each get their own recording', async () => {
    const first = leg(1, 0, 20);
    const second = leg(2, 80, 110);
    const rows = [recording(7, 1, 20), recording(8, 81, 110)];
    expect((await findRecording(xapi(rows), first, { claimed: new Set(), others: [second] })).recording?.Id).toBe(7);
    expect((await findRecording(xapi(rows), second, { claimed: new Set(), others: [first] })).recording?.Id).toBe(8);
  });

  it('an unrecorded call gets nothing from a later call\'s recording, even the newest one', async () => {
    const unrecorded = leg(1, 0, 20);
    const match = await findRecording(xapi([recording(8, 81, 110)]), unrecorded, { claimed: new Set(), others: [] });
    expect(match).toEqual({ recording: null, reason: null });
  });

  it('a recording that names another participant is not this leg\'s, and says so', async () => {
    const match = await findRecording(xapi([recording(9, 1, 19, 2)]), leg(1, 0, 20), { claimed: new Set(), others: [] });
    expect(match.recording).toBeNull();
    expect(match.reason).toMatch(/name other participants \(2\), not 1/);
  });

  it('two recordings that fit one leg and name no participant: neither is given, with the reason', async () => {
    const match = await findRecording(xapi([recording(10, 1, 5), recording(11, 6, 19)]), leg(1, 0, 20), { claimed: new Set(), others: [] });
    expect(match).toEqual({ recording: null, reason: 'recordings 10, 11 all fit the call and none names its participant' });
  });

  it('a leg lost with the connection may own a recording that ends after it was last seen, up to the reconnect', async () => {
    const lost = { ...leg(1, 0, 20), endReason: 'connection_lost' as const, goneBy: t(90) };
    expect((await findRecording(xapi([recording(13, 1, 75)]), lost, { claimed: new Set(), others: [] })).recording?.Id).toBe(13);
    expect((await findRecording(xapi([recording(13, 1, 75)]), leg(1, 0, 20), { claimed: new Set(), others: [] })).recording).toBeNull();
  });

  it('a recording naming the leg\'s participant is its own even when another call fits the time too', async () => {
    const match = await findRecording(xapi([recording(12, 1, 19, 1)]), leg(1, 0, 20), { claimed: new Set(), others: [leg(2, 0, 25)] });
    expect(match.recording?.Id).toBe(12);
  });
});
