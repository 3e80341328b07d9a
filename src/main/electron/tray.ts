// The tray icon: one image per state from resources/, a tooltip, and the four-item menu.
import { join } from 'node:path';
import { Menu, Tray, nativeImage } from 'electron';
import type { AppState } from '../../shared/ipc.js';
import { TRAY_ICON_FILE, trayMenu, trayStateOf, trayTooltip, type TrayAction } from './policy/tray-model.js';

export interface AppTray {
  update(state: AppState): void;
  destroy(): void;
}

export function createTray(iconDir: string, initial: AppState, onAction: (action: TrayAction) => void): AppTray {
  const image = (state: AppState) => nativeImage.createFromPath(join(iconDir, TRAY_ICON_FILE[trayStateOf(state)]));
  const tray = new Tray(image(initial));
  tray.on('click', () => onAction('open'));

  function update(state: AppState): void {
    tray.setImage(image(state));
    tray.setToolTip(trayTooltip(state));
    tray.setContextMenu(
      Menu.buildFromTemplate(
        trayMenu(state).map((entry) => ({
          label: entry.label,
          type: entry.type,
          checked: entry.checked,
          enabled: entry.enabled,
          click: () => onAction(entry.action),
        })),
      ),
    );
  }
  update(initial);
  return { update, destroy: () => tray.destroy() };
}
