// What counts as "our renderer": the built index.html on disk, or the electron-vite dev server
// in development. Used by the IPC sender check and the navigation guard alike.
export interface AppLocation {
  /** file:// URL of out/renderer/index.html. */
  rendererFileUrl: string;
  /** The dev server URL when running `electron-vite dev` (ELECTRON_RENDERER_URL); unset in production. */
  devServerUrl?: string | undefined;
}

export type AppUrlMatcher = (url: string) => boolean;

export function createAppUrlMatcher(location: AppLocation): AppUrlMatcher {
  const file = new URL(location.rendererFileUrl);
  if (file.protocol !== 'file:') throw new Error('rendererFileUrl must be a file:// URL');
  const devOrigin = location.devServerUrl ? new URL(location.devServerUrl).origin : null;
  return (raw) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return false;
    }
    // file: URLs have an opaque "null" origin, so compare the exact document instead.
    if (url.protocol === 'file:') return url.host === file.host && url.pathname === file.pathname;
    return devOrigin !== null && url.origin === devOrigin;
  };
}
