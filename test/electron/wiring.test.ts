// The Electron checklist asserted on the wiring, not only on the pure rules: each glue function
// gets a fake webContents / session / protocol / globalShortcut / autoUpdater (no Electron binary
// here) and the test fires what a hostile page, the OS or the update server would.
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { DialController, type DialFeedback } from '../../src/main/dial/index.js';
import { createDialShortcut } from '../../src/main/electron/dial-shortcut.js';
import { guardWebContents, lockDownSession, serveAppScheme } from '../../src/main/electron/guards.js';
import { applyLoginItem } from '../../src/main/electron/login-item.js';
import { createAppUrlMatcher } from '../../src/main/electron/policy/app-origin.js';
import { APP_ENTRY_URL } from '../../src/main/electron/policy/app-scheme.js';
import { loginItemPlan } from '../../src/main/electron/policy/login-item.js';
import { callInProgress, IDLE_INSTALL_AFTER_SEC, policySource, updatePlan } from '../../src/main/electron/policy/update-policy.js';
import { CHECK_EVERY_MS, IDLE_POLL_MS, readAdminPolicy, startUpdates, type UpdaterLike } from '../../src/main/electron/updates.js';

const log = () => ({ info: vi.fn(), warn: vi.fn(), error: vi.fn() });

function fakeContents() {
  const emitter = new EventEmitter();
  let openHandler: ((details: { url: string }) => { action: string }) | null = null;
  const contents = {
    on: (name: string, fn: (...args: unknown[]) => void) => emitter.on(name, fn),
    setWindowOpenHandler: (fn: typeof openHandler) => {
      openHandler = fn;
    },
  };
  const fire = (name: string, ...args: unknown[]) => {
    const event = { defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    emitter.emit(name, event, ...args);
    return event.defaultPrevented;
  };
  return { contents: contents as never, fire, open: (url: string) => openHandler!({ url }) };
}

describe('webContents guards', () => {
  const setup = () => {
    const fake = fakeContents();
    const openExternal = vi.fn(async () => true);
    guardWebContents(fake.contents, { isAppUrl: createAppUrlMatcher({}), openExternal, log: log() });
    return { ...fake, openExternal };
  };

  it('denies every new window and sends its URL to the checked external opener', () => {
    const { open, openExternal } = setup();
    expect(open('https://app.hubspot.com/contacts/1')).toEqual({ action: 'deny' });
    expect(open('javascript:alert(1)')).toEqual({ action: 'deny' });
    expect(openExternal.mock.calls.map((c) => (c as unknown[])[0])).toEqual(['https://app.hubspot.com/contacts/1', 'javascript:alert(1)']);
  });

  it('blocks navigation and redirects away from the app, and allows its own pages', () => {
    const { fire } = setup();
    expect(fire('will-navigate', 'https://evil.example/')).toBe(true);
    expect(fire('will-redirect', 'file:///etc/passwd')).toBe(true);
    expect(fire('will-navigate', 'ringbridge-app://evil/index.html')).toBe(true);
    expect(fire('will-navigate', `${APP_ENTRY_URL}#/settings`)).toBe(false);
  });

  it('refuses to attach a <webview>', () => {
    expect(setup().fire('will-attach-webview', {}, {})).toBe(true);
  });
});

describe('session lock-down', () => {
  it('denies every permission request, check and device, and puts the CSP on every response', () => {
    const handlers: Record<string, (...args: never[]) => unknown> = {};
    const session = {
      setPermissionRequestHandler: (fn: never) => (handlers.request = fn),
      setPermissionCheckHandler: (fn: never) => (handlers.check = fn),
      setDevicePermissionHandler: (fn: never) => (handlers.device = fn),
      webRequest: { onHeadersReceived: (fn: never) => (handlers.headers = fn) },
    };
    lockDownSession(session as never, "default-src 'self'");
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) {
      const answer = vi.fn();
      (handlers.request as (...a: unknown[]) => void)({}, permission, answer);
      expect(answer).toHaveBeenCalledWith(false);
      expect((handlers.check as (...a: unknown[]) => unknown)({}, permission)).toBe(false);
    }
    expect((handlers.device as (...a: unknown[]) => unknown)({ deviceType: 'usb' })).toBe(false);
    const headers = vi.fn();
    (handlers.headers as (...a: unknown[]) => void)({ responseHeaders: { 'Content-Type': ['text/html'] } }, headers);
    expect(headers).toHaveBeenCalledWith({ responseHeaders: { 'Content-Type': ['text/html'], 'Content-Security-Policy': ["default-src 'self'"] } });
  });
});

