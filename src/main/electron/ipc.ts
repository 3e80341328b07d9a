// Binds the guarded handler (policy/ipc-guard.ts) to ipcMain. This is the only file allowed to
// call ipcMain.handle; every channel goes through `handle`, so none can skip the checks.
import { ipcMain, type WebContents } from 'electron';
import { eventChannel, eventContract, invokeChannel, type EventName, type EventPayload, type InvokeName } from '../../shared/ipc.js';
import { guardHandler, type InvokeHandler, type SenderTrust } from './policy/ipc-guard.js';
import type { ShellLogger } from './logger.js';

export type InvokeHandlers = { [K in InvokeName]: InvokeHandler<K> };

export function handle<K extends InvokeName>(name: K, fn: InvokeHandler<K>, trust: SenderTrust, log: ShellLogger): void {
  ipcMain.handle(invokeChannel(name), guardHandler(name, fn, trust, log));
}

export function handleAll(handlers: InvokeHandlers, trust: SenderTrust, log: ShellLogger): void {
  for (const name of Object.keys(handlers) as InvokeName[]) {
    handle(name, handlers[name] as InvokeHandler<typeof name>, trust, log);
  }
}

/** Pushes an event to a window after checking the payload against the contract. */
export function send<K extends EventName>(target: WebContents, name: K, payload: EventPayload<K>, log: ShellLogger): void {
  const checked = eventContract[name].payload.safeParse(payload);
  if (!checked.success) {
    log.error({ channel: name }, 'refused to send an event that breaks the IPC contract');
    return;
  }
  if (!target.isDestroyed()) target.send(eventChannel(name), checked.data);
}
