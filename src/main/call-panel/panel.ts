// The Call panel's view model: this agent's current calls (ringing, talking) and the ended calls in
// wrap-up, built from bus events. Plain TS, no I/O: the CRM link feeds it events and the wrap-up
// deadlines the outbox holds, and the window renders `calls()` (src/renderer/src/screens/CallPanel.tsx).
// The durable side (notes, the held log) is the outbox's; this only says what is on screen.
import { answeringExtension, remoteParty, type CallEvent } from '../../shared/call-event.js';
import type { PanelCall, Settings } from '../../shared/ipc.js';
import { formatForDisplay } from '../../shared/phone.js';
import { callKeyOf } from '../history/index.js';
import { Signal } from '../signal.js';

export interface CallPanelModelOptions {
  /** This agent's extension; null while unpaired (nothing is shown). */
  extension: () => string | null;
  /** The agent's country, for the display form of numbers. */
  home: () => Settings['defaultCountry'];
  /** The CRM contact's name for a number, when the contact index knows it. */
  nameOf?: (e164: string) => string | null;
  now?: () => number;
}

/** The parts of a call the panel shows, from an event or from what the outbox folded. */
type CallParties = Pick<CallEvent, 'direction' | 'caller' | 'callee' | 'queue'>;

/** A wrap-up the outbox holds (after a restart, say): what the panel shows for it. */
export interface HeldWrapUp {
  callKey: string;
  parties: CallParties;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  notes: string;
  dispositionId: string | null;
  endsAt: number;
}

/** At most this many calls are shown; the oldest wrap-ups give way first. */
const MAX_CALLS = 20;

export class CallPanelModel {
  readonly changed = new Signal<void>();
  private readonly entries = new Map<string, PanelCall>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly now: () => number;

  constructor(private readonly opts: CallPanelModelOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Newest first. */
  calls(): PanelCall[] {
    return [...this.entries.values()].reverse();
  }

  call(callKey: string): PanelCall | null {
    return this.entries.get(callKey) ?? null;
  }

  /**
   * Folds a live event in. `wrapUpEndsAt`: on the `ended` of a call this agent answered and logs,
   * when the outbox holds its log for wrap-up (null: no wrap-up, the call leaves the panel).
   * `replay` (caught up after a reconnect): only moves or ends calls already shown, since a call
   * that began while the agent was away may have ended in events the bus no longer has.
   */
  handle(event: CallEvent, wrapUpEndsAt: number | null, replay = false): void {
    const extension = this.opts.extension();
    if (extension === null || event.direction === 'internal' || !event.agents.includes(extension)) return;
    const callKey = callKeyOf(event, extension);
    const entry = this.entries.get(callKey);
    switch (event.type) {
      case 'ringing':
        if (!entry && !replay) this.put(this.fresh(callKey, event, event.pbxTime));
        break;
      case 'answered': {
        const by = answeringExtension(event);
        // Answered by a colleague: not this agent's call any more.
        if (by !== null && by !== extension) return this.drop(callKey);
        if (!entry && replay) return;
        const base = entry ?? this.fresh(callKey, event, event.pbxTime);
        if (base.state === 'wrap_up') return;
        this.put({ ...base, state: 'talking', answeredAt: base.answeredAt ?? event.pbxTime });
        break;
      }
      case 'ended':
      case 'missed':
        if (wrapUpEndsAt === null || !entry?.answeredAt) return this.drop(callKey);
        this.beginWrapUp({ ...entry, endedAt: event.pbxTime }, wrapUpEndsAt);
        break;
      case 'recording_ready':
        break;
    }
  }

  /** Shows wrap-ups the outbox still holds (the app restarted during one). */
  restore(held: HeldWrapUp[]): void {
    for (const { callKey, parties, startedAt, answeredAt, endedAt, notes, dispositionId, endsAt } of held) {
      if (endsAt > this.now()) this.beginWrapUp({ ...this.fresh(callKey, parties, startedAt), answeredAt, endedAt, notes, dispositionId }, endsAt);
    }
  }

  /** The agent typed: the panel shows the draft back (the outbox keeps it on disk). */
  setDraft(callKey: string, notes: string, dispositionId: string | null): void {
    const entry = this.entries.get(callKey);
    if (entry) this.put({ ...entry, notes, dispositionId });
  }

  /** Saved, or the wrap-up time ran out: the call is logged and leaves the panel. */
  endWrapUp(callKey: string): void {
    if (this.entries.get(callKey)?.state === 'wrap_up') this.drop(callKey);
  }

  /** Unpaired, quitting, or the bus asked for a resync (the events in between are gone): nothing to show, no timers left. */
  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    if (this.entries.size === 0) return;
    this.entries.clear();
    this.changed.emit();
  }

  private beginWrapUp(entry: PanelCall, endsAt: number): void {
    this.put({ ...entry, state: 'wrap_up', wrapUpEndsAt: new Date(endsAt).toISOString() });
    clearTimeout(this.timers.get(entry.callKey));
    const timer = setTimeout(() => this.endWrapUp(entry.callKey), Math.max(0, endsAt - this.now()));
    timer.unref();
    this.timers.set(entry.callKey, timer);
  }

  private fresh(callKey: string, parties: CallParties, startedAt: string): PanelCall {
    const remote = remoteParty(parties);
    return {
      callKey,
      direction: parties.direction === 'outbound' ? 'outbound' : 'inbound',
      remoteNumber: remote.e164 ? formatForDisplay(remote.e164, this.opts.home()) : remote.raw,
      remoteName: (remote.e164 ? this.opts.nameOf?.(remote.e164) : null) ?? remote.name,
      queue: parties.queue,
      state: 'ringing',
      startedAt,
      answeredAt: null,
      endedAt: null,
      wrapUpEndsAt: null,
      notes: '',
      dispositionId: null,
    };
  }

  private put(entry: PanelCall): void {
    this.entries.delete(entry.callKey); // re-inserted last: newest activity first in calls()
    this.entries.set(entry.callKey, entry);
    while (this.entries.size > MAX_CALLS) this.drop(this.entries.keys().next().value!);
    this.changed.emit();
  }

  private drop(callKey: string): void {
    clearTimeout(this.timers.get(callKey));
    this.timers.delete(callKey);
    if (this.entries.delete(callKey)) this.changed.emit();
  }
}
