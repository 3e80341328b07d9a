// Which links the OS hands us and what each one means. The raw link goes on untouched to the
// dial capability, which does the real RFC 3966 parsing and refusing; this module only decides
// whether a string is one of our links at all.

/** Schemes the app registers with the OS. */
export const PROTOCOL_SCHEMES = ['tel', 'callto', 'ringbridge'] as const;
export type ProtocolScheme = (typeof PROTOCOL_SCHEMES)[number];

/** Longer than any sane number or app link: refuse before anyone parses it. */
const MAX_LINK_LENGTH = 2048;

export type DeepLink = { kind: 'dial'; raw: string } | { kind: 'app'; url: URL };

export function schemeOf(raw: string): ProtocolScheme | null {
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(raw);
  const scheme = match?.[1]?.toLowerCase();
  return PROTOCOL_SCHEMES.find((s) => s === scheme) ?? null;
}

export function classifyDeepLink(raw: unknown): DeepLink | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_LINK_LENGTH) return null;
  const scheme = schemeOf(raw);
  if (scheme === 'tel' || scheme === 'callto') return { kind: 'dial', raw };
  if (scheme === 'ringbridge') {
    try {
      return { kind: 'app', url: new URL(raw) };
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * Windows and Linux start a second instance with the link as the last argument (after any
 * Chromium switches the OS or the shell adds); anything else in argv is never a link.
 */
export function linkFromArgv(argv: readonly string[]): DeepLink | null {
  const last = argv.at(-1);
  return last === undefined ? null : classifyDeepLink(last);
}
