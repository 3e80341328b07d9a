// The tracker decides, from participants alone, what each agent's leg of a call was: a queue
// call answered by one agent is answered elsewhere for the others (never missed), and a call
// nobody answered is one missed naming everyone it rang.
import { describe, expect, it } from 'vitest';
import type { CallParticipant } from '../../pbx/wire.js';
import type { CallObservation } from '../observation.js';
import { makeCallEvent } from '../../../../test/support/make-call-event.js';
import { ParticipantTracker } from './tracker.js';

const at = new Date('2026-05-01T10:00:00Z');
let nextId = 1;

function leg(dn: string, callid: string, extra: Partial<CallParticipant> = {}): CallParticipant {
  return {
    id: nextId++,
    status: 'Ringing',
    dn,
    party_caller_name: 'Ada',
    party_dn: '10000',
    party_caller_id: '+4930123456',
    party_did: '',
    device_id: `sip:${dn}`,
    party_dn_type: 'Wexternalline',
    originated_by_dn: '10000',
    referred_by_dn: '',
    on_behalf_of_dn: '800',
    on_behalf_of_type: 'Wqueue',
    callid,
    ...extra,
  };
}

const connected = (p: CallParticipant): CallParticipant => ({ ...p, status: 'Connected' });
const summary = (list: CallObservation[]) => list.map((o) => `${o.type}:${o.agents.join(',')}${o.answeredBy ? ` by ${o.answeredBy}` : ''}`);

function ringAll(tracker: ParticipantTracker, legs: CallParticipant[]): void {
  for (const p of legs) tracker.upsert(p, at);
}

describe('ParticipantTracker', () => {
  it('a queue call answered by one agent is one answered for everyone it rang, and the others never miss it', () => {
    const tracker = new ParticipantTracker({ tenantId: 't_1', pbxId: 'pbx_1' });
    const [a, b, c] = [leg('101', '7'), leg('102', '7'), leg('103', '7')];
    ringAll(tracker, [a!, b!, c!]);

    const answered = tracker.upsert(connected(b!), at);
    expect(summary(answered)).toEqual(['answered:102,101,103 by 102']);
    expect(answered[0]).toMatchObject({ queue: '800', callee: { raw: '102' }, extensions: ['102', '101', '103'] });

    expect(tracker.remove('101', a!.id, at).observations).toEqual([]);
    expect(tracker.remove('103', c!.id, at).observations).toEqual([]);
    const ended = tracker.remove('102', b!.id, at);
    expect(summary(ended.observations)).toEqual(['ended:102']);
    expect(ended.ended?.participant.dn).toBe('102');
    expect(tracker.size).toBe(0);
  });

  it('a leg that stops ringing while others still ring waits for the call: answered elsewhere when one answers', () => {
    const tracker = new ParticipantTracker({ tenantId: 't_1', pbxId: 'pbx_1' });
    const [a, b] = [leg('101', '8'), leg('102', '8')];
    ringAll(tracker, [a!, b!]);
    // 3CX may drop the losing leg before it shows the winner connected.
    expect(tracker.remove('101', a!.id, at).observations).toEqual([]);
    expect(summary(tracker.upsert(connected(b!), at))).toEqual(['answered:102,101 by 102']);
  });

  it('a queue call nobody answers is one missed naming every agent it rang', () => {
    const tracker = new ParticipantTracker({ tenantId: 't_1', pbxId: 'pbx_1' });
    const [a, b, c] = [leg('101', '9'), leg('102', '9'), leg('103', '9')];
    ringAll(tracker, [a!, b!, c!]);
    expect(tracker.remove('101', a!.id, at).observations).toEqual([]);
    expect(tracker.remove('102', b!.id, at).observations).toEqual([]);
    const last = tracker.remove('103', c!.id, at).observations;
    expect(summary(last)).toEqual(['missed:101,102,103']);
    expect(last[0]!.answeredBy).toBeUndefined();
  });

  it('after a reconnect, legs that vanished unanswered while the winner now talks are answered elsewhere', () => {
    const tracker = new ParticipantTracker({ tenantId: 't_1', pbxId: 'pbx_1' });
    const [a, b] = [leg('101', '10'), leg('102', '10')];
    ringAll(tracker, [a!, b!]);
    expect(summary(tracker.reconcile([connected(b!)], at).observations)).toEqual(['answered:102,101 by 102']);
  });

  it('a transfer target that does not pick up has missed it: the earlier answer was not offered to it', () => {
    const tracker = new ParticipantTracker({ tenantId: 't_1', pbxId: 'pbx_1' });
    const first = leg('101', '11', { on_behalf_of_dn: '', on_behalf_of_type: '' });
    tracker.upsert(first, at);
    expect(summary(tracker.upsert(connected(first), at))).toEqual(['answered:101 by 101']);
    const second = leg('102', '11', { on_behalf_of_dn: '', on_behalf_of_type: '', referred_by_dn: '101' });
    expect(summary(tracker.upsert(second, at))).toEqual(['ringing:102']);
    expect(summary(tracker.remove('102', second.id, at).observations)).toEqual(['missed:102']);
  });

  it('keeps calls apart: another call ringing at the same time does not hold back a missed', () => {
    const tracker = new ParticipantTracker({ tenantId: 't_1', pbxId: 'pbx_1' });
    const [a, other] = [leg('101', '12'), leg('102', '13')];
    ringAll(tracker, [a!, other!]);
    expect(summary(tracker.remove('101', a!.id, at).observations)).toEqual(['missed:101']);
  });
});

