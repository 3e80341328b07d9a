// CallEvent v1: the one shape every 3CX input form is turned into, stored in the log and sent
// to agents. Versioned: a breaking change makes v2 beside it; frozen fixtures in
// test/fixtures/call-event.v1.json guard compatibility.
import { z } from 'zod';

export const CALL_EVENT_VERSION = 1 as const;

/**
 * `missed` = the call ended without being answered: a caller nobody picked up for (inbound), or a
 * callee who did not pick up (outbound; agents show it as "not answered", never as missed).
 */
export const CallEventType = z.enum(['ringing', 'answered', 'ended', 'missed', 'recording_ready']);
export type CallEventType = z.infer<typeof CallEventType>;

export const CallDirection = z.enum(['inbound', 'outbound', 'internal']);
export type CallDirection = z.infer<typeof CallDirection>;

/** Which 3CX input form produced the event (kept for audit and debugging). */
export const IngestSource = z.enum(['crm-template', 'webhook', 'call-control']);
export type IngestSource = z.infer<typeof IngestSource>;

export const PartySchema = z.object({
  /** Exactly what the PBX sent (dialled digits, extension or caller id). */
  raw: z.string().max(64),
  /** E.164 when the raw number is a valid public number in the PBX's default country; null for extensions. */
  e164: z.string().regex(/^\+[1-9]\d{6,14}$/).nullable(),
  /** Display name the PBX knew, if any. */
  name: z.string().max(200).nullable(),
  /** Set when this party is an extension of the PBX. */
  extension: z.string().max(16).nullable(),
});
export type Party = z.infer<typeof PartySchema>;

export const RecordingRefSchema = z.object({
  /** The 3CX recording id (XAPI `Recordings.Id`), used with Pbx.DownloadRecording. */
  pbxRecordingId: z.string().max(64),
  contentType: z.string().max(100).nullable(),
});
export type RecordingRef = z.infer<typeof RecordingRefSchema>;

/**
 * How an `ended`/`missed` came to be known. `reported`: the PBX said the call ended.
 * `connection_lost`: the bus lost the PBX (restart, network) while the call was up and the call
 * was gone when it came back, so `pbxTime` and `durationSec` stop at the last time it was seen.
 */
export const EndReason = z.enum(['reported', 'connection_lost']);
export type EndReason = z.infer<typeof EndReason>;

const Iso = z.string().datetime({ offset: true });

export const CallEventSchema = z.object({
  v: z.literal(CALL_EVENT_VERSION),
  /** Stable unique id: the same transition seen twice (retries, two input forms) keeps one id. */
  id: z.string().min(8).max(200),
  tenantId: z.string().min(1).max(64),
  pbxId: z.string().min(1).max(64),
  /** The PBX's own call id (Call Control `callid`), or a correlation id where the form has none. */
  pbxCallId: z.string().min(1).max(128),
  type: CallEventType,
  direction: CallDirection,
  caller: PartySchema,
  callee: PartySchema,
  /** Every extension involved (ringing at, answered by, placed by). */
  extensions: z.array(z.string().max(16)).max(256),
  /** Queue DN when the call came through a queue. */
  queue: z.string().max(16).nullable(),
  /** Extensions of the agents this event concerns: the fan-out routes on this and only this. */
  agents: z.array(z.string().max(16)).max(256),
  /** When the PBX says it happened. */
  pbxTime: Iso,
  /** When the bus received it. */
  receivedAt: Iso,
  /** Talk time in seconds, on ended. */
  durationSec: z.number().int().nonnegative().nullable(),
  recording: RecordingRefSchema.nullable(),
  source: IngestSource,
  /**
   * On `answered`: the extension that took the call. A queue or ring-group call's `answered`
   * concerns every agent it was ringing (`agents`), so the others see it answered elsewhere.
   * Added within v1: absent on events logged before it (see `answeringExtension`).
   */
  answeredBy: z.string().max(16).nullish(),
  /** On `ended`/`missed`, where the form says. Added within v1: absent on older events and other forms. */
  endReason: EndReason.nullish(),
});
export type CallEvent = z.infer<typeof CallEventSchema>;

/** The remote party from the agent's point of view: the caller on inbound, the callee otherwise. */
export function remoteParty(event: Pick<CallEvent, 'direction' | 'caller' | 'callee'>): Party {
  return event.direction === 'inbound' ? event.caller : event.callee;
}

/**
 * The extension that answered, on an `answered` event. Events logged before `answeredBy` existed
 * were per agent: the answering party is the agent side of an inbound call.
 */
export function answeringExtension(event: CallEvent): string | null {
  if (event.type !== 'answered') return null;
  if (event.answeredBy !== undefined) return event.answeredBy;
  return event.direction === 'inbound' ? event.callee.extension : null;
}
