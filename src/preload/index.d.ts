import type { AgentApi } from '../shared/ipc.js';

declare global {
  interface Window {
    /** The typed bridge to main, exposed by src/preload/index.ts. */
    readonly agent: AgentApi;
  }
}

export {};
