// The main window: created from the pinned options and closed to the tray. Its guards (no new
// windows, no navigation away, no <webview>) come from app.ts's web-contents-created, as every
// webContents' do.
import { BrowserWindow } from 'electron';
import { mainWindowOptions } from './policy/window-options.js';

export interface MainWindowDeps {
  preloadPath: string;
  /** The dev server, or the built index.html through the app's own scheme (never file://). */
  url: string;
}

export interface MainWindow {
  show(): void;
  /** The window's webContents when it exists (for events). */
  contents(): Electron.WebContents | null;
  isOwnWebContents(id: number): boolean;
  /** After this, closing the window quits instead of hiding to the tray. */
  allowClose(): void;
}

export function createMainWindow(deps: MainWindowDeps): MainWindow {
  let win: BrowserWindow | null = null;
  let closing = false;

  function build(): BrowserWindow {
    const created = new BrowserWindow(mainWindowOptions(deps.preloadPath));
    created.on('ready-to-show', () => created.show());
    created.on('close', (event) => {
      if (closing) return;
      event.preventDefault(); // the app lives in the tray; Quit is in its menu
      created.hide();
    });
    created.on('closed', () => {
      win = null;
    });
    void created.loadURL(deps.url);
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
