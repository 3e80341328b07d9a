// HubSpot's search compares phone properties as stored strings, so we ask for the spellings people
// actually type and then keep only records whose numbers normalise to the one we look for.
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** E.164, international, national and digit-only spellings of one number. */
export function phoneSpellings(e164: string): string[] {
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed) return [e164];
  const national = parsed.nationalNumber;
  return [
    ...new Set([
      parsed.number,
      parsed.formatInternational(),
      parsed.formatNational(),
      national,
      `${parsed.countryCallingCode}${national}`,
      `+${parsed.countryCallingCode} ${national}`,
    ]),
  ];
}
