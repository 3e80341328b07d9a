import { describe, expect, it } from 'vitest';
import { ClientFrameSchema, CloseCode, isTerminalClose, parseFrame, ServerFrameSchema } from './agent-protocol.js';

describe('agent protocol frames', () => {
  it('parses a hello with a resume position', () => {
    const result = parseFrame(ClientFrameSchema, JSON.stringify({ t: 'hello', v: 1, token: 'x'.repeat(32), resume: { offset: 4, epoch: 'e1' } }));
    expect(result).toEqual({ ok: true, frame: { t: 'hello', v: 1, token: 'x'.repeat(32), resume: { offset: 4, epoch: 'e1' } } });
  });

  it.each([['not json'], ['{"t":"nope"}'], ['{"t":"dial","reqId":"1"}'], ['[]'], ['null'], ['{"t":"hello","v":2,"token":"xxxxxxxxxxxxxxxxxxxx"}']])(
    'turns %s into an error result instead of throwing',
    (raw) => {
      const result = parseFrame(ClientFrameSchema, raw);
      expect(result.ok).toBe(false);
    },
  );

  it('refuses an event frame whose event is not a valid CallEvent', () => {
    const result = parseFrame(ServerFrameSchema, JSON.stringify({ t: 'event', offset: 1, epoch: 'e', replay: false, event: { v: 1 } }));
    expect(result.ok).toBe(false);
  });

  it('splits close codes into reconnect and terminal ranges', () => {
    expect(isTerminalClose(CloseCode.shutdown)).toBe(false);
    expect(isTerminalClose(CloseCode.slowConsumer)).toBe(false);
    expect(isTerminalClose(CloseCode.revoked)).toBe(true);
    expect(isTerminalClose(CloseCode.unauthenticated)).toBe(true);
  });
});
