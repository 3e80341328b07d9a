import { describe, expect, it, vi } from 'vitest';
import { eventChannel, eventMethodName, eventNames, invokeChannel, invokeNames } from '../shared/ipc.js';
import { buildAgentApi, type PreloadTransport } from './api.js';

function transport(reply: unknown) {
  const listeners = new Map<string, (p: unknown) => void>();
  const t: PreloadTransport & { listeners: typeof listeners } = {
    listeners,
    invoke: vi.fn(async () => reply),
    subscribe: vi.fn((channel, listener) => {
      listeners.set(channel, listener);
      return () => listeners.delete(channel);
    }),
  };
  return t;
}

describe('preload API', () => {
  it('has exactly one named method per contract entry and nothing else', () => {
    const api = buildAgentApi(transport({ ok: true, value: null }));
    expect(Object.keys(api).sort()).toEqual([...invokeNames, ...eventNames.map(eventMethodName)].sort());
    expect(api).not.toHaveProperty('invoke');
    expect(api).not.toHaveProperty('ipcRenderer');
    expect(Object.isFrozen(api)).toBe(true);
  });

  it('sends positional arguments on the contract channel and unwraps the answer', async () => {
    const t = transport({ ok: true, value: { status: 'dialling', e164: '+61298765432' } });
    const api = buildAgentApi(t);
    await expect(api.dial('02 9876 5432')).resolves.toEqual({ status: 'dialling', e164: '+61298765432' });
    expect(t.invoke).toHaveBeenCalledWith(invokeChannel('dial'), ['02 9876 5432']);
  });

  it('rejects with the message main gave', async () => {
    const api = buildAgentApi(transport({ ok: false, error: { code: 'failed', message: 'The bus refused: busy' } }));
    await expect(api.dial('1')).rejects.toThrow('The bus refused: busy');
  });

  it('on* subscribes to the event channel and returns a working unsubscribe', () => {
    const t = transport(null);
    const api = buildAgentApi(t);
    const seen: unknown[] = [];
    const off = api.onHistoryChanged((p) => seen.push(p));
    t.listeners.get(eventChannel('historyChanged'))?.(null);
    expect(seen).toEqual([null]);
    off();
    expect(t.listeners.has(eventChannel('historyChanged'))).toBe(false);
  });
});
