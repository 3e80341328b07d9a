// The Standard Webhooks form: POST /v1/pbx/:pbxId/webhook, signed with one of the PBX's
// whsec_ secrets (two are valid during rotation). The signature covers the exact bytes, so this
// plugin keeps the raw body (its own parser, scoped to this plugin) and parses JSON itself.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import type { CallEventType } from '../../../shared/call-event.js';
import { ProblemError } from '../../http/problem.js';
import type { CallObservation } from '../observation.js';
import { describeIssues, ingestOrProblem, resolvePbx, type IngestRoutesOptions } from '../routes-support.js';
import { MAX_WEBHOOK_BODY_BYTES, WebhookCallPayloadSchema, type WebhookCallPayload } from './payload.js';

export const WEBHOOK_PATH = '/v1/pbx/:pbxId/webhook';
const SIGNATURE_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;
/** Printable ASCII without '.', which would make `id.timestamp.body` ambiguous. */
const WEBHOOK_ID = /^[\x21-\x2d\x2f-\x7e]{1,256}$/;

const unauthorised = (detail: string) => new ProblemError(401, 'bad-signature', 'Signature not accepted', detail);

function signatureHeaders(request: FastifyRequest): Record<(typeof SIGNATURE_HEADERS)[number], string> {
  const out = {} as Record<(typeof SIGNATURE_HEADERS)[number], string>;
  for (const name of SIGNATURE_HEADERS) {
    const value = request.headers[name];
    if (typeof value !== 'string' || value.length === 0) throw unauthorised(`The ${name} header is missing; deliveries must be signed per Standard Webhooks.`);
    out[name] = value;
  }
  if (!WEBHOOK_ID.test(out['webhook-id'])) throw unauthorised('The webhook-id header is not a valid message id.');
  return out;
}

/** Accepts when any current secret verifies; otherwise says whether time or signature failed. */
function verify(raw: Buffer, headers: Record<string, string>, secrets: string[]): void {
  let reason = 'No webhook secret is configured for this PBX.';
  for (const secret of secrets) {
    try {
      new Webhook(secret).verify(raw, headers, { jsonParse: false });
      return;
    } catch (err) {
      if (!(err instanceof WebhookVerificationError)) throw err;
      reason = /timestamp/i.test(err.message)
        ? 'The webhook-timestamp is invalid or outside the 5-minute tolerance.'
        : 'No signature matches a current secret of this PBX.';
    }
  }
  throw unauthorised(reason);
}

const TYPES: Record<WebhookCallPayload['type'], CallEventType> = {
  'call.ringing': 'ringing',
  'call.answered': 'answered',
  'call.ended': 'ended',
  'call.missed': 'missed',
  'call.recording_ready': 'recording_ready',
};

export const webhookRoutes: FastifyPluginAsync<IngestRoutesOptions> = async (app, opts) => {
  // Encapsulated: only this plugin's routes see bodies as raw bytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_WEBHOOK_BODY_BYTES }, (_request, body, done) => done(null, body));

  app.post(WEBHOOK_PATH, { bodyLimit: MAX_WEBHOOK_BODY_BYTES }, async (request) => {
    const pbx = await resolvePbx(opts.tenants, request.params);
    const headers = signatureHeaders(request);
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    verify(raw, headers, (await opts.tenants.pbxSecrets(pbx.id)).webhookSecrets);

    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new ProblemError(400, 'malformed-body', 'Malformed request body', 'The body is not valid JSON.');
    }
    const payload = WebhookCallPayloadSchema.safeParse(json);
    if (!payload.success) throw new ProblemError(422, 'invalid-payload', 'Payload not acceptable', describeIssues(payload.error));
    const { data } = payload.data;

    const observation: CallObservation = {
      tenantId: pbx.tenantId,
      pbxId: pbx.id,
      source: 'webhook',
      type: TYPES[payload.data.type],
      direction: data.direction,
      pbxCallId: data.callId,
      caller: { raw: data.from.number, name: data.from.name ?? null },
      callee: { raw: data.to.number, name: data.to.name ?? null },
      extensions: data.extensions,
      queue: data.queue ?? null,
      agents: data.extensions,
      answeredBy: data.answeredBy,
      pbxTime: new Date(payload.data.timestamp),
      durationSec: data.durationSec ?? null,
      recording: data.recordingId ? { pbxRecordingId: data.recordingId, contentType: null } : null,
      deliveryId: headers['webhook-id'],
    };
    const result = await ingestOrProblem(opts.ingestor, observation);
    return { eventId: result.eventId, duplicate: result.duplicate };
  });
};
