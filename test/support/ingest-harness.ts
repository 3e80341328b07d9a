// A bus with the ingest routes on the memory log and an in-memory tenant store, for tests of the
// ingest forms (route tests, fuzz set). Not used by production code.
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { Webhook } from 'standardwebhooks';
import { problemHandler } from '../../src/bus/http/problem.js';
import { createMemoryEventLog } from './memory-event-log.js';
import type { EventLog, LoggedEvent } from '../../src/bus/log/port.js';
import type { Pbx, PbxSecrets } from '../../src/bus/tenants/port.js';
import type { AdminTenantStore } from '../../src/bus/tenants/rows.js';
import { createSqliteTenantStore, type SqliteTenantStore } from '../../src/bus/tenants/sqlite/store.js';
import type { DeliveryStore } from '../../src/bus/ingest/deliveries/port.js';
import { createIngestor } from '../../src/bus/ingest/normalise.js';
import { ingestRoutes } from '../../src/bus/ingest/routes.js';
import type { WebhookCallPayload } from '../../src/bus/ingest/webhook/payload.js';

export interface IngestHarness {
  app: FastifyInstance;
  log: EventLog;
  tenants: SqliteTenantStore;
  tenantId: string;
  pbx: Pbx;
  secrets: PbxSecrets;
  /** Everything the tenant's log holds. */
  logged(): Promise<LoggedEvent[]>;
  close(): Promise<void>;
}

export async function buildIngestHarness(): Promise<IngestHarness> {
  const log = createMemoryEventLog();
  const tenants = createSqliteTenantStore({ path: ':memory:', masterKey: randomBytes(32) });
  const tenant = await tenants.createTenant({ name: 'Acme' });
  const { pbx, secrets } = await tenants.addPbx({
    tenantId: tenant.id, name: 'Main', baseUrl: 'https://pbx.acme.test', defaultCountry: 'AU', apiClientId: null, connectorMode: 'bus',
  });
  const app = await ingestApp({ log, tenants });
  return {
    app, log, tenants, tenantId: tenant.id, pbx, secrets,
    logged: async () => (await log.read(tenant.id, { since: 0, limit: 10_000 })).events,
    close: async () => {
      await app.close();
      await log.close();
      await tenants.close();
    },
  };
}

/** Just the ingest routes over the given storage (a bus restart is a new app on the same storage). */
export async function ingestApp(storage: { log: EventLog; tenants: AdminTenantStore; deliveries?: DeliveryStore }): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(problemHandler);
  await app.register(ingestRoutes, { ingestor: createIngestor(storage), tenants: storage.tenants, contacts: storage.tenants });
  await app.ready();
  return app;
}

export function signedHeaders(secret: string, body: string, opts: { id?: string; at?: Date } = {}): Record<string, string> {
  const id = opts.id ?? `msg_${randomBytes(8).toString('hex')}`;
  const at = opts.at ?? new Date();
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  };
}

export function webhookPayload(overrides: Partial<WebhookCallPayload['data']> = {}, type: WebhookCallPayload['type'] = 'call.ringing'): WebhookCallPayload {
  return {
    type,
    timestamp: new Date().toISOString(),
    data: {
      callId: 'call-1', direction: 'inbound', from: { number: '0298765432', name: 'Jane Citizen' }, to: { number: '101' },
      extensions: ['101'], queue: null, durationSec: null, recordingId: null,
      ...overrides,
    },
  };
}
