// Whether `npm run dist` may build Windows installers with these arguments and environment. An
// unsigned Windows build gets no publisher name in its app-update.yml, and electron-updater then
// installs any update the feed serves without checking its signature: so a Windows build needs a
// certificate (CSC_LINK or WIN_CSC_LINK), or `--unsigned` said on purpose (a test build).

/** electron-builder's Windows flags: --win, --windows, or a short group such as -w or -mwl. */
const WINDOWS_FLAG = /^(--win|--windows|-[mwl]*w[mwl]*)$/;
const PLATFORM_FLAG = /^(--win|--windows|--mac|--macos|--linux|-[mwlo]+)$/;

/**
 * @param {string[]} args what follows `npm run dist --`
 * @param {Record<string, string | undefined>} env
 * @param {string} platform process.platform (what electron-builder builds for without a platform flag)
 * @returns {{ args: string[], refusal: string | null }} the arguments for electron-builder (without --unsigned), and why not, if not
 */
export function windowsSigning(args, env, platform) {
  const unsigned = args.includes('--unsigned');
  const rest = args.filter((a) => a !== '--unsigned');
  const windows = rest.some((a) => WINDOWS_FLAG.test(a)) || (platform === 'win32' && !rest.some((a) => PLATFORM_FLAG.test(a)));
  const certificate = Boolean(env['CSC_LINK'] || env['WIN_CSC_LINK']);
  const refusal =
    windows && !certificate && !unsigned
      ? 'dist: a Windows build needs its code-signing certificate (set CSC_LINK or WIN_CSC_LINK, and CSC_KEY_PASSWORD): unsigned installers update without any signature check. For a test build, add --unsigned.'
      : null;
  return { args: rest, refusal };
}
