// The agent's CRM link: the one place that joins the agent core to the CRM the agent signed in to.
//
// - Sign-in (RFC 8252, system browser through the injected gate), one CRM at a time, remembered
//   (which CRM, not its tokens: those stay in the TokenVault) and reconnected on start without a prompt.
// - A dead grant turns into one 'sign_in_required' status; the outbox keeps queueing meanwhile and
//   resumes when the agent signs in again.
// - The outbox takes this agent's call events before the bus ack and writes them to the CRM.
// - The screen-pop asks the CRM on a local miss (trying again through a rate limit while the phone
//   rings) and links to its records; the contact index is filled by the incremental sync, whose
//   contacts and cursor survive restarts.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { DEVICE_TOKEN_SECRET } from '../bus-client/pairing.js';
import type { AgentCore } from '../core.js';
import { retryWithin } from '../crm/budget.js';
import type { CrmAdapter } from '../crm/port.js';
import { CrmIdSchema, type CrmId } from '../../shared/crm.js';
import type { BackoffPolicy } from '../../shared/retry.js';
import { crmProvider } from '../crm/registry.js';
import { AuthStatus } from '../oauth/auth-status.js';
import { connectCrm, type CrmConnection } from '../oauth/connect.js';
import { SchemeRedirects, SignInError } from '../oauth/redirect.js';
import { signIn as browserSignIn } from '../oauth/sign-in.js';
import { tokenEndpointFor } from '../oauth/token-endpoint.js';
import { TokenVault } from '../oauth/token-vault.js';
import { DEFAULT_BACKOFF, Outbox } from '../outbox/outbox.js';
import { Signal } from '../signal.js';
import { callKeyOf } from '../history/index.js';
import { remoteParty } from '../../shared/call-event.js';
import { FileKeyValueStore, type KeyValueStore, type SecretStore } from '../storage/index.js';
import { CallPanelModel } from '../call-panel/panel.js';
import { CallChoices } from '../call-choices/choices.js';
import { CallRecordService } from '../call-choices/records.js';
import type { CallNotes, CallPanel, Disposition } from '../../shared/ipc.js';
import { ContactCache } from './contact-cache.js';
import { ContactSync, type SweepOutcome } from './contact-sync.js';

export type CrmLinkState = 'signed_out' | 'signed_in' | 'sign_in_required';

export interface CrmLinkStatus {
  /** The connected CRM (also while it needs a new sign-in), or null. */
  crm: CrmId | null;
  state: CrmLinkState;
  /** Non-secret account label (portal, org, instance or location) when the CRM told us. */
  account?: string;
  /** Why a new sign-in is needed, in the CRM's words. */
  reason?: string;
}

export class CrmLinkError extends Error {
  constructor(
    readonly code: 'not_configured' | 'in_progress' | 'sign_in_failed' | 'not_found',
    message: string,
  ) {
    super(message);
    this.name = 'CrmLinkError';
  }
}

export interface CrmLinkOptions {
  core: AgentCore;
  /** The agent's data directory (outbox.sqlite, crm-contacts.sqlite, state/). */
  dataDir: string;
  /** Where the CRM tokens live (safeStorage in the app). */
  secretStore: SecretStore;
  /** Opens the system browser; the Electron glue passes its checked openExternal. */
  openBrowser: (url: string) => Promise<void>;
  /** The app's public OAuth client id per CRM; a CRM without one cannot be signed in to. */
  clientIds: Partial<Record<CrmId, string>>;
  /** Vendor host overrides (simulators). */
  origins?: Partial<Record<CrmId, string>>;
  /** Bus base URL for the token broker; default: the bus this device is paired with. */
  busUrl?: string;
  /** The pairing's device credential for the broker; default: read from `secretStore`. */
  deviceToken?: () => Promise<string> | string;
  /** Redirect URI of the app's own scheme, for CRMs that use it (Zoho); the glue hands URLs to `handleAppUrl`. */
  appRedirectUri?: string;
  logger: Logger;
  /** Pause between incremental contact syncs; default 10 minutes. */
  contactSyncIntervalMs?: number;
  /** Retry policy for the outbox and the contact sync. */
  backoff?: BackoffPolicy;
  signInTimeoutMs?: number;
  /** Replaces the file store for the remembered CRM (tests). */
  store?: KeyValueStore;
  fetch?: typeof fetch;
}

