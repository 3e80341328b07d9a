// Recording mediation with least privilege: an agent gets a short-lived link to a recording only when
// the call event is in its own tenant's log, carries a recording, and concerns its own extension on
// its own PBX. Refusals are audited here; fetches are audited by the download route.
import type { AuditLog } from '../audit/port.js';
import type { EventLog } from '../log/port.js';
import type { RecordingGrant, RecordingService } from './port.js';
import { GrantSigner, type VerifiedGrant } from './grant-token.js';

export interface RecordingServiceOptions {
  log: Pick<EventLog, 'findById'>;
  audit: AuditLog;
  /** HMAC key for links, at least 32 bytes. */
  secret: string | Buffer;
  /** Public base URL of the bus, e.g. https://bus.example.com */
  publicUrl: string;
  /** Link lifetime. Default 5 minutes. */
  ttlMs?: number;
  now?: () => number;
}

export interface RecordingLinks extends RecordingService {
  /** Checks a link token from GET /v1/recordings/:token. */
  verify(token: string): VerifiedGrant;
}

export function createRecordingService(opts: RecordingServiceOptions): RecordingLinks {
  const signer = new GrantSigner(opts.secret);
  const ttlMs = opts.ttlMs ?? 5 * 60_000;
  const now = opts.now ?? Date.now;
  const base = opts.publicUrl.replace(/\/$/, '');

  return {
    async grant(agent, eventId): Promise<RecordingGrant> {
      const refuse = async (code: 'forbidden' | 'not_found', message: string): Promise<RecordingGrant> => {
        await opts.audit.record({ tenantId: agent.tenantId, agentId: agent.id, action: 'recording', target: eventId.slice(0, 200), result: 'denied', detail: `${code}: ${message}` });
        return { ok: false, code, message };
      };
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
      return { ok: true, url: `${base}/v1/recordings/${token}`, expiresAt: new Date(expiresAt).toISOString() };
    },
    verify: (token) => signer.verify(token, now()),
  };
}
