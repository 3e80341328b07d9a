// Where an agent may reach its bus: https (wss for the agent stream), or plain http (ws) only to
// this machine, where the demo and tests run the bus. The window's pairing form (ipc.ts) and
// main's pairing both apply this one policy.
import { z } from 'zod';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export type BusUrlCheck = { ok: true; url: URL } | { ok: false; problem: 'invalid' | 'insecure' };

/** `scheme` is 'http' for the bus address, 'ws' for the agent stream the bus names. */
export function checkBusUrl(raw: string, scheme: 'http' | 'ws' = 'http'): BusUrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, problem: 'invalid' };
  }
  // fetch refuses a URL with credentials, and a bus never needs them.
  if (url.username || url.password) return { ok: false, problem: 'invalid' };
  const secure = url.protocol === `${scheme}s:`;
  const loopback = url.protocol === `${scheme}:` && LOOPBACK_HOSTS.has(url.hostname);
  return secure || loopback ? { ok: true, url } : { ok: false, problem: 'insecure' };
}

export const BusUrlSchema = z
  .string()
  .trim()
  .max(2048)
  .refine((raw) => checkBusUrl(raw).ok, 'the bus address must be an https:// URL');