describe('ringbridge-app:// handler', () => {
  it('answers the app scheme with the built renderer and refuses traversal, through protocol.handle', async () => {
    const root = join(mkdtempSync(join(tmpdir(), 'scheme-')), 'renderer');
    mkdirSync(root);
    writeFileSync(join(root, 'index.html'), '<title>Ringbridge</title>');
    writeFileSync(join(root, '..', 'secret.json'), '{}');
    let scheme = '';
    let handler: ((request: Request) => Promise<Response>) | null = null;
    serveAppScheme({ handle: (s: string, fn: never) => ((scheme = s), (handler = fn)) } as never, root, readFile, "default-src 'self'");
    expect(scheme).toBe('ringbridge-app');
    const page = await handler!(new Request(APP_ENTRY_URL));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe("default-src 'self'");
    expect(await page.text()).toBe('<title>Ringbridge</title>');
    expect((await handler!(new Request('ringbridge-app://ui/%2e%2e/secret.json'))).status).toBe(404);
  });
});

describe('dial shortcut', () => {
  function setup(taken: string[] = []) {
    const registered = new Map<string, () => void>();
    const globalShortcut = {
      register: vi.fn((acc: string, fn: () => void) => (taken.includes(acc) ? false : (registered.set(acc, fn), true))),
      unregister: vi.fn((acc: string) => registered.delete(acc)),
    };
    const dial = vi.fn();
    const notice = vi.fn();
    let clipboard = ' +1 (415) 555-2671 ';
    const shortcut = createDialShortcut({ globalShortcut: globalShortcut as never, readClipboard: async () => clipboard, dial, notice, log: log() });
    return { shortcut, registered, dial, notice, setClipboard: (t: string) => (clipboard = t) };
  }

  it('dials the clipboard text through the tel: path when the shortcut is pressed', async () => {
    const { shortcut, registered, dial, setClipboard } = setup();
    shortcut.apply('CommandOrControl+Shift+D');
    registered.get('CommandOrControl+Shift+D')!();
    await vi.waitFor(() => expect(dial).toHaveBeenCalledTimes(1));
    setClipboard('not a number');
    registered.get('CommandOrControl+Shift+D')!();
    await vi.waitFor(() => expect(dial).toHaveBeenCalledTimes(2));
    expect(dial.mock.calls).toEqual([[' +1 (415) 555-2671 '], ['not a number']]);
  });

  it('goes through the same parser, confirmation and feedback as a tel: link (the real DialController)', async () => {
    const registered = new Map<string, () => void>();
    const dialled: string[] = [];
    const feedback: DialFeedback[] = [];
    const confirmDial = vi.fn(async () => true);
    const controller = new DialController({
      transport: { dial: async (e164) => (dialled.push(e164), { type: 'dial_result', ok: true, e164 }) as never },
      confirm: { confirmDial },
      feedback: { dialFeedback: (f) => feedback.push(f) },
      policy: () => ({ defaultCountry: 'US', confirmBeforeDial: true }),
      logger: pino({ level: 'silent' }),
    });
    const viaShortcut = createDialShortcut({
      globalShortcut: { register: (acc: string, fn: () => void) => (registered.set(acc, fn), true), unregister: () => undefined } as never,
      readClipboard: async () => clip,
      dial: (raw) => void controller.dial(raw),
      notice: vi.fn(),
      log: log(),
    });
    let clip = 'Call me on (415) 555-2671';
    viaShortcut.apply('Alt+F9');
    registered.get('Alt+F9')!();
    await vi.waitFor(() => expect(feedback).toHaveLength(1));
    expect(feedback[0]).toMatchObject({ kind: 'refused' }); // prose around a number is not a number, as for a link
    clip = 'tel:+1-415-555-2671';
    registered.get('Alt+F9')!();
    await vi.waitFor(() => expect(feedback).toHaveLength(2));
    expect(confirmDial).toHaveBeenCalledWith({ e164: '+14155552671', display: expect.any(String) });
    expect(dialled).toEqual(['+14155552671']);
    expect(feedback[1]).toMatchObject({ kind: 'placed', e164: '+14155552671' });
  });

  it('moves to a new shortcut, turns off with an empty one, and releases it on quit', () => {
    const { shortcut, registered } = setup();
    shortcut.apply('CommandOrControl+Shift+D');
    shortcut.apply('Alt+F9');
    expect([...registered.keys()]).toEqual(['Alt+F9']);
    shortcut.apply('');
    expect(registered.size).toBe(0);
    shortcut.apply('Alt+F9');
    shortcut.dispose();
    expect(registered.size).toBe(0);
  });

  it('keeps the old shortcut and says so when another app holds the new one', () => {
    const { shortcut, registered, notice } = setup(['Control+Alt+T']);
    shortcut.apply('CommandOrControl+Shift+D');
    shortcut.apply('Control+Alt+T');
    expect([...registered.keys()]).toEqual(['CommandOrControl+Shift+D']);
    expect(notice).toHaveBeenCalledWith('Shortcut not available', expect.stringContaining('Control+Alt+T is already used by another app'));
  });
});

