// Screen-pops as native notifications. Each live pop is kept in a Map (so it is not garbage
// collected and can be withdrawn) until it is clicked, closed or withdrawn. A click opens the
// window on the Call panel (`onClick`); without that hook, the pop's CRM link through the
// openExternal gate, never directly. Its Answer / Hang up buttons
// (macOS only: Electron's `actions`) go to `onAction`.
import { Notification } from 'electron';
import type { Notifier, PopAction, PopNotification } from '../screenpop/index.js';
import type { OpenExternal } from './open-external.js';
import type { ShellLogger } from './logger.js';

export type ShowResult = { status: 'shown' } | { status: 'unsupported'; reason: string };

export class ElectronNotifier implements Notifier {
  private readonly live = new Map<string, Notification>();
  /** Set once the agent is built: a pop's button pressed. */
  onAction: ((popId: string, action: PopAction) => void) | null = null;
  /** Set once the agent is built: a pop clicked (the window shows the Call panel). */
  onClick: ((popId: string) => void) | null = null;

  constructor(
    private readonly openExternal: OpenExternal,
    private readonly log: ShellLogger,
  ) {}

  show(pop: PopNotification): ShowResult {
    if (!Notification.isSupported()) return { status: 'unsupported', reason: 'this system has no notification service' };
    this.withdraw(pop.popId); // one pop per call: a re-pop replaces the old one
    const actions = pop.actions ?? [];
    const notification = new Notification({
      title: pop.title,
      body: pop.body,
      silent: pop.silent,
      timeoutType: 'never',
      urgency: 'critical',
      actions: actions.map((action) => ({ type: 'button' as const, text: action === 'answer' ? 'Answer' : 'Hang up' })),
    });
    notification.on('action', (_event, index) => {
      const action = actions[index];
      if (action) this.onAction?.(pop.popId, action);
    });
    const forget = () => {
      if (this.live.get(pop.popId) === notification) this.live.delete(pop.popId);
    };
    notification.on('click', () => {
      forget();
      if (this.onClick) this.onClick(pop.popId);
      else if (pop.clickUrl) void this.openExternal(pop.clickUrl);
    });
    notification.on('close', forget);
    notification.on('failed', (_event, error) => {
      forget();
      this.log.warn({ error }, 'notification failed');
    });
    this.live.set(pop.popId, notification);
    notification.show();
    return { status: 'shown' };
  }

  withdraw(popId: string): void {
    const notification = this.live.get(popId);
    if (!notification) return;
    this.live.delete(popId);
    notification.close();
  }

  /** A plain informational notice (dial results, refused links); not tracked. */
  notice(title: string, body: string): void {
    if (Notification.isSupported()) new Notification({ title, body, silent: true }).show();
  }

  /** Number of pops on screen (for the e2e hook). */
  get liveCount(): number {
    return this.live.size;
  }
}
