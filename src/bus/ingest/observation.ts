// What every ingest adapter hands to the normaliser: a call transition as the PBX described it,
// before numbers are normalised and before an id is fixed.
import type { CallDirection, CallEventType, EndReason, IngestSource, RecordingRef } from '../../shared/call-event.js';

export interface CallObservation {
  tenantId: string;
  pbxId: string;
  source: IngestSource;
  type: CallEventType;
  direction: CallDirection;
  /** The PBX call id when the form carries one (Call Control, webhook); null for the CRM template. */
  pbxCallId: string | null;
  /**
   * Call Control: the PBX restarted and numbered this call with an id an earlier call had. A call
   * under this id that began by `earlierRunUntil` (the connector's last sign of the PBX before the
   * restart) is another call.
   */
  reusedCallId?: { earlierRunUntil: Date };
  /**
   * Call Control, a leg restored from the log: the id the log already gave its call (`1001@<time>`
   * when the PBX had reused the id). A node that takes over remembers no instances, so it keeps this one.
   */
  instanceId?: string;
  caller: { raw: string; name: string | null };
  callee: { raw: string; name: string | null };
  extensions: string[];
  queue: string | null;
  agents: string[];
  /** On `answered`: the extension that took the call, when the form says (one of `agents`). */
  answeredBy?: string | null;
  pbxTime: Date;
  durationSec: number | null;
  recording: RecordingRef | null;
  /** On `ended`/`missed`: how the end was learned, when the form knows (Call Control). */
  endReason?: EndReason;
  /**
   * CRM template journal only. `identity` is the same for every retry of one journal entry and
   * differs for another call's (times, duration, call type); `endedAt` is the end the PBX reported.
   */
  journal?: { identity: string; endedAt: Date | null };
  /** Sender-side unique id (webhook-id); retries of one delivery share it. */
  deliveryId?: string;
}

export interface IngestResult {
  /** True when this transition had already been logged (retry or a second form). */
  duplicate: boolean;
  eventId: string;
}

/** The single entry into the log: adapters call this and nothing else. */
export interface Ingestor {
  ingest(observation: CallObservation): Promise<IngestResult>;
}
