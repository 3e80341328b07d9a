// The main window: created from the pinned options, locked to our own pages, closed to the tray.
import { BrowserWindow, session } from 'electron';
import { contentSecurityPolicy } from './policy/csp.js';
import type { AppUrlMatcher } from './policy/app-origin.js';
import { mainWindowOptions } from './policy/window-options.js';
import type { OpenExternal } from './open-external.js';
import type { ShellLogger } from './logger.js';

export interface MainWindowDeps {
  preloadPath: string;
  /** What loadURL/loadFile gets: the dev server or the built index.html. */
  load: { url: string } | { file: string };
  isAppUrl: AppUrlMatcher;
  dev: boolean;
  openExternal: OpenExternal;
  log: ShellLogger;
}

export interface MainWindow {
  show(): void;
  /** The window's webContents when it exists (for events). */
  contents(): Electron.WebContents | null;
  isOwnWebContents(id: number): boolean;
  /** After this, closing the window quits instead of hiding to the tray. */
  allowClose(): void;
}

/** Session-wide locks: CSP on every response, no permission ever granted to web content. */
export function lockDownSession(dev: boolean): void {
  const csp = contentSecurityPolicy({ dev, forMeta: false });
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } });
  });
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
}

export function createMainWindow(deps: MainWindowDeps): MainWindow {
  let win: BrowserWindow | null = null;
  let closing = false;

  function build(): BrowserWindow {
    const created = new BrowserWindow(mainWindowOptions(deps.preloadPath));
    const contents = created.webContents;
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
    contents.on('will-attach-webview', (event) => event.preventDefault());
    created.on('ready-to-show', () => created.show());
    created.on('close', (event) => {
      if (closing) return;
      event.preventDefault(); // the app lives in the tray; Quit is in its menu
      created.hide();
    });
    created.on('closed', () => {
      win = null;
    });
    if ('url' in deps.load) void created.loadURL(deps.load.url);
    else void created.loadFile(deps.load.file);
    return created;
  }

  return {
    show() {
      win ??= build();
      if (win.isMinimized()) win.restore();
      win.show();
      win.focus();
    },
    contents: () => (win && !win.isDestroyed() ? win.webContents : null),
    isOwnWebContents: (id) => win !== null && !win.isDestroyed() && win.webContents.id === id,
    allowClose() {
      closing = true;
    },
  };
}