export interface CrmLink {
  status(): CrmLinkStatus;
  /** Fires on every change of status (once per lost grant). */
  onStatus(listener: (status: CrmLinkStatus) => void): () => void;
  /** Browser sign-in; replaces a CRM connected before. Throws CrmLinkError with a sentence for the window. */
  signIn(crm: CrmId): Promise<CrmLinkStatus>;
  /** Forgets the CRM's tokens and synced contacts; queued calls wait for the next sign-in. */
  signOut(): Promise<CrmLinkStatus>;
  /** The retry button of a call that needs attention; false when it did not need any. */
  retry(callKey: string): boolean;
  /** The call's record in the CRM ("Open in CRM"), once logged. */
  callRecordUrl(callKey: string): string | null;
  /** ringbridge:// URLs from the shell: true when one completed a sign-in in progress. */
  handleAppUrl(url: string): boolean;
  /** The Call panel: this agent's current calls and wrap-ups, and the CRM's call outcomes. */
  callPanel(): CallPanel;
  onCallPanel(listener: (panel: CallPanel) => void): () => void;
  /** A call's notes and outcome as saved; null when the outbox has no such call. */
  callNotes(callKey: string): Omit<CallNotes, 'done'> | null;
  /** Notes typed (draft) or saved (`done`: ends wrap-up, logs or updates). Throws CrmLinkError('not_found'). */
  saveCallNotes(input: CallNotes): void;
  /** Runs a contact sync now (or joins the one under way). */
  syncContacts(): Promise<SweepOutcome>;
  /** Pick the record, log to the deal, create a new caller's record (issue 11; call-choices/). */
  readonly records: CallRecordService;
  close(): Promise<void>;
}

const LINK_KEY = 'crm.link';
const LinkSchema = z.object({ crm: CrmIdSchema });
const DEFAULT_SYNC_INTERVAL_MS = 10 * 60_000;
/** How long a screen-pop lookup keeps trying through rate limits: about as long as a phone rings. */
const LOOKUP_TIME_BUDGET_MS = 20_000;
export const DEFAULT_APP_REDIRECT_URI = 'ringbridge://oauth/callback';

/** Account facts CRMs put in the token response or callback, most telling first. */
const ACCOUNT_KEYS = ['hub_domain', 'hub_id', 'hubId', 'portalId', 'instance_url', 'instanceUrl', 'locationId', 'org_id', 'api_domain'];

function accountOf(context: Readonly<Record<string, string>>): string | undefined {
  for (const key of ACCOUNT_KEYS) if (context[key]) return context[key];
  return undefined;
}

interface Connected {
  crm: CrmId;
  account: string | undefined;
  /** The CRM account (`<crm>:<account>`): the contact cache and the picks belong to it. */
  scope: string;
  connection: CrmConnection;
  sync: ContactSync;
}

