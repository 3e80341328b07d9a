import { useState, type ReactNode } from 'react';
import type { Settings, SettingsPatch } from '../../../shared/ipc.js';
import { useSaveSettings, useSettings } from '../agent.js';
import { DialShortcutField } from './settings/DialShortcutField.js';

// Where most 3CX customers are; any other country already saved still shows.
const COUNTRIES = ['AU', 'NZ', 'GB', 'IE', 'US', 'CA', 'ZA', 'DE', 'AT', 'CH', 'FR', 'BE', 'NL', 'IT', 'ES', 'PT', 'SE', 'DK', 'NO', 'FI', 'PL', 'CY', 'GR', 'MT', 'AE', 'IN', 'SG', 'MY', 'PH', 'MX', 'BR'];
const regionName = new Intl.DisplayNames(['en'], { type: 'region' });
/** Wrap-up choices; a value saved otherwise (another version) still shows. */
const WRAP_UP_OPTIONS = [0, 30, 60, 120, 300];

function Toggle(props: { label: string; hint?: string; checked: boolean; onChange: (on: boolean) => void }): ReactNode {
  return (
    <label className="toggle">
      <input type="checkbox" checked={props.checked} onChange={(e) => props.onChange(e.target.checked)} />
      <span>
        {props.label}
        {props.hint && <small>{props.hint}</small>}
      </span>
    </label>
  );
}

export function SettingsScreen() {
  const settings = useSettings();
  const save = useSaveSettings();
  // The form's own copy, updated in the event handler itself: the query cache notifies on a later
  // tick, and a controlled checkbox must not spring back in between. The copy belongs to the data it
  // was made from: once the cache holds newer settings, they win.
  const [draft, setDraft] = useState<{ from: Settings; value: Settings } | null>(null);
  if (settings.isPending) return <p className="loading">Loading…</p>;
  if (settings.isError) return <p role="alert">Could not load settings: {settings.error.message}</p>;
  const s = draft?.from === settings.data ? draft.value : settings.data;
  const set = (patch: SettingsPatch) => {
    setDraft({ from: settings.data, value: { ...s, ...patch, notification: { ...s.notification, ...patch.notification } } });
    save.save(patch);
  };
  const wrapUpChoices = WRAP_UP_OPTIONS.includes(s.wrapUpSec) ? WRAP_UP_OPTIONS : [...WRAP_UP_OPTIONS, s.wrapUpSec].sort((x, y) => x - y);
  const countries = COUNTRIES.includes(s.defaultCountry) ? COUNTRIES : [s.defaultCountry, ...COUNTRIES];

  return (
    <form className="card settings" onSubmit={(e) => e.preventDefault()} aria-label="Settings">
      <fieldset>
        <legend>Calling</legend>
        <label className="field">
          Default country
          <select value={s.defaultCountry} onChange={(e) => set({ defaultCountry: e.target.value as typeof s.defaultCountry })}>
            {countries.map((code) => (
              <option key={code} value={code}>
                {regionName.of(code) ?? code} ({code})
              </option>
            ))}
          </select>
          <small>Numbers without a country code are dialled and matched as numbers in this country.</small>
        </label>
        <Toggle label="Confirm before dialling" hint="Ask before a clicked number is called." checked={s.confirmBeforeDial} onChange={(on) => set({ confirmBeforeDial: on })} />
        <DialShortcutField value={s.dialShortcut} onSave={(dialShortcut) => set({ dialShortcut })} />
        <label className="field">
          Wrap-up time
          <select value={s.wrapUpSec} onChange={(e) => set({ wrapUpSec: Number(e.target.value) })}>
            {wrapUpChoices.map((sec) => (
              <option key={sec} value={sec}>
                {sec === 0 ? 'None: log as the call ends' : `${sec} seconds`}
              </option>
            ))}
          </select>
          <small>After a call, time to add notes and an outcome before it is logged; Save logs it at once.</small>
        </label>
      </fieldset>
      <fieldset>
        <legend>Screen-pops</legend>
        <label className="field">
          Pop a call
          <select value={s.popMode} onChange={(e) => set({ popMode: e.target.value as typeof s.popMode })}>
            <option value="ring">When it rings</option>
            <option value="answer">When I answer it</option>
            <option value="off">Never</option>
          </select>
          <small>Queue calls show the queue. A call a colleague answered first never pops.</small>
        </label>
        <Toggle label="Do not disturb" hint="No pops; calls are still logged." checked={s.doNotDisturb} onChange={(on) => set({ doNotDisturb: on })} />
        <Toggle label="Play a sound" checked={s.notification.sound} onChange={(on) => set({ notification: { sound: on } })} />
        <Toggle label="Show the caller's company" checked={s.notification.showCompany} onChange={(on) => set({ notification: { showCompany: on } })} />
      </fieldset>
      <fieldset>
        <legend>System</legend>
        <Toggle label="Start at login" checked={s.startAtLogin} onChange={(on) => set({ startAtLogin: on })} />
      </fieldset>
      <p className="save-state" role="status" aria-live="polite">
        {save.error ? <span className="error">{save.error.message}</span> : save.isSuccess ? 'Saved' : ''}
      </p>
    </form>
  );
}
