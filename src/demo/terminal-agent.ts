// A terminal agent: the real AgentCore (pairing, bus client, screen-pop, history, dial) with ports
// that print instead of showing native notifications. What the tray app does, as lines of text.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { CallEvent } from '../shared/call-event.js';
import { formatForDisplay } from '../shared/phone.js';
import { MemoryContactSource, type ContactSource } from '../main/contacts/index.js';
import { createAgentCore, type AgentCore } from '../main/core.js';
import type { CrmUrls, Notifier, PopNotification } from '../main/screenpop/index.js';
import { MemorySecretStore } from '../main/storage/index.js';
import type { CrmLogState } from '../main/history/index.js';
import type { Printer } from './print.js';

export interface TerminalAgentOptions {
  extension: string;
  /** Parent directory; the agent keeps its state in `<dir>/agent-<ext>`. */
  dataDir: string;
  printer: Printer;
  contactSource?: ContactSource;
  crmUrls?: CrmUrls;
}

export interface TerminalAgent {
  readonly label: string;
  readonly core: AgentCore;
  close(): Promise<void>;
}

const NO_CRM: CrmUrls = { contactUrl: () => null, newContactUrl: () => null };

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
    case 'answered':
      return event.direction === 'inbound' && event.callee.extension ? `answered by ${event.callee.extension}` : 'answered';
    case 'ended':
      return `ended after ${event.durationSec ?? 0} s`;
    case 'missed':
      if (event.direction !== 'inbound') return 'not answered';
      return event.queue ? `not answered here (queue ${event.queue})` : 'missed';
    case 'recording_ready':
      return 'recording ready on the PBX';
  }
}

const CRM_STATE_TEXT: Record<CrmLogState, string> = {
  pending: 'waiting to be logged',
  logged: 'call logged',
  recording_attached: 'recording attached',
  needs_attention: 'needs attention',
  not_applicable: 'not logged (not for this agent)',
};

export async function startTerminalAgent(opts: TerminalAgentOptions): Promise<TerminalAgent> {
  const { extension, printer } = opts;
  const label = `[${extension}]`;
  const dataDir = join(opts.dataDir, `agent-${extension}`);
  mkdirSync(dataDir, { recursive: true });
  const core = await createAgentCore({
    dataDir,
    secretStore: new MemorySecretStore(),
    notifier: printingNotifier(label, printer),
    confirm: { confirmDial: async () => true },
    feedback: {
      dialFeedback(f) {
        if (f.kind === 'placed') printer.say(label, 'DIAL ok', `bus placed the call to ${f.display} from ext ${extension}`, 'good');
        else if (f.kind === 'refused') printer.say(label, 'DIAL no', `refused on the agent (${f.code}): ${f.reason}`, 'bad');
        else if (f.kind === 'failed') printer.say(label, 'DIAL no', `refused by the bus (${f.code}): ${f.message}`, 'bad');
      },
    },
    contactSource: opts.contactSource ?? new MemoryContactSource(),
    crmUrls: opts.crmUrls ?? NO_CRM,
    logger: pino({ level: 'silent' }),
    defaultCountry: 'AU',
    bus: { backoff: { initialMs: 100, maxMs: 1000 } },
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
    const who = record.contactName ?? record.remote.e164 ?? record.remote.raw;
    const text = `${CRM_STATE_TEXT[state]} — ${who}, ${record.outcome.replace('_', ' ')}${reason ? ` (${reason})` : ''}`;
    printer.say(label, 'CRM', text, state === 'needs_attention' ? 'bad' : 'good');
  });

  return {
    label,
    core,
    close: () => core.close(),
  };
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