/** Create it before `core.start()`: the outbox then takes the bus's first event. */
export async function createCrmLink(opts: CrmLinkOptions): Promise<CrmLink> {
  const { core, logger } = opts;
  const log = logger.child({ capability: 'crm-link' });
  const store = opts.store ?? new FileKeyValueStore(join(opts.dataDir, 'state'));
  const vault = new TokenVault(opts.secretStore);
  const auth = new AuthStatus();
  const schemeRedirects = new SchemeRedirects(opts.appRedirectUri ?? DEFAULT_APP_REDIRECT_URI);
  const cache = new ContactCache(join(opts.dataDir, 'crm-contacts.sqlite'));
  const choices = new CallChoices(join(opts.dataDir, 'call-choices.sqlite'), () =>
    core.agent && connected ? { tenant: core.agent.tenantId, extension: core.agent.extension, crm: connected.scope } : null,
  );
  const records = new CallRecordService({
    choices,
    contacts: core.contacts,
    adapter: () => adapter(),
    storedNumberOf: (callKey) => {
      const facts = outbox?.call(callKey)?.facts;
      return facts ? remoteParty(facts).e164 : null;
    },
    ownerId: () => core.agent?.crmUser ?? null,
    createPolicy: () => core.agentPolicy.createRecord,
    relog: (callKey) => void outbox?.relog(callKey),
    logger: logger.child({ capability: 'call-records' }),
  });
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  const statuses = new Signal<CrmLinkStatus>();
  let connected: Connected | null = null;
  let outbox: Outbox | null = null;
  let outboxExtension: string | null = null;
  let signingIn = false;
  let closed = false;
  let lastStatus = '';

  const adapter = (): CrmAdapter | null => connected?.connection.adapter ?? null;

  // --- Call panel (wrap-up notes and outcome go to the outbox, which holds the completing log)
  const panel = new CallPanelModel({
    extension: () => core.agent?.extension ?? null,
    home: () => core.settings.get().defaultCountry,
    nameOf: (e164) => core.contacts.lookup(e164)[0]?.name ?? null,
  });
  let dispositions: Disposition[] = [];
  const panelChanged = new Signal<CallPanel>();
  const callPanel = (): CallPanel => ({ calls: panel.calls(), dispositions });
  panel.changed.on(() => panelChanged.emit(callPanel()));

  /** The connected CRM's outcomes for the panel's select; asked again on each connect. */
  async function loadDispositions(crm: CrmAdapter): Promise<void> {
    try {
      const list = await retryWithin(LOOKUP_TIME_BUDGET_MS, () => crm.listDispositions());
      if (adapter() !== crm) return;
      dispositions = list;
      panelChanged.emit(callPanel());
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'could not read the CRM call outcomes; notes still go with the log');
    }
  }

  // --- Outbox
  function syncOutboxToAgent(): void {
    const extension = core.agent?.extension ?? null;
    if (extension === outboxExtension) return;
    const previous = outbox;
    outbox = null;
    outboxExtension = extension;
    if (previous) void previous.close().catch((err: Error) => log.error({ err: err.message }, 'outbox close failed'));
    panel.clear();
    if (extension === null) return;
    outbox = new Outbox({
      dataDir: opts.dataDir,
      agentExtension: extension,
      adapter: adapter(),
      bus: { requestRecording: (eventId) => core.requestRecording(eventId) },
      history: { setCrmState: (callKey, state, reason) => void core.history.setCrmState(callKey, state, reason) },
      resolveContact: (e164) => records.resolve(e164),
      choices,
      // As configured (an id or an e-mail): the adapter resolves it to the CRM's owner id for each
      // write (resolveOwner, cached) and writes a record without an owner, saying why, when there is none.
      ownerId: () => core.agent?.crmUser ?? null,
      logger: logger.child({ capability: 'outbox' }),
      backoff,
    });
    // A restart during wrap-up: the held calls are back on the panel with what was typed.
    panel.restore(
      outbox.heldWrapUps().map((row) => ({
        callKey: row.callKey,
        parties: row.facts,
        startedAt: row.facts.firstSeenAt,
        answeredAt: row.facts.answeredAt,
        endedAt: row.facts.endedAt,
        notes: row.notes,
        dispositionId: row.disposition?.id ?? null,
        endsAt: row.holdUntil,
      })),
    );
    prunePicks();
  }

  /** Old picks go, except those of a call whose log the outbox may still write (it reads the picks then). */
  function prunePicks(): void {
    if (!outbox) return;
    const current = outbox;
    choices.prune((callKey) => {
      const row = current.call(callKey);
      return row !== null && (row.state === 'pending' || row.state === 'needs_attention' || row.holdUntil > 0);
    });
  }
  const pruneTimer = setInterval(prunePicks, 86_400_000);
  pruneTimer.unref();

  syncOutboxToAgent();
  const unsubscribers = [
    core.onBusEvent(({ event, replay }) => {
      if (core.agent) records.noteEvent(event, callKeyOf(event, core.agent.extension));
      // A replayed end (the app was off) is past its wrap-up: logged at once.
      const wrapUpMs = replay ? 0 : core.settings.get().wrapUpSec * 1000;
      outbox?.enqueue(event, { wrapUpMs }); // on disk before this returns, so before the ack; a failed write throws and holds the event
      // Replayed too: an end or a colleague's answer missed during a reconnect must clear the call.
      const extension = core.agent?.extension;
      const held = !replay && extension && outbox ? (outbox.call(callKeyOf(event, extension))?.holdUntil ?? 0) : 0;
      panel.handle(event, held > Date.now() ? held : null, replay);
    }),
    // The bus lost the events in between: a call shown now may have ended unseen.
    core.onResync(() => panel.clear()),
    core.onState(() => syncOutboxToAgent()),
    auth.signInRequired.on(({ crm, reason }) => {
      if (crm !== connected?.crm) return;
      log.warn({ crm, reason }, 'CRM grant lost: sign in again');
      connected.sync.stop();
      emitStatus();
    }),
    // Only our own sign-in restores a grant, and it reconnects (new adapter, new sync) right after.
    auth.signedIn.on((crm) => {
      if (crm === connected?.crm) outbox?.resume();
    }),
  ];

  // --- Status
  function status(): CrmLinkStatus {
    if (!connected) return { crm: null, state: 'signed_out' };
    const { account } = connected;
    const base = { crm: connected.crm, ...(account ? { account } : {}) };
    if (auth.needsSignIn(connected.crm)) return { ...base, state: 'sign_in_required', reason: auth.reason(connected.crm) ?? 'sign-in expired' };
    return { ...base, state: 'signed_in' };
  }

  function emitStatus(): void {
    const next = status();
    const key = JSON.stringify(next);
    if (key === lastStatus) return;
    lastStatus = key;
    statuses.emit(next);
  }

  // --- Connection
  function clientIdOf(crm: CrmId): string {
    const clientId = opts.clientIds[crm];
    if (!clientId) throw new CrmLinkError('not_configured', `${crmProvider(crm).displayName} sign-in is not configured in this build of Ringbridge.`);
    return clientId;
  }

  const busUrl = (): string => opts.busUrl ?? core.agent?.busUrl ?? '';
  const deviceToken =
    opts.deviceToken ??
    (async () => {
      const token = await opts.secretStore.get(DEVICE_TOKEN_SECRET);
      if (!token) throw new Error('This device is not paired with a Ringbridge bus.');
      return token;
    });

  /** Builds the session and adapter from the tokens in the vault and plugs them in everywhere. */
  async function connect(crm: CrmId): Promise<void> {
    const connection = await connectCrm({
      provider: crmProvider(crm),
      clientId: clientIdOf(crm),
      busUrl: busUrl(),
      deviceToken,
      vault,
      status: auth,
      origin: opts.origins?.[crm],
      fetch: opts.fetch,
    });
    const { adapter: crmAdapter } = connection;
    const account = accountOf(connection.session.context);
    const scope = `${crm}:${account ?? ''}`;
    cache.claim(scope);
    core.contacts.clear();
    for (const contact of cache.contacts()) core.contacts.upsert(contact);
    const sync = new ContactSync({
      adapter: crmAdapter,
      cache,
      index: core.contacts,
      intervalMs: opts.contactSyncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS,
      backoff,
      logger: log,
    });
    connected = { crm, account, scope, connection, sync };
    choices.adoptUnscoped();
    core.useCrm({
      contactSource: { lookupRemote: (e164) => retryWithin(LOOKUP_TIME_BUDGET_MS, () => crmAdapter.findContactsByPhone(e164)) },
      crmUrls: { contactUrl: (c) => crmAdapter.contactUrl(c), newContactUrl: (e164) => crmAdapter.newContactUrl(e164) },
      ownerIdOf: async (crmUser) => (await retryWithin(LOOKUP_TIME_BUDGET_MS, () => crmAdapter.resolveOwner(crmUser))).id,
    });
    outbox?.setAdapter(crmAdapter);
    dispositions = [];
    void loadDispositions(crmAdapter);
    store.set(LINK_KEY, { crm });
    sync.start();
    log.info({ crm, cachedContacts: core.contacts.size }, 'CRM connected');
  }

  /** Unplugs the CRM; `forget` also drops its tokens, the remembered choice and the synced contacts. */
  async function disconnect(forget: boolean): Promise<void> {
    const current = connected;
    connected = null;
    if (!current) return;
    current.sync.stop();
    current.connection.close();
    core.useCrm(null);
    outbox?.setAdapter(null);
    dispositions = [];
    panelChanged.emit(callPanel());
    if (forget) {
      await current.connection.signOut();
      store.delete(LINK_KEY);
      cache.clear();
      core.contacts.clear();
    }
  }

  // --- Start: reconnect the remembered CRM from its stored tokens, without a prompt.
  const remembered = store.get(LINK_KEY, LinkSchema);
  if (remembered && opts.clientIds[remembered.crm] && (await vault.load(remembered.crm))) {
    try {
      await connect(remembered.crm);
    } catch (error) {
      log.warn({ crm: remembered.crm, err: (error as Error).message }, 'could not reconnect the CRM; sign in again');
    }
  }
  lastStatus = JSON.stringify(status());

  return {
    status,
    onStatus: (listener) => statuses.on(listener),

    async signIn(crm) {
      if (closed) throw new CrmLinkError('sign_in_failed', 'Ringbridge is shutting down.');
      if (signingIn) throw new CrmLinkError('in_progress', 'A sign-in is already open in your browser. Finish or close it first.');
      const provider = crmProvider(crm);
      const clientId = clientIdOf(crm);
      signingIn = true;
      try {
        const config = provider.oauth(opts.origins?.[crm]);
        const endpoint = tokenEndpointFor(crm, config, { clientId, busUrl: busUrl(), deviceToken, fetch: opts.fetch });
        try {
          await browserSignIn({ crm, config, clientId, endpoint, vault, status: auth, openBrowser: opts.openBrowser, schemeRedirects, timeoutMs: opts.signInTimeoutMs });
        } catch (error) {
          const why = error instanceof SignInError ? error.message : `the CRM refused the sign-in (${(error as Error).message})`;
          throw new CrmLinkError('sign_in_failed', `${provider.displayName} sign-in did not complete: ${why}.`);
        }
        // Another CRM was connected: one at a time, so it is signed out.
        await disconnect(connected !== null && connected.crm !== crm);
        try {
          await connect(crm);
        } catch (error) {
          log.warn({ crm, err: (error as Error).message }, 'signed in, but the CRM connection could not be built');
          throw new CrmLinkError('sign_in_failed', `${provider.displayName} sign-in did not complete: ${(error as Error).message}.`);
        }
        emitStatus();
        return status();
      } finally {
        signingIn = false;
      }
    },

    async signOut() {
      await disconnect(true);
      emitStatus();
      return status();
    },

    retry: (callKey) => outbox?.retry(callKey) ?? false,
    callRecordUrl: (callKey) => outbox?.call(callKey)?.record?.url ?? null,
    handleAppUrl: (url) => schemeRedirects.deliver(url),
    callPanel,
    onCallPanel: (listener) => panelChanged.on(listener),
    callNotes(callKey) {
      const row = outbox?.call(callKey);
      return row ? { callKey, notes: row.notes, dispositionId: row.disposition?.id ?? null } : null;
    },
    saveCallNotes({ callKey, notes, dispositionId, done }) {
      const disposition = dispositionId === null ? null : (dispositions.find((d) => d.id === dispositionId) ?? null);
      if (dispositionId !== null && !disposition) throw new CrmLinkError('not_found', 'That call outcome is not one the CRM offers; pick another.');
      if (!outbox?.saveNotes(callKey, notes, disposition, done)) throw new CrmLinkError('not_found', 'This call is not one Ringbridge logs for you.');
      panel.setDraft(callKey, notes, dispositionId);
      if (done) panel.endWrapUp(callKey);
    },
    syncContacts: () => connected?.sync.syncNow() ?? Promise.resolve('stopped'),
    records,

    async close() {
      if (closed) return;
      closed = true;
      for (const unsubscribe of unsubscribers) unsubscribe();
      clearInterval(pruneTimer);
      panel.clear();
      await disconnect(false);
      await outbox?.close();
      outbox = null;
      cache.close();
      choices.close();
    },
  };
}
