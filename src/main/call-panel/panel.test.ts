// The Call panel's view model: what the agent sees for each call, from the bus events and the
// outbox's wrap-up deadlines.
import { describe, expect, it } from 'vitest';
import { CallPanelModel } from './panel.js';
import { AGENT_EXT, callEvent, keyOf } from '../../../test/support/outbox-fixtures.js';

const c1 = { pbxCallId: 'c1', at: Date.parse('2026-03-02T09:00:00Z') };

function model(now = () => Date.parse('2026-03-02T09:01:05Z')) {
  return new CallPanelModel({ extension: () => AGENT_EXT, home: () => 'AU', nameOf: (e164) => (e164 === '+61298765432' ? 'Jane Citizen' : null), now });
}

describe('Call panel view model', () => {
  it('shows a call ringing, then talking with its answer time, then in wrap-up until it is saved', () => {
    const panel = model();
    let changes = 0;
    panel.changed.on(() => void changes++);
    panel.handle(callEvent(c1, 'ringing'), null);
    expect(panel.calls()).toMatchObject([{ callKey: keyOf('c1'), state: 'ringing', remoteName: 'Jane Citizen', remoteNumber: '(02) 9876 5432', direction: 'inbound' }]);
    panel.handle(callEvent(c1, 'answered'), null);
    expect(panel.call(keyOf('c1'))).toMatchObject({ state: 'talking', answeredAt: '2026-03-02T09:00:00.000Z' });
    const endsAt = Date.parse('2026-03-02T09:02:05Z');
    panel.handle(callEvent(c1, 'ended'), endsAt);
    expect(panel.call(keyOf('c1'))).toMatchObject({ state: 'wrap_up', endedAt: '2026-03-02T09:01:05.000Z', wrapUpEndsAt: '2026-03-02T09:02:05.000Z' });
    panel.setDraft(keyOf('c1'), 'typed', 'disp-1');
    expect(panel.call(keyOf('c1'))).toMatchObject({ notes: 'typed', dispositionId: 'disp-1' });
    panel.endWrapUp(keyOf('c1'));
    expect(panel.calls()).toEqual([]);
    expect(changes).toBe(5);
    panel.clear();
  });

  it('drops a call a colleague answered, and an ended call without a wrap-up', () => {
    const panel = model();
    const queue = { ...c1, agents: [AGENT_EXT, '102'] };
    panel.handle(callEvent(queue, 'ringing'), null);
    panel.handle(callEvent(queue, 'answered', { answeredBy: '102' }), null);
    expect(panel.calls()).toEqual([]);
    panel.handle(callEvent({ pbxCallId: 'c2' }, 'answered'), null);
    panel.handle(callEvent({ pbxCallId: 'c2' }, 'ended'), null);
    expect(panel.calls()).toEqual([]);
  });

  it('replayed events (caught up after a reconnect) end or hand over the calls shown, but add none', () => {
    const panel = model();
    const queue = { ...c1, agents: [AGENT_EXT, '102'] };
    panel.handle(callEvent(c1, 'ringing'), null);
    panel.handle(callEvent(c1, 'answered'), null);
    panel.handle(callEvent({ pbxCallId: 'c3', agents: [AGENT_EXT, '102'] }, 'ringing'), null);
    panel.handle(callEvent(c1, 'ended'), null, true);
    panel.handle(callEvent({ pbxCallId: 'c3', agents: [AGENT_EXT, '102'] }, 'answered', { answeredBy: '102' }), null, true);
    expect(panel.calls()).toEqual([]);
    panel.handle(callEvent({ ...queue, pbxCallId: 'c4' }, 'ringing'), null, true);
    panel.handle(callEvent({ pbxCallId: 'c5' }, 'answered'), null, true);
    expect(panel.calls()).toEqual([]);
  });

  it('ignores other agents, internal calls and a missed call (no wrap-up without an answer)', () => {
    const panel = model();
    panel.handle(callEvent({ pbxCallId: 'c3', agents: ['102'] }, 'ringing'), null);
    panel.handle(callEvent({ pbxCallId: 'c4', direction: 'internal' }, 'ringing'), null);
    panel.handle(callEvent({ pbxCallId: 'c5' }, 'ringing'), null);
    panel.handle(callEvent({ pbxCallId: 'c5' }, 'missed'), Date.parse('2026-03-02T09:05:00Z'));
    expect(panel.calls()).toEqual([]);
  });

  it('shows again, after a restart, the wrap-ups the outbox still holds, with what was typed', () => {
    const panel = model();
    const call = callEvent(c1, 'ended');
    panel.restore([
      { callKey: keyOf('c1'), parties: call, startedAt: '2026-03-02T09:00:00Z', answeredAt: '2026-03-02T09:00:00Z', endedAt: '2026-03-02T09:01:05Z', notes: 'before quit', dispositionId: null, endsAt: Date.parse('2026-03-02T09:02:00Z') },
      { callKey: keyOf('old'), parties: call, startedAt: '2026-03-02T08:00:00Z', answeredAt: null, endedAt: null, notes: '', dispositionId: null, endsAt: Date.parse('2026-03-02T09:00:00Z') },
    ]);
    expect(panel.calls()).toMatchObject([{ callKey: keyOf('c1'), state: 'wrap_up', notes: 'before quit', wrapUpEndsAt: '2026-03-02T09:02:00.000Z' }]);
    panel.clear();
  });
});
