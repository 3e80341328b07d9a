import { describe, expect, it } from 'vitest';
import { formatForDisplay, numberTypeOf, pbxNumberToE164, toE164 } from './phone.js';
import { DIALLING_MARKETS } from '../../test/support/dialling-markets.js';

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

describe('international prefixes, market by market', () => {
  it.each(DIALLING_MARKETS.map((m) => [m.dialled, m.country, m.e164] as const))('%s dialled in %s is %s (the country\'s own prefix)', (dialled, country, e164) => {
    expect(toE164(dialled, country)).toBe(e164);
    expect(toE164(`tel:${dialled.replaceAll(' ', '')}`, country)).toBe(e164);
  });

  it.each(DIALLING_MARKETS.map((m) => [m.zeros, m.country, m.e164] as const))('3CX\'s 00 form %s from a PBX in %s is %s', (zeros, country, e164) => {
    expect(pbxNumberToE164(zeros, country)).toBe(e164);
    expect(pbxNumberToE164(zeros.replaceAll(' ', ''), country)).toBe(e164);
    // Written by a person, 00 + country code still reads as international where nothing else fits.
    expect(toE164(zeros, country)).toBe(e164);
  });

  it('0011 44 20 7946 0958 from AU is London (0011 is not 00 + country code 11)', () => {
    expect(toE164('0011 44 20 7946 0958', 'AU')).toBe('+442079460958');
    expect(pbxNumberToE164('0011 44 20 7946 0958', 'AU')).toBe('+442079460958');
  });

  it('from 3CX, 00 is + first: where 00x is also a carrier\'s prefix, the PBX\'s number is not re-read', () => {
    // In Singapore 008 is an international prefix, so a person dialling this reaches +1 901 …
    expect(toE164('0081 90 1234 5678', 'SG')).toBe('+19012345678');
    expect(pbxNumberToE164('0081 90 1234 5678', 'SG')).toBe('+819012345678');
  });

  it('national numbers stay national, and 3CX\'s national forms still read', () => {
    expect(pbxNumberToE164('(02) 9876 5432', 'AU')).toBe('+61298765432');
    expect(pbxNumberToE164('+61 2 9876 5432', 'US')).toBe('+61298765432');
    expect(pbxNumberToE164('030 1234567', 'DE')).toBe('+49301234567');
    expect(pbxNumberToE164('101', 'AU')).toBeNull();
  });
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
