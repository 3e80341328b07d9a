import { describe, expect, it } from 'vitest';
import { formatForDisplay, numberTypeOf, toE164 } from './phone.js';

describe('toE164', () => {
  it.each([
    ['(02) 9876 5432', 'AU', '+61298765432'],
    ['0061 2 9876 5432', 'AU', '+61298765432'],
    ['+61-2-9876-5432', 'US', '+61298765432'],
    ['415.555.0123', 'US', '+14155550123'],
    ['tel:+442079460958', 'AU', '+442079460958'],
    ['  030 1234567 ', 'DE', '+49301234567'],
  ] as const)('normalises %s in %s', (raw, country, expected) => {
    expect(toE164(raw, country)).toBe(expected);
  });

  it.each(['101', '', '12', 'abc', '+1 415 555 0123 <script>', '9'.repeat(41), '+0000000', '\u202e+14155550123'])(
    'refuses %j (extension, short code or junk)',
    (raw) => {
      expect(toE164(raw, 'US')).toBeNull();
    },
  );
});

describe('display', () => {
  it('formats home numbers nationally and foreign ones internationally', () => {
    expect(formatForDisplay('+61298765432', 'AU')).toBe('(02) 9876 5432');
    expect(formatForDisplay('+442079460958', 'AU')).toBe('+44 20 7946 0958');
  });

  it('knows premium-rate numbers for dial policies', () => {
    expect(numberTypeOf('+19002000000')).toBe('PREMIUM_RATE');
  });
});
