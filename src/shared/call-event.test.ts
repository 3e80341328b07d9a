import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CallEventSchema, answeringExtension, remoteParty } from './call-event.js';

const fixtures: unknown[] = JSON.parse(readFileSync(new URL('../../test/fixtures/call-event.v1.json', import.meta.url), 'utf8'));

describe('CallEvent v1', () => {
  it('still accepts every frozen v1 fixture unchanged (agents in the field keep working)', () => {
    for (const fixture of fixtures) {
      expect(CallEventSchema.parse(fixture)).toEqual(fixture);
    }
  });

  it('refuses an event of another version', () => {
    expect(CallEventSchema.safeParse({ ...(fixtures[0] as object), v: 2 }).success).toBe(false);
  });

  it('refuses a caller e164 that is not E.164', () => {
    const bad = structuredClone(fixtures[0]) as { caller: { e164: string } };
    bad.caller.e164 = '0298765432';
    expect(CallEventSchema.safeParse(bad).success).toBe(false);
  });

  it('names the remote party from the agent side', () => {
    const [inbound, outbound] = fixtures.map((f) => CallEventSchema.parse(f));
    expect(remoteParty(inbound!).e164).toBe('+61298765432');
    expect(remoteParty(outbound!).e164).toBe('+14155550123');
  });
});

describe('answeredBy (added within v1)', () => {
  const [ringing] = fixtures as [Record<string, unknown>];
  const answered = (extra: Record<string, unknown>) => CallEventSchema.parse({ ...ringing, type: 'answered', ...extra });

  it('names the answering extension, and events without it still parse', () => {
    expect(answeringExtension(answered({ agents: ['101', '102'], answeredBy: '102' }))).toBe('102');
    expect(CallEventSchema.safeParse({ ...ringing, answeredBy: '1'.repeat(17) }).success).toBe(false);
  });

  it('reads an answer logged before the field existed as answered by the agent side of an inbound call', () => {
    expect(answeringExtension(answered({}))).toBe('101');
    expect(answeringExtension(CallEventSchema.parse(ringing))).toBeNull();
  });
});
