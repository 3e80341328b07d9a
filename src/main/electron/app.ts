// The Electron lifecycle around the agent: sandbox and single-instance lock before anything
// else, protocol links queued until ready, then window, tray, IPC and notifications wired to
// the capabilities index.ts builds. Everything electron-specific stays in this folder.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, protocol as schemes, session } from 'electron';
import type { AppState, CallPanel, CrmStatus, Settings } from '../../shared/ipc.js';
import type { SecretStore } from '../storage/secret-store.js';
import { confirmDialDialog } from './dialogs.js';
import { handleAll, send, type InvokeHandlers } from './ipc.js';
import type { ShellLogger } from './logger.js';
import { ElectronNotifier } from './notifications.js';
import { guardWebContents, lockDownSession, serveAppScheme } from './guards.js';
import { createExternalOpener, type OpenExternal } from './open-external.js';
import { createAppUrlMatcher } from './policy/app-origin.js';
import { APP_ENTRY_URL, APP_SCHEME, APP_SCHEME_PRIVILEGES } from './policy/app-scheme.js';
import { contentSecurityPolicy } from './policy/csp.js';
import type { DeepLink } from './policy/deep-link.js';
import { registerProtocolHandling } from './protocol.js';
import { createSecretStore } from './secret-store.js';
import { startSystemIntegration } from './system.js';
import { createTray, type AppTray } from './tray.js';
import { createMainWindow } from './window.js';

/** Must equal the installer's appId, or Windows toasts lose their title and icon. */
export const APP_USER_MODEL_ID = 'com.ringbridge.agent';

/** What the Electron shell hands the capabilities. */
export interface ShellPorts {
  notifier: ElectronNotifier;
  secrets: SecretStore;
  confirmDial(display: string): Promise<boolean>;
  openExternal: OpenExternal;
  userDataDir: string;
  /** The OS locale's region, a sensible first default country. */
  systemCountry: string | null;
}

/** What the capabilities hand back to the shell. */
export interface ShellAgent {
  handlers: InvokeHandlers;
  state(): AppState;
  settings(): Settings;
  onState(listener: (state: AppState) => void): () => void;
  onSettings(listener: (settings: Settings) => void): () => void;
  onHistory(listener: () => void): () => void;
  onCrmStatus(listener: (status: CrmStatus) => void): () => void;
  /** The Call panel changed (a call rang, was answered, ended into wrap-up, was saved). */
  onCallPanel(listener: (panel: CallPanel) => void): () => void;
  /** A ringbridge:// link; true when it completed a CRM sign-in (e.g. Zoho's redirect to the app). */
  handleAppUrl(url: string): boolean;
  /** A tel:/callto: link or typed number; the dial capability parses, confirms and reports. */
  dial(raw: string): void;
  /** Through 3CX when the agent's status is known; rejects with the bus's reason. */
  setDoNotDisturb(on: boolean): Promise<void>;
  /** https origin of the paired bus, for the openExternal allow-list. */
  busOrigin(): string | null;
  stop(): Promise<void>;
}

export interface ShellOptions {
  log: ShellLogger;
  build(ports: ShellPorts): Promise<ShellAgent>;
}