describe('update channel', () => {
  function setup(mode: 'off' | 'notify' | 'install-when-idle', feedUrl: string | null = null) {
    const emitter = new EventEmitter();
    const updater = {
      autoDownload: false,
      autoInstallOnAppQuit: false,
      checkForUpdates: vi.fn(async () => null),
      quitAndInstall: vi.fn(),
      setFeedURL: vi.fn(),
      on: (name: string, fn: (...a: unknown[]) => void) => emitter.on(name, fn),
    };
    const timers: Array<{ ms: number; run: () => void }> = [];
    const state = { inCall: false, idleSec: 0 };
    const notice = vi.fn();
    const made = { count: 0 };
    startUpdates({
      updater: () => (made.count++, updater as unknown as UpdaterLike),
      plan: { mode, why: 'test', feedUrl },
      inCall: () => state.inCall,
      idleSec: () => state.idleSec,
      notice,
      every: (ms, run) => (timers.push({ ms, run }), () => {}),
      log: log(),
    });
    const tick = (ms: number) => timers.filter((t) => t.ms === ms).forEach((t) => t.run());
    return { updater, emitter, state, tick, notice, timers, made };
  }

  it('off: never creates the updater, checks, downloads or installs', () => {
    const { updater, timers, made } = setup('off');
    expect(made.count).toBe(0);
    expect(updater.checkForUpdates).not.toHaveBeenCalled();
    expect(timers).toEqual([]);
  });

  it('notify: checks at start and every 4 hours, tells the agent, installs only when the app quits', () => {
    const { updater, emitter, tick, notice, state } = setup('notify', 'https://updates.example.com/rb/');
    expect(updater.setFeedURL).toHaveBeenCalledWith({ provider: 'generic', url: 'https://updates.example.com/rb/' });
    expect([updater.autoDownload, updater.autoInstallOnAppQuit]).toEqual([true, true]);
    tick(CHECK_EVERY_MS);
    expect(updater.checkForUpdates).toHaveBeenCalledTimes(2);
    emitter.emit('update-downloaded', { version: '2.0.0' });
    expect(notice).toHaveBeenCalledWith('Ringbridge 2.0.0 is ready', 'It installs when you quit Ringbridge.');
    state.idleSec = IDLE_INSTALL_AFTER_SEC * 10;
    tick(IDLE_POLL_MS);
    expect(updater.quitAndInstall).not.toHaveBeenCalled();
  });

  it('install-when-idle: installs a downloaded update when idle, never while a call rings or talks', () => {
    const { updater, emitter, tick, state } = setup('install-when-idle');
    state.idleSec = IDLE_INSTALL_AFTER_SEC;
    tick(IDLE_POLL_MS);
    expect(updater.quitAndInstall).not.toHaveBeenCalled(); // nothing downloaded yet
    emitter.emit('update-downloaded', { version: '2.0.0' });
    state.inCall = true;
    tick(IDLE_POLL_MS);
    expect(updater.quitAndInstall).not.toHaveBeenCalled();
    state.inCall = false;
    state.idleSec = 30;
    tick(IDLE_POLL_MS);
    expect(updater.quitAndInstall).not.toHaveBeenCalled();
    state.idleSec = IDLE_INSTALL_AFTER_SEC;
    tick(IDLE_POLL_MS);
    expect(updater.quitAndInstall).toHaveBeenCalledWith(true, true);
  });

  it('reads the policy from the registry on Windows and the file elsewhere; none set means null', async () => {
    const asked: string[] = [];
    const ports = {
      regQuery: async (key: string) => (asked.push(key), '    UpdateMode    REG_SZ    off\r\n'),
      readFile: async (path: string) => (asked.push(path), null),
    };
    expect(await readAdminPolicy(policySource('win32'), ports)).toEqual({ ok: true, policy: { updateMode: 'off' } });
    expect(await readAdminPolicy(policySource('linux'), ports)).toBeNull();
    expect(asked).toEqual(['HKLM\\SOFTWARE\\Policies\\Ringbridge', '/etc/ringbridge/policy.json']);
  });

  it('counts a ringing or talking call as a call in progress, not one in wrap-up', () => {
    expect(callInProgress([{ state: 'wrap_up' }])).toBe(false);
    expect(callInProgress([{ state: 'wrap_up' }, { state: 'talking' }])).toBe(true);
    expect(callInProgress([{ state: 'ringing' }])).toBe(true);
  });

  it('an MSI install gets no update channel even with install-when-idle in the policy', () => {
    const plan = updatePlan('msi', { ok: true, policy: { updateMode: 'install-when-idle' } });
    expect(plan.mode).toBe('off');
  });
});

