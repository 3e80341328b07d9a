// Everything the demo runs, on loopback: the bus on a temp data directory (embedded SQLite), a
// simulated 3CX PBX sending all three forms, a simulated HubSpot seeded with contacts, and the
// tenant provisioned the way an administrator would (tenant, PBX, agents with pairing codes).
import { join } from 'node:path';
import { loadConfig } from '../bus/config.js';
import { startBus, type RunningBus } from '../bus/server.js';
import type { Pbx, PbxSecrets } from '../bus/tenants/port.js';
import { toE164 } from '../shared/phone.js';
import { startPbxSimulator, type PbxSimulator } from '../sim/3cx/index.js';
import { HUBSPOT_SIM_CLIENT, HUBSPOT_SIM_PORTAL_ID, startHubSpotSim, type HubSpotSim } from '../sim/crm/hubspot/index.js';
import { AGENTS, KNOWN_CALLERS, PBX_COUNTRY, PBX_NAME, QUEUE, QUEUE_NAME, TENANT_NAME, fullName } from './cast.js';

/** The simulator's API client (3CX Admin Console > Integrations > API). */
const SIM_API_CLIENT = { clientId: '900', secret: 'sim-api-key' };
const DAY_MS = 86_400_000;

export interface Stage {
  dataDir: string;
  bus: RunningBus;
  pbxSim: PbxSimulator;
  hubspot: HubSpotSim;
  tenantId: string;
  pbx: Pbx;
  secrets: PbxSecrets;
  /** One-time pairing code per extension. */
  pairingCodes: Map<string, string>;
  close(): Promise<void>;
}

export interface StageOptions {
  /** An empty directory for the bus and the agents; the caller removes it. */
  dataDir: string;
  /** Pause between a scripted call's steps, so a person can follow it. */
  stepDelayMs: number;
}

export async function startStage(opts: StageOptions): Promise<Stage> {
  const { dataDir } = opts;
  const closers: Array<() => Promise<unknown> | unknown> = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    const hubspot = await startHubSpotSim();
    closers.push(() => hubspot.close());
    seedCrm(hubspot);

    // The PBX comes first: the bus must know its URL before issuing the secrets it sends.
    const pbxSim = await startPbxSimulator({
      extensions: AGENTS.map((a) => ({ dn: a.extension, name: a.name })),
      queues: [QUEUE],
      queueNames: { [QUEUE]: QUEUE_NAME },
      clients: [SIM_API_CLIENT],
      stepDelayMs: opts.stepDelayMs,
      recordingBytes: 32 * 1024,
    });
    closers.push(() => pbxSim.close());

    const config = loadConfig({
      RINGBRIDGE_DATA_DIR: join(dataDir, 'bus'),
      RINGBRIDGE_PORT: '0',
      RINGBRIDGE_HOST: '127.0.0.1',
      RINGBRIDGE_LOG_LEVEL: 'silent',
    });
    const bus = await startBus(config, {
      shutdownGraceMs: 50,
      // The HubSpot client secret stays on the bus; agents sign in through its token broker.
      oauthClients: { hubspot: { ...HUBSPOT_SIM_CLIENT, tokenUrl: `${hubspot.url}/oauth/v1/token` } },
      connectors: { backoff: { baseMs: 50, capMs: 1000 }, recordingPoll: { attempts: 50, intervalMs: 50 } },
    });
    closers.push(() => bus.close());

    const tenant = await bus.tenants.createTenant({ name: TENANT_NAME });
    const { pbx, secrets } = await bus.tenants.addPbx({
      tenantId: tenant.id,
      name: PBX_NAME,
      baseUrl: pbxSim.baseUrl,
      defaultCountry: PBX_COUNTRY,
      apiClientId: SIM_API_CLIENT.clientId,
      apiClientSecret: SIM_API_CLIENT.secret,
      connectorMode: 'bus',
    });
    pbxSim.attachBus({ url: bus.url, pbxId: pbx.id, templateKey: secrets.templateKeys[0], webhookSecret: secrets.webhookSecrets[0] });
    // The bus-side contact cache answers the PBX's own caller lookup (the name on the desk phone).
    await bus.tenants.importContacts(
      tenant.id,
      Object.entries(KNOWN_CALLERS).map(([id, c]) => ({ id, firstName: c.firstName, lastName: c.lastName, company: c.company, url: '', e164: toE164(c.phone, PBX_COUNTRY)! })),
    );
    await connectorReady(bus, pbx.id);

    const pairingCodes = new Map<string, string>();
    for (const a of AGENTS) {
      const { pairingCode } = await bus.tenants.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension: a.extension, name: a.name, crmUser: a.crmUser });
      pairingCodes.set(a.extension, pairingCode);
    }
    return { dataDir, bus, pbxSim, hubspot, tenantId: tenant.id, pbx, secrets, pairingCodes, close };
  } catch (err) {
    await close();
    throw err;
  }
}

