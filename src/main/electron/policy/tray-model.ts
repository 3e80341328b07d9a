// What the tray shows for each app state: icon, tooltip and the menu entries, with the agent's 3CX
// status when the bus could read it. The Electron side only turns this into a Tray and a Menu.
import type { AppState } from '../../../shared/ipc.js';

export type TrayState = 'connected' | 'reconnecting' | 'signed_out' | 'dnd';

export function trayStateOf(state: AppState): TrayState {
  if (state.bus === 'unpaired' || state.bus === 'signed_out') return 'signed_out';
  if (state.bus !== 'connected') return 'reconnecting';
  return state.doNotDisturb ? 'dnd' : 'connected';
}

export const TRAY_ICON_FILE: Record<TrayState, string> = {
  connected: 'tray-connected.png',
  reconnecting: 'tray-reconnecting.png',
  signed_out: 'tray-signed-out.png',
  dnd: 'tray-dnd.png',
};

/** "3CX: Available" while connected with a known status; null otherwise. */
export function presenceLine(state: AppState): string | null {
  if (state.bus !== 'connected' || !state.presence) return null;
  return `3CX: ${state.presence.dnd ? `Do not disturb (${state.presence.profile})` : state.presence.profile}`;
}

export function trayTooltip(state: AppState): string {
  const status = presenceLine(state);
  const who = state.agent ? ` — ${state.agent.name} (ext. ${state.agent.extension})${status ? ` — ${status}` : ''}` : '';
  switch (trayStateOf(state)) {
    case 'connected':
      return `Ringbridge: connected${who}`;
    case 'dnd':
      return `Ringbridge: do not disturb${who}`;
    case 'reconnecting':
      return `Ringbridge: reconnecting…${who}`;
    case 'signed_out':
      return state.bus === 'unpaired' ? 'Ringbridge: not paired yet' : 'Ringbridge: signed out — open to pair again';
  }
}

export type TrayAction = 'open' | 'dial' | 'toggleDnd' | 'quit';

export interface TrayMenuEntry {
  action: TrayAction;
  label: string;
  type: 'normal' | 'checkbox';
  checked?: boolean;
  enabled: boolean;
}

export function trayMenu(state: AppState): TrayMenuEntry[] {
  const connected = state.bus === 'connected';
  const status = presenceLine(state);
  return [
    { action: 'open', label: 'Open Ringbridge', type: 'normal', enabled: true },
    { action: 'dial', label: 'Dial number…', type: 'normal', enabled: connected },
    // The status as a line of its own (not clickable); the checkbox below sets 3CX's DND when it is known.
    ...(status ? [{ action: 'open' as const, label: status, type: 'normal' as const, enabled: false }] : []),
    { action: 'toggleDnd', label: status ? 'Do not disturb (3CX)' : 'Do not disturb', type: 'checkbox', checked: state.doNotDisturb, enabled: true },
    { action: 'quit', label: 'Quit', type: 'normal', enabled: true },
  ];
}
