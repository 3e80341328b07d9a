// ringbridge-admin: the administrator's commands (user-journeys.md, "The administrator").
// Works on the bus data directory directly (tenants.sqlite, events.sqlite, master.key), so run it
// on the bus host as the bus's user. Secrets are printed once, on creation or rotation, never again.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CountryCode } from 'libphonenumber-js';
import { CountryCodeSchema } from '../../shared/phone.js';
import type { CallEvent } from '../../shared/call-event.js';
import { loadConfig, type BusConfig } from '../config.js';
import { renderTemplate, templateBaseUrl } from '../ingest/crm-template/template.js';
import { openRedisEventLog } from '../log/redis/index.js';
import { openSqliteEventLog } from '../log/sqlite/index.js';
import { parseContactsCsv } from '../tenants/contacts.js';
import type { Pbx } from '../tenants/port.js';
import { CreateRecordPolicySchema } from '../../shared/agent-protocol.js';
import { loadMasterKey } from '../tenants/secrets.js';
import { openTenantStorage } from '../compose.js';
import type { AdminTenantStore, SecretKind } from '../tenants/rows.js';


const USAGE = `ringbridge-admin <command> [options]   (global: --data-dir DIR, default $RINGBRIDGE_DATA_DIR or ./.data)

  tenant create --name NAME
  tenant list
  tenant policy --tenant T --create-record off|ask|auto   (a caller the CRM does not know: never, the agent
                                                           decides (default), or at once; agents apply it on reconnect)
  pbx add --tenant T --name NAME --url https://pbx.example.com --country AU --client-id DN
          [--client-secret KEY | env RINGBRIDGE_PBX_CLIENT_SECRET] [--connector remote] [--template-out FILE]
  pbx list [--tenant T]
  pbx rotate-secret --pbx P --kind webhook|template|connector [--template-out FILE]
  pbx retire-old-secrets --pbx P [--kind webhook|template|connector]   (all kinds when omitted)
  agent add --tenant T --pbx P --extension 101 --name NAME [--crm-user USER]
  agent revoke --agent A
  agents list [--tenant T]
  contacts import --tenant T --csv FILE [--country AU]   (CSV header: id,phone,firstName,lastName,company,url)
  audit --tenant T [--agent A] [--action dial|recording|call_control|presence] [--since ISO-TIME] [--limit N] [--before SEQ]
                                                       (newest first, 100 a page; --before pages back)
  watch --tenant T [--from OFFSET] [--interval MS]     (prints the tenant's new call events until Ctrl-C;
                                                        reads the Redis log when RINGBRIDGE_REDIS_URL is set)
`;

const OPTIONS = {
  'data-dir': { type: 'string' },
  name: { type: 'string' },
  tenant: { type: 'string' },
  pbx: { type: 'string' },
  url: { type: 'string' },
  country: { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  connector: { type: 'string' },
  'template-out': { type: 'string' },
  kind: { type: 'string' },
  extension: { type: 'string' },
  'crm-user': { type: 'string' },
  agent: { type: 'string' },
  csv: { type: 'string' },
  limit: { type: 'string' },
  action: { type: 'string' },
  since: { type: 'string' },
  before: { type: 'string' },
  from: { type: 'string' },
  interval: { type: 'string' },
  'create-record': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = Partial<Record<keyof typeof OPTIONS, string | boolean>>;

/** A mistake in how the command was called (exit 2, usage shown). */
class UsageError extends Error {}
/** The command was fine but cannot be done (exit 1). */
class CommandError extends Error {}

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Resolves when the user interrupts a long-running command (watch). */
  interrupted: Promise<void>;
}

const SECRET_KINDS: readonly SecretKind[] = ['webhook', 'template', 'connector'];

function need(values: Values, name: keyof typeof OPTIONS): string {
  const v = values[name];
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`--${name} is required`);
  return v.trim();
}
const opt = (values: Values, name: keyof typeof OPTIONS): string | undefined => (typeof values[name] === 'string' ? (values[name] as string).trim() : undefined);

function positiveInt(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,9}$/.test(text)) throw new UsageError(`--${name} must be a whole number`);
  return Number(text);
}

