// GET /v1/recordings/:token: checks the signed link, then pipes the audio from 3CX (XAPI) to the
// agent chunk by chunk; the bus never holds a whole file. Every fetch is audited with its result.
import type { FastifyPluginAsync } from 'fastify';
import type { AuditLog } from '../audit/port.js';
import { ProblemError, refusalLoggingHandler } from '../http/problem.js';
import type { PbxGateway } from '../pbx/port.js';
import type { RecordingLinks } from './service.js';

export interface RecordingRoutesOptions {
  service: Pick<RecordingLinks, 'verify'>;
  gateway: Pick<PbxGateway, 'openRecording'>;
  audit: AuditLog;
}

export const recordingRoutes: FastifyPluginAsync<RecordingRoutesOptions> = async (app, opts) => {
  app.setErrorHandler(refusalLoggingHandler(app.log, 'recording download refused'));
  // A wildcard, not `:token`: signed tokens are longer than Fastify's default maxParamLength (100).
  app.get<{ Params: { '*': string } }>('/v1/recordings/*', async (request, reply) => {
    const verified = opts.service.verify(request.params['*']);
    if (!verified.ok) {
      if (verified.reason === 'expired') {
        const { t, a, e } = verified.claims;
        await opts.audit.record({ tenantId: t, agentId: a, action: 'recording', target: e, result: 'denied', detail: 'link expired' });
      }
      throw new ProblemError(403, 'invalid-recording-link', 'Recording link not valid', verified.reason === 'expired' ? 'This link has expired; ask for a new one.' : 'This link is not valid.');
    }
    const { t: tenantId, a: agentId, p: pbxId, r: recordingId, e: eventId } = verified.claims;
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
