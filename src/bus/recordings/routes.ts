// GET /v1/recordings/:token: checks the signed link and its agent's standing as it is used, then
// pipes the audio from 3CX (XAPI) to the agent chunk by chunk; the bus never holds a whole file.
// Every fetch is audited with its result (refusals by the service, rate limited and aggregated).
import type { FastifyPluginAsync } from 'fastify';
import type { AuditLog } from '../audit/port.js';
import { ProblemError, refusalLoggingHandler } from '../http/problem.js';
import type { PbxGateway } from '../pbx/port.js';
import type { RecordingLinks } from './service.js';

export interface RecordingRoutesOptions {
  service: Pick<RecordingLinks, 'redeem'>;
  gateway: Pick<PbxGateway, 'openRecording'>;
  audit: Pick<AuditLog, 'record'>;
}

export const recordingRoutes: FastifyPluginAsync<RecordingRoutesOptions> = async (app, opts) => {
  app.setErrorHandler(refusalLoggingHandler(app.log, 'recording download refused'));
  // A wildcard, not `:token`: signed tokens are longer than Fastify's default maxParamLength (100).
  app.get<{ Params: { '*': string } }>('/v1/recordings/*', async (request, reply) => {
    const redeemed = await opts.service.redeem(request.params['*']);
    if (!redeemed.ok) {
      const headers: Record<string, string> = redeemed.retryAfterSec !== undefined ? { 'retry-after': String(redeemed.retryAfterSec) } : {};
      throw new ProblemError(redeemed.status, redeemed.slug, redeemed.title, redeemed.detail, headers);
    }
    const { t: tenantId, a: agentId, p: pbxId, r: recordingId, e: eventId } = redeemed.claims;
    const audit = (result: 'ok' | 'error', detail: string | null) => opts.audit.record({ tenantId, agentId, action: 'recording', target: eventId, result, detail });

    let recording;
    try {
      recording = await opts.gateway.openRecording(pbxId, recordingId);
    } catch (err) {
      await audit('error', (err as Error).message);
      throw new ProblemError(502, 'pbx-unavailable', 'Recording not available', 'The PBX did not deliver the recording; try again later.');
    }
    reply.raw.once('close', () => {
      const complete = reply.raw.writableFinished;
      void audit(complete ? 'ok' : 'error', complete ? `pbx recording ${recordingId}` : 'transfer aborted').catch((err: Error) => request.log.error({ err }, 'audit failed'));
      if (!complete) recording.body.destroy();
    });
    const extension = /mpeg|mp3/i.test(recording.contentType) ? 'mp3' : 'wav';
    reply.header('content-type', recording.contentType).header('cache-control', 'no-store').header('content-disposition', `attachment; filename="recording-${recordingId.replace(/\W/g, '')}.${extension}"`);
    if (recording.contentLength !== null) reply.header('content-length', String(recording.contentLength));
    return reply.send(recording.body);
  });
};
