// The rule behind the single openExternal gate: only https links to the CRMs' own web hosts
// (record pages and sign-in pages) and the bus this agent is paired with ever reach the OS.
// Everything else — file:, javascript:, data:, ms-* handlers, search-ms:, lookalike hosts,
// credentials in the URL — is refused, and what is opened is the re-serialised URL, never the
// caller's string.

/**
 * Hosts the CRMs serve records and sign-in pages from; a URL matches a host exactly or as a
 * subdomain of it. Sign-in: app.hubspot.com, login.salesforce.com (and My Domain / test.),
 * accounts.zoho.<data centre>, marketplace.gohighlevel.com / marketplace.leadconnectorhq.com.
 * Zoho lists every data centre its adapter accepts (src/main/crm/zoho/mapping.ts).
 */
export const CRM_WEB_HOSTS = [
  'hubspot.com',
  'hubspot.eu',
  'salesforce.com',
  'force.com',
  'zoho.com',
  'zoho.eu',
  'zoho.in',
  'zoho.com.au',
  'zoho.jp',
  'zoho.com.cn',
  'zoho.sa',
  'zoho.uk',
  'zohocloud.ca',
  'gohighlevel.com',
  'leadconnectorhq.com',
] as const;

const MAX_URL_LENGTH = 4096;
// Controls (Cc), spaces, backslashes and line separators: the URL parser would silently drop or
// reinterpret them.
const SUSPICIOUS_CHARS = /[\p{Cc} \\\u2028\u2029]/u;

export type ExternalUrlVerdict = { ok: true; url: string } | { ok: false; reason: string };

export interface ExternalUrlPolicy {
  /** Exact https origins also allowed (the configured bus). */
  extraOrigins: readonly string[];
}

function hostAllowed(hostname: string): boolean {
  return CRM_WEB_HOSTS.some((h) => hostname === h || hostname.endsWith(`.${h}`));
}

export function checkExternalUrl(raw: unknown, policy: ExternalUrlPolicy): ExternalUrlVerdict {
  if (typeof raw !== 'string' || raw.length === 0) return { ok: false, reason: 'not a URL' };
  if (raw.length > MAX_URL_LENGTH) return { ok: false, reason: 'URL too long' };
  if (SUSPICIOUS_CHARS.test(raw)) return { ok: false, reason: 'URL contains control characters or spaces' };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'not a URL' };
  }
  if (url.protocol !== 'https:') return { ok: false, reason: `scheme ${url.protocol} is never opened` };
  if (url.username || url.password) return { ok: false, reason: 'URL carries credentials' };
  if (url.port !== '') return { ok: false, reason: 'URL names a port' };
  const extra = policy.extraOrigins.some((o) => safeOrigin(o) === url.origin);
  if (!extra && !hostAllowed(url.hostname)) return { ok: false, reason: `host ${url.hostname} is not a CRM` };
  return { ok: true, url: url.href };
}

function safeOrigin(raw: string): string | null {
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' ? url.origin : null;
  } catch {
    return null;
  }
}
