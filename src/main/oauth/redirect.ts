// Catching the browser's redirect back to the app (RFC 8252): a one-shot loopback HTTP listener
// on 127.0.0.1 with an ephemeral port, or the app's custom URL scheme handed over by the Electron
// glue. Either accepts only the expected path and `state`; a forged or stray request changes nothing.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RedirectCatcher {
  /** The redirect_uri to put in the authorize URL and the code exchange. */
  readonly redirectUri: string;
  /** Query parameters of the accepted callback (code, state and whatever the CRM adds). */
  readonly result: Promise<URLSearchParams>;
  close(): Promise<void>;
}

export class SignInError extends Error {
  constructor(
    readonly code: 'timeout' | 'denied' | 'closed',
    message: string,
  ) {
    super(message);
    this.name = 'SignInError';
  }
}

export const DEFAULT_SIGN_IN_TIMEOUT_MS = 5 * 60_000;
const CALLBACK_PATH = '/oauth/callback';

const PAGE = (title: string, text: string) =>
  `<!doctype html><meta charset="utf-8"><title>${title}</title>` +
  `<body style="font-family:system-ui;margin:3em"><h1>${title}</h1><p>${text}</p></body>`;

export interface LoopbackOptions {
  state: string;
  /** Host written into redirect_uri; we always bind 127.0.0.1. Some CRMs only accept `localhost`. */
  host?: '127.0.0.1' | 'localhost';
  timeoutMs?: number;
}

export async function listenOnLoopback(opts: LoopbackOptions): Promise<RedirectCatcher> {
  let settle!: { resolve: (p: URLSearchParams) => void; reject: (e: Error) => void };
  const result = new Promise<URLSearchParams>((resolve, reject) => (settle = { resolve, reject }));
  result.catch(() => undefined); // the caller observes it; never an unhandled rejection
  let done = false;

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const reply = (status: number, title: string, text: string) => {
      res.writeHead(status, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        // The URL carried the code: never send it onward as a referrer.
        'referrer-policy': 'no-referrer',
        connection: 'close',
      });
      res.end(PAGE(title, text));
    };
    if (req.method !== 'GET' || url.pathname !== CALLBACK_PATH) return reply(404, 'Not found', 'Nothing here.');
    if (done || url.searchParams.get('state') !== opts.state) {
      return reply(400, 'Sign-in not recognised', 'This sign-in link does not belong to the sign-in Ringbridge started. Start again from the app.');
    }
    done = true;
    const error = url.searchParams.get('error');
    if (error) {
      reply(200, 'Sign-in cancelled', 'You can close this tab and return to Ringbridge.');
      settle.reject(new SignInError('denied', `the CRM did not grant access (${error})`));
    } else if (!url.searchParams.get('code')) {
      reply(400, 'Sign-in failed', 'The CRM sent no authorisation code. Start again from the app.');
      settle.reject(new SignInError('denied', 'the CRM redirect carried no code'));
    } else {
      reply(200, 'Signed in', 'You can close this tab and return to Ringbridge.');
      settle.resolve(url.searchParams);
    }
    void close();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const timer = setTimeout(() => {
    settle.reject(new SignInError('timeout', 'sign-in was not completed in time'));
    void close();
  }, opts.timeoutMs ?? DEFAULT_SIGN_IN_TIMEOUT_MS);

  let closing: Promise<void> | null = null;
  function close(): Promise<void> {
    clearTimeout(timer);
    settle.reject(new SignInError('closed', 'sign-in was abandoned'));
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    return closing;
  }

  return { redirectUri: `http://${opts.host ?? '127.0.0.1'}:${port}${CALLBACK_PATH}`, result, close };
}

/**
 * Redirects to the app's own scheme (e.g. `ringbridge://oauth/callback`). The Electron glue
 * passes every URL it receives (open-url, second-instance argv) to `deliver`.
 */
export class SchemeRedirects {
  private readonly pending = new Map<string, (params: URLSearchParams) => void>();

  constructor(readonly redirectUri: string) {}

  expect(state: string, timeoutMs = DEFAULT_SIGN_IN_TIMEOUT_MS): RedirectCatcher {
    let timer: NodeJS.Timeout | undefined;
    let fail!: (e: Error) => void;
    const result = new Promise<URLSearchParams>((resolve, reject) => {
      fail = reject;
      this.pending.set(state, (params) => {
        clearTimeout(timer);
        this.pending.delete(state);
        const error = params.get('error');
        if (error) reject(new SignInError('denied', `the CRM did not grant access (${error})`));
        else if (!params.get('code')) reject(new SignInError('denied', 'the CRM redirect carried no code'));
        else resolve(params);
      });
      timer = setTimeout(() => {
        this.pending.delete(state);
        reject(new SignInError('timeout', 'sign-in was not completed in time'));
      }, timeoutMs);
    });
    result.catch(() => undefined);
    return {
      redirectUri: this.redirectUri,
      result,
      close: async () => {
        clearTimeout(timer);
        this.pending.delete(state);
        fail(new SignInError('closed', 'sign-in was abandoned'));
      },
    };
  }

  /** True when the URL completed a sign-in in progress; anything else is ignored. */
  deliver(rawUrl: string): boolean {
    let url: URL;
    let expected: URL;
    try {
      url = new URL(rawUrl);
      expected = new URL(this.redirectUri);
    } catch {
      return false;
    }
    if (url.protocol !== expected.protocol || url.host !== expected.host || url.pathname !== expected.pathname) return false;
    const handler = this.pending.get(url.searchParams.get('state') ?? '');
    if (!handler) return false;
    handler(url.searchParams);
    return true;
  }
}
