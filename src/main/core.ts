/**
 * AgentCore: the agent's capabilities wired together, free of Electron. The Electron glue and the
 * terminal demo build one with their ports and drive the UI from it.
 *
 *   const core = await createAgentCore({ dataDir, secretStore, notifier, confirm, feedback,
 *                                        contactSource, crmUrls, logger });
 *   ...attach every listener (createCrmLink, onBusEvent, ...), then:
 *   core.start()                           connects the saved pairing; the bus replays what was not
 *                                          saved yet, so a listener attached before start misses nothing.
 *                                          Once only: a second call throws (two owners of the lifecycle).
 *   core.state / core.onState(fn)          'unpaired'|'connecting'|'connected'|'reconnecting'|'signed_out'
 *   core.saveError / onSaveError(fn)       why calls cannot be saved (a write failed: full disk), or null;
 *                                          the event waits unacknowledged and is retried until it saves
 *   core.agent                             PairedAgent | null (name, extension, tenant; no secret)
 *   core.pair(busUrl, code)                throws PairingError with a sentence for the window; connects once started
 *   core.signOut()                         forgets the credential and resume position
 *   core.settings.get()/update(patch)/onChange(fn)   (doNotDisturb lives here; the tray shows it)
 *   core.history.list()/onChange(fn)/setCrmState(...)
 *   core.dial(rawLinkOrNumber)             -> DialFeedback (also reported through `feedback`)
 *   core.contacts                          the ContactIndex the CRM sync fills
 *   core.useCrm({ contactSource, crmUrls, ownerIdOf? } | null)   the signed-in CRM's lookups, record URLs and owner ids (crm-link)
 *   core.onBusEvent(fn)                    every event after pop + history; the ack waits for fn (outbox)
 *   core.onResync(fn)                      the bus could not replay what was missed (the Call panel clears)
 *   core.requestRecording(eventId)         short-lived URL from the bus
 *   core.controlCall(callKey, action, to)  answer / hang up / transfer a call in progress on this extension (via the bus)
 *   core.presence / onPresence(fn)         the agent's 3CX status (profile, DND) while connected, else null
 *   core.setDoNotDisturb(on)               3CX Do Not Disturb when the status is known, else the local setting
 *   core.close()                           on quit: stops the client, writes the history
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { BusClient, forgetPairing, loadPairing, pair, type BusClientOptions, type BusEvent, type ConnectionState, type PairedAgent, type RecordingUrl } from './bus-client/index.js';
import { ContactIndex, ContactResolver, type ContactSource } from './contacts/index.js';
import { DialController, type ConfirmPort, type DialFeedback, type FeedbackPort } from './dial/index.js';
import { CallHistory, sqliteHistoryRows, type HistoryRows } from './history/index.js';
import { ScreenPop, type CrmUrls, type Notifier } from './screenpop/index.js';
import { OwnCalls, PresenceWatch } from './call-control/index.js';
import type { CallAction, Presence } from '../shared/agent-protocol.js';
import { SettingsStore, type Settings } from './settings/index.js';
import { DEFAULT_AGENT_POLICY, type AgentPolicy } from '../shared/agent-protocol.js';
import { Signal } from './signal.js';
import { FileKeyValueStore, type KeyValueStore, type SecretStore } from './storage/index.js';

export interface AgentCoreDeps {
  /** Directory for non-secret state (settings, history, pairing identity, resume position). */
  dataDir: string;
  secretStore: SecretStore;
  notifier: Notifier;
  confirm: ConfirmPort;
  feedback: FeedbackPort;
  /** Lookups and record URLs until a CRM is connected with `useCrm` (default: none). */
  contactSource?: ContactSource;
  crmUrls?: CrmUrls;
  logger: Logger;
  /** Initial default country (e.g. from the OS locale) until the agent picks one. */
  defaultCountry?: Settings['defaultCountry'];
  /** Tuning for tests and the bench. */
  bus?: Pick<BusClientOptions, 'backoff' | 'heartbeatMs' | 'requestTimeoutMs'>;
  fetch?: typeof fetch;
  /** Replaces the file store (tests, bench). */
  store?: KeyValueStore;
  /** Replaces the SQLite rows of the call history (tests). */
  historyRows?: HistoryRows;
}

/** What a connected CRM lends the screen-pop: remote lookups on a miss and the record URLs. */
export interface CrmPorts {
  contactSource: ContactSource;
  crmUrls: CrmUrls;
  /**
   * The CRM's owner id for the agent's CRM user (which may be an e-mail), the id contacts are owned
   * under; null when the CRM has none. Without it the CRM user is compared as configured.
   */
  ownerIdOf?: (crmUser: string) => Promise<string | null>;
}

/** After a failed owner lookup (CRM down, rate limited), ask again this much later. */
const OWNER_RETRY_MS = 60_000;

const NO_CRM: CrmPorts = {
  contactSource: { lookupRemote: async () => [] },
  crmUrls: { contactUrl: () => null, newContactUrl: () => null },
};

