// The renderer is served from a privileged custom scheme (ringbridge-app://ui/...) instead of
// file://: a file: page shares one opaque origin with every file on disk, while this origin holds
// only what is under out/renderer. This module is the whole file server, pure apart from the
// readFile it is given: which URL maps to which file, and the headers each answer carries.
import { extname, resolve, sep } from 'node:path';

export const APP_SCHEME = 'ringbridge-app';
export const APP_HOST = 'ui';
export const APP_ENTRY_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

/**
 * What protocol.registerSchemesAsPrivileged gets. `standard` gives the scheme a real origin (so
 * 'self' in the CSP, relative URLs and ES modules work); `secure` makes it a secure context like
 * https. No bypassCSP, no corsEnabled, no stream/service-worker privileges: the UI needs none.
 */
export const APP_SCHEME_PRIVILEGES = { standard: true, secure: true, supportFetchAPI: true } as const;

/** Only the file types the renderer build writes; anything else is a 404, not a download. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

export type AssetLookup = { ok: true; path: string; contentType: string } | { ok: false; status: 400 | 404; reason: string };

/** Is this URL one of our pages (scheme and host), whatever its path? */
export function isAppSchemeUrl(url: URL): boolean {
  return url.protocol === `${APP_SCHEME}:` && url.host === APP_HOST;
}

/**
 * Maps a request URL to a file under `root`, or says why not. Refuses other hosts, encoded
 * separators and NUL bytes, and any path that resolves outside `root` however it is spelt.
 */
export function resolveAppAsset(root: string, rawUrl: string): AssetLookup {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return { ok: false, status: 400, reason: 'not a URL' };
  }
  if (!isAppSchemeUrl(url)) return { ok: false, status: 404, reason: 'not an app URL' };
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return { ok: false, status: 400, reason: 'bad percent-encoding' };
  }
  // %2F / %5C would be a separator only after decoding; a NUL would cut the path short in C code.
  if (/[\\\0]/.test(path) || /%2f|%5c/i.test(url.pathname)) return { ok: false, status: 400, reason: 'bad path' };
  if (path === '/' || path === '') path = '/index.html';
  const base = resolve(root);
  const file = resolve(base, `.${path}`);
  if (!file.startsWith(base + sep)) return { ok: false, status: 404, reason: 'outside the app' };
  const contentType = CONTENT_TYPES[extname(file).toLowerCase()];
  if (!contentType) return { ok: false, status: 404, reason: 'not a file type the app serves' };
  return { ok: true, path: file, contentType };
}

export interface AppAssetAnswer {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array | null;
}

/** The full answer for one request: the file with its type and the CSP, or a bodiless error. */
export async function serveAppAsset(
  root: string,
  rawUrl: string,
  readFile: (path: string) => Promise<Uint8Array>,
  csp: string,
): Promise<AppAssetAnswer> {
  const lookup = resolveAppAsset(root, rawUrl);
  if (!lookup.ok) return { status: lookup.status, headers: {}, body: null };
  try {
    const body = await readFile(lookup.path);
    return {
      status: 200,
      headers: { 'Content-Type': lookup.contentType, 'Content-Security-Policy': csp, 'X-Content-Type-Options': 'nosniff' },
      body,
    };
  } catch {
    return { status: 404, headers: {}, body: null }; // missing file or a directory
  }
}