describe('start at login', () => {
  it('asks Electron on Windows, writes and removes the autostart entry on Linux, and survives a failure', () => {
    const ports = { setLoginItemSettings: vi.fn(), writeFile: vi.fn(), removeFile: vi.fn(), log: log() };
    const base = { isPackaged: true, execPath: '/opt/Ringbridge/ringbridge', env: { HOME: '/home/a' } };
    applyLoginItem(loginItemPlan({ ...base, startAtLogin: true, platform: 'win32' }), ports);
    expect(ports.setLoginItemSettings).toHaveBeenCalledWith({ openAtLogin: true, args: ['--hidden'] });
    applyLoginItem(loginItemPlan({ ...base, startAtLogin: true, platform: 'linux' }), ports);
    expect(ports.writeFile).toHaveBeenCalledWith('/home/a/.config/autostart/ringbridge.desktop', expect.stringContaining('Exec="/opt/Ringbridge/ringbridge" --hidden'));
    applyLoginItem(loginItemPlan({ ...base, startAtLogin: false, platform: 'linux' }), ports);
    expect(ports.removeFile).toHaveBeenCalledWith('/home/a/.config/autostart/ringbridge.desktop');
    ports.setLoginItemSettings.mockImplementation(() => {
      throw new Error('registry locked');
    });
    expect(() => applyLoginItem(loginItemPlan({ ...base, startAtLogin: true, platform: 'win32' }), ports)).not.toThrow();
    expect(ports.log.warn).toHaveBeenCalled();
  });
});
