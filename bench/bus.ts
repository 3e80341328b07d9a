// The bus under test, run as a child process of the bench (so its memory is its own and the load
// generator does not share its event loop). Embedded storage: SQLite log and tenant store in the
// data directory the parent gives. Talks to the parent over IPC:
//   parent -> {t:'seed', agents}  child -> {t:'seeded', pbxs, agents}  (tenants of 100 agents, paired)
//   parent -> {t:'memory'}        child -> {t:'memory', rss, heapUsed}  (after gc())
//   parent -> {t:'exit'}          child exits (flushing a --cpu-prof profile)
// It announces {t:'ready', port} once listening on 127.0.0.1.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { pino } from 'pino';
import type { DialService } from '../src/bus/dial/port.js';
import { agentGateway } from '../src/bus/fanout/index.js';
import { problemHandler } from '../src/bus/http/problem.js';
import { createIngestor } from '../src/bus/ingest/normalise.js';
import { ingestRoutes } from '../src/bus/ingest/routes.js';
import { openSqliteEventLog } from '../src/bus/log/sqlite/index.js';
import type { RecordingService } from '../src/bus/recordings/port.js';
import { createSqliteTenantStore, type SqliteTenantStore } from '../src/bus/tenants/sqlite/store.js';
import { childMemory, childUsage, type ChildMessage } from './stats.js';

/** Agents per tenant (one PBX each); extensions 1000..1099. */
const AGENTS_PER_TENANT = 100;

export interface SeededBus {
  pbxs: Array<{ pbxId: string; webhookSecret: string }>;
  agents: Array<{ token: string; pbx: number; extension: string }>;
}

const extensionOf = (i: number) => String(1000 + (i % AGENTS_PER_TENANT));

// Dial and recordings are not exercised by the bench; they refuse like an unconfigured PBX would.
const noDial: DialService = { dial: async () => ({ ok: false, e164: null, code: 'pbx_error', message: 'not in bench' }) };
const noRecordings: RecordingService = { grant: async () => ({ ok: false, code: 'not_found', message: 'not in bench' }) };

async function startBus(dataDir: string) {
  const logger = pino({ level: 'warn' });
  const log = openSqliteEventLog({ dataDir, onError: (err) => logger.error({ err }, 'event log') });
  const tenants = createSqliteTenantStore({ path: join(dataDir, 'tenants.sqlite'), masterKey: randomBytes(32) });
  const app = Fastify({ loggerInstance: logger });
  await app.register(problemHandler);
  await app.register(ingestRoutes, { ingestor: createIngestor({ log, tenants }), tenants, contacts: tenants });
  await app.register(agentGateway, { log, tenants, dial: noDial, recordings: noRecordings });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('bus has no TCP address');
  return { port: address.port, tenants };
}

/** Creates tenants of AGENTS_PER_TENANT agents and pairs every agent, as an admin and the agents would. */
async function seed(tenants: SqliteTenantStore, agentCount: number): Promise<SeededBus> {
  // Setup only: 2 transactions per agent need not each wait for fsync.
  tenants.db.pragma('synchronous = OFF');
  const out: SeededBus = { pbxs: [], agents: [] };
  for (let i = 0; i < agentCount; i++) {
    const pbxIndex = Math.floor(i / AGENTS_PER_TENANT);
    if (i % AGENTS_PER_TENANT === 0) {
      const tenant = await tenants.createTenant({ name: `Bench tenant ${pbxIndex}` });
      const { pbx, secrets } = await tenants.addPbx({
        tenantId: tenant.id, name: 'Main', baseUrl: `https://pbx${pbxIndex}.bench.test`, defaultCountry: 'AU', apiClientId: null, connectorMode: 'bus',
      });
      out.pbxs.push({ pbxId: pbx.id, webhookSecret: secrets.webhookSecrets[0]! });
    }
    const { tenantId, id: pbxId } = (await tenants.getPbx(out.pbxs[pbxIndex]!.pbxId))!;
    const extension = extensionOf(i);
    const { pairingCode } = await tenants.addAgent({ tenantId, pbxId, extension, name: `Agent ${i}` });
    const paired = await tenants.pair(pairingCode);
    if (!paired) throw new Error('pairing failed');
    out.agents.push({ token: paired.deviceToken, pbx: pbxIndex, extension });
  }
  tenants.db.pragma('synchronous = FULL');
  return out;
}

async function main(): Promise<void> {
  const dataDir = process.env.BENCH_DATA_DIR;
  if (!dataDir || !process.send) throw new Error('bench/bus.ts runs as a forked child with BENCH_DATA_DIR');
  const { port, tenants } = await startBus(dataDir);
  const send = (m: ChildMessage) => process.send!(m);
  process.on('message', (m: ChildMessage) => {
    if (m.t === 'seed') void seed(tenants, m.agents).then((s) => send({ t: 'seeded', ...s }));
    else if (m.t === 'memory') send(childMemory());
    else if (m.t === 'usage') send(childUsage(m.reset));
    else if (m.t === 'exit') process.exit(0);
  });
  process.on('disconnect', () => process.exit(0));
  send({ t: 'ready', port });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