const AUDIT_ACTIONS = ['dial', 'recording', 'call_control', 'presence'] as const;
function auditAction(text: string | undefined): (typeof AUDIT_ACTIONS)[number] | undefined {
  if (text === undefined) return text;
  const action = AUDIT_ACTIONS.find((a) => a === text);
  if (action) return action;
  throw new UsageError(`--action must be one of ${AUDIT_ACTIONS.join(', ')}`);
}

/** A date or date-time the user typed, as the ISO string the audit log stores. */
function isoTime(text: string | undefined, name: string): string | undefined {
  if (text === undefined) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) throw new UsageError(`--${name} must be a date or time such as 2026-12-01 or 2026-12-01T09:00:00Z`);
  return new Date(ms).toISOString();
}

function kindOf(text: string): SecretKind {
  if (!(SECRET_KINDS as readonly string[]).includes(text)) throw new UsageError(`--kind must be one of ${SECRET_KINDS.join(', ')}`);
  return text as SecretKind;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
}

function writeSecretFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

async function requirePbx(store: AdminTenantStore, id: string): Promise<Pbx> {
  const pbx = await store.getPbx(id);
  if (!pbx) throw new CommandError(`no PBX ${id}`);
  return pbx;
}

function describeEvent(offset: number, e: CallEvent): string {
  const who = (p: CallEvent['caller']) => p.e164 ?? (p.extension ? `ext ${p.extension}` : p.raw || '?') + (p.name ? ` (${p.name})` : '');
  const parts = [
    String(offset).padStart(6),
    e.receivedAt,
    e.type.padEnd(15),
    e.direction.padEnd(8),
    `${who(e.caller)} -> ${who(e.callee)}`,
    `agents=${e.agents.join(',') || '-'}`,
    e.queue ? `queue=${e.queue}` : '',
    e.durationSec !== null ? `${e.durationSec}s` : '',
    `via ${e.source}`,
    `call=${e.pbxCallId}`,
  ];
  return parts.filter(Boolean).join('  ');
}

function setupSheet(o: {
  tenantName: string;
  pbx: Pbx;
  publicUrl: string;
  templatePath: string;
  secrets: { webhook: string; template: string; connector: string };
}): string[] {
  const base = templateBaseUrl(o.publicUrl, o.pbx.id);
  const remote = o.pbx.connectorMode === 'remote';
  return [
    `Ringbridge setup sheet — PBX "${o.pbx.name}" (${o.pbx.id}), tenant "${o.tenantName}" (${o.pbx.tenantId})`,
    `The secrets below are shown once. Put them in your password manager now; rotate with "pbx rotate-secret" if one leaks.`,
    '',
    `1. CRM template: caller lookup while a call rings, and a journal entry when it ends`,
    `   Template file: ${o.templatePath}   (holds the template key; mode 0600)`,
    `   3CX Admin Console > Integrations > CRM: upload the file, choose "Ringbridge", keep the prefilled URL and key, save.`,
    `   Lookup URL:   ${base}/3cx/lookup`,
    `   Journal URL:  ${base}/3cx/journal`,
    `   Template key (X-Api-Key): ${o.secrets.template}`,
    '',
    `2. Call Control API: live ringing/answered/ended, click-to-dial, recordings`,
    `   3CX Admin Console > Integrations > API > Add: client ID ${o.pbx.apiClientId ?? '(your route point DN)'}, tick "3CX Call Control API Access",`,
    `   and add every agent's extension (and the queues they answer) to the monitored extensions. 3CX shows the API key once.`,
    remote
      ? `   This PBX is not reachable from the bus: run the connector on a machine beside it (it dials out to the bus on 443):`
      : `   The bus connects to ${o.pbx.baseUrl}/callcontrol/ws with that key: the PBX's HTTPS port must be reachable from the bus.`,
    ...(remote
      ? [
          `     RINGBRIDGE_PBX_CLIENT_SECRET='<3CX API key>' RINGBRIDGE_CONNECTOR_TOKEN='<connector token>' \\`,
          `       ringbridge-connector --pbx-url ${o.pbx.baseUrl} --client-id ${o.pbx.apiClientId ?? '<DN>'} \\`,
          `       --bus-url ${o.publicUrl} --pbx-id ${o.pbx.id}`,
          `     It keeps what the bus has not accepted yet in ./ringbridge-connector-queue.db (--queue-file to move it).`,
        ]
      : []),
    `   Connector token: ${o.secrets.connector}`,
    '',
    `3. Signed webhooks (Standard Webhooks v1), for call-flow apps or middleware that can sign`,
    `   URL:    ${base}/webhook`,
    `   Secret: ${o.secrets.webhook}`,
    `   Headers webhook-id (unique per delivery), webhook-timestamp (within 5 minutes), webhook-signature.`,
    '',
    `4. Test it`,
    `   ringbridge-admin agent add --tenant ${o.pbx.tenantId} --pbx ${o.pbx.id} --extension <ext> --name "<name>"   (pairing code for the app)`,
    `   ringbridge-admin watch --tenant ${o.pbx.tenantId}   then call that extension: ringing, answered and ended appear.`,
    `   Template key check: curl -H "X-Api-Key: $KEY" "${base}/3cx/lookup?number=0061298765432&direction=Inbound"   -> {} or a contact`,
  ];
}

