// All HTTP ingest forms as one Fastify plugin for the app to register. Each form is its own
// encapsulated child (the webhook one keeps raw bodies); refusals are problem+json and logged.
import type { FastifyPluginAsync } from 'fastify';
import { refusalLoggingHandler } from '../http/problem.js';
import { crmTemplateRoutes } from './crm-template/routes.js';
import type { IngestRoutesOptions } from './routes-support.js';
import { webhookRoutes } from './webhook/routes.js';

export type { IngestRoutesOptions } from './routes-support.js';

export const ingestRoutes: FastifyPluginAsync<IngestRoutesOptions> = async (app, opts) => {
  // Recorded so an admin can see forged or broken senders.
  app.setErrorHandler(refusalLoggingHandler(opts.logger ?? app.log, 'ingest refused'));
  await app.register(crmTemplateRoutes, opts);
  await app.register(webhookRoutes, opts);
};
