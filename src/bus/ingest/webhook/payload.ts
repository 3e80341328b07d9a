// The JSON body a Standard-Webhooks sender (3CX call-flow app, middleware) posts to
// POST /v1/pbx/:pbxId/webhook. Signed per https://www.standardwebhooks.com (webhook-id,
// webhook-timestamp, webhook-signature). Field names are ours; the sender documents its side.
import { z } from 'zod';

export const WebhookCallPayloadSchema = z.object({
  type: z.enum(['call.ringing', 'call.answered', 'call.ended', 'call.missed', 'call.recording_ready']),
  timestamp: z.string().datetime({ offset: true }),
  data: z.object({
    callId: z.string().min(1).max(128),
    direction: z.enum(['inbound', 'outbound', 'internal']),
    from: z.object({ number: z.string().min(1).max(64), name: z.string().max(200).nullish() }),
    to: z.object({ number: z.string().min(1).max(64), name: z.string().max(200).nullish() }),
    /**
     * Extensions the call rings at / was answered by / was placed from. On `call.answered` of a
     * queue or ring-group call: every extension it was ringing, with `answeredBy` naming the one
     * that took it (the others' agents then show it answered elsewhere).
     */
    extensions: z.array(z.string().regex(/^\d{1,16}$/)).max(256),
    answeredBy: z.string().regex(/^\d{1,16}$/).nullish(),
    queue: z.string().regex(/^\d{1,16}$/).nullish(),
    durationSec: z.number().int().nonnegative().nullish(),
    recordingId: z.string().min(1).max(64).nullish(),
  }),
});
export type WebhookCallPayload = z.infer<typeof WebhookCallPayloadSchema>;

export const MAX_WEBHOOK_BODY_BYTES = 64 * 1024;
