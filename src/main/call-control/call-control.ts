// The agent's own calls it can act on (from the pop's buttons and the Call panel) and its 3CX
// status in the tray. Both go through the bus, which checks every request again (own extension,
// own tenant, rate limit, audit); this side only knows which call a call key means and says no early.
import { answeringExtension, type CallEvent } from '../../shared/call-event.js';
import { ThreeCxCallIdSchema, type CallAction, type Presence } from '../../shared/agent-protocol.js';
import { callKeyOf } from '../history/index.js';
import { Signal } from '../signal.js';

/** What the bus client offers; null while not connected. */
export interface LineTransport {
  controlCall(pbxCallId: string, action: CallAction, destination?: string): Promise<void>;
  presence(dnd?: boolean): Promise<Presence>;
}

/** A request the agent cannot make, in words for the window or a notice. */
export class CallControlError extends Error {
  override readonly name = 'CallControlError';
}

/** Calls remembered at once; older ones give way (a desk has a handful). */
const MAX_LIVE = 64;

/**
 * The id 3CX Call Control knows the call by: the bus qualifies a reused id as `1234@<time>` (3CX's
 * is the part before `@`); a call only the CRM webhook told of has a `tpl_` id and none at all.
 */
function threeCxCallId(pbxCallId: string): string | null {
  const bare = pbxCallId.split('@')[0]!;
  return ThreeCxCallIdSchema.safeParse(bare).success ? bare : null;
}

export class OwnCalls {
  /** callKey -> 3CX's call id (null: it has none), for calls in progress on this extension. */
  private readonly live = new Map<string, string | null>();

  constructor(private readonly transport: () => LineTransport | null) {}

  /** Every bus event, in log order. */
  observe(event: CallEvent, extension: string): void {
    if (!event.agents.includes(extension) || event.type === 'recording_ready') return;
    const callKey = callKeyOf(event, extension);
    const by = answeringExtension(event);
    const gone = event.type === 'ended' || event.type === 'missed' || (by !== null && by !== extension);
    if (gone) {
      this.live.delete(callKey);
      return;
    }
    this.live.set(callKey, threeCxCallId(event.pbxCallId));
    if (this.live.size > MAX_LIVE) this.live.delete(this.live.keys().next().value!);
  }

  /** Forgets everything (sign-out, resync). */
  clear(): void {
    this.live.clear();
  }

  async act(callKey: string, action: CallAction, destination: string | null): Promise<void> {
    const pbxCallId = this.live.get(callKey);
    if (pbxCallId === undefined) throw new CallControlError('This call is not in progress on your extension.');
    if (pbxCallId === null) throw new CallControlError('This call has no 3CX call id (only the CRM webhook reported it), so answer, hang up or transfer it on your phone.');
    const to = destination?.trim() ?? '';
    if (action === 'transfer' && !to) throw new CallControlError('Say where to transfer the call: an extension or a number.');
    const transport = this.transport();
    if (!transport) throw new CallControlError('Not connected to the Ringbridge bus.');
    await transport.controlCall(pbxCallId, action, action === 'transfer' ? to : undefined);
  }
}

/**
 * The agent's 3CX status while connected. 3CX pushes no status changes over Call Control, so it is
 * read on connect, about every `refreshMs`, and after each change made here. Each wait is drawn
 * between half and one and a half `refreshMs`, so agents that connected together (a bus restart)
 * do not all ask their PBX in the same second, minute after minute.
 */
export class PresenceWatch {
  private current: Presence | null = null;
  private timer: NodeJS.Timeout | undefined;
  private asked = 0;
  readonly changed = new Signal<Presence | null>();

  constructor(
    private readonly transport: () => LineTransport | null,
    private readonly onError: (err: Error) => void,
    private readonly refreshMs = 60_000,
    private readonly random: () => number = Math.random,
  ) {}

  get presence(): Presence | null {
    return this.current;
  }

  /** Connected: read now and keep reading; anything else: unknown. */
  connected(isConnected: boolean): void {
    this.stop();
    if (!isConnected) return this.set(null);
    void this.read();
    this.schedule();
  }

  /** Switches 3CX Do Not Disturb; throws what the bus said when it could not. */
  async setDnd(on: boolean): Promise<Presence> {
    const transport = this.transport();
    if (!transport) throw new CallControlError('Not connected to the Ringbridge bus.');
    const ask = ++this.asked;
    const next = await transport.presence(on);
    if (ask === this.asked) this.set(next);
    return next;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      void this.read();
      this.schedule();
    }, this.refreshMs * (0.5 + this.random()));
    this.timer.unref();
  }

  private async read(): Promise<void> {
    const transport = this.transport();
    if (!transport) return;
    const ask = ++this.asked;
    try {
      const next = await transport.presence();
      if (ask === this.asked) this.set(next);
    } catch (err) {
      // A PBX without XAPI access, or a remote connector: the status stays unknown.
      if (ask === this.asked) this.set(null);
      this.onError(err as Error);
    }
  }

  private set(next: Presence | null): void {
    if (JSON.stringify(next) === JSON.stringify(this.current)) return;
    this.current = next;
    this.changed.emit(next);
  }
}
