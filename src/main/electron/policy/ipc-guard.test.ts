import { describe, expect, it, vi } from 'vitest';
import { AgentIpcError, type AppState } from '../../../shared/ipc.js';
import { createAppUrlMatcher } from './app-origin.js';
import { checkSender, guardHandler, type InvokeEventLike, type SenderTrust } from './ipc-guard.js';

const APP_FILE = 'ringbridge-app://ui/index.html';
const OWN_WINDOW = 7;
const trust: SenderTrust = {
  isAppUrl: createAppUrlMatcher({}),
  isOwnWebContents: (id) => id === OWN_WINDOW,
};

function event(over: Partial<{ id: number; url: string; parent: unknown; frame: null }> = {}): InvokeEventLike {
  return {
    sender: { id: over.id ?? OWN_WINDOW },
    senderFrame: over.frame === null ? null : { url: over.url ?? `${APP_FILE}#/settings`, parent: 'parent' in over ? over.parent : null },
  };
}

const state: AppState = { bus: 'connected', busUrl: 'https://bus.example.net', agent: null, doNotDisturb: false, detail: null, saveError: null };
const log = { warn: vi.fn(), error: vi.fn() };

describe('sender check', () => {
  it('accepts the main frame of our window showing our renderer', () => {
    expect(checkSender(event(), trust)).toEqual({ ok: true });
  });

  it.each([
    ['a foreign origin', event({ url: 'https://evil.example/' })],
    ['a local file', event({ url: 'file:///tmp/evil.html' })],
    ['our scheme with another host', event({ url: 'ringbridge-app://evil/index.html' })],
    ['a sub-frame', event({ parent: { url: APP_FILE } })],
    ['a window we did not create', event({ id: 99 })],
    ['a destroyed frame', event({ frame: null })],
    ['a data: page', event({ url: 'data:text/html,hi' })],
  ])('refuses %s', (_label, ev) => {
    expect(checkSender(ev, trust).ok).toBe(false);
  });

  it('accepts the dev server origin only when one is configured', () => {
    const dev = createAppUrlMatcher({ devServerUrl: 'http://localhost:5173/' });
    expect(dev('http://localhost:5173/#/calls')).toBe(true);
    expect(dev('http://localhost:5174/')).toBe(false);
    expect(trust.isAppUrl('http://localhost:5173/')).toBe(false);
  });
});

describe('guarded IPC handler', () => {
  it('passes validated arguments to the handler and returns its answer', async () => {
    const handler = vi.fn(async (busUrl: string, code: string) => ({ ...state, busUrl: `${busUrl}|${code}` }));
    const guarded = guardHandler('pair', handler, trust, log);
    const result = await guarded(event(), 'https://bus.example.net', '  ABC-123  ');
    expect(handler).toHaveBeenCalledWith('https://bus.example.net', 'ABC-123');
    expect(result).toEqual({ ok: true, value: { ...state, busUrl: 'https://bus.example.net|ABC-123' } });
  });

  it.each([
    ['missing arguments', []],
    ['a number for the code', ['https://bus.example.net', 123456]],
    ['a javascript: bus URL', ['javascript:alert(1)//', 'ABC-123']],
    ['plain http to a remote bus', ['http://bus.example.net', 'ABC-123']],
    ['extra arguments', ['https://bus.example.net', 'ABC-123', 'extra']],
  ])('rejects %s without calling the handler', async (_label, args) => {
    const handler = vi.fn(async () => state);
    const result = await guardHandler('pair', handler, trust, log)(event(), ...args);
    expect(handler).not.toHaveBeenCalled();
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
  });

  it('rejects a settings patch with unknown keys', async () => {
    const handler = vi.fn();
    const result = await guardHandler('setSettings', handler, trust, log)(event(), { doNotDisturb: true, nodeIntegration: true });
    expect(handler).not.toHaveBeenCalled();
    expect(result.ok).toBe(false);
  });

  it('refuses a foreign sender before looking at the arguments', async () => {
    const handler = vi.fn(async () => ({ status: 'dialling' as const, e164: '+61298765432' }));
    const result = await guardHandler('dial', handler, trust, log)(event({ url: 'https://evil.example/' }), '+61298765432');
    expect(handler).not.toHaveBeenCalled();
    expect(result).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('turns a thrown AgentIpcError into its code and message', async () => {
    const guarded = guardHandler('crmSignIn', async () => {
      throw new AgentIpcError('not_configured', 'HubSpot sign-in is not configured yet.');
    }, trust, log);
    expect(await guarded(event(), 'hubspot')).toEqual({
      ok: false,
      error: { code: 'not_configured', message: 'HubSpot sign-in is not configured yet.' },
    });
  });

  it('never returns an answer that breaks the contract', async () => {
    const guarded = guardHandler('getState', async () => ({ ...state, bus: 'on fire' }) as unknown as AppState, trust, log);
    expect(await guarded(event())).toMatchObject({ ok: false, error: { code: 'failed' } });
    expect(log.error).toHaveBeenCalled();
  });
});
