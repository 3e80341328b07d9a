// Who may update the agent, and when. IT decides, from a machine-wide place a user cannot write:
//   Windows  HKLM\SOFTWARE\Policies\Ringbridge  (values UpdateMode, UpdateUrl; GPO/Intune write here)
//   macOS    /Library/Application Support/Ringbridge/policy.json
//   Linux    /etc/ringbridge/policy.json           ({"updateMode": "...", "updateUrl": "https://..."})
// Modes: off (never check), notify (download, tell the agent, install when the app quits),
// install-when-idle (also install by itself once the machine is idle and no call is ringing or
// talking). The MSI and deb installs have no update channel at all: the fleet tool that installed
// them updates them. Pure: the glue (updates.ts) reads the sources and drives electron-updater.
import { win32 } from 'node:path';
import { z } from 'zod';

export const UPDATE_MODES = ['off', 'notify', 'install-when-idle'] as const;
export type UpdateMode = (typeof UPDATE_MODES)[number];

/** Without any policy an install tells the agent about updates; nothing installs by itself. */
export const DEFAULT_UPDATE_MODE: UpdateMode = 'notify';
export const POLICY_REGISTRY_KEY = 'HKLM\\SOFTWARE\\Policies\\Ringbridge';
export const PRODUCT_NAME = 'Ringbridge';

export type PolicySource = { kind: 'registry'; key: string } | { kind: 'file'; path: string };

export function policySource(platform: NodeJS.Platform): PolicySource {
  if (platform === 'win32') return { kind: 'registry', key: POLICY_REGISTRY_KEY };
  if (platform === 'darwin') return { kind: 'file', path: '/Library/Application Support/Ringbridge/policy.json' };
  return { kind: 'file', path: '/etc/ringbridge/policy.json' };
}

export const AdminPolicySchema = z
  .object({
    updateMode: z.enum(UPDATE_MODES).optional(),
    /** A company mirror of the update feed (electron-updater's generic provider); https only. */
    updateUrl: z.url({ protocol: /^https$/ }).optional(),
  })
  .strict();
export type AdminPolicy = z.infer<typeof AdminPolicySchema>;

export type PolicyRead = { ok: true; policy: AdminPolicy } | { ok: false; reason: string };

const REGISTRY_NAMES: Record<string, keyof AdminPolicy> = { updatemode: 'updateMode', updateurl: 'updateUrl' };

/** `reg query <key>` output -> the policy; a value we do not know is an error, as in the JSON file. */
export function policyFromRegQuery(stdout: string): PolicyRead {
  const values: Record<string, string> = {};
  for (const line of stdout.split(/\r?\n/)) {
    const match = /^\s+(\S+)\s+(REG_SZ|REG_EXPAND_SZ|REG_DWORD)\s+(.*)$/.exec(line);
    if (!match) continue;
    const name = REGISTRY_NAMES[match[1]!.toLowerCase()];
    if (!name) return { ok: false, reason: `${POLICY_REGISTRY_KEY} has a value Ringbridge does not know: ${match[1]}` };
    values[name] = match[3]!.trim();
  }
  return checked(values, POLICY_REGISTRY_KEY);
}

/** The JSON policy file's text -> the policy. */
export function policyFromJson(text: string, path: string): PolicyRead {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, reason: `${path} is not valid JSON.` };
  }
  return checked(raw, path);
}

function checked(raw: unknown, where: string): PolicyRead {
  const parsed = AdminPolicySchema.safeParse(raw);
  if (parsed.success) return { ok: true, policy: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, reason: `${where}: ${issue?.path.join('.') || 'policy'}: ${issue?.message ?? 'invalid'} (allowed updateMode: ${UPDATE_MODES.join(', ')})` };
}

export type InstallKind = 'nsis' | 'msi' | 'dmg' | 'appimage' | 'deb' | 'unpackaged';

export interface InstallFacts {
  platform: NodeJS.Platform;
  isPackaged: boolean;
  execPath: string;
  /** APPIMAGE is set by the AppImage runtime. */
  env: Record<string, string | undefined>;
  exists(path: string): boolean;
}

/**
 * How this copy was installed. The NSIS installer leaves its uninstaller beside the exe; the MSI
 * (and any copy IT placed by hand) does not, so it gets no self-update.
 */
export function installKind(facts: InstallFacts): InstallKind {
  if (!facts.isPackaged) return 'unpackaged';
  if (facts.platform === 'win32') {
    return facts.exists(win32.join(win32.dirname(facts.execPath), `Uninstall ${PRODUCT_NAME}.exe`)) ? 'nsis' : 'msi';
  }
  if (facts.platform === 'darwin') return 'dmg';
  return facts.env['APPIMAGE'] ? 'appimage' : 'deb';
}

const SELF_UPDATING: Record<InstallKind, string | null> = {
  nsis: null,
  dmg: null,
  appimage: null,
  msi: 'installed from the MSI: the deployment tool that installed it (Intune, SCCM, GPO) updates it',
  deb: 'installed from the .deb: the package manager updates it',
  unpackaged: 'a development run is never updated',
};

export interface UpdatePlan {
  mode: UpdateMode;
  /** Why the mode is what it is, for the log (and the admin reading it). */
  why: string;
  feedUrl: string | null;
}

/** The effective plan: the install kind first, then the admin policy; a broken policy means off. */
export function updatePlan(kind: InstallKind, read: PolicyRead | null): UpdatePlan {
  const noChannel = SELF_UPDATING[kind];
  if (noChannel) return { mode: 'off', why: noChannel, feedUrl: null };
  if (read === null) return { mode: DEFAULT_UPDATE_MODE, why: 'no admin policy: the default', feedUrl: null };
  // An admin who wrote a policy wants control: a policy we cannot read must not fall back to updating.
  if (!read.ok) return { mode: 'off', why: `the admin policy could not be read (${read.reason})`, feedUrl: null };
  return {
    mode: read.policy.updateMode ?? DEFAULT_UPDATE_MODE,
    why: read.policy.updateMode ? 'set by the admin policy' : 'admin policy without updateMode: the default',
    feedUrl: read.policy.updateUrl ?? null,
  };
}

/** Minutes without keyboard or mouse before an idle install may start. */
export const IDLE_INSTALL_AFTER_SEC = 10 * 60;

/** install-when-idle: a downloaded update installs only while nobody is on a call or at the keyboard. */
export function shouldInstallNow(input: { mode: UpdateMode; downloaded: boolean; inCall: boolean; idleSec: number }): boolean {
  return input.mode === 'install-when-idle' && input.downloaded && !input.inCall && input.idleSec >= IDLE_INSTALL_AFTER_SEC;
}


/** A call that rings or talks holds off an idle install; one in wrap-up does not (the call is over). */
export function callInProgress(calls: ReadonlyArray<{ state: string }>): boolean {
  return calls.some((call) => call.state === 'ringing' || call.state === 'talking');
}
