// All HTTP ingest forms as one Fastify plugin for the app to register. Each form is its own
// encapsulated child (the webhook one keeps raw bodies); refusals are problem+json and logged.
import type { FastifyError, FastifyPluginAsync } from 'fastify';
import { ProblemError, problemErrorHandler } from '../http/problem.js';
import { crmTemplateRoutes } from './crm-template/routes.js';
import type { IngestRoutesOptions } from './routes-support.js';
import { webhookRoutes } from './webhook/routes.js';

export type { IngestRoutesOptions } from './routes-support.js';

export const ingestRoutes: FastifyPluginAsync<IngestRoutesOptions> = async (app, opts) => {
  const logger = opts.logger ?? app.log;
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error instanceof ProblemError ? error.status : (error.statusCode ?? 500);
    if (status < 500) {
      // Recorded so an admin can see forged or broken senders; bodies and headers are not logged.
      const reason = error instanceof ProblemError ? error.slug : error.code;
      logger.warn({ reqId: request.id, route: request.routeOptions.url, ip: request.ip, status, reason }, 'ingest refused');
    }
    return problemErrorHandler(error, request, reply);
  });
  await app.register(crmTemplateRoutes, opts);
  await app.register(webhookRoutes, opts);
};
