/**
 * Agent settings.
 *
 * `new SettingsStore(kv, { defaultCountry? })` loads (or defaults) the settings.
 * - `get(): Settings` — defaultCountry, confirmBeforeDial, doNotDisturb, startAtLogin, notification {sound, showCompany}
 * - `update(patch: unknown): Settings` — validates with `SettingsPatchSchema` (throws ZodError, nothing changes)
 * - `onChange(fn) => unsubscribe`
 * The shape and the patch schema are the IPC contract's (src/shared/ipc.ts); `SettingsSchema` here
 * parses a partial object into full settings with `DEFAULT_SETTINGS` for what is missing.
 */
export { DEFAULT_SETTINGS, SettingsSchema, SettingsPatchSchema, SettingsStore, type Settings, type SettingsPatch } from './settings.js';