const notPaired = (): Promise<never> => Promise.reject(new Error('This device is not paired with a Ringbridge bus yet.'));

export interface AgentCore {
  /** Connects to the bus; call once, after every listener is attached. */
  start(): void;
  readonly state: ConnectionState;
  onState(listener: (state: ConnectionState) => void): () => void;
  /** Why calls cannot be saved right now (the failed write's message), or null while they can. */
  readonly saveError: string | null;
  onSaveError(listener: (reason: string | null) => void): () => void;
  readonly agent: PairedAgent | null;
  /** The tenant's policies from the bus's welcome (defaults until it says). */
  readonly agentPolicy: AgentPolicy;
  pair(busUrl: string, code: string): Promise<PairedAgent>;
  signOut(): Promise<void>;
  readonly settings: SettingsStore;
  readonly history: CallHistory;
  readonly contacts: ContactIndex;
  /** Switches the pop's CRM (sign-in, sign-out); null falls back to the construction-time ports. */
  useCrm(ports: CrmPorts | null): void;
  dial(raw: unknown): Promise<DialFeedback>;
  onBusEvent(listener: (event: BusEvent) => void | Promise<void>): () => void;
  /** The bus could not replay what was missed: calls shown from earlier events may have ended unseen. */
  onResync(listener: () => void): () => void;
  requestRecording(eventId: string): Promise<RecordingUrl>;
  /** Throws CallControlError (not this agent's call in progress) or BusRequestError (the bus or PBX refused). */
  controlCall(callKey: string, action: CallAction, destination: string | null): Promise<void>;
  readonly presence: Presence | null;
  onPresence(listener: (presence: Presence | null) => void): () => void;
  setDoNotDisturb(on: boolean): Promise<void>;
  close(): Promise<void>;
}

