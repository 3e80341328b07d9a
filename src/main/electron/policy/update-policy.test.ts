import { describe, expect, it } from 'vitest';
import {
  IDLE_INSTALL_AFTER_SEC,
  installKind,
  policyFromJson,
  policyFromRegQuery,
  policySource,
  shouldInstallNow,
  updatePlan,
  type InstallFacts,
} from './update-policy.js';

// What `reg query HKLM\SOFTWARE\Policies\Ringbridge` prints on Windows (CRLF, four-space indents).
const REG_OUTPUT = '\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Ringbridge\r\n    UpdateMode    REG_SZ    install-when-idle\r\n    UpdateUrl    REG_SZ    https://updates.example.com/ringbridge/\r\n\r\n';

const win = (over: Partial<InstallFacts> = {}): InstallFacts => ({
  platform: 'win32',
  isPackaged: true,
  execPath: 'C:\\Program Files\\Ringbridge\\Ringbridge.exe',
  env: {},
  exists: (path) => path === 'C:\\Program Files\\Ringbridge\\Uninstall Ringbridge.exe',
  ...over,
});

describe('admin update policy', () => {
  it('is read from HKLM policies on Windows and from a root-owned file on macOS and Linux', () => {
    expect(policySource('win32')).toEqual({ kind: 'registry', key: 'HKLM\\SOFTWARE\\Policies\\Ringbridge' });
    expect(policySource('darwin')).toEqual({ kind: 'file', path: '/Library/Application Support/Ringbridge/policy.json' });
    expect(policySource('linux')).toEqual({ kind: 'file', path: '/etc/ringbridge/policy.json' });
  });

  it('reads the registry values and the JSON file into the same policy', () => {
    const fromRegistry = policyFromRegQuery(REG_OUTPUT);
    expect(fromRegistry).toEqual({ ok: true, policy: { updateMode: 'install-when-idle', updateUrl: 'https://updates.example.com/ringbridge/' } });
    expect(policyFromJson('{"updateMode":"install-when-idle","updateUrl":"https://updates.example.com/ringbridge/"}', '/etc/ringbridge/policy.json')).toEqual(fromRegistry);
  });

  it.each([
    ['an unknown mode', () => policyFromJson('{"updateMode":"always"}', '/etc/ringbridge/policy.json'), 'updateMode'],
    ['plain http for the feed', () => policyFromJson('{"updateUrl":"http://updates.example.com/"}', '/etc/ringbridge/policy.json'), 'updateUrl'],
    ['a key we do not know', () => policyFromJson('{"updateMode":"off","autoUpdate":true}', '/etc/ringbridge/policy.json'), 'autoUpdate'],
    ['broken JSON', () => policyFromJson('{updateMode: off', '/etc/ringbridge/policy.json'), 'not valid JSON'],
    ['an unknown registry value', () => policyFromRegQuery('    UpdateModus    REG_SZ    off\r\n'), 'UpdateModus'],
  ])('refuses %s, saying where and what', (_label, read, words) => {
    const result = read();
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(words);
  });

  it('turns updates off when a written policy cannot be read, and defaults to notify when there is none', () => {
    expect(updatePlan('nsis', { ok: false, reason: 'x' })).toMatchObject({ mode: 'off' });
    expect(updatePlan('nsis', null)).toMatchObject({ mode: 'notify', feedUrl: null });
    expect(updatePlan('dmg', policyFromRegQuery(REG_OUTPUT))).toEqual({ mode: 'install-when-idle', why: 'set by the admin policy', feedUrl: 'https://updates.example.com/ringbridge/' });
  });

  it('gives the MSI, the deb and a development run no update channel whatever the policy says', () => {
    const wantsUpdates = policyFromRegQuery(REG_OUTPUT);
    expect(installKind(win())).toBe('nsis');
    expect(installKind(win({ exists: () => false }))).toBe('msi');
    expect(updatePlan('msi', wantsUpdates)).toMatchObject({ mode: 'off', why: expect.stringContaining('MSI') });
    expect(installKind(win({ platform: 'linux', execPath: '/opt/Ringbridge/ringbridge' }))).toBe('deb');
    expect(updatePlan('deb', wantsUpdates).mode).toBe('off');
    expect(installKind(win({ platform: 'linux', env: { APPIMAGE: '/home/a/Ringbridge.AppImage' } }))).toBe('appimage');
    expect(installKind(win({ isPackaged: false }))).toBe('unpackaged');
    expect(updatePlan('unpackaged', wantsUpdates).mode).toBe('off');
  });

  it('installs by itself only in install-when-idle, once downloaded, idle long enough, and never during a call', () => {
    const idle = { mode: 'install-when-idle' as const, downloaded: true, inCall: false, idleSec: IDLE_INSTALL_AFTER_SEC };
    expect(shouldInstallNow(idle)).toBe(true);
    expect(shouldInstallNow({ ...idle, inCall: true })).toBe(false);
    expect(shouldInstallNow({ ...idle, idleSec: IDLE_INSTALL_AFTER_SEC - 1 })).toBe(false);
    expect(shouldInstallNow({ ...idle, downloaded: false })).toBe(false);
    expect(shouldInstallNow({ ...idle, mode: 'notify' })).toBe(false);
  });
});
