import { describe, expect, it } from 'vitest';
import { loginItemPlan, type LoginItemFacts } from './login-item.js';

const facts = (over: Partial<LoginItemFacts> = {}): LoginItemFacts => ({
  startAtLogin: true,
  isPackaged: true,
  platform: 'win32',
  execPath: 'C:\\Program Files\\Ringbridge\\Ringbridge.exe',
  env: { HOME: '/home/agent' },
  ...over,
});

describe('start at login', () => {
  it('registers an installed copy on Windows and macOS to start hidden in the tray, and unregisters it when turned off', () => {
    expect(loginItemPlan(facts())).toEqual({ kind: 'electron', settings: { openAtLogin: true, args: ['--hidden'] } });
    expect(loginItemPlan(facts({ platform: 'darwin', startAtLogin: false }))).toEqual({ kind: 'electron', settings: { openAtLogin: false, args: ['--hidden'] } });
  });

  it('writes an XDG autostart entry on Linux (the AppImage by its own path), and removes it when turned off', () => {
    const appImage = loginItemPlan(facts({ platform: 'linux', execPath: '/tmp/.mount_Ring/ringbridge', env: { HOME: '/home/agent', APPIMAGE: '/home/agent/Apps/Ringbridge "x".AppImage' } }));
    expect(appImage).toMatchObject({ kind: 'autostart', path: '/home/agent/.config/autostart/ringbridge.desktop' });
    expect(appImage.kind === 'autostart' && appImage.content).toContain('Exec="/home/agent/Apps/Ringbridge \\\\"x\\\\".AppImage" --hidden');
    const deb = loginItemPlan(facts({ platform: 'linux', execPath: '/opt/Ringbridge/ringbridge', env: { XDG_CONFIG_HOME: '/cfg', HOME: '/home/agent' } }));
    expect(deb).toMatchObject({ kind: 'autostart', path: '/cfg/autostart/ringbridge.desktop' });
    expect(deb.kind === 'autostart' && deb.content).toContain('Exec="/opt/Ringbridge/ringbridge" --hidden');
    expect(loginItemPlan(facts({ platform: 'linux', startAtLogin: false }))).toEqual({ kind: 'autostart', path: '/home/agent/.config/autostart/ringbridge.desktop', content: null });
  });

  it('writes the Exec path as the Desktop Entry spec reads it back: quoting escapes, then every backslash doubled; a path with % or a control character is not registered', () => {
    const exec = (path: string) => {
      const plan = loginItemPlan(facts({ platform: 'linux', execPath: path }));
      return plan.kind === 'autostart' ? /^Exec=.*$/m.exec(plan.content ?? '')?.[0] : plan.kind;
    };
    expect(exec('/opt/My $HOME `x`/a\\b "c"/ringbridge')).toBe('Exec="/opt/My \\\\$HOME \\\\`x\\\\`/a\\\\\\\\b \\\\"c\\\\"/ringbridge" --hidden');
    expect(exec('/opt/100%u/ringbridge')).toBe('none');
    expect(exec('/opt/a\nb/ringbridge')).toBe('none');
  });

  it('never registers a development run', () => {
    expect(loginItemPlan(facts({ isPackaged: false }))).toMatchObject({ kind: 'none' });
  });
});
