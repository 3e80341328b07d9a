// The agent's preferences, persisted in the KeyValueStore, with change events for the tray
// (do-not-disturb) and the window. The shape is the IPC contract's (src/shared/ipc.ts): one
// definition for what is stored, served and patched; this module only adds the defaults.
import { z } from 'zod';
import { DEFAULT_DIAL_SHORTCUT } from '../../shared/accelerator.js';
import { SettingsPatchSchema, SettingsSchema as ContractSettingsSchema, type Settings, type SettingsPatch } from '../../shared/ipc.js';
import { Signal } from '../signal.js';
import type { KeyValueStore } from '../storage/index.js';

export { SettingsPatchSchema, type Settings, type SettingsPatch };

export const DEFAULT_SETTINGS: Settings = {
  defaultCountry: 'US',
  confirmBeforeDial: false,
  doNotDisturb: false,
  startAtLogin: true,
  dialShortcut: DEFAULT_DIAL_SHORTCUT,
  notification: { sound: true, showCompany: true },
  wrapUpSec: 60,
  popMode: 'ring',
};

function withDefaults(partial: SettingsPatch, base: Settings): Settings {
  return { ...base, ...partial, notification: { ...base.notification, ...partial.notification } };
}

/**
 * The contract's settings with every missing field defaulted: reads what an older version saved
 * (fields added since then take their defaults); unknown fields are dropped.
 */
export const SettingsSchema = ContractSettingsSchema.extend({ notification: ContractSettingsSchema.shape.notification.partial() })
  .partial()
  .transform((saved): Settings => withDefaults(saved, DEFAULT_SETTINGS));

const STORE_KEY = 'settings';

export class SettingsStore {
  private current: Settings;
  private readonly changed = new Signal<Settings>();

  constructor(
    private readonly store: KeyValueStore,
    /** Defaults that depend on the machine (e.g. the OS locale's country) override the built-in ones. */
    initial: Partial<Pick<Settings, 'defaultCountry'>> = {},
  ) {
    const saved = SettingsSchema.safeParse(store.get(STORE_KEY, z.unknown()) ?? initial);
    this.current = saved.success ? saved.data : withDefaults(initial, DEFAULT_SETTINGS);
  }

  get(): Settings {
    return this.current;
  }

  /** Applies a patch; throws a ZodError (and changes nothing) when it does not validate. */
  update(patch: unknown): Settings {
    const next = ContractSettingsSchema.parse(withDefaults(SettingsPatchSchema.parse(patch), this.current));
    this.store.set(STORE_KEY, next);
    this.current = next;
    this.changed.emit(next);
    return next;
  }

  onChange(listener: (settings: Settings) => void): () => void {
    return this.changed.on(listener);
  }
}
