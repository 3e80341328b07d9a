// Which sender deliveries (Standard Webhooks' webhook-id, Call Control's deliveryId) were already
// stored, so a retry is answered as a duplicate and a reused id with another body is refused.
// Remembered outside the process (a table in the SQLite event log's own file, or the Redis every
// node shares), so a retry after a bus restart or on another node is recognised too.
import { z } from 'zod';
import type { CallObservation } from '../observation.js';
import { sha256Url } from '../digest.js';

/**
 * How long a delivery id is remembered. Standard Webhooks' example schedule retries for 75 h 35 min
 * (spec/standard-webhooks.md, "Deliverability and reliability": …, 10 h, 14 h, 20 h, 24 h) and Svix,
 * its reference sender, for 27 h 35 min (docs.svix.com/retries: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
 * 10 h); four days covers both with room for the 5-minute timestamp tolerance and clock skew.
 */
export const DELIVERY_RETENTION_MS = 4 * 24 * 60 * 60_000;

/** What a stored delivery left: a digest of its content and the event it became. */
export const DeliveryRecordSchema = z.object({ digest: z.string().min(1), eventId: z.string().min(1) });
export type DeliveryRecord = z.infer<typeof DeliveryRecordSchema>;

export interface DeliveryStore {
  /** The record under `key`, unless there is none or it expired. */
  find(key: string): Promise<DeliveryRecord | null>;
  /** Records a delivery whose event is in the log, for the retention window (replacing any record under `key`). */
  remember(key: string, record: DeliveryRecord): Promise<void>;
  close(): Promise<void>;
}

/**
 * A fixed-size key for one delivery. The event time is part of it: a sender that derives delivery
 * ids from call ids repeats them when the PBX reuses a call id, and that later call's events are
 * new deliveries, not replays (a signed body cannot change its event time).
 */
export function deliveryKey(pbxId: string, deliveryId: string, eventTimeMs: number): string {
  return sha256Url([pbxId, deliveryId, eventTimeMs].join('\n')).slice(0, 32);
}

/**
 * A digest of what a delivery says: every field of its observation but the delivery id, in a fixed
 * order (so it does not depend on the order an adapter built or a sender sent the keys in) and with
 * times as instants. Spelt out field by field rather than a key-sorted JSON of the whole object:
 * that cost ~10 µs per webhook; the Record type makes the compiler ask for every new field.
 */
export function contentDigest(obs: CallObservation): string {
  const party = (p: CallObservation['caller']) => [p.raw, p.name];
  const fields: Record<Exclude<keyof CallObservation, 'deliveryId'>, unknown> = {
    tenantId: obs.tenantId,
    pbxId: obs.pbxId,
    source: obs.source,
    type: obs.type,
    direction: obs.direction,
    pbxCallId: obs.pbxCallId,
    reusedCallId: obs.reusedCallId?.earlierRunUntil.getTime() ?? null,
    instanceId: obs.instanceId ?? null,
    caller: party(obs.caller),
    callee: party(obs.callee),
    extensions: obs.extensions,
    queue: obs.queue,
    agents: obs.agents,
    answeredBy: obs.answeredBy ?? null,
    pbxTime: obs.pbxTime.getTime(),
    durationSec: obs.durationSec,
    recording: obs.recording && [obs.recording.pbxRecordingId, obs.recording.contentType],
    endReason: obs.endReason ?? null,
    journal: obs.journal ? [obs.journal.identity, obs.journal.endedAt?.getTime() ?? null] : null,
  };
  return sha256Url(JSON.stringify(Object.values(fields)));
}
