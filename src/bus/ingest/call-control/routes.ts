// The bus side of a remote connector, every route authenticated with one of the PBX's connector
// tokens (Authorization: Bearer):
// - POST /v1/pbx/:pbxId/connector/observations, answered 2xx only once every observation of the
//   batch is in the log. A resent delivery (same deliveryId and event time) counts as accepted.
// - the command relay (pbx/relay-wire.ts): the connector's long poll for makecall and recording
//   requests, its answers, and recordings uploaded as a streamed body.
import type { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { allowLongBody } from '../../http/connections.js';
import { ProblemError, refusalLoggingHandler } from '../../http/problem.js';
import type { ConnectorRelay } from '../../pbx/relay.js';
import { CommandId, MAX_ANSWER_BYTES, MAX_POLL_WAIT_SEC, RECORDING_CONTENT_TYPE, RelayAnswerSchema } from '../../pbx/relay-wire.js';
import type { Pbx, TenantStore } from '../../tenants/port.js';
import { matchesAnySecret } from '../../tenants/secrets.js';
import { IngestError } from '../normalise.js';
import type { Ingestor } from '../observation.js';
import { invalidRequest, resolvePbx, unknownPbx } from '../routes-support.js';
import { RemoteBatchSchema, fromRemote } from './wire.js';

export interface ConnectorRoutesOptions {
  ingestor: Ingestor;
  tenants: Pick<TenantStore, 'getPbx' | 'pbxSecrets'>;
  /** Carries makecall and recordings to remote connectors; without it the command routes are absent. */
  relay?: ConnectorRelay;
}

const MAX_BODY_BYTES = 256 * 1024;
export const REMOTE_OBSERVATIONS_PATH = '/v1/pbx/:pbxId/connector/observations';
const PollQuerySchema = z.object({ waitSec: z.coerce.number().int().min(0).max(MAX_POLL_WAIT_SEC).default(25) });
const CommandParamsSchema = z.object({ pbxId: z.string(), commandId: CommandId });

export const connectorRoutes: FastifyPluginAsync<ConnectorRoutesOptions> = async (app, opts) => {
  app.setErrorHandler(refusalLoggingHandler(app.log, 'connector post refused'));

  async function authenticated(request: FastifyRequest): Promise<Pbx> {
    const pbx = await resolvePbx(opts.tenants, request.params);
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!bearer || !matchesAnySecret(bearer, (await opts.tenants.pbxSecrets(pbx.id)).connectorTokens)) {
      throw new ProblemError(401, 'unauthenticated', 'Unauthenticated', 'A valid connector token for this PBX is required.');
    }
    return pbx;
  }

  app.post(REMOTE_OBSERVATIONS_PATH, { bodyLimit: MAX_BODY_BYTES }, async (request, reply) => {
    const pbx = await authenticated(request);
    const batch = RemoteBatchSchema.safeParse(request.body);
    if (!batch.success) throw invalidRequest(batch.error);

    const results: Array<{ deliveryId: string; eventId: string | null; duplicate: boolean }> = [];
    for (const remote of batch.data.observations) {
      try {
        const result = await opts.ingestor.ingest(fromRemote(remote, { tenantId: pbx.tenantId, pbxId: pbx.id }));
        results.push({ deliveryId: remote.deliveryId, eventId: result.eventId, duplicate: result.duplicate });
      } catch (err) {
        if (!(err instanceof IngestError)) throw err;
        if (err.code === 'delivery-reused') {
          results.push({ deliveryId: remote.deliveryId, eventId: null, duplicate: true });
          continue;
        }
        if (err.code === 'unknown-pbx') throw unknownPbx();
        throw new ProblemError(422, 'invalid-call', 'Call data not acceptable', `${remote.deliveryId}: ${err.message}`);
      }
    }
    return reply.code(200).send({ accepted: results.length, results });
  });

  const relay = opts.relay;
  if (!relay) return;
  const unknownCommand = () => new ProblemError(404, 'unknown-command', 'Unknown command', 'No such command is waiting for an answer (answered already, or timed out).');
  const commandOf = (request: FastifyRequest) => {
    const params = CommandParamsSchema.safeParse(request.params);
    if (!params.success) throw unknownCommand();
    return params.data.commandId;
  };

  // Open polls end when the bus shuts down, which would otherwise wait out every poll's wait.
  const closing = new AbortController();
  app.addHook('preClose', (done) => {
    closing.abort();
    done();
  });
  app.get('/v1/pbx/:pbxId/connector/commands', async (request, reply) => {
    const pbx = await authenticated(request);
    const query = PollQuerySchema.safeParse(request.query);
    if (!query.success) throw invalidRequest(query.error);
    // A poll whose connection is gone must not take commands with it.
    const gone = new AbortController();
    reply.raw.once('close', () => gone.abort());
    const commands = await relay.collect(pbx.id, query.data.waitSec * 1000, AbortSignal.any([gone.signal, closing.signal]));
    // A kept-alive connection would hold the closing server open until its keep-alive timeout.
    if (closing.signal.aborted) reply.header('connection', 'close');
    return reply.code(200).header('cache-control', 'no-store').send({ commands });
  });

  app.post('/v1/pbx/:pbxId/connector/commands/:commandId/answer', { bodyLimit: MAX_ANSWER_BYTES }, async (request, reply) => {
    const pbx = await authenticated(request);
    const commandId = commandOf(request);
    const answer = RelayAnswerSchema.safeParse(request.body);
    if (!answer.success) throw invalidRequest(answer.error);
    const outcome = relay.answer(pbx.id, commandId, answer.data);
    if (outcome === 'unknown') throw unknownCommand();
    if (outcome === 'mismatch') throw new ProblemError(422, 'wrong-answer', 'Answer does not fit the command', 'This answer is for another kind of command.');
    return reply.code(204).send();
  });

  // Recordings arrive as the raw body and are piped on as they come; the relay enforces the size cap.
  app.addContentTypeParser(RECORDING_CONTENT_TYPE, (_request, payload, done) => done(null, payload));
  app.post('/v1/pbx/:pbxId/connector/commands/:commandId/recording', async (request, reply) => {
    const pbx = await authenticated(request);
    // A long recording on a slow uplink may take longer than the request deadline.
    allowLongBody(request);
    const commandId = commandOf(request);
    const contentType = request.headers['content-type'] ?? '';
    if (!RECORDING_CONTENT_TYPE.test(contentType)) throw new ProblemError(415, 'unsupported-media-type', 'Unsupported media type', 'A recording is sent as audio/* or application/octet-stream.');
    const length = Number(request.headers['content-length']);
    const outcome = await relay.upload(pbx.id, commandId, {
      body: request.body as Readable,
      contentType,
      contentLength: Number.isSafeInteger(length) && length >= 0 ? length : null,
    });
    // Whatever was not read stays unread: the connection closes after this answer.
    if (outcome !== 'relayed') reply.header('connection', 'close');
    if (outcome === 'unknown') throw unknownCommand();
    if (outcome === 'too-large') throw new ProblemError(413, 'recording-too-large', 'Recording too large', 'The recording is larger than the bus relays.');
    if (outcome === 'aborted') throw new ProblemError(409, 'download-aborted', 'Download aborted', 'The agent stopped the download, or the upload broke off.');
    return reply.code(204).send();
  });
};
