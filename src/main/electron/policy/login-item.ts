// Start at login (settings.startAtLogin, on by default): what to ask the OS for. Windows and macOS
// have app.setLoginItemSettings; Linux has none, so an XDG autostart entry is written instead.
// The app starts hidden in the tray at login (--hidden; app.ts shows the window only when unpaired).
// A development run is never registered: it would start bare Electron at every login.

export const HIDDEN_ARG = '--hidden';

export type LoginItemPlan =
  | { kind: 'electron'; settings: { openAtLogin: boolean; args: string[] } }
  | { kind: 'autostart'; path: string; content: string | null }
  | { kind: 'none'; reason: string };

export interface LoginItemFacts {
  startAtLogin: boolean;
  isPackaged: boolean;
  platform: NodeJS.Platform;
  execPath: string;
  /** XDG_CONFIG_HOME, HOME and APPIMAGE (the AppImage's own path: execPath is inside its mount). */
  env: Record<string, string | undefined>;
}

export function loginItemPlan(facts: LoginItemFacts): LoginItemPlan {
  if (!facts.isPackaged) return { kind: 'none', reason: 'a development run is not registered to start at login' };
  if (facts.platform === 'win32' || facts.platform === 'darwin') {
    return { kind: 'electron', settings: { openAtLogin: facts.startAtLogin, args: [HIDDEN_ARG] } };
  }
  const configHome = facts.env['XDG_CONFIG_HOME'] || (facts.env['HOME'] ? `${facts.env['HOME']}/.config` : null);
  if (!configHome) return { kind: 'none', reason: 'neither XDG_CONFIG_HOME nor HOME is set' };
  const path = `${configHome}/autostart/ringbridge.desktop`;
  if (!facts.startAtLogin) return { kind: 'autostart', path, content: null };
  const exe = facts.env['APPIMAGE'] || facts.execPath;
  // A % cannot be written in an Exec program path: GLib looks for the file with %% still in its name.
  if (/[%\p{Cc}]/u.test(exe)) return { kind: 'none', reason: `the app's path cannot be written in an autostart entry: ${JSON.stringify(exe)}` };
  return {
    kind: 'autostart',
    path,
    content: [
      '[Desktop Entry]',
      'Type=Application',
      'Name=Ringbridge',
      // Desktop Entry Exec quoting: the path in double quotes, with " ` $ \ escaped; then the string
      // value's own escaping, which readers undo first, doubles every backslash (\" becomes \\").
      `Exec="${exe.replace(/(["`$\\])/g, '\\$1').replace(/\\/g, '\\\\')}" ${HIDDEN_ARG}`,
      'X-GNOME-Autostart-enabled=true',
      'NoDisplay=true',
      '',
    ].join('\n'),
  };
}
