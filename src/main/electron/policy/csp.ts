// The window's Content-Security-Policy, one source for both the <meta> tag (written into
// index.html at build time) and the response header main adds. The renderer only talks to main
// over IPC, so it needs no network at all: connect-src 'none' in production.

export interface CspOptions {
  /** The electron-vite dev server needs its HMR websocket and the React refresh preamble. */
  dev: boolean;
  /** The meta tag cannot carry frame-ancestors (browsers ignore it there and warn). */
  forMeta: boolean;
}

export function contentSecurityPolicy({ dev, forMeta }: CspOptions): string {
  const directives: Array<[string, string]> = [
    ['default-src', "'self'"],
    // Dev only: @vitejs/plugin-react injects an inline refresh preamble. Never 'unsafe-eval'.
    ['script-src', dev ? "'self' 'unsafe-inline'" : "'self'"],
    ['style-src', "'self'"],
    ['img-src', "'self' data:"],
    ['font-src', "'self'"],
    ['connect-src', dev ? "'self' ws://localhost:* ws://127.0.0.1:*" : "'none'"],
    ['object-src', "'none'"],
    ['frame-src', "'none'"],
    ['worker-src', "'none'"],
    ['base-uri', "'none'"],
    ['form-action', "'none'"],
  ];
  if (!forMeta) directives.push(['frame-ancestors', "'none'"]);
  return directives.map(([name, value]) => `${name} ${value}`).join('; ');
}
