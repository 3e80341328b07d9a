// The one place every IPC call from a window passes through: it checks who is calling (our
// window's main frame, loaded from our renderer) and what they send (the channel's zod schema),
// then runs the handler and checks its answer against the contract. Electron-free so tests can
// drive it with fake events; ../ipc.ts binds it to ipcMain.
import { z } from 'zod';
import {
  AgentIpcError,
  invokeContract,
  type InvokeArgs,
  type InvokeName,
  type InvokeResponse,
  type IpcResult,
} from '../../../shared/ipc.js';
import type { AppUrlMatcher } from './app-origin.js';

/** The parts of Electron's IpcMainInvokeEvent the check reads. */
export interface InvokeEventLike {
  sender: { id: number };
  senderFrame: { url: string; parent: unknown } | null;
}

export interface SenderTrust {
  isAppUrl: AppUrlMatcher;
  /** True for webContents of windows this app created. */
  isOwnWebContents(id: number): boolean;
}

export type SenderVerdict = { ok: true } | { ok: false; reason: string };

export function checkSender(event: InvokeEventLike, trust: SenderTrust): SenderVerdict {
  const frame = event.senderFrame;
  if (!frame) return { ok: false, reason: 'sender frame is gone' };
  if (frame.parent !== null) return { ok: false, reason: 'call from a sub-frame' };
  if (!trust.isOwnWebContents(event.sender.id)) return { ok: false, reason: 'call from a window this app did not create' };
  if (!trust.isAppUrl(frame.url)) return { ok: false, reason: 'call from a page that is not the app' };
  return { ok: true };
}

export interface GuardLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export type InvokeHandler<K extends InvokeName> = (...args: InvokeArgs<K>) => Promise<InvokeResponse<K>> | InvokeResponse<K>;

export function guardHandler<K extends InvokeName>(
  name: K,
  handler: InvokeHandler<K>,
  trust: SenderTrust,
  log: GuardLogger,
): (event: InvokeEventLike, ...args: unknown[]) => Promise<IpcResult<InvokeResponse<K>>> {
  const contract = invokeContract[name];
  return async (event, ...args) => {
    const verdict = checkSender(event, trust);
    if (!verdict.ok) {
      log.warn({ channel: name, reason: verdict.reason }, 'ipc call refused');
      return { ok: false, error: { code: 'forbidden', message: 'This call is not allowed from here.' } };
    }
    const parsed = contract.request.safeParse(args);
    if (!parsed.success) {
      // The issue paths say which argument was wrong without echoing values (they may be secrets).
      log.warn({ channel: name, issues: parsed.error.issues.map((i) => i.path.join('.') || '(args)') }, 'ipc arguments refused');
      return { ok: false, error: { code: 'invalid_request', message: z.prettifyError(parsed.error) } };
    }
    try {
      const value = await handler(...(parsed.data as InvokeArgs<K>));
      const checked = contract.response.safeParse(value);
      if (!checked.success) {
        log.error({ channel: name, issues: checked.error.issues.map((i) => i.path.join('.')) }, 'ipc handler broke its contract');
        return { ok: false, error: { code: 'failed', message: 'Something went wrong inside the app.' } };
      }
      return { ok: true, value: checked.data as InvokeResponse<K> };
    } catch (err) {
      if (err instanceof AgentIpcError) return { ok: false, error: { code: err.code, message: err.message } };
      const message = err instanceof Error ? err.message : String(err);
      log.warn({ channel: name, err: message }, 'ipc handler failed');
      return { ok: false, error: { code: 'failed', message } };
    }
  };
}
