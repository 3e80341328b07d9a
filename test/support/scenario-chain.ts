// The whole chain for a generated scenario: a simulated 3CX sending its three forms, a real bus,
// one real agent (AgentCore + CrmLink, signed in through the browser leg) per extension, and one
// CRM simulator, optionally failing a seeded share of its API requests. The scenario's calls are
// placed, then the CRM's call records are checked against the PBX's own record of each call
// (src/sim/scenarios/oracle.ts) until they agree or the settle time runs out.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { createAgentCore, type AgentCore } from '../../src/main/core.js';
import { createCrmLink, type CrmLink } from '../../src/main/crm-link/index.js';
import type { BackoffPolicy } from '../../src/shared/retry.js';
import { MemorySecretStore } from '../../src/main/storage/index.js';
import type { RandomFaults } from '../../src/sim/crm/common/index.js';
import { checkCrm, expectedLogs, sha256, startScenarioCrm, type OracleReport, type Scenario, type ScenarioCrm, type ScenarioCrmId } from '../../src/sim/scenarios/index.js';
import { connectorReady, provisionSite, Resources, startSim, startTestBus, waitFor } from './e2e.js';

export interface ChainOptions {
  crm: ScenarioCrmId;
  scenario: Scenario;
  /** Seeded random faults on every CRM API request (never OAuth) while the calls are logged. */
  faults?: RandomFaults;
  /** The agents' per-request CRM timeout (a hung request is a timeout after this); null = the adapters' own. Default 1.5 s. */
  crmTimeoutMs?: number | null;
  /** The outbox's retry backoff; default quick (tests); null = the product's own (bench). */
  backoff?: BackoffPolicy | null;
  /** How long after the last call the CRM may take to agree with the oracle. */
  settleMs: number;
  /** The agents' wrap-up time (the Call panel holds the completing log this long); default 0: logged when the call ends. */
  wrapUpSec?: number;
}

export interface ChainResult {
  crm: ScenarioCrmId;
  calls: number;
  report: OracleReport;
  /** Per logged call: ms from the PBX's end of the call to the agent seeing it logged in the CRM. */
  loggedAfterMs: number[];
  /** Random faults the CRM answered, by kind. */
  faultsFired: Record<string, number>;
  crmRequests: number;
}

const silent = pino({ level: 'silent' });
const QUICK_BACKOFF: BackoffPolicy = { baseMs: 20, capMs: 400 };
const CLOSE_WITHIN_MS = 5_000;

export async function runScenarioChain(opts: ChainOptions): Promise<ChainResult> {
  const res = new Resources();
  try {
    return await run(res, opts);
  } finally {
    await res.cleanup();
  }
}

async function run(res: Resources, opts: ChainOptions): Promise<ChainResult> {
  const { scenario } = opts;
  const crm = await startScenarioCrm(opts.crm);
  res.add(crm.sim, (s) => s.close());
  const o = crm.sim.oauth.options;
  // CRMs that need a client secret sign in through the bus's token broker.
  const oauthClients =
    o.clientSecret === undefined ? undefined : { [opts.crm]: { clientId: crm.sim.oauth.clientId, clientSecret: o.clientSecret, tokenUrl: new URL(o.tokenPath, crm.sim.url).href, context: crm.appContext } };
  const pbx = await startSim(res, {
    extensions: scenario.agents.map((dn) => ({ dn, name: `Agent ${dn}` })),
    queues: [scenario.queue],
    recordingBytes: 6 * 1024,
    realTalkTime: true,
  });
  const bus = await startTestBus(res, { oauthClients });
  const site = await provisionSite(bus, pbx, { tenantName: `Scenario ${scenario.seed} ${opts.crm}`, extensions: [] });
  await connectorReady(bus, site.pbx.id);
  const contacts = crm.seedContacts(scenario.callers);

  const loggedAt = new Map<string, number>();
  const dataDir = res.tempDir('rb-scenario-');
  const links = new Map<string, CrmLink>();
  for (const extension of scenario.agents) {
    const { pairingCode } = await bus.tenants.addAgent({ tenantId: site.tenantId, pbxId: site.pbx.id, extension, name: `Agent ${extension}` });
    const link = await startAgent(res, { dataDir: join(dataDir, `agent-${extension}`), crm, busUrl: bus.url, pairingCode, opts, loggedAt });
    await link.signIn(opts.crm);
    links.set(extension, link);
  }
  if (opts.faults) crm.sim.faults.random(opts.faults);

  for (const step of scenario.steps) {
    if (step.kind === 'restart') await pbx.restart({ reuseCallIds: step.reuseCallIds });
    else await Promise.all(step.scripts.map((script) => pbx.placeCall(script)));
  }

  const recordingShas = new Map<number, string>();
  for (const r of pbx.recordings()) recordingShas.set(r.Id, sha256(await pbx.recordingContent(r.Id)));
  const expected = expectedLogs(pbx.callRecords(), contacts, recordingShas);
  const check = () => checkCrm(expected, crm.callEntries());
  let report = check();
  await waitFor(() => (report = check()).problems.length === 0, 'the CRM to agree with the PBX', opts.settleMs).catch(() => undefined);
  // Agreement is checked once more after a pause: a late duplicate must not slip through.
  if (report.problems.length === 0) {
    await new Promise((r) => setTimeout(r, 300));
    report = check();
  }
  crm.sim.faults.restore();
  // Quitting the app must not hang on CRM work in flight: a link that does not close is a problem too.
  for (const [extension, link] of links) {
    const closed = await Promise.race([link.close().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), CLOSE_WITHIN_MS).unref())]);
    if (!closed) report.problems.push(`agent ${extension}: its CRM link did not close within ${CLOSE_WITHIN_MS / 1000} s (a CRM step still in flight)`);
  }
  const loggedAfterMs = report.matches.flatMap(({ expected: e, entry }) => {
    const at = entry.callKey ? loggedAt.get(entry.callKey) : undefined;
    return at === undefined ? [] : [Math.max(0, at - Date.parse(e.call.endedAt))];
  });
  return { crm: opts.crm, calls: expected.length, report, loggedAfterMs, faultsFired: { ...crm.sim.faults.randomFired }, crmRequests: crm.sim.requests.length };
}

