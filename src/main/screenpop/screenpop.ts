// Screen-pop: a live inbound call for this agent becomes one native notification naming the
// caller, when it rings (pop mode "ring", the default) or when this agent answers it ("answer"),
// or never ("off"). A ring pop is withdrawn when the call is answered (here or elsewhere), ends or
// is missed; an answer pop when the call ends. Never a pop under Do Not Disturb, for a replayed
// event (a call that rang while the app was closed is history, not news) or for a call already
// answered elsewhere, whatever order late events come in.
import type { Logger } from 'pino';
import { answeringExtension, type CallEvent } from '../../shared/call-event.js';
import { formatForDisplay } from '../../shared/phone.js';
import type { ContactResolver, IndexedContact } from '../contacts/index.js';
import { callKeyOf } from '../history/index.js';
import type { Settings } from '../settings/index.js';

export interface PopMatch {
  name: string;
  company: string | null;
  /** CRM record URL, or null when the agent is not signed in to a CRM. */
  url: string | null;
}

/** What the agent can do to the call from the pop (notification buttons, where the platform has them). */
export type PopAction = 'answer' | 'hangup';

export interface PopNotification {
  /** Stable per (call, agent): a second show() with the same id replaces the first. */
  popId: string;
  title: string;
  body: string;
  e164: string | null;
  /** What a click opens: the CRM record, or its new-contact form; null when no CRM is connected. */
  clickUrl: string | null;
  /** The other contacts sharing the number (the first one is in the title). */
  otherMatches: PopMatch[];
  silent: boolean;
  /** Call-control buttons: answer and hang up while it rings, hang up once answered. */
  actions?: PopAction[];
}

/** Implemented by the Electron glue with `Notification`; clicks go through its openExternal gate. */
export interface Notifier {
  show(pop: PopNotification): void;
  withdraw(popId: string): void;
}

/** Browser URLs of the signed-in CRM (the CRM adapter); null when none is connected. */
export interface CrmUrls {
  contactUrl(contact: { id: string; kind: string }): string | null;
  newContactUrl(e164: string | null): string | null;
}

export interface ScreenPopOptions {
  notifier: Notifier;
  crmUrls: CrmUrls;
  resolver: ContactResolver;
  /** This agent's extension; null while unpaired. */
  extension: () => string | null;
  /** `doNotDisturb`: the local setting or the agent's 3CX status being Do Not Disturb. */
  settings: () => Pick<Settings, 'defaultCountry' | 'doNotDisturb' | 'notification' | 'popMode'>;
  /** The queue's name for its extension number (XAPI Queues), when known. */
  queueNameOf?: (queue: string) => string | null;
  /** When this number last called (ms), from the call history. */
  lastCallWith?: (e164: string, exceptCallKey: string) => number | null;
  /** A remote lookup named the caller after the pop went up (the history keeps the name). */
  onContactResolved?: (callKey: string, contact: IndexedContact) => void;
  logger: Logger;
  now?: () => number;
}

const CLOSED_MEMORY = 2_000;
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

/** "3 days ago", "yesterday", "just now". */
export function ago(thenMs: number, nowMs: number): string {
  const elapsed = Math.max(0, nowMs - thenMs);
  for (const [unit, size] of UNITS) {
    if (elapsed >= size) return relative.format(-Math.floor(elapsed / size), unit);
  }
  return 'just now';
}

interface ActivePop {
  event: CallEvent;
  pop: PopNotification;
}

export class ScreenPop {
  private readonly active = new Map<string, ActivePop>();
  /** Calls already answered/ended here: a late or duplicate ring must not pop them again. */
  private readonly closed = new Set<string>();

  constructor(private readonly options: ScreenPopOptions) {}

