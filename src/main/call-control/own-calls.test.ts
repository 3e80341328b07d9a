// Answer, Hang up and Transfer from the app name the call by 3CX's own call id, which the bus's
// call_control frame requires to be digits. A reused id is qualified by the bus (`1234@<time>`), and
// a call only the CRM webhook told of has a `tpl_` id with no 3CX id behind it.
import { describe, expect, it } from 'vitest';
import { CallControlFrame, type CallAction } from '../../shared/agent-protocol.js';
import { makeCallEvent } from '../../../test/support/make-call-event.js';
import { callKeyOf } from '../history/index.js';
import { CallControlError, OwnCalls, type LineTransport } from './call-control.js';

function ownCalls() {
  const sent: Array<{ pbxCallId: string; action: CallAction; destination?: string }> = [];
  const transport: LineTransport = {
    controlCall: async (pbxCallId, action, destination) => void sent.push({ pbxCallId, action, ...(destination ? { destination } : {}) }),
    presence: async () => Promise.reject(new Error('not used')),
  };
  return { calls: new OwnCalls(() => transport), sent };
}

describe('OwnCalls: which call id a click sends', () => {
  it("acts on a call whose id the bus qualified as reused (1234@…) with 3CX's own id, which the bus's frame accepts", async () => {
    const { calls, sent } = ownCalls();
    const event = makeCallEvent({ pbxCallId: '1234@2026-12-07T05:00:00.000Z', type: 'ringing', agents: ['101'] });
    calls.observe(event, '101');
    await calls.act(callKeyOf(event, '101'), 'answer', null);
    await calls.act(callKeyOf(event, '101'), 'transfer', '102');
    expect(sent).toEqual([{ pbxCallId: '1234', action: 'answer' }, { pbxCallId: '1234', action: 'transfer', destination: '102' }]);
    for (const request of sent) expect(CallControlFrame.safeParse({ t: 'call_control', reqId: 'c1', ...request }).success).toBe(true);
  });

  it('refuses a call only a CRM webhook told of (tpl_ id) at once, in words, asking nothing of the bus', async () => {
    const { calls, sent } = ownCalls();
    const event = makeCallEvent({ pbxCallId: 'tpl_0123456789abcdef01234567', type: 'answered', agents: ['101'] });
    calls.observe(event, '101');
    const click = calls.act(callKeyOf(event, '101'), 'hangup', null);
    await expect(click).rejects.toBeInstanceOf(CallControlError);
    await expect(click).rejects.toThrow(/no 3CX call id/);
    expect(sent).toEqual([]);
  });
});
