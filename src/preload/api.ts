// Builds the window.agent object from the IPC contract over a minimal transport. Kept free of
// `electron` so the same builder is exercised in Node tests; index.ts supplies ipcRenderer.
import {
  eventChannel,
  eventMethodName,
  eventNames,
  invokeChannel,
  invokeNames,
  type AgentApi,
  type IpcResult,
  type Unsubscribe,
} from '../shared/ipc.js';

export interface PreloadTransport {
  invoke(channel: string, args: unknown[]): Promise<unknown>;
  /** Subscribes to a main -> window channel; returns the unsubscribe. */
  subscribe(channel: string, listener: (payload: unknown) => void): Unsubscribe;
}

export function buildAgentApi(transport: PreloadTransport): AgentApi {
  const api: Record<string, unknown> = {};
  for (const name of invokeNames) {
    api[name] = async (...args: unknown[]) => {
      const result = (await transport.invoke(invokeChannel(name), args)) as IpcResult<unknown>;
      if (result.ok) return result.value;
      // Only the message crosses contextBridge reliably, so it must be the whole story.
      throw new Error(result.error.message);
    };
  }
  for (const name of eventNames) {
    api[eventMethodName(name)] = (listener: (payload: unknown) => void): Unsubscribe => {
      if (typeof listener !== 'function') throw new TypeError(`${eventMethodName(name)} needs a function`);
      return transport.subscribe(eventChannel(name), listener);
    };
  }
  return Object.freeze(api) as AgentApi;
}
