// The agent's own-line actions on its PBX, mediated by the bus: the fan-out hands each request here
// and sends back the result.
import type { Agent } from '../tenants/port.js';
import type { CallAction, PbxPresence } from '../pbx/port.js';

type Refusal<Code extends string> = { ok: false; e164: string | null; code: Code | 'pbx_error' | 'rate_limited'; message: string };

export type DialOutcome = { ok: true; e164: string; pbxCallId: string | null } | Refusal<'invalid_number' | 'dial_policy'>;

export interface ControlRequest {
  /** The PBX's call id, as the agent's CallEvents carry it. */
  pbxCallId: string;
  action: CallAction;
  /** For transfer: an extension or a number (dialled under the tenant's dial policy). */
  destination?: string | null;
}
/** not_found: the call is not on the agent's extension; call_state: it cannot do that now (e.g. answer a talking call). */
export type ControlOutcome = { ok: true; destination: string | null } | Refusal<'invalid_number' | 'dial_policy' | 'not_found' | 'call_state'>;

export type PresenceOutcome = { ok: true; presence: PbxPresence } | Refusal<never>;

export interface DialService {
  /** Validates the number against the tenant's policy, then places the call from the agent's own extension; audited. */
  dial(agent: Agent, number: string): Promise<DialOutcome>;
  /** Answers, hangs up or transfers a call of the agent's own extension; audited. */
  control(agent: Agent, request: ControlRequest): Promise<ControlOutcome>;
  /** Reads the agent's own 3CX status, switching Do Not Disturb on or off first when `dnd` is given; audited. */
  presence(agent: Agent, dnd?: boolean): Promise<PresenceOutcome>;
}
