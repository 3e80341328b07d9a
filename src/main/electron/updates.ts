// electron-updater driven by the admin's plan (policy/update-policy.ts). Only type imports from
// electron-updater: app.ts hands in the real autoUpdater, a test hands in a fake and a clock.
import type { AppUpdater } from 'electron-updater';
import type { ShellLogger } from './logger.js';
import { policyFromJson, policyFromRegQuery, shouldInstallNow, type PolicyRead, type PolicySource, type UpdatePlan } from './policy/update-policy.js';

/** Checks for a new version this often (and once at start). */
export const CHECK_EVERY_MS = 4 * 60 * 60 * 1000;
/** install-when-idle looks at idleness and calls this often once an update is downloaded. */
export const IDLE_POLL_MS = 60 * 1000;

export type UpdaterLike = Pick<AppUpdater, 'checkForUpdates' | 'quitAndInstall' | 'setFeedURL' | 'on' | 'autoDownload' | 'autoInstallOnAppQuit'>;

export interface PolicyPorts {
  /** `reg query <key>`'s output; null when the key does not exist. */
  regQuery(key: string): Promise<string | null>;
  /** The file's text; null when there is no such file. */
  readFile(path: string): Promise<string | null>;
}

/** The admin policy from its machine-wide source; null when the admin set none. */
export async function readAdminPolicy(source: PolicySource, ports: PolicyPorts): Promise<PolicyRead | null> {
  if (source.kind === 'registry') {
    const out = await ports.regQuery(source.key);
    return out === null ? null : policyFromRegQuery(out);
  }
  const text = await ports.readFile(source.path);
  return text === null ? null : policyFromJson(text, source.path);
}

export interface UpdateDeps {
  /** Called only when the plan is not off (electron-updater's autoUpdater is created on first use). */
  updater(): UpdaterLike;
  plan: UpdatePlan;
  /** A call of this agent is ringing or talking (wrap-up does not count: the call is over). */
  inCall(): boolean;
  /** Seconds since the last keyboard or mouse input (powerMonitor.getSystemIdleTime). */
  idleSec(): number;
  notice(title: string, body: string): void;
  every(ms: number, run: () => void): () => void;
  log: ShellLogger;
}

/** Starts the update channel per the plan; returns the stop function. `off` touches nothing. */
export function startUpdates(deps: UpdateDeps): () => void {
  const { plan, log } = deps;
  log.info({ mode: plan.mode, why: plan.why }, 'update policy');
  if (plan.mode === 'off') return () => {};
  const updater = deps.updater();
  if (plan.feedUrl) updater.setFeedURL({ provider: 'generic', url: plan.feedUrl });
  updater.autoDownload = true;
  // Quitting is the agent's own act; both modes install then.
  updater.autoInstallOnAppQuit = true;

  let downloaded = false;
  updater.on('update-downloaded', (info) => {
    downloaded = true;
    deps.notice(
      `Ringbridge ${info.version} is ready`,
      plan.mode === 'install-when-idle' ? 'It installs when you are away and not on a call, or when you quit Ringbridge.' : 'It installs when you quit Ringbridge.',
    );
  });
  updater.on('error', (err) => log.warn({ err: err.message }, 'update check failed'));

  const check = () => {
    updater.checkForUpdates().catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'update check failed'));
  };
  check();
  const stops = [deps.every(CHECK_EVERY_MS, check)];
  if (plan.mode === 'install-when-idle') {
    stops.push(
      deps.every(IDLE_POLL_MS, () => {
        if (!shouldInstallNow({ mode: plan.mode, downloaded, inCall: deps.inCall(), idleSec: deps.idleSec() })) return;
        log.info({}, 'installing the downloaded update while idle');
        updater.quitAndInstall(true, true); // silent, and start again afterwards
      }),
    );
  }
  return () => stops.forEach((stop) => stop());
}