function seedCrm(hubspot: HubSpotSim): void {
  // The agents are HubSpot users: their e-mail CRM users resolve to these owner ids.
  for (const a of AGENTS) hubspot.addOwner({ email: a.crmUser, firstName: a.name });
  for (const c of Object.values(KNOWN_CALLERS)) {
    hubspot.addContact({
      firstname: c.firstName,
      lastname: c.lastName,
      company: c.company,
      phone: c.phone,
      notes_last_updated: new Date(Date.now() - c.lastActivityDaysAgo * DAY_MS).toISOString(),
    });
  }
}

/** Starts the in-bus Call Control connector for the new PBX and waits for its first state read. */
async function connectorReady(bus: RunningBus, pbxId: string): Promise<void> {
  await bus.connectors.refresh();
  const connector = bus.connectors.connectors.get(pbxId);
  if (!connector) throw new Error(`the bus started no Call Control connector for ${pbxId}`);
  await new Promise<void>((resolve) => connector.once('ready', () => resolve()));
}

/** What `ringbridge-admin pbx add` / `agent add` would have shown, secrets shortened. */
export function setupSummary(stage: Stage): string[] {
  const base = `${stage.bus.publicUrl}/v1/pbx/${stage.pbx.id}`;
  const hide = (secret: string | undefined) => (secret ? `${secret.slice(0, 6)}…` : '-');
  return [
    `bus         ${stage.bus.url}   storage: embedded SQLite in ${stage.dataDir}`,
    `tenant      ${TENANT_NAME} (${stage.tenantId})`,
    `PBX         ${stage.pbx.name} (${stage.pbx.id}) = simulated 3CX V20 at ${stage.pbxSim.baseUrl}`,
    `  form 1    CRM template   ${base}/3cx/lookup, /3cx/journal   key ${hide(stage.secrets.templateKeys[0])}`,
    `  form 2    webhooks       ${base}/webhook   secret ${hide(stage.secrets.webhookSecrets[0])}`,
    `  form 3    Call Control   API client ${stage.pbx.apiClientId}, socket held by the bus (connected)`,
    ...AGENTS.map((a, i) => `${i === 0 ? 'agents' : ''}`.padEnd(12) + `${a.extension}  ${a.name.padEnd(12)} ${a.crmUser.padEnd(22)} pairing code ${hide(stage.pairingCodes.get(a.extension))}${a.onScreen ? '' : '  (not started)'}`),
    `queue       ${QUEUE} (${QUEUE_NAME}) rings ${AGENTS.filter((a) => a.onScreen).map((a) => a.extension).join(' + ')}`,
    `CRM         simulated HubSpot (portal ${HUBSPOT_SIM_PORTAL_ID}) at ${stage.hubspot.url}: ${Object.values(KNOWN_CALLERS).map(fullName).join(', ')}`,
  ];
}
