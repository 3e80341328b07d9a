// Recording mediation: an agent asks for the recording of a call event; it gets a short-lived URL
// on the bus (streamed from 3CX) only when that call concerns its own extension.
import type { RecordingText } from '../pbx/port.js';
import type { Agent } from '../tenants/port.js';

export type RecordingGrant =
  /** `text`: 3CX's transcript and summary of the recording when the PBX has them (V20). */
  | { ok: true; url: string; expiresAt: string; text?: RecordingText | null }
  | { ok: false; code: 'forbidden' | 'not_found' | 'rate_limited'; message: string };

export interface RecordingService {
  grant(agent: Agent, eventId: string): Promise<RecordingGrant>;
}
