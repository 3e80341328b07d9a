import { describe, expect, it } from 'vitest';
import { BusUrlSchema, checkBusUrl } from './bus-url.js';

describe('bus URL policy', () => {
  it('takes https anywhere and plain http only to this machine; wss/ws likewise for the agent stream', () => {
    for (const ok of ['https://bus.example.com', 'http://127.0.0.1:8080', 'http://localhost:3000', 'http://[::1]:1']) expect(checkBusUrl(ok).ok, ok).toBe(true);
    expect(checkBusUrl('http://bus.example.com')).toEqual({ ok: false, problem: 'insecure' });
    expect(checkBusUrl('ws://127.0.0.1:1/v1/agent', 'ws').ok).toBe(true);
    expect(checkBusUrl('wss://bus.example.com/v1/agent', 'ws').ok).toBe(true);
    expect(checkBusUrl('ws://bus.example.com/v1/agent', 'ws')).toEqual({ ok: false, problem: 'insecure' });
    expect(checkBusUrl('wss://bus.example.com', 'http')).toEqual({ ok: false, problem: 'insecure' });
  });

  it('refuses what is not a URL and a URL with credentials', () => {
    expect(checkBusUrl('bus.example.com')).toEqual({ ok: false, problem: 'invalid' });
    expect(checkBusUrl('https://user:pw@bus.example.com')).toEqual({ ok: false, problem: 'invalid' });
    expect(BusUrlSchema.safeParse('  https://bus.example.com  ').data).toBe('https://bus.example.com');
    expect(BusUrlSchema.safeParse('http://bus.example.com').error?.issues[0]?.message).toBe('the bus address must be an https:// URL');
  });
});
