// A terminal agent: the real AgentCore (pairing, bus client, screen-pop, history, dial) with ports
// that print instead of showing native notifications. What the tray app does, as lines of text.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { answeringExtension, type CallEvent } from '../shared/call-event.js';
import { formatForDisplay } from '../shared/phone.js';
import { createAgentCore, type AgentCore } from '../main/core.js';
import { createCrmLink, type CrmLink } from '../main/crm-link/index.js';
import type { CrmId } from '../shared/crm.js';
import type { Notifier, PopNotification } from '../main/screenpop/index.js';
import { MemorySecretStore } from '../main/storage/index.js';
import type { CrmLogState } from '../shared/call-history.js';
import type { Printer } from './print.js';

export interface TerminalAgentOptions {
  extension: string;
  /** Parent directory; the agent keeps its state in `<dir>/agent-<ext>`. */
  dataDir: string;
  printer: Printer;
  /** The CRM the agent can sign in to: its app client id and (simulated) vendor host. */
  crm: { id: CrmId; clientId: string; origin: string };
}

export interface TerminalAgent {
  readonly label: string;
  readonly core: AgentCore;
  readonly crm: CrmLink;
  close(): Promise<void>;
}

/** "Jane Citizen — +61 2 9876 5432 — Acme Pty Ltd — last activity 3 days ago" */
export function popLine(pop: PopNotification): string {
  return [pop.title, ...pop.body.split('\n')].filter(Boolean).join(' — ');
}

/** Prints notifications; a withdraw immediately followed by a show of the same pop is an update. */
function printingNotifier(label: string, printer: Printer): Notifier {
  let withdrawing: string | null = null;
  return {
    show(pop) {
      const updated = withdrawing === pop.popId;
      withdrawing = null;
      printer.say(label, updated ? 'POP (upd)' : 'POP', popLine(pop), 'good');
    },
    withdraw(popId) {
      withdrawing = popId;
      queueMicrotask(() => {
        if (withdrawing !== popId) return;
        withdrawing = null;
        printer.say(label, 'pop gone', 'notification withdrawn', 'dim');
      });
    },
  };
}

function describeCall(event: CallEvent, country: Parameters<typeof formatForDisplay>[1]): string | null {
  const remote = event.direction === 'inbound' ? event.caller : event.callee;
  const number = remote.e164 ? formatForDisplay(remote.e164, country) : remote.raw;
  switch (event.type) {
    case 'ringing':
      return event.direction === 'outbound' ? `dialling ${number}` : null; // inbound rings are the pop
    case 'answered': {
      const by = answeringExtension(event);
      return by ? `answered by ${by}` : 'answered';
    }
    case 'ended':
      return `ended after ${event.durationSec ?? 0} s`;
    case 'missed':
      if (event.direction === 'outbound') return 'not answered';
      return event.queue ? `missed (queue ${event.queue}: nobody answered)` : 'missed';
    case 'recording_ready':
      return 'recording ready on the PBX';
  }
}

const CRM_STATE_TEXT: Record<CrmLogState, string> = {
  pending: 'waiting to be logged',
  logged: 'call logged',
  recording_attached: 'recording attached',
  needs_attention: 'needs attention',
  not_applicable: 'not logged by this agent',
};

export async function startTerminalAgent(opts: TerminalAgentOptions): Promise<TerminalAgent> {
  const { extension, printer } = opts;
  const label = `[${extension}]`;
  const dataDir = join(opts.dataDir, `agent-${extension}`);
  mkdirSync(dataDir, { recursive: true });
  const logger = pino({ level: 'silent' });
  const secretStore = new MemorySecretStore();
  const core = await createAgentCore({
    dataDir,
    secretStore,
    notifier: printingNotifier(label, printer),
    confirm: { confirmDial: async () => true },
    feedback: {
      dialFeedback(f) {
        if (f.kind === 'placed') printer.say(label, 'DIAL ok', `bus placed the call to ${f.display} from ext ${extension}`, 'good');
        else if (f.kind === 'refused') printer.say(label, 'DIAL no', `refused on the agent (${f.code}): ${f.reason}`, 'bad');
        else if (f.kind === 'failed') printer.say(label, 'DIAL no', `refused by the bus (${f.code}): ${f.message}`, 'bad');
      },
    },
    logger,
    defaultCountry: 'AU',
    bus: { backoff: { baseMs: 100, capMs: 1000 } },
  });
  // The scripted calls are logged as they end; the notes scene turns wrap-up on for its call.
  core.settings.update({ wrapUpSec: 0 });
  const crm = await createCrmLink({
    core,
    dataDir,
    secretStore,
    openBrowser: followAuthorizeRedirect,
    clientIds: { [opts.crm.id]: opts.crm.clientId },
    origins: { [opts.crm.id]: opts.crm.origin },
    logger,
  });

  core.onState((state) => printer.say(label, 'tray', state, state === 'connected' ? 'good' : 'dim'));
  core.onBusEvent(({ event, replay }) => {
    if (replay) return;
    const text = describeCall(event, core.settings.get().defaultCountry);
    if (text) printer.say(label, 'call', text);
  });
  const shownCrmState = new Map<string, CrmLogState>();
  core.history.onChange((record) => {
    const { state, reason } = record.crm;
    if (shownCrmState.get(record.callKey) === state || state === 'pending') return;
    shownCrmState.set(record.callKey, state);
    const who = record.contactName ?? (record.remote.e164 ? formatForDisplay(record.remote.e164, core.settings.get().defaultCountry) : record.remote.raw);
    const where = crm.callRecordUrl(record.callKey);
    const text = `${CRM_STATE_TEXT[state]} — ${who}, ${record.outcome.replace('_', ' ')}${reason ? ` (${reason})` : ''}${where ? ` -> ${where}` : ''}`;
    printer.say(label, 'CRM', text, state === 'needs_attention' ? 'bad' : 'good');
  });
  core.start(); // every listener is attached

  return {
    label,
    core,
    crm,
    async close() {
      await crm.close();
      await core.close();
    },
  };
}

/**
 * Plays the agent in the system browser: the (simulated) CRM's consent page answers with a
 * redirect to the app's loopback listener, which is followed as the browser would.
 */
async function followAuthorizeRedirect(url: string): Promise<void> {
  const consent = await fetch(url, { redirect: 'manual' });
  const callback = consent.headers.get('location');
  if (consent.status !== 302 || !callback) throw new Error(`the CRM's authorize page answered ${consent.status}`);
  await (await fetch(callback)).text();
}

/** Pairs with the one-time code and waits until the bus welcomed the agent. */
export async function pairAgent(agent: TerminalAgent, busUrl: string, code: string, timeoutMs = 10_000): Promise<void> {
  await agent.core.pair(busUrl, code);
  const deadline = Date.now() + timeoutMs;
  while (agent.core.state !== 'connected') {
    if (Date.now() > deadline) throw new Error(`${agent.label} did not connect to the bus (state ${agent.core.state})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
