// The bus under test, run as a child process of the bench (so its memory is its own and the load
// generator does not share its event loop): `startBus` from src/bus/server.ts, the same
// composition `npm run bus` runs, on embedded storage (SQLite) in the data directory the parent
// gives, whose tenant store the parent has already filled with `seedTenants` (so seeding leaves
// nothing behind in the bus's memory). Talks to the parent over IPC (types in stats.ts):
//   parent -> {t:'memory'}         child -> {t:'mem', rss, heapUsed}     (after gc())
//   parent -> {t:'usage', reset}   child -> {t:'usage-report', cpuMs, loopDelay...}
//   parent -> {t:'exit'}           child exits (flushing a --cpu-prof profile)
// It announces {t:'ready', port} once listening on 127.0.0.1.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Webhook } from 'standardwebhooks';
import { TENANTS_DB_FILE } from '../src/bus/compose.js';
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

/**
 * Creates tenants of AGENTS_PER_TENANT agents in the bus's tenant database and pairs every agent,
 * as an admin and the agents would; adds `unpairedCount` more agents on the first PBX whose
 * pairing codes are returned instead. The bus must then run with the same master key.
 */
export async function seedTenants(dataDir: string, masterKey: Buffer, agentCount: number, unpairedCount = 0): Promise<SeededBus> {
  const tenants = createSqliteTenantStore({ path: join(dataDir, TENANTS_DB_FILE), masterKey });
  // Setup only: 2 transactions per agent need not each wait for fsync.
  tenants.db.pragma('synchronous = OFF');
  const out: SeededBus = { pbxs: [], agents: [], unpaired: [] };
  for (let i = 0; i < agentCount; i++) {
    const pbxIndex = Math.floor(i / AGENTS_PER_TENANT);
    if (i % AGENTS_PER_TENANT === 0) {
      const tenant = await tenants.createTenant({ name: `Bench tenant ${pbxIndex}` });
      const { pbx, secrets } = await tenants.addPbx({
        tenantId: tenant.id, name: 'Main', baseUrl: `https://pbx${pbxIndex}.bench.test`, defaultCountry: 'AU', apiClientId: null, connectorMode: 'bus',
      });
      out.pbxs.push({ pbxId: pbx.id, webhookSecret: secrets.webhookSecrets[0]!, templateKey: secrets.templateKeys[0]! });
    }
    const { tenantId, id: pbxId } = (await tenants.getPbx(out.pbxs[pbxIndex]!.pbxId))!;
    const extension = extensionOf(i);
    const { pairingCode } = await tenants.addAgent({ tenantId, pbxId, extension, name: `Agent ${i}` });
    const paired = await tenants.pair(pairingCode);
    if (!paired) throw new Error('pairing failed');
    out.agents.push({ token: paired.deviceToken, pbx: pbxIndex, extension });
  }
  const first = await tenants.getPbx(out.pbxs[0]!.pbxId);
  for (let i = 0; i < unpairedCount && first; i++) {
    const extension = String(2000 + i);
    const { pairingCode } = await tenants.addAgent({ tenantId: first.tenantId, pbxId: first.id, extension, name: `Agent core ${i}` });
    out.unpaired.push({ extension, pairingCode });
  }
  await tenants.close();
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
  // parent discards stdout), on embedded storage in the temp dir, on a free loopback port.
  const bus = await startBus(
    loadConfig({ ...process.env, RINGBRIDGE_DATA_DIR: dataDir, RINGBRIDGE_PORT: '0', RINGBRIDGE_HOST: '127.0.0.1', RINGBRIDGE_REDIS_URL: '' }),
  );
  serveBenchChild(Number(new URL(bus.url).port));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