  /** Call for every event from the bus, in log order, before anything slower. */
  handle(event: CallEvent, replay: boolean): void {
    const extension = this.options.extension();
    if (extension === null) return;
    const callKey = callKeyOf(event, extension);
    const mode = this.options.settings().popMode;
    if (event.type === 'ringing') {
      if (mode === 'ring' && !replay && this.shouldPop(event, extension, callKey)) this.pop(event, callKey, ['answer', 'hangup']);
    } else if (event.type === 'answered' && mode === 'answer' && answeringExtension(event) === extension) {
      if (!replay && this.shouldPop(event, extension, callKey)) this.pop(event, callKey, ['hangup']);
    } else if (event.type !== 'recording_ready') {
      this.close(callKey);
    }
  }

  /** Withdraws every pop (sign-out, quit, resync). */
  withdrawAll(): void {
    for (const callKey of [...this.active.keys()]) this.close(callKey);
  }

  get activePopIds(): string[] {
    return [...this.active.keys()];
  }

  private shouldPop(event: CallEvent, extension: string, callKey: string): boolean {
    return (
      event.direction === 'inbound' &&
      event.agents.includes(extension) &&
      !this.active.has(callKey) &&
      !this.closed.has(callKey) &&
      !this.options.settings().doNotDisturb
    );
  }

  private pop(event: CallEvent, callKey: string, actions: PopAction[]): void {
    const e164 = event.caller.e164;
    const contacts = e164
      ? this.options.resolver.resolve(e164, (found) => this.onRemoteAnswer(callKey, found))
      : [];
    const pop = { ...this.build(event, callKey, contacts), actions };
    this.active.set(callKey, { event, pop });
    this.options.notifier.show(pop);
  }

  private onRemoteAnswer(callKey: string, contacts: IndexedContact[]): void {
    const first = contacts[0];
    if (!first) return;
    this.options.onContactResolved?.(callKey, first);
    const active = this.active.get(callKey);
    if (!active) return; // the call moved on before the CRM answered
    const pop = { ...this.build(active.event, callKey, contacts), actions: active.pop.actions };
    active.pop = pop;
    this.options.notifier.withdraw(callKey);
    this.options.notifier.show(pop);
  }

  private close(callKey: string): void {
    if (this.active.delete(callKey)) this.options.notifier.withdraw(callKey);
    this.closed.add(callKey);
    if (this.closed.size > CLOSED_MEMORY) this.closed.delete(this.closed.values().next().value!);
  }

  private build(event: CallEvent, callKey: string, contacts: IndexedContact[]): PopNotification {
    const { settings, crmUrls, lastCallWith } = this.options;
    const { defaultCountry, notification } = settings();
    const now = (this.options.now ?? Date.now)();
    const e164 = event.caller.e164;
    const number = e164 ? formatForDisplay(e164, defaultCountry) : event.caller.raw || 'Unknown number';
    const [contact, ...others] = contacts;
    const lastCall = e164 ? (lastCallWith?.(e164, callKey) ?? null) : null;

    const details: string[] = [];
    if (contact) {
      if (notification.showCompany && contact.company) details.push(contact.company);
    } else {
      if (event.caller.name) details.push(event.caller.name);
      if (lastCall === null) details.push('New caller');
    }
    if (lastCall !== null) details.push(`last call ${ago(lastCall, now)}`);
    else if (contact?.lastActivityMs != null) details.push(`last activity ${ago(contact.lastActivityMs, now)}`);
    if (others.length > 0) details.push(`${others.length} more ${others.length === 1 ? 'match' : 'matches'}`);
    if (event.queue) details.push(`queue ${this.options.queueNameOf?.(event.queue) ?? event.queue}`);

    return {
      popId: callKey,
      title: contact ? contact.name : number,
      body: [contact ? number : null, details.join(' — ')].filter((part) => part).join('\n'),
      e164,
      clickUrl: contact ? crmUrls.contactUrl(contact) : crmUrls.newContactUrl(e164),
      otherMatches: others.map((c) => ({ name: c.name, company: c.company, url: crmUrls.contactUrl(c) })),
      silent: !notification.sound,
    };
  }
}
