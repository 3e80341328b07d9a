// The agent's preferences: one zod schema with defaults, persisted in the KeyValueStore,
// change events for the tray (do-not-disturb) and the window.
import { z } from 'zod';
import { CountryCodeSchema } from '../../shared/phone.js';
import { Signal } from '../signal.js';
import type { KeyValueStore } from '../storage/index.js';

export const NotificationSettingsSchema = z.object({
  sound: z.boolean().default(true),
  showCompany: z.boolean().default(true),
});

export const SettingsSchema = z.object({
  defaultCountry: CountryCodeSchema.default('US'),
  confirmBeforeDial: z.boolean().default(false),
  doNotDisturb: z.boolean().default(false),
  startAtLogin: z.boolean().default(true),
  notification: NotificationSettingsSchema.default({ sound: true, showCompany: true }),
});
export type Settings = z.infer<typeof SettingsSchema>;

/** What the window may send: any subset, notification fields included. Unknown keys are refused. */
export const SettingsPatchSchema = z
  .object({
    defaultCountry: CountryCodeSchema,
    confirmBeforeDial: z.boolean(),
    doNotDisturb: z.boolean(),
    startAtLogin: z.boolean(),
    notification: z.object({ sound: z.boolean(), showCompany: z.boolean() }).partial().strict(),
  })
  .partial()
  .strict();
export type SettingsPatch = z.infer<typeof SettingsPatchSchema>;

const STORE_KEY = 'settings';

export class SettingsStore {
  private current: Settings;
  private readonly changed = new Signal<Settings>();

  constructor(
    private readonly store: KeyValueStore,
    /** Defaults that depend on the machine (e.g. the OS locale's country) override the schema's. */
    initial: Partial<Pick<Settings, 'defaultCountry'>> = {},
  ) {
    const saved = store.get(STORE_KEY, z.unknown());
    const parsed = SettingsSchema.safeParse(saved ?? initial);
    this.current = parsed.success ? parsed.data : SettingsSchema.parse(initial);
  }

  get(): Settings {
    return this.current;
  }

  /** Applies a patch; throws a ZodError (and changes nothing) when it does not validate. */
  update(patch: unknown): Settings {
    const valid = SettingsPatchSchema.parse(patch);
    const next = SettingsSchema.parse({
      ...this.current,
      ...valid,
      notification: { ...this.current.notification, ...valid.notification },
    });
    this.store.set(STORE_KEY, next);
    this.current = next;
    this.changed.emit(next);
    return next;
  }

  onChange(listener: (settings: Settings) => void): () => void {
    return this.changed.on(listener);
  }
}
