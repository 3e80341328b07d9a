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
