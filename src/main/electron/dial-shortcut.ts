// "Dial the selected number" (issue 11 item 8): a global shortcut that hands the clipboard's text
// to the same dial path as a tel: link (parser, confirmation, feedback). The accelerator was
// already checked by the settings schema (src/shared/accelerator.ts); here it is only
// (re)registered. Only type imports from electron, so a test passes fakes.
import type { GlobalShortcut } from 'electron';
import type { ShellLogger } from './logger.js';

export interface DialShortcutDeps {
  globalShortcut: Pick<GlobalShortcut, 'register' | 'unregister'>;
  /** The selected or copied text (Electron 45's clipboard reads are async). */
  readClipboard(): Promise<string>;
  /** The tel: path: parse, confirm when the setting says so, dial, report. */
  dial(raw: string): void;
  notice(title: string, body: string): void;
  log: ShellLogger;
}

export interface DialShortcut {
  /** Registers `accelerator` ('' = none) in place of the current one; unchanged if it is the same. */
  apply(accelerator: string): void;
  dispose(): void;
}

export function createDialShortcut(deps: DialShortcutDeps): DialShortcut {
  let current = '';
  const onPress = () => {
    deps.readClipboard().then(
      (text) => deps.dial(text),
      (err: unknown) => deps.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not read the clipboard'),
    );
  };
  return {
    apply(accelerator) {
      if (accelerator === current) return;
      // Register the new one first: if another app holds it, the old shortcut keeps working.
      if (accelerator !== '' && !deps.globalShortcut.register(accelerator, onPress)) {
        deps.log.warn({ accelerator }, 'dial shortcut taken by another app');
        deps.notice('Shortcut not available', `${accelerator} is already used by another app. Choose another one in Settings.`);
        return;
      }
      if (current !== '') deps.globalShortcut.unregister(current);
      current = accelerator;
    },
    dispose() {
      if (current !== '') deps.globalShortcut.unregister(current);
      current = '';
    },
  };
}
