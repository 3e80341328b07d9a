// Recording mediation with least privilege: an agent gets a short-lived link to a recording only when
// the call event is in its own tenant's log, carries a recording, and concerns its own extension on
// its own PBX; the link works only while that agent is still in good standing. Requests are limited
// per agent before anything else, so a flood costs one aggregated audit row, not one per request.
// Refusals are audited here; completed fetches by the download route.
import type { AuditLog } from '../audit/port.js';
import { memoryRateLimits, RateLimitUnavailable, type RateLimits } from '../http/rate-limit.js';
import type { EventLog } from '../log/port.js';
import type { Agent } from '../tenants/port.js';
import type { PbxGateway, RecordingText } from '../pbx/port.js';
import type { RecordingGrant, RecordingService } from './port.js';
import { GrantSigner, type GrantClaims } from './grant-token.js';
import { cutToFrameBytes, MAX_SUMMARY_BYTES, MAX_TRANSCRIPTION_BYTES } from '../../shared/agent-protocol.js';

export interface RecordingServiceOptions {
  log: Pick<EventLog, 'findById'>;
  audit: Pick<AuditLog, 'record'>;
  /** The agent a link was made for, looked up again when the link is used. */
  agents: { getAgent(agentId: string): Promise<Agent | null> };
  /** HMAC key for links, at least 32 bytes. */
  secret: string | Buffer;
  /** Public base URL of the bus, e.g. https://bus.example.com */
  publicUrl: string;
  /** Link lifetime. Default 5 minutes. */
  ttlMs?: number;
  /** Where requests are counted: shared through Redis when the bus has it. Default: this process. */
  limits?: RateLimits;
  /** Links asked for plus links used, per agent per minute. Default 30. */
  maxPerMinute?: number;
  now?: () => number;
  /** Reads the recording's transcript and summary for the grant (the PBX gateway). */
  text?: Pick<PbxGateway, 'recordingText'>;
}

/** Why a used link is refused, as the download route answers it. */
export interface LinkRefusal {
  status: 403 | 429 | 503;
  slug: string;
  title: string;
  detail: string;
  retryAfterSec?: number;
}

export type RedeemedLink = { ok: true; claims: GrantClaims } | ({ ok: false } & LinkRefusal);

export interface RecordingLinks extends RecordingService {
  /** Checks a link from GET /v1/recordings/:token as it is used: signature, limit, expiry, the agent's standing. */
  redeem(token: string): Promise<RedeemedLink>;
}

/** The per-agent limit's answer; `unavailable` when its store could not answer (fail closed). */
type Limited = { allowed: true } | { allowed: false; unavailable: boolean; retryAfterSec: number; message: string; detail: string };