describe('ParticipantTracker across PBX restarts', () => {
  const t = (sec: number) => new Date(at.getTime() + sec * 1000);
  const direct = (dn: string, callid: string, id: number, extra: Partial<CallParticipant> = {}) =>
    leg(dn, callid, { id, on_behalf_of_dn: '', on_behalf_of_type: '', ...extra });

  it('a PBX that restarts and reuses a call id: the new call keeps the bare id and says it is reused, a call that lives through a reconnect is not flagged', () => {
    const tracker = new ParticipantTracker({ tenantId: 't_1', pbxId: 'pbx_1' });
    tracker.reconcile([], t(0));
    const old = direct('101', '1001', 1);
    const first = [...tracker.upsert(old, t(1)), ...tracker.upsert(connected(old), t(2)), ...tracker.remove('101', 1, t(5)).observations];
    const lasting = direct('102', '1002', 2);
    tracker.upsert(connected(lasting), t(6));

    // The socket drops; the PBX comes back with call 1002 still up (a network blip for it) and
    // numbers a new call 1001 again, with participant id 1 again.
    const reused = direct('101', '1001', 1, { party_caller_id: '+4930999888' });
    const back = tracker.reconcile([connected(lasting), reused], t(60), t(7));
    expect(summary(back.observations)).toEqual(['ringing:101']);
    const again = [...back.observations, ...tracker.upsert(connected(reused), t(61)), ...tracker.remove('101', 1, t(70)).observations];
    expect(again.map((o) => o.type)).toEqual(['ringing', 'answered', 'ended']);

    // The normaliser tells the calls apart for every form: the id is the PBX's, the hint says the
    // earlier run's calls under it were seen by the last sign of life before the break.
    expect(first.every((o) => o.pbxCallId === '1001' && o.reusedCallId === undefined)).toBe(true);
    expect(again.every((o) => o.pbxCallId === '1001')).toBe(true);
    expect(again.map((o) => o.reusedCallId)).toEqual(again.map(() => ({ earlierRunUntil: t(7) })));
    for (const o of again) expect(first.map((f) => f.deliveryId)).not.toContain(o.deliveryId);

    // The call that lived through it: same id, and its end is its own.
    const lastEnd = tracker.remove('102', 2, t(80)).observations;
    expect(lastEnd).toMatchObject([{ type: 'ended', pbxCallId: '1002', deliveryId: 'cc:pbx_1:1002:102:2:ended', endReason: 'reported' }]);
    expect(lastEnd[0]!.reusedCallId).toBeUndefined();
    // A call id never seen before the restart is not flagged.
    const fresh = tracker.upsert(direct('103', '5000', 3), t(90))[0]!;
    expect(fresh.pbxCallId).toBe('5000');
    expect(fresh.reusedCallId).toBeUndefined();
  });

  it('a call cut off by a PBX restart ends at the last time it was seen, not at the reconnect, and says the connection was lost', () => {
    const tracker = new ParticipantTracker({ tenantId: 't_1', pbxId: 'pbx_1' });
    tracker.reconcile([], t(0));
    const p = direct('101', '2001', 7);
    tracker.upsert(p, t(10));
    tracker.upsert(connected(p), t(12));
    // Last sign of life on the socket at 14 s; the PBX is back 30 s later without the call.
    const back = tracker.reconcile([], t(44), t(14));
    expect(back.observations).toMatchObject([{ type: 'ended', pbxTime: t(14), durationSec: 2, endReason: 'connection_lost' }]);
    expect(back.ended).toMatchObject([{ endedAt: t(14), endReason: 'connection_lost' }]);
  });

  it('a call restored from the log under a reused id and still talking keeps the logged id on every later observation, also of a leg it is transferred to', () => {
    const tracker = new ParticipantTracker({ tenantId: 't_1', pbxId: 'pbx_1' });
    const logged = `2002@${t(0).toISOString()}`;
    const answered = makeCallEvent({ tenantId: 't_1', pbxId: 'pbx_1', pbxCallId: logged, type: 'answered', agents: ['101'], answeredBy: '101', caller: { raw: '+4930123456', e164: '+4930123456', name: 'Ada', extension: null }, pbxTime: t(0).toISOString() });
    tracker.restore([{ extension: '101', event: answered }]);
    const shown = connected(direct('101', '2002', 21));
    tracker.reconcile([shown], t(30), null);
    const transfer = tracker.upsert(direct('102', '2002', 22), t(40));
    const end = tracker.remove('101', 21, t(45)).observations;
    expect([...transfer, ...end].map((o) => `${o.type}:${o.pbxCallId}:${o.instanceId}`)).toEqual([`ringing:2002:${logged}`, `ended:2002:${logged}`]);
  });
});
