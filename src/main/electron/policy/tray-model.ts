// What the tray shows for each app state: icon, tooltip and the menu entries. The Electron side
// only turns this into a Tray and a Menu.
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

export function trayTooltip(state: AppState): string {
  const who = state.agent ? ` — ${state.agent.name} (ext. ${state.agent.extension})` : '';
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
  return [
    { action: 'open', label: 'Open Ringbridge', type: 'normal', enabled: true },
    { action: 'dial', label: 'Dial number…', type: 'normal', enabled: connected },
    { action: 'toggleDnd', label: 'Do not disturb', type: 'checkbox', checked: state.doNotDisturb, enabled: true },
    { action: 'quit', label: 'Quit', type: 'normal', enabled: true },
  ];
}
