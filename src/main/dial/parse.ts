// Turns whatever arrives from a tel:/callto: link or the dial box into one E.164 number, or a
// reason it will not be dialled. Strict by design: a link is untrusted input from any web page.
import type { CountryCode } from 'libphonenumber-js';
import { formatForDisplay, toE164 } from '../../shared/phone.js';

export type DialRefusal =
  | 'empty'
  | 'too_long'
  | 'control_characters'
  | 'invisible_characters'
  | 'lookalike_characters'
  | 'unsupported_scheme'
  | 'embedded_url'
  | 'bad_encoding'
  | 'not_a_number'
  | 'bad_parameter'
  | 'too_many_digits'
  | 'invalid_number';

export type ParsedDial =
  | { ok: true; e164: string; display: string; extension: string | null }
  | { ok: false; code: DialRefusal; reason: string };

const MAX_INPUT = 256;
const MAX_NUMBER_CHARS = 40;
const MAX_DIGITS = 15; // E.164
const MAX_EXTENSION_DIGITS = 8;

// C0, DEL, C1 controls (the Unicode category Cc is exactly these).
const CONTROL = /\p{Cc}/u;
// Zero-width, bidi embeddings/overrides/isolates, marks, BOM, soft hyphen, Arabic letter mark.
const INVISIBLE = /[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/;
// Spaces word processors and CRMs put between digit groups.
const WIDE_SPACES = /[\u00a0\u2009\u202f]/g;
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;
const ACCEPTED_SCHEMES = new Set(['tel', 'callto']);
// Visual separators (RFC 3966), spaces and the slash German numbers use; '+' is checked apart.
const NUMBER_CHARS = /^\+?[0-9\-.() /]+$/;
const TRAILING_JUNK = /[.,;:!?'"\]}>]+$/;
const LEADING_JUNK = /^['"<[{]+/;

function refuse(code: DialRefusal, reason: string): ParsedDial {
  return { ok: false, code, reason };
}

function balanceParentheses(text: string): string {
  let value = text;
  const count = (c: string): number => value.split(c).length - 1;
  while (value.endsWith(')') && count(')') > count('(')) value = value.slice(0, -1).trimEnd();
  while (value.startsWith('(') && count('(') > count(')')) value = value.slice(1).trimStart();
  return value;
}

/** Strips quotes, brackets and punctuation that come along when a number is copied from text. */
function stripJunk(text: string): string {
  let value = text;
  for (let previous = ''; previous !== value; ) {
    previous = value;
    value = balanceParentheses(value.replace(TRAILING_JUNK, '').replace(LEADING_JUNK, '').trim());
  }
  return value;
}

function decodePercent(text: string): string | null {
  if (!text.includes('%')) return text;
  if (/%(?![0-9a-f]{2})/i.test(text)) return null;
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

function checkCharacters(text: string): ParsedDial | null {
  if (CONTROL.test(text)) return refuse('control_characters', 'The link contains control characters.');
  if (INVISIBLE.test(text)) return refuse('invisible_characters', 'The link contains invisible or text-direction characters.');
  if (/\P{ASCII}/u.test(text.replace(WIDE_SPACES, ' '))) {
    return refuse('lookalike_characters', 'The number contains characters that only look like digits or symbols.');
  }
  return null;
}

interface TelParameters {
  extension: string | null;
  /** Global number prefix from `;phone-context=+...`, for local numbers. */
  contextPrefix: string | null;
}

function parseParameters(params: string[]): TelParameters | ParsedDial {
  const result: TelParameters = { extension: null, contextPrefix: null };
  for (const param of params) {
    const [rawName = '', value = '', ...rest] = param.split('=');
    const name = rawName.trim().toLowerCase();
    if (rest.length > 0) return refuse('bad_parameter', `The link parameter "${name}" is malformed.`);
    const visualDigits = value.replace(/[-.() ]/g, '');
    if (name === 'ext') {
      if (!/^\d+$/.test(visualDigits) || visualDigits.length > MAX_EXTENSION_DIGITS) {
        return refuse('bad_parameter', 'The extension must be up to 8 digits.');
      }
      result.extension = visualDigits;
    } else if (name === 'phone-context') {
      if (/^\+\d{1,6}$/.test(visualDigits)) result.contextPrefix = visualDigits;
      else if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(value)) {
        return refuse('bad_parameter', 'The phone-context of the link is neither a number prefix nor a domain.');
      }
    } else if (name !== 'isub') {
      return refuse('bad_parameter', `The link has an unexpected parameter "${name.slice(0, 20)}".`);
    }
  }
  return result;
}

/**
 * Parses a `tel:`/`callto:` URI or a typed number. Never throws; anything not clearly a dialable
 * public number comes back as `{ ok: false, reason }` with a sentence the agent can read.
 */
export function parseDialInput(input: unknown, defaultCountry: CountryCode): ParsedDial {
  if (typeof input !== 'string') return refuse('empty', 'There is no number to dial.');
  if (input.length > MAX_INPUT) return refuse('too_long', 'The link is too long to be a phone number.');
  // Links copied out of text often keep their wrapping: <tel:...>, "tel:...".
  const trimmed = input.trim().replace(/^[<"']+/, '').replace(/[>"']+$/, '').trim();
  if (trimmed === '') return refuse('empty', 'There is no number to dial.');
  const rawProblem = checkCharacters(trimmed);
  if (rawProblem) return rawProblem;

  let rest = trimmed;
  const scheme = SCHEME.exec(rest);
  if (scheme) {
    const name = scheme[1]!.toLowerCase();
    if (!ACCEPTED_SCHEMES.has(name)) return refuse('unsupported_scheme', `"${name.slice(0, 20)}:" links are not phone numbers.`);
    rest = rest.slice(scheme[0].length).replace(/^\/\//, '');
  }

  const decoded = decodePercent(rest);
  if (decoded === null) return refuse('bad_encoding', 'The link has broken percent-encoding.');
  const decodedProblem = checkCharacters(decoded);
  if (decodedProblem) return decodedProblem;
  // Skype-style callto:+1555...?call is the only query people paste; any other is refused below.
  const text = decoded.replace(WIDE_SPACES, ' ').replace(/\?call$/i, '');

  if (/[a-z][a-z0-9+.-]*:/i.test(text) || text.includes('//')) {
    return refuse('embedded_url', 'The link hides another address or script inside it.');
  }

  const [numberPart = '', ...paramParts] = text.split(';');
  const params = parseParameters(paramParts.map((p) => p.trim()).filter((p) => p !== ''));
  if ('ok' in params) return params;

  const number = stripJunk(numberPart);
  if (number === '') return refuse('empty', 'There is no number to dial.');
  if (number.length > MAX_NUMBER_CHARS) return refuse('too_long', 'The number is too long.');
  if (!NUMBER_CHARS.test(number)) {
    return refuse('not_a_number', 'The link contains letters or symbols that are not part of a phone number.');
  }
  const digits = number.replace(/\D/g, '');
  if (digits.length === 0) return refuse('empty', 'There is no number to dial.');

  const global = number.startsWith('+') ? number : params.contextPrefix ? params.contextPrefix + digits : number;
  const e164 = toE164(global, defaultCountry);
  if (!e164) {
    // Counted only now: an international prefix (up to 0011 and longer) is not part of the number.
    if (digits.length > MAX_DIGITS) return refuse('too_many_digits', 'The number has more digits than any phone number can have.');
    return refuse('invalid_number', `This is not a valid phone number (read with the default country ${defaultCountry}).`);
  }
  const display = formatForDisplay(e164, defaultCountry) + (params.extension ? ` ext. ${params.extension}` : '');
  return { ok: true, e164, display, extension: params.extension };
}
