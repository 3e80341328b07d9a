// What the Windows installers write so Ringbridge appears in Settings > Default apps for tel:
// and callto: (Windows 10+ ignores a plain HKCU\Software\Classes\tel written by
// app.setAsDefaultProtocolClient: the user picks the handler, and only registered Capabilities
// are offered). One list of values, rendered for the NSIS installer (build/installer.nsh, kept
// in step by a test) and injected into the MSI's WiX project (electron-builder's msiProjectCreated).
// Both installers are per-machine, so the values go to HKLM.

export const PRODUCT = 'Ringbridge';
const CAPABILITIES = `Software\\${PRODUCT}\\Capabilities`;
/** The schemes offered in Default Apps (ringbridge: is ours alone, registered outright). */
export const DEFAULT_APP_SCHEMES = ['tel', 'callto'] as const;
export const progIdOf = (scheme: string) => `${PRODUCT}.Url.${scheme}`;

export interface RegistryValue {
  /** Under HKLM. */
  key: string;
  /** '' is the key's default value. */
  name: string;
  value: string;
}

/** `exe`: the installed executable's path in the installer's own syntax. */
export function defaultAppsRegistry(exe: string): RegistryValue[] {
  const open = `"${exe}" "%1"`;
  const icon = `"${exe}",0`;
  const values: RegistryValue[] = [
    { key: 'Software\\RegisteredApplications', name: PRODUCT, value: CAPABILITIES },
    { key: CAPABILITIES, name: 'ApplicationName', value: PRODUCT },
    { key: CAPABILITIES, name: 'ApplicationDescription', value: 'Dial tel: and callto: links through your 3CX phone system.' },
    { key: CAPABILITIES, name: 'ApplicationIcon', value: icon },
  ];
  for (const scheme of DEFAULT_APP_SCHEMES) {
    const progId = `Software\\Classes\\${progIdOf(scheme)}`;
    values.push(
      { key: `${CAPABILITIES}\\URLAssociations`, name: scheme, value: progIdOf(scheme) },
      { key: progId, name: '', value: `${PRODUCT} ${scheme}: link` },
      { key: `${progId}\\DefaultIcon`, name: '', value: icon },
      { key: `${progId}\\shell\\open\\command`, name: '', value: open },
    );
  }
  // ringbridge:// (sign-in redirects, app links) belongs to us: the scheme key itself.
  values.push(
    { key: 'Software\\Classes\\ringbridge', name: '', value: 'URL:Ringbridge' },
    { key: 'Software\\Classes\\ringbridge', name: 'URL Protocol', value: '' },
    { key: 'Software\\Classes\\ringbridge\\shell\\open\\command', name: '', value: open },
  );
  return values;
}

/** Keys the uninstaller removes whole (the MSI removes its values itself). */
const OWNED_KEYS = [CAPABILITIES, ...DEFAULT_APP_SCHEMES.map((s) => `Software\\Classes\\${progIdOf(s)}`), 'Software\\Classes\\ringbridge'];

// NSIS strings: $ starts a variable and " ends the string; $\" is a literal quote.
const nsis = (text: string) => `"${text.replace(/"/g, '$\\"')}"`;

/** build/installer.nsh: electron-builder's customInstall / customUnInstall macros. */
export function nsisInclude(): string {
  const exe = '$INSTDIR\\${APP_EXECUTABLE_FILENAME}';
  const lines = [
    '; Generated from build/windows-registry.ts (a test fails when they differ). Per-machine: SHCTX is HKLM.',
    '!macro customInstall',
    ...defaultAppsRegistry(exe).map((v) => `  WriteRegStr SHCTX ${nsis(v.key)} ${nsis(v.name)} ${nsis(v.value)}`),
    '  ; Tell Explorer and Default Apps that associations changed (SHCNE_ASSOCCHANGED).',
    "  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'",
    '!macroend',
    '',
    '!macro customUnInstall',
    `  DeleteRegValue SHCTX "Software\\RegisteredApplications" "${PRODUCT}"`,
    ...OWNED_KEYS.map((key) => `  DeleteRegKey SHCTX ${nsis(key)}`),
    `  DeleteRegKey /ifempty SHCTX "Software\\${PRODUCT}"`,
    "  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'",
    '!macroend',
    '',
  ];
  return lines.join('\n');
}

/** Stable forever: Windows Installer tracks the component by it across upgrades. */
export const DEFAULT_APPS_COMPONENT_GUID = '{6F1B7E52-3C2A-4C8E-9E1F-2B7D4A9C0E13}';

const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Adds the Default Apps values to electron-builder's WiX project as one component of the product
 * feature. Throws when the template no longer has the component group it expects, so a builder
 * upgrade that changes it fails the MSI build instead of shipping without the registration.
 */
export function injectDefaultAppsIntoWxs(wxs: string, executableFile: string): string {
  const anchor = /(<ComponentGroup Id="ProductComponents"[^>]*>)/;
  if (!anchor.test(wxs)) throw new Error('the MSI project has no ProductComponents component group: update build/windows-registry.ts');
  const values = defaultAppsRegistry(`[APPLICATIONFOLDER]${executableFile}`).map((v, i) => {
    const name = v.name === '' ? '' : ` Name="${xml(v.name)}"`;
    // The first value is the component's key path: Windows Installer checks it to see the component is installed.
    return `        <RegistryValue Root="HKLM" Key="${xml(v.key)}"${name} Value="${xml(v.value)}" Type="string"${i === 0 ? ' KeyPath="yes"' : ''}/>`;
  });
  const component = [`\n      <Component Id="RingbridgeDefaultApps" Guid="${DEFAULT_APPS_COMPONENT_GUID}">`, ...values, '      </Component>'].join('\n');
  return wxs.replace(anchor, `$1${component}`);
}
