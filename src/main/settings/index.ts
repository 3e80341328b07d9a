/**
 * Agent settings.
 *
 * `new SettingsStore(kv, { defaultCountry? })` loads (or defaults) the settings.
 * - `get(): Settings` — defaultCountry, confirmBeforeDial, doNotDisturb, startAtLogin, notification {sound, showCompany}
 * - `update(patch: unknown): Settings` — validates with `SettingsPatchSchema` (throws ZodError, nothing changes)
 * - `onChange(fn) => unsubscribe`
 * `SettingsSchema` / `SettingsPatchSchema` are for the IPC contract.
 */
export {
  SettingsSchema,
  SettingsPatchSchema,
  NotificationSettingsSchema,
  SettingsStore,
  type Settings,
  type SettingsPatch,
} from './settings.js';
