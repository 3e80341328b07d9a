// The sandboxed preload: exposes the named-method API as window.agent and nothing else
// (never ipcRenderer, never Node). Bundled to CommonJS because sandboxed preloads cannot be ESM.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { buildAgentApi } from './api.js';

const api = buildAgentApi({
  invoke: (channel, args) => ipcRenderer.invoke(channel, ...args),
  subscribe(channel, listener) {
    // The event object carries `sender` (ipcRenderer itself): never hand it to the page.
    const forward = (_event: IpcRendererEvent, payload: unknown) => listener(payload);
    ipcRenderer.on(channel, forward);
    return () => {
      ipcRenderer.removeListener(channel, forward);
    };
  },
});

contextBridge.exposeInMainWorld('agent', api);