export function runShell({ log, build }: ShellOptions): void {
  // First: a second copy only forwards its argv (the tel: link) to us and leaves.
  if (!app.requestSingleInstanceLock()) {
    app.exit(0);
    return;
  }
  // The global switch: every renderer, including any a bug might open, is sandboxed.
  app.enableSandbox();
  app.setAppUserModelId(APP_USER_MODEL_ID);

  // The renderer comes from ringbridge-app://ui/ (out/renderer), never file://; before `ready`.
  schemes.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: APP_SCHEME_PRIVILEGES }]);

  const devServerUrl = !app.isPackaged ? process.env['ELECTRON_RENDERER_URL'] : undefined;
  const isAppUrl = createAppUrlMatcher({ devServerUrl });

  let agent: ShellAgent | null = null;
  const openExternal = createExternalOpener(() => {
    const bus = agent?.busOrigin();
    return { extraOrigins: bus ? [bus] : [] };
  }, log);
  // Every webContents, the window's and any a bug might create, gets the same guards.
  app.on('web-contents-created', (_event, contents) => guardWebContents(contents, { isAppUrl, openExternal, log }));
  const window = createMainWindow({
    preloadPath: fileURLToPath(new URL('../preload/index.cjs', import.meta.url)),
    url: devServerUrl ?? APP_ENTRY_URL,
  });

  const testMode = process.env['NODE_ENV'] === 'test';
  const linksSeen: string[] = [];
  const onLink = (link: DeepLink) => {
    if (testMode) linksSeen.push(link.kind === 'dial' ? link.raw : link.url.href);
    if (link.kind === 'dial') agent?.dial(link.raw);
    else if (!agent?.handleAppUrl(link.url.href)) window.show(); // any other app link opens the window
  };
  const protocol = registerProtocolHandling(onLink, () => window.show(), log);

  let tray: AppTray | null = null;
  let stopSystem = () => {};
  app.on('window-all-closed', () => {
    /* a tray app keeps running with no window */
  });
  app.on('before-quit', () => {
    window.allowClose();
    stopSystem();
    tray?.destroy();
    tray = null;
  });
  app.on('will-quit', (event) => {
    if (!agent) return;
    const stopping = agent;
    agent = null;
    event.preventDefault();
    void stopping.stop().finally(() => app.quit());
  });

  void app.whenReady().then(async () => {
    const csp = contentSecurityPolicy({ dev: Boolean(devServerUrl), forMeta: false });
    lockDownSession(session.defaultSession, csp);
    serveAppScheme(schemes, fileURLToPath(new URL('../renderer', import.meta.url)), readFile, csp);
    const notifier = new ElectronNotifier(openExternal, log);
    const built = await build({
      notifier,
      secrets: createSecretStore(log),
      confirmDial: confirmDialDialog,
      openExternal,
      userDataDir: app.getPath('userData'),
      systemCountry: app.getLocaleCountryCode() || null,
    });
    agent = built;
    handleAll(built.handlers, { isAppUrl, isOwnWebContents: window.isOwnWebContents }, log);

    const push = <T>(fn: (contents: Electron.WebContents, value: T) => void) => (value: T) => {
      const contents = window.contents();
      if (contents) fn(contents, value);
    };
    tray = createTray(join(app.getAppPath(), 'resources'), built.state(), (action) => {
      if (action === 'open') window.show();
      else if (action === 'dial') {
        window.show();
        push((c) => send(c, 'dialBoxRequested', null, log))(null);
      } else if (action === 'toggleDnd') built.setDoNotDisturb(!built.state().doNotDisturb).catch((err: Error) => notifier.notice('Do Not Disturb was not changed', err.message));
      else app.quit();
    });
    // Clicking a pop opens the window on the Call panel (the call, its record and its notes).
    notifier.onClick = () => {
      window.show();
      push((c) => send(c, 'callPanelRequested', null, log))(null);
    };
    // A pop's Answer / Hang up button: the pop id is the call key.
    notifier.onAction = (popId, action) => {
      Promise.resolve(built.handlers.controlCall(popId, action, null)).catch((err: Error) => notifier.notice('The call was not changed', err.message));
    };
    built.onState((state) => {
      tray?.update(state);
      push((c, s: AppState) => send(c, 'stateChanged', s, log))(state);
    });
    built.onSettings((settings) => push((c, s: Settings) => send(c, 'settingsChanged', s, log))(settings));
    // Start at login, the dial shortcut (same path as a tel: link) and the update channel.
    stopSystem = startSystemIntegration(built, (title, body) => notifier.notice(title, body), log);
    built.onHistory(() => push((c) => send(c, 'historyChanged', null, log))(null));
    built.onCrmStatus((status) => push((c, s: CrmStatus) => send(c, 'crmStatusChanged', s, log))(status));
    built.onCallPanel((panel) => push((c, p: CallPanel) => send(c, 'callPanelChanged', p, log))(panel));

    if (testMode) {
      // Read by test/electron/app.e2e.test.ts through electronApp.evaluate; absent in real runs.
      Object.assign(globalThis, {
        __ringbridgeTest: {
          hasTray: () => tray !== null,
          livePops: () => notifier.liveCount,
          links: () => [...linksSeen],
          showPop: (popId: string) =>
            notifier.show({ popId, title: 'Jane Citizen — Acme Pty Ltd', body: 'Last call 3 days ago', e164: '+61298765432', clickUrl: null, otherMatches: [], silent: true }),
        },
      });
    }

    if (built.state().bus === 'unpaired' || !process.argv.includes('--hidden')) window.show();
    protocol.ready();
  }).catch((err: unknown) => {
    log.error({ err: err instanceof Error ? err.message : String(err) }, 'agent failed to start');
    app.exit(1);
  });
}
