// Electron fuses flipped in the packaged binary by electron-builder's afterPack hook (before
// signing, so the signature covers them). Every fuse is set explicitly (strictlyRequireAllFuses):
// a fuse a future Electron adds fails the build until someone decides it here.
import { join } from 'node:path';
import { flipFuses, FuseV1Options, FuseVersion, type FuseConfig } from '@electron/fuses';
import type { AfterPackContext } from 'electron-builder';

export const FUSES = {
  version: FuseVersion.V1,
  strictlyRequireAllFuses: true,
  // ELECTRON_RUN_AS_NODE would turn the signed app into a general Node.js interpreter.
  [FuseV1Options.RunAsNode]: false,
  // Cookies (the OAuth sign-in pages' session) encrypted at rest with the OS key store.
  [FuseV1Options.EnableCookieEncryption]: true,
  // NODE_OPTIONS and --inspect would let anyone who can start the app inject code into main.
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
  [FuseV1Options.EnableNodeCliInspectArguments]: false,
  // app.asar is checked against the hash electron-builder embeds; only code from it is loaded.
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
  [FuseV1Options.OnlyLoadAppFromAsar]: true,
  [FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]: false,
  // The renderer is served from ringbridge-app://, never file://: file: pages need no extra powers.
  [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
  // Electron's default; WebAssembly is not used, and turning trap handlers off only slows it.
  [FuseV1Options.WasmTrapHandlers]: true,
} satisfies FuseConfig;

type PackContext = Pick<AfterPackContext, 'appOutDir' | 'electronPlatformName'> & {
  /** executableName: the Linux packager's (electron-builder's linux.executableName). */
  packager: { appInfo: { productFilename: string }; executableName?: string };
};

/** The Electron binary inside the packed app, per platform. */
export function packedElectronPath(context: PackContext): string {
  const { appOutDir, electronPlatformName, packager } = context;
  if (electronPlatformName === 'darwin' || electronPlatformName === 'mas') return join(appOutDir, `${packager.appInfo.productFilename}.app`);
  if (electronPlatformName === 'win32') return join(appOutDir, `${packager.appInfo.productFilename}.exe`);
  if (!packager.executableName) throw new Error(`no executable name for ${electronPlatformName}`);
  return join(appOutDir, packager.executableName);
}

/** electron-builder's afterPack: flips FUSES in the packed binary. */
export async function afterPack(context: PackContext, flip: typeof flipFuses = flipFuses): Promise<void> {
  const darwin = context.electronPlatformName === 'darwin' || context.electronPlatformName === 'mas';
  // Flipping breaks the ad-hoc signature of an arm64 macOS binary; the real signing comes after.
  await flip(packedElectronPath(context), { ...FUSES, resetAdHocDarwinSignature: darwin });
}
