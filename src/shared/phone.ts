// E.164 parsing and display used by both programs. libphonenumber-js does the real work;
// this module only fixes the policy: what counts as dialable and how we key contacts.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { z } from 'zod';

export const CountryCodeSchema = z
  .string()
  .regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 country code such as US or AU') as z.ZodType<CountryCode>;

/** Digits, `+`, `*`, `#` and the visual separators RFC 3966 allows. Nothing else is ever a phone number. */
const PHONE_CHARS = /^[+0-9*#()\-.\s/]+$/;
const MAX_RAW_LENGTH = 40;

/** Strips what 3CX and people add around a number without changing it. */
export function cleanRawNumber(raw: string): string {
  return raw.trim().replace(/^tel:/i, '');
}

/**
 * Normalises a number to E.164 with the PBX's or agent's default country.
 * Returns null for anything that is not a valid, routable public number
 * (extensions, short codes, junk), so callers never key or dial garbage.
 */
export function toE164(raw: string | null | undefined, defaultCountry: CountryCode): string | null {
  if (!raw) return null;
  const cleaned = cleanRawNumber(raw);
  if (cleaned.length === 0 || cleaned.length > MAX_RAW_LENGTH || !PHONE_CHARS.test(cleaned)) return null;
  // 3CX may send international numbers with a 00 prefix ("Zeros" in its template).
  const withPlus = cleaned.replace(/^00(?=[1-9])/, '+');
  const parsed = parsePhoneNumberFromString(withPlus, defaultCountry);
  if (!parsed || !parsed.isValid()) return null;
  return parsed.number;
}

/** A human form for notifications: international when foreign, national when at home. */
export function formatForDisplay(e164OrRaw: string, homeCountry: CountryCode): string {
  const parsed = parsePhoneNumberFromString(e164OrRaw, homeCountry);
  if (!parsed || !parsed.isValid()) return e164OrRaw;
  return parsed.country === homeCountry ? parsed.formatNational() : parsed.formatInternational();
}

/** Country of an E.164 number, used by dial policies. */
export function countryOf(e164: string): CountryCode | undefined {
  return parsePhoneNumberFromString(e164)?.country;
}

/** Number type from the metadata (premium rate, toll free, mobile...), for dial policies. */
export function numberTypeOf(e164: string): string | undefined {
  return parsePhoneNumberFromString(e164)?.getType();
}
