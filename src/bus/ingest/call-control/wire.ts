// An observation as a remote connector (beside an on-prem PBX) posts it to the bus. Tenant and
// PBX are not on the wire: the bus takes them from the authenticated PBX, never from the sender.
import { z } from 'zod';
import { CallDirection, CallEventType, EndReason, RecordingRefSchema } from '../../../shared/call-event.js';
import type { CallObservation } from '../observation.js';

const Party = z.object({ raw: z.string().max(64), name: z.string().max(200).nullable() });
const Dn = z.string().max(16);

export const RemoteObservationSchema = z.object({
  deliveryId: z.string().min(1).max(200),
  type: CallEventType,
  direction: CallDirection,
  pbxCallId: z.string().min(1).max(128).nullable(),
  caller: Party,
  callee: Party,
  extensions: z.array(Dn).max(256),
  queue: Dn.nullable(),
  agents: z.array(Dn).max(256),
  answeredBy: Dn.nullish(),
  pbxTime: z.string().datetime({ offset: true }),
  durationSec: z.number().int().nonnegative().nullable(),
  recording: RecordingRefSchema.nullable(),
  /** Optional: connectors older than it do not send it. */
  endReason: EndReason.optional(),
  /** A call id the restarted PBX reused: the observation's reusedCallId.earlierRunUntil (optional, as endReason). */
  reusedCallIdEarlierRunUntil: z.string().datetime({ offset: true }).optional(),
});
export type RemoteObservation = z.infer<typeof RemoteObservationSchema>;

export const MAX_BATCH = 100;
export const RemoteBatchSchema = z.object({ observations: z.array(RemoteObservationSchema).min(1).max(MAX_BATCH) });
export type RemoteBatch = z.infer<typeof RemoteBatchSchema>;

export const CONNECTOR_OBSERVATIONS_PATH = (pbxId: string) => `/v1/pbx/${encodeURIComponent(pbxId)}/connector/observations`;

export function toRemote(o: CallObservation): RemoteObservation {
  if (!o.deliveryId) throw new Error('a remote observation needs a deliveryId');
  return {
    deliveryId: o.deliveryId,
    type: o.type,
    direction: o.direction,
    pbxCallId: o.pbxCallId,
    caller: o.caller,
    callee: o.callee,
    extensions: o.extensions,
    queue: o.queue,
    agents: o.agents,
    ...(o.answeredBy !== undefined ? { answeredBy: o.answeredBy } : {}),
    pbxTime: o.pbxTime.toISOString(),
    durationSec: o.durationSec,
    recording: o.recording,
    ...(o.endReason !== undefined ? { endReason: o.endReason } : {}),
    ...(o.reusedCallId ? { reusedCallIdEarlierRunUntil: o.reusedCallId.earlierRunUntil.toISOString() } : {}),
  };
}

export function fromRemote({ reusedCallIdEarlierRunUntil: until, ...r }: RemoteObservation, pbx: { tenantId: string; pbxId: string }): CallObservation {
  return {
    ...r,
    ...pbx,
    source: 'call-control',
    pbxTime: new Date(r.pbxTime),
    ...(until !== undefined ? { reusedCallId: { earlierRunUntil: new Date(until) } } : {}),
  };
}