export async function createAgentCore(deps: AgentCoreDeps): Promise<AgentCore> {
  const { logger, secretStore: secrets } = deps;
  const store = deps.store ?? new FileKeyValueStore(join(deps.dataDir, 'state'));
  const settings = new SettingsStore(store, deps.defaultCountry ? { defaultCountry: deps.defaultCountry } : {});
  const contacts = new ContactIndex({ defaultCountry: () => settings.get().defaultCountry });
  const initialCrm: CrmPorts = { contactSource: deps.contactSource ?? NO_CRM.contactSource, crmUrls: deps.crmUrls ?? NO_CRM.crmUrls };
  let crm = initialCrm;
  // Stable delegates: the resolver and the pop keep one reference while the CRM behind it changes.
  const contactSource: ContactSource = { lookupRemote: (e164) => crm.contactSource.lookupRemote(e164) };
  const crmUrls: CrmUrls = {
    contactUrl: (contact) => crm.crmUrls.contactUrl(contact),
    newContactUrl: (e164) => crm.crmUrls.newContactUrl(e164),
  };
  const resolver = new ContactResolver(contacts, contactSource, logger.child({ capability: 'contacts' }));
  mkdirSync(deps.dataDir, { recursive: true });
  const history = new CallHistory({ rows: deps.historyRows ?? sqliteHistoryRows(join(deps.dataDir, 'history.sqlite')), contactNameOf: (e164) => contacts.lookup(e164)[0]?.name ?? null });
  const busEvents = new Signal<BusEvent>();
  const resyncs = new Signal<void>();
  const states = new Signal<ConnectionState>();
  const saveErrors = new Signal<string | null>();

  /**
   * The agent's own contacts come first on a shared number: contacts carry the CRM's owner id, so
   * the configured CRM user (an e-mail, say) is resolved by the signed-in CRM. Until it answers,
   * the user stands as configured (an id already works; an e-mail matches nothing).
   */
  let ownerAsk = 0;
  let ownerRetry: NodeJS.Timeout | undefined;
  function preferAgentsOwnContacts(): void {
    const ask = ++ownerAsk;
    clearTimeout(ownerRetry);
    const user = agent?.crmUser?.trim() || null;
    contacts.setPreferredOwner(user);
    const ownerIdOf = crm.ownerIdOf;
    if (!user || !ownerIdOf) return;
    ownerIdOf(user).then(
      (id) => {
        if (ask === ownerAsk) contacts.setPreferredOwner(id);
      },
      (err: Error) => {
        if (ask !== ownerAsk) return;
        logger.warn({ err: err.message }, 'could not look up the agent in the CRM; asking again later');
        ownerRetry = setTimeout(() => ask === ownerAsk && preferAgentsOwnContacts(), OWNER_RETRY_MS);
        ownerRetry.unref();
      },
    );
  }

  let pairing: Awaited<ReturnType<typeof loadPairing>> = null;
  let agent: PairedAgent | null = null;
  let extension: string | null = null;
  /** Takes a pairing (or none) as this agent's identity; its bus client follows in `connect`. */
  function adopt(next: typeof pairing): void {
    pairing = next;
    agent = next?.agent ?? null;
    extension = agent?.extension ?? null;
    preferAgentsOwnContacts();
  }
  adopt(await loadPairing({ secrets, store }));
  let client: BusClient | null = null;
  /** The tenant's policies as the bus last said (issue 11: creating records for new callers). */
  let agentPolicy: AgentPolicy = DEFAULT_AGENT_POLICY;
  let state: ConnectionState = pairing ? 'connecting' : 'unpaired';
  let started = false;
  let closed = false;
  let saveError: string | null = null;
  const setState = (next: ConnectionState): void => {
    if (next === state) return;
    state = next;
    states.emit(next);
  };
  const setSaveError = (next: string | null): void => {
    if (next === saveError) return;
    saveError = next;
    saveErrors.emit(next);
  };

  const ownCalls = new OwnCalls(() => client);
  const presence = new PresenceWatch(() => client, (err) => logger.warn({ err: err.message }, 'could not read the 3CX status'));
  states.on((next) => presence.connected(next === 'connected'));
  const screenPop = new ScreenPop({
    notifier: deps.notifier,
    crmUrls,
    resolver,
    extension: () => extension,
    // No pop under the agent's 3CX Do Not Disturb either: 3CX sends those calls elsewhere.
    settings: () => (presence.presence?.dnd ? { ...settings.get(), doNotDisturb: true } : settings.get()),
    queueNameOf: (queue) => presence.presence?.queues?.find((q) => q.number === queue)?.name ?? null,
    lastCallWith: (e164, except) => history.lastCallWith(e164, except),
    onContactResolved: (callKey, contact) => history.setContactName(callKey, contact.name),
    logger: logger.child({ capability: 'screenpop' }),
  });

  const dialer = new DialController({
    transport: {
      dial: (e164) => (client ? client.dial(e164) : notPaired()),
    },
    confirm: deps.confirm,
    feedback: deps.feedback,
    policy: () => settings.get(),
    logger: logger.child({ capability: 'dial' }),
  });

  /** The bus client for the pairing, once started (before that, listeners are still being attached). */
  function connect(): void {
    if (!started || !pairing) return;
    const next = new BusClient({ wsUrl: pairing.agent.wsUrl, token: pairing.token, store, logger: logger.child({ capability: 'bus' }), ...deps.bus });
    next.onState(setState);
    next.onStalled(setSaveError);
    next.onWelcome((welcome) => {
      extension = welcome.extension;
      if (welcome.policy) agentPolicy = welcome.policy; // a bus without tenant policies keeps the defaults
    });
    next.onResync(() => {
      screenPop.withdrawAll();
      ownCalls.clear();
      resyncs.emit();
    });
    next.onEvent(async ({ event, replay, ...rest }) => {
      if (extension === null) return;
      screenPop.handle(event, replay); // first: the pop is the latency budget
      ownCalls.observe(event, extension);
      history.record(event, extension);
      await Promise.all(busEvents.emit({ event, replay, ...rest }));
    });
    client = next;
    next.start();
  }

  async function disconnect(): Promise<void> {
    const current = client;
    client = null;
    await current?.stop();
    screenPop.withdrawAll();
  }

  return {
    start() {
      if (closed) throw new Error('core.start(): this agent core was closed.');
      if (started) throw new Error('core.start() was called twice: the agent has one owner that starts it, after attaching every listener.');
      started = true;
      connect();
    },
    get state() {
      return state;
    },
    onState: (listener) => states.on(listener),
    get saveError() {
      return saveError;
    },
    onSaveError: (listener) => saveErrors.on(listener),
    get agent() {
      return agent;
    },
    get agentPolicy() {
      return agentPolicy;
    },
    async pair(busUrl, code) {
      const paired = await pair(busUrl, code, { secrets, store, fetch: deps.fetch });
      await disconnect();
      const stored = await loadPairing({ secrets, store });
      if (!stored) throw new Error('The device credential could not be read back from secure storage.');
      adopt(stored);
      setState('connecting');
      connect();
      return paired;
    },
    async signOut() {
      await disconnect();
      await forgetPairing({ secrets, store });
      adopt(null);
      setState('unpaired');
    },
    settings,
    history,
    contacts,
    useCrm(ports) {
      crm = ports ?? initialCrm;
      preferAgentsOwnContacts();
    },
    dial: (raw) => dialer.dial(raw),
    onBusEvent: (listener) => busEvents.on(listener),
    onResync: (listener) => resyncs.on(listener),
    requestRecording: (eventId) => (client ? client.requestRecording(eventId) : notPaired()),
    controlCall: (callKey, action, destination) => ownCalls.act(callKey, action, destination),
    get presence() {
      return presence.presence;
    },
    onPresence: (listener) => presence.changed.on(listener),
    async setDoNotDisturb(on) {
      if (presence.presence) await presence.setDnd(on);
      // Off clears the local switch too; on is 3CX's alone when 3CX has a status for the agent.
      if (!presence.presence || !on) settings.update({ doNotDisturb: on && !presence.presence });
    },
    async close() {
      closed = true;
      presence.stop();
      ownerAsk++;
      clearTimeout(ownerRetry);
      await disconnect();
      history.close();
    },
  };
}
