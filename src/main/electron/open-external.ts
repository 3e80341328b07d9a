// The single gate in front of shell.openExternal: nothing else in the app may call it (lint and
// a test enforce this). The rule itself lives in policy/external-url.ts.
import { shell } from 'electron';
import { checkExternalUrl, type ExternalUrlPolicy } from './policy/external-url.js';
import type { ShellLogger } from './logger.js';

export type OpenExternal = (raw: unknown) => Promise<boolean>;

export function createExternalOpener(policy: () => ExternalUrlPolicy, log: ShellLogger): OpenExternal {
  return async (raw) => {
    const verdict = checkExternalUrl(raw, policy());
    if (!verdict.ok) {
      log.warn({ reason: verdict.reason }, 'refused to open a link');
      return false;
    }
    await shell.openExternal(verdict.url);
    return true;
  };
}
