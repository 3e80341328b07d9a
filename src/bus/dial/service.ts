// Click-to-dial, call control and presence, mediated with least privilege (mediate.ts): a number is
// normalised with the PBX's country and checked against the tenant's dial policy, then dialled from
// the requesting agent's own extension (never one it names); a call is acted on only through the
// agent's own participant of it; presence is the agent's own extension's. Every attempt is audited.
import type { PbxGateway } from '../pbx/port.js';
import type { Pbx, Tenant } from '../tenants/port.js';
import { countryOf, numberTypeOf, toE164 } from '../../shared/phone.js';
import type { RateLimits } from '../http/rate-limit.js';
import type { AuditLog } from '../audit/port.js';
import type { TenantStore } from '../tenants/port.js';
import { createMediator, Refused } from './mediate.js';
import type { DialService } from './port.js';

export interface DialServiceOptions {
  tenants: Pick<TenantStore, 'getTenant' | 'getPbx'>;
  gateway: PbxGateway;
  audit: Pick<AuditLog, 'record'>;
  /** Where dials are counted: shared through Redis when the bus has it. Default: this process. */
  limits?: RateLimits;
  /** Dial requests per agent per minute, refused or not, before `rate_limited`. Default 10. */
  maxPerMinute?: number;
  /** Call-control requests per agent per minute. Default 30 (a busy agent answers, transfers, hangs up). */
  maxControlsPerMinute?: number;
  /** Presence reads and changes per agent per minute. Default 20. */
  maxPresencePerMinute?: number;
}

/**
 * Short digits that may be an extension or queue of the PBX: a transfer goes to one as dialled, but
 * only once the PBX says it has it; otherwise (112, 999, a short premium code) it is a number.
 */
const EXTENSION = /^\d{2,6}$/;

/** The number as E.164 under the tenant's dial policy, or a refusal naming why. */
function policedNumber(number: string, tenant: Tenant, pbx: Pbx, invalid = 'Not a valid phone number.'): string {
  const e164 = toE164(number, pbx.defaultCountry);
  if (!e164) throw new Refused('invalid_number', invalid);
  const { allowedCountries, blockedTypes } = tenant.dialPolicy;
  const country = countryOf(e164);
  if (allowedCountries.length > 0 && (!country || !allowedCountries.includes(country))) {
    throw new Refused('dial_policy', `Calls to ${country ?? 'this destination'} are not allowed for this organisation.`, { target: e164, e164 });
  }
  const type = numberTypeOf(e164);
  if (type && blockedTypes.includes(type)) throw new Refused('dial_policy', `${type.toLowerCase().replace(/_/g, ' ')} numbers are blocked for this organisation.`, { target: e164, e164 });
  return e164;
}

export function createDialService(opts: DialServiceOptions): DialService {
  const mediated = createMediator(opts);
  const dialing = mediated<'invalid_number' | 'dial_policy', { e164: string; pbxCallId: string | null }>('dial', {
    maxPerMinute: opts.maxPerMinute ?? 10,
    what: 'Dialling',
    unit: 'calls',
    pbxFailure: 'The PBX could not place the call right now.',
  });
  const controlling = mediated<'invalid_number' | 'dial_policy' | 'not_found' | 'call_state', { destination: string | null }>('call_control', {
    maxPerMinute: opts.maxControlsPerMinute ?? 30,
    what: 'Call control',
    unit: 'call actions',
    pbxFailure: 'The PBX could not do that right now.',
  });
  const presenceOf = mediated<never, { presence: Awaited<ReturnType<PbxGateway['presence']>> }>('presence', {
    maxPerMinute: opts.maxPresencePerMinute ?? 20,
    what: 'Your 3CX status',
    unit: 'status requests',
    pbxFailure: 'The PBX could not read or change your status right now.',
  });

  return {
    dial: (agent, number) =>
      dialing(agent, number, async ({ tenant, pbx }) => {
        const e164 = policedNumber(number, tenant, pbx);
        const pbxFailed = (detail: string, message = 'The PBX could not place the call right now.') => new Refused('pbx_error', message, { target: e164, e164, detail });
        const result = await opts.gateway.makeCall(agent.pbxId, agent.extension, e164).catch((err: Error) => {
          throw pbxFailed(err.message);
        });
        if (!result.ok) throw pbxFailed(result.reason ?? 'The PBX did not place the call.', result.reason ?? 'The PBX did not place the call.');
        return { value: { e164, pbxCallId: result.pbxCallId }, target: e164, detail: result.pbxCallId ? `pbx call ${result.pbxCallId}` : null };
      }),

    control: (agent, request) =>
      controlling(agent, `${request.action} ${request.pbxCallId}${request.destination ? ` -> ${request.destination}` : ''}`, async ({ tenant, pbx }) => {
        let destination: string | null = null;
        if (request.action === 'transfer') {
          const raw = request.destination?.trim() ?? '';
          if (!raw) throw new Refused('invalid_number', 'Say where to transfer the call.');
          const short = EXTENSION.test(raw);
          destination = short && (await opts.gateway.isInternalNumber(agent.pbxId, raw)) ? raw : policedNumber(raw, tenant, pbx, short ? `${raw} is not an extension or queue of your 3CX, nor a phone number.` : undefined);
        }
        const target = `${request.action} ${request.pbxCallId}${destination ? ` -> ${destination}` : ''}`;
        const result = await opts.gateway.controlCall(agent.pbxId, agent.extension, request.pbxCallId, request.action, destination);
        if (!result.ok) {
          const code = result.reason === 'no_call' ? 'not_found' : result.reason === 'wrong_state' ? 'call_state' : 'pbx_error';
          throw new Refused(code, result.message, { target, detail: result.message });
        }
        return { value: { destination }, target };
      }),

    presence: (agent, dnd) =>
      presenceOf(agent, dnd === undefined ? 'read' : `dnd ${dnd ? 'on' : 'off'}`, async () => ({
        value: { presence: await opts.gateway.presence(agent.pbxId, agent.extension, dnd) },
      })),
  };
}
