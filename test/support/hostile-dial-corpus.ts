// Generates the hostile tel:/callto: corpus the dial tests run (deterministic: seeded PRNG).
// Every input is a mutation of a valid link that must be refused.
import { mulberry32 } from '../../src/sim/prng.js';

const VALID_LINKS = [
  'tel:+1-415-555-2671',
  'tel:+61298765432',
  'callto:+442079460958',
  'callto://+14155552671',
  'tel:+49-221-123456',
  'tel:+33142685300',
  'tel:0298765432;phone-context=+61',
  'tel:+1.415.555.2671;ext=42',
];

const CONTROL_CHARS = [...Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)), '\u007f', '\u0085', '\u009b'];
const INVISIBLE_CHARS = ['\u200b', '\u200c', '\u200d', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\ufeff', '\u061c', '\u00ad', '\u2060'];
const LOOKALIKE_DIGITS = [
  (d: number) => String.fromCharCode(0xff10 + d), // fullwidth
  (d: number) => String.fromCharCode(0x0660 + d), // Arabic-Indic
  (d: number) => String.fromCharCode(0x06f0 + d), // Extended Arabic-Indic
  (d: number) => String.fromCharCode(0x0966 + d), // Devanagari
  (d: number) => String.fromCodePoint(0x1d7ce + d), // mathematical bold
  (d: number) => String.fromCharCode(0x2080 + d), // subscript
];
const LOOKALIKE_SYMBOLS = ['\uff0b', '\u2212', '\u2010', '\u2011', '\u2013', '\uff0d', '\u00b7', '\u2024', '\uff08', '\uff09', 'О', 'l'];
const FOREIGN_SCHEMES = ['javascript:alert(1)//', 'data:text/html,', 'file:///etc/passwd?', 'http://evil.example/', 'https://evil.example/?n=', 'vbscript:msgbox(', 'ms-msdt:/id ', 'search-ms:query=', 'smb://evil/share/', 'sip:', 'skype:', 'mailto:x@evil.example?', 'ms-officecmd:', 'ringbridge://dial?n='];
const SCRIPTS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "';alert(1)//", '$(calc)', '`calc`', '&& calc.exe', '| rm -rf /', '${7*7}', '{{7*7}}', '%3Cscript%3E'];
const BAD_PERCENT = ['%', '%4', '%zz', '%G1', '%%20', '%E0%A4%A', '%C0%AF', '%ED%A0%80'];
const BAD_PARAMETERS = [';ext=abc', ';ext=123456789012', ';foo=bar', ';ext=1=2', ';phone-context=<script>', ';phone-context=java script', ';tgrp=x', '?foo=bar', '#frag', '?call&x=1'];

/** Inserts `text` strictly inside the number part (after the scheme, before the last digit). */
function insideNumber(link: string, text: string, random: () => number): string {
  const firstDigit = link.search(/\d/);
  const lastDigit = link.search(/\d(?!.*\d)/);
  const at = firstDigit + 1 + Math.floor(random() * Math.max(1, lastDigit - firstDigit));
  return link.slice(0, at) + text + link.slice(at);
}

function percentEncode(char: string): string {
  return [...new TextEncoder().encode(char)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

export interface HostileCase {
  input: string;
  mutation: string;
}

export function hostileDialCorpus(seed = 3966): HostileCase[] {
  const random = mulberry32(seed);
  const cases: HostileCase[] = [];
  const add = (mutation: string, input: string): void => void cases.push({ mutation, input });

  for (const link of VALID_LINKS) {
    for (const c of CONTROL_CHARS) {
      add('control char', insideNumber(link, c, random));
      add('percent-encoded control char', insideNumber(link, percentEncode(c), random));
    }
    add('percent-encoded newline at end', `${link}%0a`);
    add('percent-encoded NUL at end', `${link}%00`);
    for (const c of INVISIBLE_CHARS) {
      add('invisible/bidi char', insideNumber(link, c, random));
      add('percent-encoded invisible/bidi char', insideNumber(link, percentEncode(c), random));
    }
    for (const digitOf of LOOKALIKE_DIGITS) {
      add('lookalike digit', link.replace(/\d(?=\d*$)/, (d) => digitOf(Number(d))));
      add('lookalike digits', link.replace(/\d/g, (d) => digitOf(Number(d))));
    }
    for (const symbol of LOOKALIKE_SYMBOLS) add('lookalike symbol', insideNumber(link, symbol, random));
    for (const scheme of FOREIGN_SCHEMES) {
      add('foreign scheme', scheme + link.replace(/^[a-z]+:(\/\/)?/, ''));
      add('scheme smuggled after tel:', link.replace(/^([a-z]+:(\/\/)?)/, `$1${scheme}`));
      add('percent-encoded smuggled scheme', link.replace(/^([a-z]+:(\/\/)?)/, `$1${[...scheme].map(percentEncode).join('')}`));
    }
    for (const script of SCRIPTS) {
      add('script appended', link + script);
      add('script inside', insideNumber(link, script, random));
    }
    for (const bad of BAD_PERCENT) add('broken percent-encoding', insideNumber(link, bad, random));
    for (const bad of BAD_PARAMETERS) add('bad parameter or query', link + bad);
    for (let extra = 0; extra < 6; extra++) {
      const digits = Array.from({ length: 8 + Math.floor(random() * 40) }, () => Math.floor(random() * 10)).join('');
      add('overlong digits', link.replace(/(\d)(?!.*\d)/, `$1${digits}`));
    }
    add('overlong input', link + ' '.repeat(10) + '1'.repeat(300));
    add('nested URL', `${link.split(':')[0]}:${encodeURIComponent('https://evil.example/' + link)}`);
    add('second number glued on', `${link},+14155552671`);
  }
  for (const empty of ['', ' ', '\t', 'tel:', 'callto:', 'callto://', 'tel:;ext=12', 'tel:()', 'tel:+', 'tel:---', '\u200e']) add('empty', empty);
  for (const short of ['tel:1', 'tel:123', 'tel:+1', 'tel:000000', 'tel:+0123456789', 'callto://911']) add('not a public number', short);
  return cases;
}
