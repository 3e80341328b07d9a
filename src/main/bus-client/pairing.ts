// One-time pairing: trade the admin's code for the device credential. The credential goes to the
// SecretStore only; the rest (who we are, where to connect) is plain settings.
import { z } from 'zod';
import { checkBusUrl } from '../../shared/bus-url.js';
import { PAIR_PATH, PairRequestSchema, PairResponseSchema } from '../../shared/pairing.js';
import type { KeyValueStore, SecretStore } from '../storage/index.js';

export const DEVICE_TOKEN_SECRET = 'bus.deviceToken';
export const PAIRING_KEY = 'bus.pairing';
export const POSITION_KEY = 'bus.position';

export const PairedAgentSchema = PairResponseSchema.omit({ deviceToken: true }).extend({ busUrl: z.string() });
/** Who this device is paired as (no secret in it; safe to show in the window). */
export type PairedAgent = z.infer<typeof PairedAgentSchema>;

export class PairingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PairingError';
  }
}

/** The URL when the bus-URL policy accepts it, else a PairingError in words for the window. */
function checkUrl(raw: string, scheme: 'http' | 'ws', what: string): URL {
  const checked = checkBusUrl(raw, scheme);
  if (checked.ok) return checked.url;
  throw new PairingError(checked.problem === 'invalid' ? `The ${what} address is not a valid URL.` : `The ${what} address must use ${scheme}s.`);
}

export interface PairDeps {
  secrets: SecretStore;
  store: KeyValueStore;
  fetch?: typeof fetch;
}

/** POSTs the code to the bus, validates the answer and stores the credential. Throws PairingError. */
export async function pair(busUrl: string, code: string, deps: PairDeps): Promise<PairedAgent> {
  const base = checkUrl(busUrl.trim(), 'http', 'bus');
  const request = PairRequestSchema.safeParse({ code: code.trim() });
  if (!request.success) throw new PairingError('A pairing code is 6 to 64 characters long.');

  let response: Response;
  try {
    response = await (deps.fetch ?? fetch)(new URL(PAIR_PATH, base), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request.data),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw new PairingError(`Could not reach the bus (${(err as Error).message}).`);
  }
  if (response.status === 400 || response.status === 401 || response.status === 404 || response.status === 410) {
    throw new PairingError('That pairing code is not valid, already used or expired. Ask your administrator for a new one.');
  }
  if (!response.ok) throw new PairingError(`The bus could not pair this device (HTTP ${response.status}).`);
  const body = PairResponseSchema.safeParse(await response.json().catch(() => null));
  if (!body.success) throw new PairingError('The bus answered pairing with something unexpected.');
  const { deviceToken, ...identity } = body.data;
  checkUrl(identity.wsUrl, 'ws', 'agent stream');

  const paired: PairedAgent = { ...identity, busUrl: base.origin };
  await deps.secrets.set(DEVICE_TOKEN_SECRET, deviceToken);
  deps.store.set(PAIRING_KEY, paired);
  deps.store.delete(POSITION_KEY); // a new pairing starts from the live top of its own tenant
  return paired;
}

/** The stored pairing and credential, or null when this device is not (or no longer) paired. */
export async function loadPairing(deps: Omit<PairDeps, 'fetch'>): Promise<{ agent: PairedAgent; token: string } | null> {
  const agent = deps.store.get(PAIRING_KEY, PairedAgentSchema);
  const token = await deps.secrets.get(DEVICE_TOKEN_SECRET);
  return agent && token ? { agent, token } : null;
}

/** Forgets the credential, identity and resume position. */
export async function forgetPairing(deps: Omit<PairDeps, 'fetch'>): Promise<void> {
  await deps.secrets.delete(DEVICE_TOKEN_SECRET);
  deps.store.delete(PAIRING_KEY);
  deps.store.delete(POSITION_KEY);
}