export function createRecordingService(opts: RecordingServiceOptions): RecordingLinks {
  const signer = new GrantSigner(opts.secret);
  const ttlMs = opts.ttlMs ?? 5 * 60_000;
  const now = opts.now ?? Date.now;
  const base = opts.publicUrl.replace(/\/$/, '');
  const maxPerMinute = opts.maxPerMinute ?? 30;
  const limiter = (opts.limits ?? memoryRateLimits()).limiter('recording', { max: maxPerMinute, windowMs: 60_000 });

  /** Fails closed: a limit store that cannot answer refuses like an exhausted limit. */
  const checkLimit = async (agentId: string): Promise<Limited> => {
    try {
      const { allowed, retryAfterSec } = await limiter.take(agentId);
      const message = `At most ${maxPerMinute} recording requests a minute; try again shortly.`;
      return allowed ? { allowed } : { allowed, unavailable: false, retryAfterSec, message, detail: `rate_limited: ${message}` };
    } catch (err) {
      if (!(err instanceof RateLimitUnavailable)) throw err;
      return { allowed: false, unavailable: true, retryAfterSec: 5, message: 'Recordings are unavailable right now; try again shortly.', detail: 'rate_limited: rate limit store unavailable' };
    }
  };
  const auditDenied = (tenantId: string, agentId: string, target: string, detail: string) =>
    opts.audit.record({ tenantId, agentId, action: 'recording', target: target.slice(0, 200), result: 'denied', detail });

  /**
   * The text is extra: a PBX that cannot say it (down, no V20 fields) still hands out the audio.
   * Cut to the frame's budgets here, the one place every gateway's text passes on its way out.
   */
  const textOf = async (pbxId: string, pbxRecordingId: string): Promise<RecordingText | null> => {
    let text: RecordingText | null;
    try {
      text = (await opts.text?.recordingText?.(pbxId, pbxRecordingId)) ?? null;
    } catch {
      return null;
    }
    const cut = (value: string | null, budget: number) => (value === null ? null : cutToFrameBytes(value, budget));
    return text && { transcription: cut(text.transcription, MAX_TRANSCRIPTION_BYTES), summary: cut(text.summary, MAX_SUMMARY_BYTES) };
  };

  return {
    async grant(agent, eventId): Promise<RecordingGrant> {
      const refuse = async (code: 'forbidden' | 'not_found' | 'rate_limited', message: string, detail = `${code}: ${message}`): Promise<RecordingGrant> => {
        await auditDenied(agent.tenantId, agent.id, eventId, detail);
        return { ok: false, code, message };
      };
      const limit = await checkLimit(agent.id);
      if (!limit.allowed) return refuse('rate_limited', limit.message, limit.detail);
      if (agent.revokedAt) return refuse('forbidden', 'This agent has been revoked.');
      // Looked up in the agent's own tenant only: another tenant's event id is simply not there.
      const logged = await opts.log.findById(agent.tenantId, eventId);
      if (!logged) return refuse('not_found', 'No such call.');
      const { event } = logged;
      const concernsAgent = event.pbxId === agent.pbxId && (event.agents.includes(agent.extension) || event.extensions.includes(agent.extension));
      if (!concernsAgent) return refuse('forbidden', 'This call does not concern your extension.');
      if (!event.recording) return refuse('not_found', 'This call has no recording.');
      const expiresAt = now() + ttlMs;
      const token = signer.sign({ t: agent.tenantId, a: agent.id, p: event.pbxId, r: event.recording.pbxRecordingId, e: event.id, x: expiresAt });
      const text = await textOf(event.pbxId, event.recording.pbxRecordingId);
      return { ok: true, url: `${base}/v1/recordings/${token}`, expiresAt: new Date(expiresAt).toISOString(), ...(text ? { text } : {}) };
    },

    async redeem(token) {
      const verified = signer.verify(token, now());
      // A forged link names nobody worth auditing; the route logs the refusal.
      if (!verified.ok && verified.reason === 'invalid') return { ok: false, status: 403, slug: 'invalid-recording-link', title: 'Recording link not valid', detail: 'This link is not valid.' };
      const { t: tenantId, a: agentId, e: eventId } = verified.claims;
      const refuse = async (refusal: LinkRefusal, detail: string): Promise<RedeemedLink> => {
        await auditDenied(tenantId, agentId, eventId, detail);
        return { ok: false, ...refusal };
      };
      const limit = await checkLimit(agentId);
      if (!limit.allowed) {
        const refusal = limit.unavailable
          ? { status: 503 as const, slug: 'rate-limit-unavailable', title: 'Temporarily unavailable' }
          : { status: 429 as const, slug: 'too-many-requests', title: 'Too many recording requests' };
        return refuse({ ...refusal, detail: limit.message, retryAfterSec: limit.retryAfterSec }, limit.detail);
      }
      if (!verified.ok) return refuse({ status: 403, slug: 'invalid-recording-link', title: 'Recording link not valid', detail: 'This link has expired; ask for a new one.' }, 'link expired');
      // The standing now, not when the link was made: revoked since, or no longer this tenant's agent.
      const agent = await opts.agents.getAgent(agentId);
      if (!agent || agent.revokedAt || agent.tenantId !== tenantId || agent.pbxId !== verified.claims.p) {
        return refuse({ status: 403, slug: 'agent-not-authorised', title: 'Recording link no longer valid', detail: 'The device this link was made for is no longer authorised.' }, agent?.revokedAt ? 'agent revoked' : 'agent not in this tenant');
      }
      return { ok: true, claims: verified.claims };
    },
  };
}
