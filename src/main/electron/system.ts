// The agent's hooks into the OS once it runs: start at login, the dial shortcut and the update
// channel, each a thin call into its tested module with Electron's real objects.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { app, clipboard, globalShortcut, powerMonitor } from 'electron';
import electronUpdater from 'electron-updater';
import type { Settings } from '../../shared/ipc.js';
import type { ShellAgent } from './app.js';
import { createDialShortcut } from './dial-shortcut.js';
import { applyLoginItem } from './login-item.js';
import type { ShellLogger } from './logger.js';
import { loginItemPlan } from './policy/login-item.js';
import { callInProgress, installKind, policySource, updatePlan } from './policy/update-policy.js';
import { readAdminPolicy, startUpdates } from './updates.js';

type SystemAgent = Pick<ShellAgent, 'settings' | 'onSettings' | 'dial' | 'onCallPanel'>;

const missingAsNull = (err: unknown) => {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
  throw err;
};

function regQuery(key: string): Promise<string | null> {
  return new Promise((resolve, reject) => {
    execFile('reg', ['query', key], { timeout: 10_000, windowsHide: true }, (err, stdout) => {
      if (!err) resolve(stdout);
      else if (err.code === 1) resolve(null); // reg's "unable to find the specified registry key"
      else reject(err);
    });
  });
}

/** On Linux the selected text itself (the primary selection); elsewhere, and with nothing selected, the clipboard. */
async function readClipboard(): Promise<string> {
  const selected = process.platform === 'linux' ? await clipboard.selection.readText().catch(() => '') : '';
  return selected.trim() !== '' ? selected : clipboard.readText();
}

/** Starts all three; returns what to undo at quit. */
export function startSystemIntegration(agent: SystemAgent, notice: (title: string, body: string) => void, log: ShellLogger): () => void {
  const shortcut = createDialShortcut({ globalShortcut, readClipboard, dial: (raw) => agent.dial(raw), notice, log });
  const apply = (settings: Settings) => {
    applyLoginItem(
      loginItemPlan({ startAtLogin: settings.startAtLogin, isPackaged: app.isPackaged, platform: process.platform, execPath: process.execPath, env: process.env }),
      {
        setLoginItemSettings: (options) => app.setLoginItemSettings(options),
        writeFile: (path, content) => {
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, content);
        },
        removeFile: (path) => rmSync(path, { force: true }),
        log,
      },
    );
    shortcut.apply(settings.dialShortcut);
  };
  apply(agent.settings());
  const offSettings = agent.onSettings(apply);

  let inCall = false;
  const offPanel = agent.onCallPanel((panel) => {
    inCall = callInProgress(panel.calls);
  });
  let stopUpdates = () => {};
  const kind = installKind({ platform: process.platform, isPackaged: app.isPackaged, execPath: process.execPath, env: process.env, exists: existsSync });
  void readAdminPolicy(policySource(process.platform), { regQuery, readFile: (path) => readFile(path, 'utf8').catch(missingAsNull) })
    .catch((err: unknown) => ({ ok: false as const, reason: err instanceof Error ? err.message : String(err) }))
    .then((read) => {
      stopUpdates = startUpdates({
        updater: () => electronUpdater.autoUpdater,
        plan: updatePlan(kind, read),
        inCall: () => inCall,
        idleSec: () => powerMonitor.getSystemIdleTime(),
        notice,
        every: (ms, run) => {
          const timer = setInterval(run, ms);
          return () => clearInterval(timer);
        },
        log,
      });
    });

  return () => {
    offSettings();
    offPanel();
    shortcut.dispose();
    stopUpdates();
  };
}
