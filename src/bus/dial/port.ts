// Click-to-dial mediation: the fan-out hands an agent's dial request here and sends back the result.
import type { Agent } from '../tenants/port.js';

export type DialOutcome =
  | { ok: true; e164: string; pbxCallId: string | null }
  | { ok: false; e164: string | null; code: 'invalid_number' | 'dial_policy' | 'pbx_error' | 'rate_limited'; message: string };

export interface DialService {
  /** Validates the number against the tenant's policy, then places the call from the agent's own extension; audited. */
  dial(agent: Agent, number: string): Promise<DialOutcome>;
}
