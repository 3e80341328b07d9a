// Pieces every EventLog adapter shares: listener fan-out that one bad listener cannot break,
// epoch generation, and the receivedAt clock used for retention.
import { randomBytes } from 'node:crypto';
import type { CallEvent } from '../../shared/call-event.js';
import type { LogListener, LoggedEvent } from './port.js';

export function newEpoch(): string {
  return randomBytes(8).toString('hex');
}

/** Retention is by the time the bus received the event, not the PBX clock (which may be wrong). */
export function receivedAtMs(event: CallEvent): number {
  const ms = Date.parse(event.receivedAt);
  return Number.isNaN(ms) ? Date.now() : ms;
}

/** The distinct extensions an event concerns (a queue call may list one twice): what the agent index holds. */
export function agentExtensions(event: CallEvent): string[] {
  return event.agents.length < 2 ? event.agents : [...new Set(event.agents)];
}

/**
 * How an event changes the open-legs index, one field per (PBX, call, extension): a ring opens
 * its extensions' legs; an answer keeps the answering extension's open and closes the others'
 * (answered elsewhere, nothing left to log there); an end closes its extensions'. Recordings
 * change nothing. Every adapter applies exactly this, atomically with the append.
 */
export function openLegChanges(event: CallEvent): { open: string[]; close: string[] } {
  const extensions = agentExtensions(event);
  const field = (extension: string) => openLegField(event.pbxId, event.pbxCallId, extension);
  switch (event.type) {
    case 'ringing':
      return { open: extensions.map(field), close: [] };
    case 'answered': {
      const by = event.answeredBy ?? null;
      return { open: by === null ? [] : [field(by)], close: extensions.filter((e) => e !== by).map(field) };
    }
    case 'ended':
    case 'missed':
      return { open: [], close: extensions.map(field) };
    default:
      return { open: [], close: [] };
  }
}

/** One leg's key in the index; JSON so no id can run into the next. */
export function openLegField(pbxId: string, pbxCallId: string, extension: string): string {
  return JSON.stringify([pbxId, pbxCallId, extension]);
}

export function parseOpenLegField(field: string): { pbxId: string; pbxCallId: string; extension: string } {
  const [pbxId, pbxCallId, extension] = JSON.parse(field) as [string, string, string];
  return { pbxId, pbxCallId, extension };
}

export class ListenerSet {
  private readonly listeners = new Set<LogListener>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {}

  get size(): number {
    return this.listeners.size;
  }

  add(listener: LogListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(tenantId: string, logged: LoggedEvent, epoch: string): void {
    for (const listener of this.listeners) {
      try {
        listener(tenantId, logged, epoch);
      } catch (err) {
        // The append is already committed; a listener's bug must not turn it into a failure.
        this.onListenerError(err);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
