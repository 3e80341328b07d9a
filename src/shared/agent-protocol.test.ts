import { describe, expect, it } from 'vitest';
import {
  ClientFrameSchema,
  CloseCode,
  cutToFrameBytes,
  frameBytes,
  isTerminalClose,
  MAX_FRAME_BYTES,
  MAX_SUMMARY_BYTES,
  MAX_TRANSCRIPTION_BYTES,
  parseFrame,
  ServerFrameSchema,
} from './agent-protocol.js';

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

describe('recording_url frame size', () => {
  // Each alphabet costs a different number of frame bytes per character: ASCII 1, Cyrillic 2, CJK 3,
  // emoji 4 per pair, a control character 6 (JSON escapes it as \u00XX).
  const alphabets = { ascii: 'a', cyrillic: 'ж', cjk: '中', emoji: '😀', control: '\u0001' };
  const largest = (unit: string, bytes: number) => cutToFrameBytes(unit.repeat(bytes), bytes);

  it.each(Object.entries(alphabets))('the largest frame the schema allows (%s text) fits in MAX_FRAME_BYTES, so the agent never closes on it', (_name, unit) => {
    const largestFrame = {
      t: 'recording_url',
      reqId: '\u0001'.repeat(64),
      url: `https://bus.example.com/v1/recordings/${'x'.repeat(2048 - 38)}`,
      expiresAt: '2026-12-07T06:00:00.000+14:00',
      transcription: largest(unit, MAX_TRANSCRIPTION_BYTES),
      summary: largest(unit, MAX_SUMMARY_BYTES),
    };
    const raw = JSON.stringify(largestFrame);
    expect(parseFrame(ServerFrameSchema, raw)).toMatchObject({ ok: true });
    expect(new TextEncoder().encode(raw).length).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    // One character more is refused by the schema, whatever its script.
    const over = parseFrame(ServerFrameSchema, JSON.stringify({ ...largestFrame, transcription: `${largestFrame.transcription}${unit}` }));
    expect(over.ok).toBe(false);
  });

  it('shortens a text to its byte budget on a whole character, and says it was shortened', () => {
    expect(cutToFrameBytes('short', 100)).toBe('short');
    const cut = cutToFrameBytes('😀'.repeat(50), 101);
    expect(cut).toMatch(/^(😀)+ … \(shortened\)$/u);
    expect(frameBytes(cut)).toBeLessThanOrEqual(101);
  });
});
