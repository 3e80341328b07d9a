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

/** A leading 00 followed by a country code, spaces or separators allowed between. */
const ZEROS_PREFIX = /^00(?=[\s().\-/]*[1-9])/;

function cleanDialable(raw: string | null | undefined): string | null {
  if (!raw) return null;
  const cleaned = cleanRawNumber(raw);
  return cleaned.length === 0 || cleaned.length > MAX_RAW_LENGTH || !PHONE_CHARS.test(cleaned) ? null : cleaned;
}

function validE164(text: string, defaultCountry: CountryCode): string | null {
  const parsed = parsePhoneNumberFromString(text, defaultCountry);
  return parsed && parsed.isValid() ? parsed.number : null;
}

/** The number read with 00 meaning "+", whatever the country's own international prefix is. */
function zerosAsPlus(cleaned: string, defaultCountry: CountryCode): string | null {
  return ZEROS_PREFIX.test(cleaned) ? validE164(cleaned.replace(ZEROS_PREFIX, '+'), defaultCountry) : null;
}

/**
 * Normalises a number as a person in `defaultCountry` writes or dials it (tel: links, the dial
 * box, CRM records, imported contacts). libphonenumber applies that country's own international
 * prefix (0011 in AU, 011 in US/CA, 010 in JP, 00 in most of Europe) and trunk prefix. A leading
 * 00 that is not the country's prefix still reads as international when the number is valid no
 * other way ("0044 20 …" pasted in the US, "0061 …" in AU).
 * Returns null for anything that is not a valid, routable public number
 * (extensions, short codes, junk), so callers never key or dial garbage.
 */
export function toE164(raw: string | null | undefined, defaultCountry: CountryCode): string | null {
  const cleaned = cleanDialable(raw);
  return cleaned === null ? null : (validE164(cleaned, defaultCountry) ?? zerosAsPlus(cleaned, defaultCountry));
}

/**
 * Normalises a number 3CX sent (every ingest form). The template we generate asks 3CX for
 * Number Prefix="Zeros", so 3CX writes each international number as 00 + country code whatever
 * the PBX's country: a US PBX sends "0044 20 …" too. That reading comes first, because in some
 * countries 00x is also a national carrier's international prefix (in SG, "0081 90 …" dialled
 * by a person is +1 901 …; from 3CX it is +81 90 …). Otherwise the number is read as dialled in
 * the PBX's country (its own prefix, e.g. 0011 in AU, for a number 3CX passes on as dialled).
 */
export function pbxNumberToE164(raw: string | null | undefined, defaultCountry: CountryCode): string | null {
  const cleaned = cleanDialable(raw);
  return cleaned === null ? null : (zerosAsPlus(cleaned, defaultCountry) ?? validE164(cleaned, defaultCountry));
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
