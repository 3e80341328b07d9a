// The least-privilege path every agent action on the PBX takes (dial, call control, presence): a
// per-agent rate limit first (so a flood of refusals is one aggregated audit row), the agent's PBX
// checked to be its own tenant's, then the action, and one audit entry with its result. Internals
// (paths, statuses) go to the audit trail, never to the agent.
import type { AuditEntry, AuditLog } from '../audit/port.js';
import { memoryRateLimits, RateLimitUnavailable, type RateLimits } from '../http/rate-limit.js';
import type { Pbx, Tenant, TenantStore, Agent } from '../tenants/port.js';

export interface Refusal<Code extends string> {
  ok: false;
  code: Code | 'rate_limited' | 'pbx_error';
  message: string;
  /** The number the request came down to, when it got that far (dial and transfer). */
  e164: string | null;
}

/** Thrown by an action to refuse: audited as `denied` (or `error` for pbx_error) with `detail`. */
export class Refused<Code extends string> extends Error {
  constructor(
    readonly code: Code | 'pbx_error',
    message: string,
    readonly opts: { target?: string; e164?: string | null; detail?: string } = {},
  ) {
    super(message);
  }
}

export interface MediatorOptions {
  tenants: Pick<TenantStore, 'getTenant' | 'getPbx'>;
  audit: Pick<AuditLog, 'record'>;
  /** Shared through Redis when the bus has it. Default: this process. */
  limits?: RateLimits;
}

export interface Done<T> {
  value: T;
  /** The audited target when it differs from the raw one (e.g. the normalised number). */
  target?: string;
  detail?: string | null;
}

/** The sanitised, bounded form of untrusted input for the audit trail. */
export const auditText = (raw: string) => raw.replace(/[\p{Cc}\p{Cf}]/gu, '').slice(0, 64);

export function createMediator(opts: MediatorOptions) {
  const limits = opts.limits ?? memoryRateLimits();
  return function mediated<Code extends string, T>(action: AuditEntry['action'], rule: { maxPerMinute: number; what: string; unit: string; pbxFailure: string }) {
    const limiter = limits.limiter(action, { max: rule.maxPerMinute, windowMs: 60_000 });
    return async (agent: Agent, rawTarget: string, run: (scope: { tenant: Tenant; pbx: Pbx }) => Promise<Done<T>>): Promise<({ ok: true } & T) | Refusal<Code>> => {
      const record = (target: string, result: AuditEntry['result'], detail: string | null) =>
        opts.audit.record({ tenantId: agent.tenantId, agentId: agent.id, action, target, result, detail });
      const refuse = async (target: string, code: Refusal<Code>['code'], message: string, e164: string | null, detail = message): Promise<Refusal<Code>> => {
        await record(target, code === 'pbx_error' ? 'error' : 'denied', `${code}: ${detail}`);
        return { ok: false, code, message, e164 };
      };
      const target = auditText(rawTarget);
      const limit = await limiter.take(agent.id).catch((err: unknown) => {
        if (err instanceof RateLimitUnavailable) return null;
        throw err;
      });
      if (!limit) return refuse(target, 'rate_limited', `${rule.what} is unavailable right now; try again shortly.`, null, 'rate limit store unavailable');
      if (!limit.allowed) return refuse(target, 'rate_limited', `At most ${rule.maxPerMinute} ${rule.unit} a minute; try again shortly.`, null);

      const [tenant, pbx] = await Promise.all([opts.tenants.getTenant(agent.tenantId), opts.tenants.getPbx(agent.pbxId)]);
      if (!tenant || !pbx || pbx.tenantId !== agent.tenantId) return refuse(target, 'pbx_error', 'The agent\'s PBX is not configured.', null);
      try {
        const done = await run({ tenant, pbx });
        await record(done.target ?? target, 'ok', done.detail ?? null);
        return { ok: true, ...done.value };
      } catch (err) {
        if (err instanceof Refused) {
          const refusal = err as Refused<Code>;
          return refuse(refusal.opts.target ?? target, refusal.code, refusal.message, refusal.opts.e164 ?? null, refusal.opts.detail);
        }
        return refuse(target, 'pbx_error', rule.pbxFailure, null, (err as Error).message);
      }
    };
  };
}
