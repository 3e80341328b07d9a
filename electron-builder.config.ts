// Installers for the agent (`npm run dist` on a machine with internet; see README "Install the
// agent"). electron-builder rather than Electron Forge: one tool builds every format IT asked for
// (NSIS per-machine and MSI, dmg with hardened runtime and notarisation, AppImage and deb),
// declares the URL schemes for all of them from one `protocols` list, rebuilds better-sqlite3 for
// Electron's ABI, and writes the update metadata electron-updater reads. Forge's MSI maker
// (WiX) and its updater story (Squirrel) do not cover per-machine installs or AppImage updates.
// electron-builder loads this TypeScript file itself (through jiti); test/electron/packaging.test.ts
// checks it with electron-builder's own schema and desktop-file code.
import { readFile, writeFile } from 'node:fs/promises';
import type { Configuration } from 'electron-builder';
import { afterPack } from './build/fuses';
import { injectDefaultAppsIntoWxs } from './build/windows-registry';
import { PROTOCOL_SCHEMES } from './src/main/electron/policy/deep-link';

/** Must equal APP_USER_MODEL_ID in src/main/electron/app.ts (Windows toasts). */
export const APP_ID = 'com.ringbridge.agent';
export const PRODUCT_NAME = 'Ringbridge';

/** Publisher names a Windows update must be signed by, when the certificate's common name is not the one to pin. */
const WIN_PUBLISHERS = (process.env['RINGBRIDGE_WIN_PUBLISHER'] ?? '').split(',').map((name) => name.trim()).filter(Boolean);

const config: Configuration = {
  appId: APP_ID,
  productName: PRODUCT_NAME,
  copyright: 'Copyright © Ringbridge',
  directories: { output: 'dist', buildResources: 'build' },
  // Only what the agent runs: electron-vite's output and the tray icons. The bus build (out/bus)
  // and the sources stay out; production dependencies come from package.json.
  files: ['package.json', 'out/main/**', 'out/preload/**', 'out/renderer/**', 'resources/**', '!out/bus/**'],
  asar: true,
  // Native modules cannot load from inside app.asar.
  asarUnpack: ['**/*.node'],
  // better-sqlite3 (the agent's outbox and history) rebuilt for Electron's ABI through
  // @electron/rebuild, from its prebuilt Electron binaries when they exist. This rebuilds
  // node_modules in place: `npm run dist` rebuilds it for Node afterwards, so `npm test` still runs.
  npmRebuild: true,
  nodeGypRebuild: false,
  buildDependenciesFromSource: false,
  afterPack: (context) => afterPack(context),
  protocols: [{ name: 'Phone and Ringbridge links', schemes: [...PROTOCOL_SCHEMES], role: 'Viewer' }],
  // electron-updater's feed (generic HTTPS server holding latest*.yml). An admin may point
  // installs at a mirror with the updateUrl policy (src/main/electron/policy/update-policy.ts).
  publish: [{ provider: 'generic', url: process.env['RINGBRIDGE_UPDATE_URL'] ?? 'https://updates.ringbridge.example/agent' }],

  win: {
    target: [
      { target: 'nsis', arch: ['x64'] },
      { target: 'msi', arch: ['x64'] },
    ],
    // Signing: set CSC_LINK / CSC_KEY_PASSWORD on the build machine; scripts/dist.mjs refuses a
    // Windows build without them unless told --unsigned. electron-updater installs an update only
    // if it is signed by this publisher: the certificate's common name, or the names in
    // RINGBRIDGE_WIN_PUBLISHER (comma-separated, exactly as in the certificate; several across a renewal).
    verifyUpdateCodeSignature: true,
    // Unset, electron-builder takes the certificate's common name (never an empty list: that refuses every update).
    ...(WIN_PUBLISHERS.length > 0 ? { signtoolOptions: { publisherName: WIN_PUBLISHERS } } : {}),
  },
  nsis: {
    oneClick: false,
    perMachine: true,
    allowElevation: true,
    allowToChangeInstallationDirectory: true,
    deleteAppDataOnUninstall: false,
    artifactName: '${productName}-Setup-${version}.${ext}',
    // Capabilities + URLAssociations (Default Apps for tel: and callto:) and the ringbridge: scheme.
    include: 'build/installer.nsh',
  },
  msi: {
    // For Intune / SCCM / GPO: per-machine, silent-friendly, no self-update (the fleet tool updates it).
    perMachine: true,
    oneClick: true,
    runAfterFinish: false,
    upgradeCode: '{B0C3C6F4-6C55-4C2B-9B0D-5A3E0F1D7E21}',
    artifactName: '${productName}-${version}.${ext}',
  },
  // The same Default Apps values as the NSIS include, added to the WiX project before it is compiled.
  msiProjectCreated: async (projectFile: string) => {
    await writeFile(projectFile, injectDefaultAppsIntoWxs(await readFile(projectFile, 'utf8'), `${PRODUCT_NAME}.exe`));
  },

  mac: {
    category: 'public.app-category.business',
    // The zip is what electron-updater installs on macOS; the dmg is what people download.
    target: [
      { target: 'dmg', arch: ['universal'] },
      { target: 'zip', arch: ['universal'] },
    ],
    hardenedRuntime: true,
    gatekeeperAssess: false,
    entitlements: 'build/entitlements.mac.plist',
    entitlementsInherit: 'build/entitlements.mac.plist',
    // Notarisation: electron-builder notarises when APPLE_API_KEY + APPLE_API_KEY_ID +
    // APPLE_API_ISSUER (or APPLE_ID + APPLE_APP_SPECIFIC_PASSWORD + APPLE_TEAM_ID) are set, and
    // signs with CSC_LINK / CSC_KEY_PASSWORD or the keychain's Developer ID.
  },
  dmg: { sign: false },

  linux: {
    target: ['AppImage', 'deb'],
    executableName: 'ringbridge',
    category: 'Office',
    maintainer: 'Ringbridge <support@ringbridge.example>',
    // The .desktop file's MimeType gets x-scheme-handler/<scheme> for each of `protocols`; the
    // deb's default after-install script runs update-desktop-database so the schemes are known.
  },
};

export default config;
