// What counts as "our renderer": pages of the app's own scheme (ringbridge-app://ui/, see
// app-scheme.ts), or the electron-vite dev server in development. Used by the IPC sender check
// and the navigation guard alike.
import { isAppSchemeUrl } from './app-scheme.js';

export interface AppLocation {
  /** The dev server URL when running `electron-vite dev` (ELECTRON_RENDERER_URL); unset in production. */
  devServerUrl?: string | undefined;
}

export type AppUrlMatcher = (url: string) => boolean;

export function createAppUrlMatcher(location: AppLocation): AppUrlMatcher {
  const devOrigin = location.devServerUrl ? new URL(location.devServerUrl).origin : null;
  return (raw) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return false;
    }
    // Node gives a custom scheme an opaque origin, so compare scheme and host instead.
    if (isAppSchemeUrl(url)) return true;
    return devOrigin !== null && url.origin === devOrigin;
  };
}