export interface AgentSetup {
  dataDir: string;
  crm: ScenarioCrm;
  busUrl: string;
  pairingCode: string;
  opts: Omit<ChainOptions, 'crm' | 'scenario' | 'settleMs'>;
  /** callKey -> when this agent first saw the call logged. */
  loggedAt: Map<string, number>;
  /** Sees the core before it starts (settings, bus event listeners). */
  onCore?: (core: AgentCore) => void;
}

/** A tray agent without its windows: the real core and CRM link, paired with the code the admin handed out. */
export async function startAgent(res: Resources, a: AgentSetup): Promise<CrmLink> {
  mkdirSync(a.dataDir, { recursive: true });
  const secretStore = new MemorySecretStore();
  const core = await createAgentCore({
    dataDir: a.dataDir,
    secretStore,
    notifier: { show: () => undefined, withdraw: () => undefined },
    confirm: { confirmDial: async () => true },
    feedback: { dialFeedback: () => undefined },
    logger: silent,
    defaultCountry: 'AU',
    bus: { backoff: { baseMs: 20, capMs: 200 } },
  });
  res.add(core, (c) => c.close());
  a.onCore?.(core);
  core.settings.update({ wrapUpSec: a.opts.wrapUpSec ?? 0 });
  const timeoutMs = a.opts.crmTimeoutMs === undefined ? 1500 : a.opts.crmTimeoutMs;
  const isCrmApi = (url: string) => timeoutMs !== null && url.startsWith(a.crm.sim.url) && !a.crm.sim.oauth.isOAuthPath(new URL(url).pathname);
  let link: CrmLink | null = null;
  link = await createCrmLink({
    core,
    dataDir: a.dataDir,
    secretStore,
    openBrowser: (url) => playBrowser(url, (appUrl) => link!.handleAppUrl(appUrl)),
    clientIds: { [a.crm.id]: a.crm.sim.oauth.clientId },
    origins: { [a.crm.id]: a.crm.sim.url },
    logger: silent,
    backoff: a.opts.backoff === null ? undefined : (a.opts.backoff ?? QUICK_BACKOFF),
    contactSyncIntervalMs: 3_600_000,
    // A CRM API answer is given up after `timeoutMs`, so a hung request costs little time.
    fetch: (input, init) => (isCrmApi(String(input instanceof Request ? input.url : input)) ? fetch(input, withTimeout(init, timeoutMs!)) : fetch(input, init)),
  });
  // Closed by run() with a time limit; a link still closing is not waited for again.
  res.add(link, (l) => void l.close());
  core.history.onChange((record) => {
    if ((record.crm.state === 'logged' || record.crm.state === 'recording_attached') && !a.loggedAt.has(record.callKey)) a.loggedAt.set(record.callKey, Date.now());
  });
  core.start();
  await core.pair(a.busUrl, a.pairingCode);
  await waitFor(() => core.state === 'connected', `agent ${a.dataDir} to connect to the bus`);
  return link;
}

/**
 * `init` with a time limit. Not `AbortSignal.any([signal, AbortSignal.timeout(ms)])`: Node 20 may
 * garbage-collect a timeout signal held only by `any()`, so it never fires (nodejs/node#57736) and a
 * hung request waited the adapter's own 15 s instead.
 */
function withTimeout(init: RequestInit | undefined, ms: number): RequestInit {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms).unref();
  const outer = init?.signal;
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener('abort', () => controller.abort(outer.reason), { once: true });
  return { ...init, signal: controller.signal };
}

/** The user in the system browser: consent is instant; the redirect goes to the loopback listener or the app's scheme. */
async function playBrowser(url: string, toApp: (appUrl: string) => boolean): Promise<void> {
  const consent = await fetch(url, { redirect: 'manual' });
  const callback = consent.headers.get('location');
  if (consent.status !== 302 || !callback) throw new Error(`the CRM's authorize page answered ${consent.status}`);
  if (callback.startsWith('http')) await (await fetch(callback)).text();
  else if (!toApp(callback)) throw new Error(`the app did not take ${callback}`);
}
