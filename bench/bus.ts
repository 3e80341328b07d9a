// The bus under test, run as a child process of the bench (so its memory is its own and the load
// generator does not share its event loop): `startBus` from src/bus/server.ts, the same
// composition `npm run bus` runs, on embedded storage (SQLite) in the data directory the parent
// gives, whose tenant store the parent has already filled with `seedTenants` (so seeding leaves
// nothing behind in the bus's memory); or on PostgreSQL + Redis when the parent names them. Talks to the parent over IPC (types in stats.ts):
//   parent -> {t:'memory'}         child -> {t:'mem', rss, heapUsed}     (after gc())
//   parent -> {t:'usage', reset}   child -> {t:'usage-report', cpuMs, loopDelay...}
//   parent -> {t:'exit'}           child exits (flushing a --cpu-prof profile)
// It announces {t:'ready', port} once listening on 127.0.0.1.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Webhook } from 'standardwebhooks';
import { openTenantStorage, TENANTS_DB_FILE } from '../src/bus/compose.js';
import type { WebhookCallPayload } from '../src/bus/ingest/webhook/payload.js';
import { loadConfig } from '../src/bus/config.js';
import { startBus } from '../src/bus/server.js';
import { createSqliteTenantStore } from '../src/bus/tenants/sqlite/store.js';
import { serveBenchChild } from './stats.js';

/** Agents per tenant (one PBX each); extensions 1000..1099. */
const AGENTS_PER_TENANT = 100;

export interface SeededBus {
  pbxs: Array<{ pbxId: string; webhookSecret: string; templateKey: string }>;
  agents: Array<{ token: string; pbx: number; extension: string }>;
  /** On the first PBX, extensions 2000.. (no load agent has them), left for real agent cores to pair through the pairing route. */
  unpaired: Array<{ extension: string; pairingCode: string }>;
}

const extensionOf = (i: number) => String(1000 + (i % AGENTS_PER_TENANT));

/** Agents seeded at once: PostgreSQL answers each over a round trip (SQLite's calls are synchronous anyway). */
const SEED_CONCURRENCY = 16;

/**
 * Creates tenants of AGENTS_PER_TENANT agents in the bus's tenant database (SQLite in `dataDir`, or
 * PostgreSQL at `databaseUrl`) and pairs every agent, as an admin and the agents would; adds
 * `unpairedCount` more agents on the first PBX whose pairing codes are returned instead. The bus
 * must then run with the same master key.
 */
export async function seedTenants(dataDir: string, masterKey: Buffer, agentCount: number, unpairedCount = 0, databaseUrl: string | null = null): Promise<SeededBus> {
  const storage = databaseUrl
    ? await openTenantStorage({ dataDir, databaseUrl, masterKey, onError: (err) => console.error('seeding:', err) })
    : null;
  const sqlite = storage ? null : createSqliteTenantStore({ path: join(dataDir, TENANTS_DB_FILE), masterKey });
  // Setup only: 2 transactions per agent need not each wait for fsync.
  sqlite?.db.pragma('synchronous = OFF');
  const tenants = storage?.tenants ?? sqlite!;
  const out: SeededBus = { pbxs: [], agents: new Array<SeededBus['agents'][number]>(agentCount), unpaired: [] };
  const owners: Array<{ tenantId: string; pbxId: string }> = [];
  for (let t = 0; t < Math.ceil(agentCount / AGENTS_PER_TENANT); t++) {
    const tenant = await tenants.createTenant({ name: `Bench tenant ${t}` });
    const { pbx, secrets } = await tenants.addPbx({
      tenantId: tenant.id, name: 'Main', baseUrl: `https://pbx${t}.bench.test`, defaultCountry: 'AU', apiClientId: null, connectorMode: 'bus',
    });
    out.pbxs.push({ pbxId: pbx.id, webhookSecret: secrets.webhookSecrets[0]!, templateKey: secrets.templateKeys[0]! });
    owners.push({ tenantId: tenant.id, pbxId: pbx.id });
  }
  let next = 0;
  const worker = async () => {
    while (next < agentCount) {
      const i = next++;
      const pbxIndex = Math.floor(i / AGENTS_PER_TENANT);
      const extension = extensionOf(i);
      const { pairingCode } = await tenants.addAgent({ ...owners[pbxIndex]!, extension, name: `Agent ${i}` });
      const paired = await tenants.pair(pairingCode);
      if (!paired) throw new Error('pairing failed');
      out.agents[i] = { token: paired.deviceToken, pbx: pbxIndex, extension };
    }
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
  for (let i = 0; i < unpairedCount && owners[0]; i++) {
    const extension = String(2000 + i);
    const { pairingCode } = await tenants.addAgent({ ...owners[0], extension, name: `Agent core ${i}` });
    out.unpaired.push({ extension, pairingCode });
  }
  await (storage ?? sqlite!).close();
  return out;
}

/** A signed Standard Webhooks POST to the bus's webhook route, as a 3CX PBX sends it. */
export function webhookRequest(signer: Webhook, pbxId: string, payload: WebhookCallPayload, id: string) {
  const body = JSON.stringify(payload);
  const at = new Date();
  return {
    path: `/v1/pbx/${pbxId}/webhook`,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signer.sign(id, at, body),
    },
    body,
  };
}

async function main(): Promise<void> {
  const dataDir = process.env.BENCH_DATA_DIR;
  if (!dataDir || !process.send) throw new Error('bench/bus.ts runs as a forked child with BENCH_DATA_DIR');
  // The real composition, configured as `npm run bus` would be (default log level included; the
  // parent discards stdout), on a free loopback port: embedded storage in the temp dir, unless the
  // parent names a PostgreSQL and a Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL: several nodes).
  const bus = await startBus(
    loadConfig({
      ...process.env, RINGBRIDGE_DATA_DIR: dataDir, RINGBRIDGE_PORT: '0', RINGBRIDGE_HOST: '127.0.0.1',
      RINGBRIDGE_REDIS_URL: process.env.BENCH_REDIS_URL ?? '', RINGBRIDGE_DATABASE_URL: process.env.BENCH_DATABASE_URL ?? '',
    }),
  );
  serveBenchChild(Number(new URL(bus.url).port));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