async function run(command: string, values: Values, io: CliIo, config: BusConfig): Promise<void> {
  // The bus's own tenant storage: PostgreSQL when RINGBRIDGE_DATABASE_URL is set, else the data directory's file.
  const openStore = () =>
    openTenantStorage({
      dataDir: resolve(io.cwd, config.dataDir),
      databaseUrl: config.databaseUrl,
      masterKey: loadMasterKey({ configured: config.masterKey, dataDir: resolve(io.cwd, config.dataDir) }),
      auditRetentionDays: config.auditRetentionDays,
      onError: (err) => io.err(`warning: ${err.message}`),
    });

  if (command === 'watch') {
    const tenantId = need(values, 'tenant');
    const interval = positiveInt(opt(values, 'interval'), 'interval', 500);
    const onError = (e: unknown) => io.err(`warning: ${(e as Error).message}`);
    // The same log the bus uses: Redis when configured, else the SQLite file in the data directory.
    const log = config.redisUrl
      ? await openRedisEventLog({ url: config.redisUrl, onError })
      : openSqliteEventLog({ dataDir: resolve(io.cwd, config.dataDir), onError });
    try {
      let since = opt(values, 'from') !== undefined ? positiveInt(opt(values, 'from'), 'from', 0) : (await log.position(tenantId)).offset;
      io.err(`watching tenant ${tenantId} from offset ${since} (Ctrl-C to stop)`);
      let stop = false;
      void io.interrupted.then(() => (stop = true));
      while (!stop) {
        const { events } = await log.read(tenantId, { since, limit: 500 });
        for (const { offset, event } of events) io.out(describeEvent(offset, event));
        since = events.at(-1)?.offset ?? since;
        if (events.length < 500) await Promise.race([sleep(interval), io.interrupted]);
      }
    } finally {
      await log.close();
    }
    return;
  }

  const storage = await openStore();
  const store = storage.tenants;
  try {
    switch (command) {
      case 'tenant create': {
        const tenant = await store.createTenant({ name: need(values, 'name') });
        io.out(`tenant ${tenant.id} "${tenant.name}" created`);
        return;
      }
      case 'tenant policy': {
        const createRecord = CreateRecordPolicySchema.safeParse(need(values, 'create-record'));
        if (!createRecord.success) throw new UsageError('--create-record must be off, ask or auto');
        if (!(await store.setAgentPolicy(need(values, 'tenant'), { createRecord: createRecord.data }))) throw new CommandError(`no tenant ${opt(values, 'tenant')}`);
        io.out(`tenant ${opt(values, 'tenant')}: new callers' records ${createRecord.data}`);
        return;
      }
      case 'tenant list': {
        const tenants = await store.listTenants();
        io.out(table([['ID', 'NAME', 'CREATED'], ...tenants.map((t) => [t.id, t.name, t.createdAt])]).join('\n'));
        return;
      }
      case 'pbx add': {
        const tenant = await store.getTenant(need(values, 'tenant'));
        if (!tenant) throw new CommandError(`no tenant ${opt(values, 'tenant')}`);
        const url = need(values, 'url');
        if (!/^https?:\/\/[^\s/]+/.test(url)) throw new UsageError('--url must be the PBX\'s https:// address');
        const country = CountryCodeSchema.safeParse(need(values, 'country').toUpperCase());
        if (!country.success) throw new UsageError('--country must be an ISO country code such as AU, US, DE');
        const connector = opt(values, 'connector') ?? 'bus';
        if (connector !== 'bus' && connector !== 'remote') throw new UsageError('--connector must be bus or remote');
        const clientSecret = opt(values, 'client-secret') ?? io.env.RINGBRIDGE_PBX_CLIENT_SECRET ?? null;
        if (connector === 'bus' && !clientSecret) throw new UsageError('--client-secret (or RINGBRIDGE_PBX_CLIENT_SECRET) is required unless --connector remote');
        const { pbx, secrets } = await store.addPbx({
          tenantId: tenant.id,
          name: need(values, 'name'),
          baseUrl: url,
          defaultCountry: country.data as CountryCode,
          apiClientId: need(values, 'client-id'),
          connectorMode: connector,
          apiClientSecret: clientSecret,
        });
        const templatePath = resolve(io.cwd, opt(values, 'template-out') ?? `ringbridge-3cx-${pbx.id}.xml`);
        writeSecretFile(templatePath, renderTemplate({ pbxId: pbx.id, publicUrl: config.publicUrl, templateKey: secrets.templateKeys[0]! }));
        const sheet = setupSheet({
          tenantName: tenant.name,
          pbx,
          publicUrl: config.publicUrl,
          templatePath,
          secrets: { webhook: secrets.webhookSecrets[0]!, template: secrets.templateKeys[0]!, connector: secrets.connectorTokens[0]! },
        });
        io.out(sheet.join('\n'));
        return;
      }
      case 'pbx list': {
        const pbxs = await store.listPbxs(opt(values, 'tenant'));
        io.out(table([['ID', 'TENANT', 'NAME', 'URL', 'COUNTRY', 'CONNECTOR'], ...pbxs.map((p) => [p.id, p.tenantId, p.name, p.baseUrl, p.defaultCountry, p.connectorMode])]).join('\n'));
        return;
      }
      case 'pbx rotate-secret': {
        const pbx = await requirePbx(store, need(values, 'pbx'));
        const kind = kindOf(need(values, 'kind'));
        const secret = await store.rotatePbxSecret(pbx.id, kind);
        io.out(`new ${kind} secret for PBX ${pbx.id} (shown once): ${secret}`);
        if (kind === 'template') {
          const path = resolve(io.cwd, opt(values, 'template-out') ?? `ringbridge-3cx-${pbx.id}.xml`);
          writeSecretFile(path, renderTemplate({ pbxId: pbx.id, publicUrl: config.publicUrl, templateKey: secret }));
          io.out(`template with the new key written to ${path}; upload it in 3CX (Integrations > CRM).`);
        }
        io.out(`The old ${kind} secret stays valid. Once every sender uses the new one: ringbridge-admin pbx retire-old-secrets --pbx ${pbx.id} --kind ${kind}`);
        return;
      }
      case 'pbx retire-old-secrets': {
        const pbx = await requirePbx(store, need(values, 'pbx'));
        const kinds = opt(values, 'kind') ? [kindOf(opt(values, 'kind')!)] : SECRET_KINDS;
        for (const kind of kinds) await store.retireOldPbxSecrets(pbx.id, kind);
        io.out(`retired older ${kinds.join(', ')} secrets of PBX ${pbx.id}; only the newest of each kind is valid now`);
        return;
      }
      case 'agent add': {
        const extension = need(values, 'extension');
        if (!/^\d{1,16}$/.test(extension)) throw new UsageError('--extension must be the 3CX extension number');
        let added;
        try {
          added = await store.addAgent({
            tenantId: need(values, 'tenant'),
            pbxId: need(values, 'pbx'),
            extension,
            name: need(values, 'name'),
            crmUser: opt(values, 'crm-user') ?? null,
          });
        } catch (err) {
          if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new CommandError(`extension ${extension} already has an active agent on this PBX; revoke it first`);
          throw err;
        }
        io.out(`agent ${added.agent.id} "${added.agent.name}" (extension ${extension}) added`);
        io.out(`pairing code (one use, valid 7 days): ${added.pairingCode}`);
        io.out(`Give it to the agent; the Ringbridge app asks for it on first start.`);
        return;
      }
      case 'agent revoke': {
        const agentId = need(values, 'agent');
        await store.revokeAgent(agentId);
        io.out(`agent ${agentId} revoked: its device credential and any unused pairing code no longer work`);
        return;
      }
      case 'agents list': {
        const tenantIds = opt(values, 'tenant') ? [opt(values, 'tenant')!] : (await store.listTenants()).map((t) => t.id);
        const agents = (await Promise.all(tenantIds.map((t) => store.listAgents(t)))).flat();
        io.out(
          table([
            ['ID', 'TENANT', 'PBX', 'EXT', 'NAME', 'CRM USER', 'STATUS'],
            ...agents.map((a) => [a.id, a.tenantId, a.pbxId, a.extension, a.name, a.crmUser ?? '-', a.revokedAt ? `revoked ${a.revokedAt}` : 'active']),
          ]).join('\n'),
        );
        return;
      }
      case 'contacts import': {
        const tenantId = need(values, 'tenant');
        if (!(await store.getTenant(tenantId))) throw new CommandError(`no tenant ${tenantId}`);
        const countryText = opt(values, 'country')?.toUpperCase() ?? (await store.listPbxs(tenantId))[0]?.defaultCountry;
        const country = CountryCodeSchema.safeParse(countryText);
        if (!country.success) throw new UsageError('--country is required (the tenant has no PBX to take it from)');
        let text: string;
        try {
          text = readFileSync(resolve(io.cwd, need(values, 'csv')), 'utf8');
        } catch (err) {
          throw new CommandError(`cannot read ${opt(values, 'csv')}: ${(err as Error).message}`);
        }
        let parsed;
        try {
          parsed = parseContactsCsv(text, country.data);
        } catch (err) {
          throw new CommandError(`not a readable CSV: ${(err as Error).message}`);
        }
        const stored = await store.importContacts(tenantId, parsed.contacts);
        io.out(`imported ${stored} contacts into tenant ${tenantId}`);
        for (const r of parsed.rejected) io.err(`line ${r.line} skipped: ${r.reason}`);
        return;
      }
      case 'audit': {
        const tenantId = need(values, 'tenant');
        const limit = positiveInt(opt(values, 'limit'), 'limit', 100);
        if (limit < 1 || limit > 10_000) throw new UsageError('--limit must be between 1 and 10000');
        // Opened with the configured retention: opening the log prunes, and must not prune more than the bus does.
        const entries = await storage.audit.list(tenantId, {
          agentId: opt(values, 'agent'),
          action: auditAction(opt(values, 'action')),
          since: isoTime(opt(values, 'since'), 'since'),
          before: opt(values, 'before') === undefined ? undefined : positiveInt(opt(values, 'before'), 'before', 0),
          limit,
        });
        io.out(
          table([
            ['SEQ', 'AT', 'AGENT', 'ACTION', 'TARGET', 'RESULT', 'COUNT', 'LAST', 'DETAIL'],
            ...entries.map((e) => [String(e.seq), e.at, e.agentId, e.action, e.target, e.result, String(e.count), e.count > 1 ? e.lastAt : '', e.detail ?? '']),
          ]).join('\n'),
        );
        if (entries.length === limit) io.err(`older entries: add --before ${entries.at(-1)!.seq}`);
        return;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } finally {
    await storage.close();
  }
}

/** Runs one command; returns the process exit code (0 ok, 1 failed, 2 bad usage). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    io.out(USAGE);
    return values.help ? 0 : 2;
  }
  const command = positionals.join(' ');
  try {
    const dataDirOverride = typeof values['data-dir'] === 'string' ? { RINGBRIDGE_DATA_DIR: values['data-dir'] } : {};
    const config = loadConfig({ ...io.env, ...dataDirOverride });
    await run(command, values, io, config);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    io.err(`error: ${(err as Error).message}`);
    return 1;
  }
}

export async function main(argv: string[]): Promise<number> {
  const interrupted = new Promise<void>((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
  // The SQLite log's close() waits for its unref'd checkpoint worker to exit; without a ref'd
  // handle the loop could drain first and Node would end the process with code 13 mid-close.
  const keepAlive = setInterval(() => {}, 60_000);
  try {
    return await runCli(argv, {
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
      env: process.env,
      cwd: process.cwd(),
      interrupted,
    });
  } finally {
    clearInterval(keepAlive);
  }
}

// `npm run admin -- ...` runs this file directly; bin/ringbridge-admin.mjs imports main().
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
