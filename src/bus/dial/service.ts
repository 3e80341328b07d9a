// Click-to-dial mediation with least privilege: the number is normalised with the PBX's country and
// checked against the tenant's dial policy, then dialled from the requesting agent's own extension
// (never one it names) through the PBX gateway. Every attempt is audited with its result
// (repeated identical refusals are aggregated by the audit log).
import type { AuditLog } from '../audit/port.js';
import type { PbxGateway } from '../pbx/port.js';
import type { TenantStore } from '../tenants/port.js';
import { countryOf, numberTypeOf, toE164 } from '../../shared/phone.js';
import { memoryRateLimits, RateLimitUnavailable, type RateLimits } from '../http/rate-limit.js';
import type { DialOutcome, DialService } from './port.js';

export interface DialServiceOptions {
  tenants: Pick<TenantStore, 'getTenant' | 'getPbx'>;
  gateway: PbxGateway;
  audit: Pick<AuditLog, 'record'>;
  /** Where dials are counted: shared through Redis when the bus has it. Default: this process. */
  limits?: RateLimits;
  /** Dial requests per agent per minute, refused or not, before `rate_limited`. Default 10. */
  maxPerMinute?: number;
}

export function createDialService(opts: DialServiceOptions): DialService {
  const maxPerMinute = opts.maxPerMinute ?? 10;
  const limiter = (opts.limits ?? memoryRateLimits()).limiter('dial', { max: maxPerMinute, windowMs: 60_000 });

  return {
    async dial(agent, number) {
      const audit = (target: string, outcome: DialOutcome, detail: string | null) =>
        opts.audit.record({ tenantId: agent.tenantId, agentId: agent.id, action: 'dial', target, result: outcome.ok ? 'ok' : outcome.code === 'pbx_error' ? 'error' : 'denied', detail }).then(() => outcome);
      const refuse = (target: string, code: Exclude<DialOutcome, { ok: true }>['code'], message: string, e164: string | null = null, detail = message) =>
        audit(target, { ok: false, e164, code, message }, `${code}: ${detail}`);
      // The raw input goes to the audit trimmed and without control characters; it is untrusted.
      const rawTarget = number.replace(/[\p{Cc}\p{Cf}]/gu, '').slice(0, 64);

      // The limit comes first, so a flood of junk or forbidden numbers is refused (and audited as
      // one aggregated rate_limited row) instead of each writing its own refusal.
      const limit = await limiter.take(agent.id).catch((err: unknown) => {
        if (err instanceof RateLimitUnavailable) return null;
        throw err;
      });
      if (!limit) return refuse(rawTarget, 'rate_limited', 'Dialling is unavailable right now; try again shortly.', null, 'rate limit store unavailable');
      if (!limit.allowed) return refuse(rawTarget, 'rate_limited', `At most ${maxPerMinute} calls a minute; try again shortly.`);

      const [tenant, pbx] = await Promise.all([opts.tenants.getTenant(agent.tenantId), opts.tenants.getPbx(agent.pbxId)]);
      if (!tenant || !pbx || pbx.tenantId !== agent.tenantId) return refuse(rawTarget, 'pbx_error', 'The agent\'s PBX is not configured.');

      const e164 = toE164(number, pbx.defaultCountry);
      if (!e164) return refuse(rawTarget, 'invalid_number', 'Not a valid phone number.');
      const { allowedCountries, blockedTypes } = tenant.dialPolicy;
      const country = countryOf(e164);
      if (allowedCountries.length > 0 && (!country || !allowedCountries.includes(country))) {
        return refuse(e164, 'dial_policy', `Calls to ${country ?? 'this destination'} are not allowed for this organisation.`, e164);
      }
      const type = numberTypeOf(e164);
      if (type && blockedTypes.includes(type)) return refuse(e164, 'dial_policy', `${type.toLowerCase().replace(/_/g, ' ')} numbers are blocked for this organisation.`, e164);

      try {
        const result = await opts.gateway.makeCall(agent.pbxId, agent.extension, e164);
        if (!result.ok) return refuse(e164, 'pbx_error', result.reason ?? 'The PBX did not place the call.', e164);
        return audit(e164, { ok: true, e164, pbxCallId: result.pbxCallId }, result.pbxCallId ? `pbx call ${result.pbxCallId}` : null);
      } catch (err) {
        // Internals (paths, statuses) go to the audit trail, not to the agent.
        return refuse(e164, 'pbx_error', 'The PBX could not place the call right now.', e164, (err as Error).message);
      }
    },
  };
}
