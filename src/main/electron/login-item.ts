// Carries out the start-at-login plan (policy/login-item.ts). Ports instead of electron and fs
// imports, so a test checks what is asked of the OS.
import type { App } from 'electron';
import type { ShellLogger } from './logger.js';
import type { LoginItemPlan } from './policy/login-item.js';

export interface LoginItemPorts {
  setLoginItemSettings: App['setLoginItemSettings'];
  writeFile(path: string, content: string): void;
  removeFile(path: string): void;
  log: ShellLogger;
}

export function applyLoginItem(plan: LoginItemPlan, ports: LoginItemPorts): void {
  try {
    if (plan.kind === 'electron') ports.setLoginItemSettings(plan.settings);
    else if (plan.kind === 'autostart') {
      if (plan.content === null) ports.removeFile(plan.path);
      else ports.writeFile(plan.path, plan.content);
    } else ports.log.info({ reason: plan.reason }, 'start at login not registered');
  } catch (err) {
    // A read-only home or a locked registry must not stop the app starting.
    ports.log.warn({ err: (err as Error).message }, 'could not change start at login');
  }
}
