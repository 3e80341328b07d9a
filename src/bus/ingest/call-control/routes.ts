// The bus side of a remote connector: POST /v1/pbx/:pbxId/connector/observations, authenticated
// with one of the PBX's connector tokens (Authorization: Bearer), answered 2xx only once every
// observation of the batch is in the log. A resent delivery (same deliveryId) counts as accepted.
import type { FastifyPluginAsync } from 'fastify';
import { ProblemError, refusalLoggingHandler } from '../../http/problem.js';
import type { TenantStore } from '../../tenants/port.js';
import { matchesAnySecret } from '../../tenants/secrets.js';
import { IngestError } from '../normalise.js';
import type { Ingestor } from '../observation.js';
import { invalidRequest, resolvePbx, unknownPbx } from '../routes-support.js';
import { RemoteBatchSchema, fromRemote } from './wire.js';

export interface ConnectorRoutesOptions {
  ingestor: Ingestor;
  tenants: Pick<TenantStore, 'getPbx' | 'pbxSecrets'>;
}

const MAX_BODY_BYTES = 256 * 1024;

export const connectorRoutes: FastifyPluginAsync<ConnectorRoutesOptions> = async (app, opts) => {
  app.setErrorHandler(refusalLoggingHandler(app.log, 'connector post refused'));
  app.post('/v1/pbx/:pbxId/connector/observations', { bodyLimit: MAX_BODY_BYTES }, async (request, reply) => {
    const pbx = await resolvePbx(opts.tenants, request.params);
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!bearer || !matchesAnySecret(bearer, (await opts.tenants.pbxSecrets(pbx.id)).connectorTokens)) {
      throw new ProblemError(401, 'unauthenticated', 'Unauthenticated', 'A valid connector token for this PBX is required.');
    }
    const batch = RemoteBatchSchema.safeParse(request.body);
    if (!batch.success) throw invalidRequest(batch.error);

    const results: Array<{ deliveryId: string; eventId: string | null; duplicate: boolean }> = [];
    for (const remote of batch.data.observations) {
      try {
        const result = await opts.ingestor.ingest(fromRemote(remote, { tenantId: pbx.tenantId, pbxId: pbx.id }));
        results.push({ deliveryId: remote.deliveryId, eventId: result.eventId, duplicate: result.duplicate });
      } catch (err) {
        if (!(err instanceof IngestError)) throw err;
        if (err.code === 'replayed') {
          results.push({ deliveryId: remote.deliveryId, eventId: null, duplicate: true });
          continue;
        }
        if (err.code === 'unknown-pbx') throw unknownPbx();
        throw new ProblemError(422, 'invalid-call', 'Call data not acceptable', `${remote.deliveryId}: ${err.message}`);
      }
    }
    return reply.code(200).send({ accepted: results.length, results });
  });
};
