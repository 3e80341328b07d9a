// The installers cannot be built here (no Electron binary, NSIS, WiX or Apple tools), so this
// checks what decides their contents: electron-builder.config.ts loaded and schema-checked by
// electron-builder's own code, the .desktop file its Linux helper writes from it, the Windows
// Default Apps registry values in both installers (the MSI's injected into electron-builder's own
// WiX template), the fuses the afterPack hook flips, and the macOS signing settings.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FuseV1Options, FuseVersion } from '@electron/fuses';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it, vi } from 'vitest';
import { afterPack, FUSES } from '../../build/fuses.js';
import { DEFAULT_APPS_COMPONENT_GUID, injectDefaultAppsIntoWxs, nsisInclude } from '../../build/windows-registry.js';
import config, { APP_ID } from '../../electron-builder.config.js';
import { windowsSigning } from '../../scripts/dist-signing.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
const require = createRequire(import.meta.url);
const builderLib = (path: string) => require(join(ROOT, 'node_modules', 'app-builder-lib', path)) as Record<string, never>;
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe('electron-builder config', () => {
  it('loads through electron-builder and passes its own schema (which refuses a wrong one)', async () => {
    const { getConfig, validateConfiguration } = builderLib('out/util/config/config.js') as unknown as {
      getConfig(dir: string, path: string, options: null): Promise<typeof config>;
      validateConfiguration(config: unknown, logger: unknown): Promise<void>;
    };
    const { DebugLogger } = require(join(ROOT, 'node_modules', 'builder-util')) as { DebugLogger: new (on: boolean) => unknown };
    const loaded = await getConfig(ROOT, join(ROOT, 'electron-builder.config.ts'), null);
    expect(loaded.appId).toBe(APP_ID);
    await expect(validateConfiguration(loaded, new DebugLogger(false))).resolves.toBeUndefined();
    await expect(validateConfiguration({ ...loaded, nsis: { perMachine: 'yes' } }, new DebugLogger(false))).rejects.toThrow(/configuration\.nsis/);
  });

  it('uses the appId the app gives Windows for its toasts', () => {
    expect(read('src/main/electron/app.ts')).toContain(`APP_USER_MODEL_ID = '${APP_ID}'`);
  });

  it('registers tel, callto and ringbridge on every platform (macOS CFBundleURLTypes come from this list)', () => {
    expect(config.protocols).toEqual([{ name: 'Phone and Ringbridge links', schemes: ['tel', 'callto', 'ringbridge'], role: 'Viewer' }]);
  });

  it('writes a .desktop file whose MimeType declares the three x-scheme-handlers (AppImage and deb)', async () => {
    const { LinuxTargetHelper } = builderLib('out/targets/LinuxTargetHelper.js') as unknown as {
      LinuxTargetHelper: new (packager: unknown) => { computeDesktopEntry(options: unknown): Promise<string> };
    };
    const packager = {
      appInfo: { productName: 'Ringbridge', sanitizedProductName: 'Ringbridge', description: 'agent' },
      executableName: 'ringbridge',
      info: { metadata: { desktopName: 'ringbridge.desktop' } },
      config,
      platformSpecificBuildOptions: config.linux,
      fileAssociations: [],
    };
    const entry = await new LinuxTargetHelper(packager).computeDesktopEntry(config.linux);
    expect(entry).toContain('\nMimeType=x-scheme-handler/tel;x-scheme-handler/callto;x-scheme-handler/ringbridge;\n');
    expect(entry).toContain('\nExec=/opt/Ringbridge/ringbridge %U\n'); // %U: the link reaches argv
    expect(config.linux?.target).toEqual(['AppImage', 'deb']);
  });

  it('builds NSIS per-machine and an MSI for fleets, both x64', () => {
    expect(config.win?.target).toEqual([
      { target: 'nsis', arch: ['x64'] },
      { target: 'msi', arch: ['x64'] },
    ]);
    expect(config.nsis).toMatchObject({ perMachine: true, oneClick: false, include: 'build/installer.nsh' });
    expect(config.msi).toMatchObject({ perMachine: true, runAfterFinish: false });
    expect(config.msi?.upgradeCode).toMatch(/^\{[0-9A-F-]{36}\}$/);
  });

  it('signs macOS with the hardened runtime and only the JIT entitlement, leaving notarisation on', () => {
    expect(config.mac).toMatchObject({ hardenedRuntime: true, entitlements: 'build/entitlements.mac.plist' });
    expect(config.mac?.notarize).not.toBe(false);
    expect(config.mac?.target).toEqual([
      { target: 'dmg', arch: ['universal'] },
      { target: 'zip', arch: ['universal'] }, // electron-updater installs the zip on macOS
    ]);
    const plist = new XMLParser().parse(read('build/entitlements.mac.plist')) as { plist: { dict: { key: string | string[] } } };
    expect([plist.plist.dict.key].flat()).toEqual(['com.apple.security.cs.allow-jit']);
  });

  it('rebuilds better-sqlite3 for Electron and keeps native modules outside the asar; npm run dist rebuilds it for Node after', () => {
    expect(config).toMatchObject({ npmRebuild: true, buildDependenciesFromSource: false, asar: true, asarUnpack: ['**/*.node'] });
    expect(config.files).toContain('!out/bus/**');
    expect(read('scripts/dist.mjs')).toContain("run('npm', ['rebuild', 'better-sqlite3'])");
    expect((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.dist).toBe('node scripts/dist.mjs');
  });

  it('publishes update metadata to an HTTPS feed for electron-updater', () => {
    expect(config.publish).toEqual([{ provider: 'generic', url: expect.stringMatching(/^https:\/\//) }]);
  });
});

describe('Windows update signatures', () => {
  const sign = (args: string[], env: Record<string, string | undefined> = {}, platform = 'linux') => windowsSigning(args, env, platform);

  it('npm run dist refuses a Windows build without a code-signing certificate unless told --unsigned, and passes --unsigned on to nobody', () => {
    for (const args of [['--win'], ['--windows'], ['-w'], ['-mwl'], ['--linux', '--win']]) expect(sign(args).refusal).toMatch(/needs its code-signing certificate.*--unsigned/);
    expect(sign([], {}, 'win32').refusal).toMatch(/code-signing certificate/);
    expect(sign(['--win'], { CSC_LINK: 'file:///cert.p12' })).toEqual({ args: ['--win'], refusal: null });
    expect(sign(['--win'], { WIN_CSC_LINK: 'file:///cert.p12' }).refusal).toBeNull();
    expect(sign(['--win', '--unsigned'])).toEqual({ args: ['--win'], refusal: null });
    for (const args of [['--linux'], ['--mac'], ['-ml'], []]) expect(sign(args).refusal).toBeNull();
    expect(sign(['--linux'], {}, 'win32').refusal).toBeNull();
    expect(read('scripts/dist.mjs')).toContain('windowsSigning(process.argv.slice(2), process.env, process.platform)');
  });

  it('installs only updates signed by the publisher: verification on, the certificate name by default, pinned names from RINGBRIDGE_WIN_PUBLISHER', async () => {
    expect(config.win?.verifyUpdateCodeSignature).toBe(true);
    expect(config.win?.signtoolOptions?.publisherName).toBeUndefined(); // electron-builder takes the certificate's common name
    vi.stubEnv('RINGBRIDGE_WIN_PUBLISHER', 'Ringbridge Ltd, Ringbridge Limited');
    vi.resetModules();
    try {
      const pinned = ((await import('../../electron-builder.config.js')) as { default: typeof config }).default;
      expect(pinned.win?.signtoolOptions?.publisherName).toEqual(['Ringbridge Ltd', 'Ringbridge Limited']);
      expect(pinned.win?.verifyUpdateCodeSignature).toBe(true);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('fuses', () => {
  it('sets every fuse this @electron/fuses knows, with the hardening the checklist asks for', () => {
    const numeric = Object.values(FuseV1Options).filter((v): v is number => typeof v === 'number');
    for (const fuse of numeric) expect(typeof (FUSES as Record<number, unknown>)[fuse], FuseV1Options[fuse]).toBe('boolean');
    expect(FUSES).toMatchObject({
      version: FuseVersion.V1,
      strictlyRequireAllFuses: true,
      [FuseV1Options.RunAsNode]: false,
      [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
      [FuseV1Options.EnableNodeCliInspectArguments]: false,
      [FuseV1Options.EnableCookieEncryption]: true,
      [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
      [FuseV1Options.OnlyLoadAppFromAsar]: true,
      [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
    });
  });

  it.each([
    ['win32', 'C:/out/win-unpacked/Ringbridge.exe', false],
    ['darwin', 'C:/out/mac-universal/Ringbridge.app', true],
    ['linux', 'C:/out/linux-unpacked/ringbridge', false],
  ])('the afterPack hook flips them in the %s binary', async (platform, path, resetSignature) => {
    const flip = vi.fn(async () => 1);
    const appOutDir = path.slice(0, path.lastIndexOf('/'));
    await afterPack({ appOutDir, electronPlatformName: platform, packager: { appInfo: { productFilename: 'Ringbridge' }, executableName: 'ringbridge' } }, flip);
    expect(flip).toHaveBeenCalledWith(join(appOutDir, path.slice(appOutDir.length + 1)), { ...FUSES, resetAdHocDarwinSignature: resetSignature });
  });

  it('electron-builder runs the hook after packing', () => {
    expect(typeof config.afterPack).toBe('function');
  });
});

describe('Windows Default Apps registration', () => {
  type RegistryValueXml = { '@_Root': string; '@_Key': string; '@_Name'?: string; '@_Value': string; '@_KeyPath'?: string };

  it('the NSIS include is the one generated from build/windows-registry.ts', () => {
    expect(read('build/installer.nsh')).toBe(nsisInclude());
  });

  it('the NSIS installer registers Capabilities, URLAssociations and RegisteredApplications, and removes them on uninstall', () => {
    const nsh = nsisInclude();
    const install = nsh.slice(nsh.indexOf('!macro customInstall'), nsh.indexOf('!macro customUnInstall'));
    expect(install).toContain('WriteRegStr SHCTX "Software\\RegisteredApplications" "Ringbridge" "Software\\Ringbridge\\Capabilities"');
    expect(install).toContain('WriteRegStr SHCTX "Software\\Ringbridge\\Capabilities\\URLAssociations" "tel" "Ringbridge.Url.tel"');
    expect(install).toContain('WriteRegStr SHCTX "Software\\Ringbridge\\Capabilities\\URLAssociations" "callto" "Ringbridge.Url.callto"');
    expect(install).toContain('WriteRegStr SHCTX "Software\\Classes\\Ringbridge.Url.tel\\shell\\open\\command" "" "$\\"$INSTDIR\\${APP_EXECUTABLE_FILENAME}$\\" $\\"%1$\\""');
    const uninstall = nsh.slice(nsh.indexOf('!macro customUnInstall'));
    expect(uninstall).toContain('DeleteRegValue SHCTX "Software\\RegisteredApplications" "Ringbridge"');
    expect(uninstall).toContain('DeleteRegKey SHCTX "Software\\Ringbridge\\Capabilities"');
  });

  it("the MSI gets the same values in HKLM, added to electron-builder's own WiX template", () => {
    const template = read('node_modules/app-builder-lib/templates/msi/template.xml');
    const wxs = injectDefaultAppsIntoWxs(template, 'Ringbridge.exe');
    const parsed = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === 'RegistryValue' || name === 'Component' }).parse(wxs) as {
      Wix: { Product: { ComponentGroup: { '@_Id': string; Component: Array<{ '@_Id': string; '@_Guid': string; RegistryValue: RegistryValueXml[] }> } } };
    };
    const group = parsed.Wix.Product.ComponentGroup;
    expect(group['@_Id']).toBe('ProductComponents');
    const component = group.Component.find((c) => c['@_Id'] === 'RingbridgeDefaultApps')!;
    expect(component['@_Guid']).toBe(DEFAULT_APPS_COMPONENT_GUID);
    const values = component.RegistryValue;
    expect(values.every((v) => v['@_Root'] === 'HKLM')).toBe(true);
    expect(values[0]).toMatchObject({ '@_Key': 'Software\\RegisteredApplications', '@_Name': 'Ringbridge', '@_KeyPath': 'yes' });
    const find = (key: string, name?: string) => values.find((v) => v['@_Key'] === key && v['@_Name'] === name)?.['@_Value'];
    expect(find('Software\\Ringbridge\\Capabilities\\URLAssociations', 'tel')).toBe('Ringbridge.Url.tel');
    expect(find('Software\\Ringbridge\\Capabilities\\URLAssociations', 'callto')).toBe('Ringbridge.Url.callto');
    expect(find('Software\\Classes\\Ringbridge.Url.callto\\shell\\open\\command')).toBe('"[APPLICATIONFOLDER]Ringbridge.exe" "%1"');
    expect(find('Software\\Classes\\ringbridge', 'URL Protocol')).toBe('');
  });

  it('fails the MSI build loudly when the template loses the component group', () => {
    expect(() => injectDefaultAppsIntoWxs('<Wix><Product/></Wix>', 'Ringbridge.exe')).toThrow(/ProductComponents/);
  });

  it('the MSI hook rewrites the project file electron-builder hands it', async () => {
    const project = join(mkdtempSync(join(tmpdir(), 'wxs-')), 'project.wxs');
    writeFileSync(project, read('node_modules/app-builder-lib/templates/msi/template.xml'));
    await (config.msiProjectCreated as (path: string) => Promise<void>)(project);
    expect(readFileSync(project, 'utf8')).toContain(`<Component Id="RingbridgeDefaultApps" Guid="${DEFAULT_APPS_COMPONENT_GUID}">`);
  });
});
