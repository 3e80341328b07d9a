// The Electron security checklist as wiring: what every webContents, the session and the app's
// own scheme get. Only type imports from electron, so a test hands each function a fake
// webContents/session/protocol and fires the events a hostile page would.
import type { Protocol, Session, WebContents } from 'electron';
import type { ShellLogger } from './logger.js';
import type { OpenExternal } from './open-external.js';
import type { AppUrlMatcher } from './policy/app-origin.js';
import { APP_SCHEME, serveAppAsset } from './policy/app-scheme.js';

export interface GuardDeps {
  isAppUrl: AppUrlMatcher;
  openExternal: OpenExternal;
  log: ShellLogger;
}

type Guardable = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

/** No new windows (links go to the browser through the gate), no navigation away, no <webview>. */
export function guardWebContents(contents: Guardable, deps: GuardDeps): void {
  contents.setWindowOpenHandler(({ url }) => {
    void deps.openExternal(url); // CRM links go to the browser through the gate; nothing opens in-app
    return { action: 'deny' };
  });
  const guard = (event: Electron.Event, url: string) => {
    if (deps.isAppUrl(url)) return;
    event.preventDefault();
    deps.log.warn({}, 'blocked navigation away from the app');
  };
  contents.on('will-navigate', guard);
  contents.on('will-redirect', guard);
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    deps.log.warn({}, 'blocked a <webview>');
  });
}

type Lockable = Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler'> & {
  webRequest: Pick<Session['webRequest'], 'onHeadersReceived'>;
};

/** Session-wide locks: the CSP on every response, no permission or device ever granted to web content. */
export function lockDownSession(session: Lockable, csp: string): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } });
  });
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
}

/** Answers ringbridge-app:// from `root` (out/renderer); call after `ready`. */
export function serveAppScheme(
  protocol: Pick<Protocol, 'handle'>,
  root: string,
  readFile: (path: string) => Promise<Uint8Array>,
  csp: string,
): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const answer = await serveAppAsset(root, request.url, readFile, csp);
    return new Response(answer.body, { status: answer.status, headers: answer.headers });
  });
}
