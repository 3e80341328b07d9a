import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileKeyValueStore } from '../storage/index.js';
import { SettingsStore } from './index.js';

const dirs: string[] = [];
function tempStore(): { dir: string; kv: FileKeyValueStore } {
  const dir = mkdtempSync(join(tmpdir(), 'rb-settings-'));
  dirs.push(dir);
  return { dir, kv: new FileKeyValueStore(dir) };
}
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('SettingsStore', () => {
  it('starts from defaults, using the machine country when given', () => {
    const settings = new SettingsStore(tempStore().kv, { defaultCountry: 'AU' }).get();
    expect(settings).toEqual({
      defaultCountry: 'AU',
      confirmBeforeDial: false,
      doNotDisturb: false,
      startAtLogin: true,
      popMode: 'ring',
      notification: { sound: true, showCompany: true },
      wrapUpSec: 60,
      dialShortcut: 'CommandOrControl+Shift+D',
    });
  });

  it('persists a patch across restarts and merges nested notification fields', () => {
    const { dir, kv } = tempStore();
    const first = new SettingsStore(kv);
    first.update({ doNotDisturb: true, notification: { sound: false } });
    const reloaded = new SettingsStore(new FileKeyValueStore(dir)).get();
    expect(reloaded.doNotDisturb).toBe(true);
    expect(reloaded.notification).toEqual({ sound: false, showCompany: true });
  });

  it('reads what an older version saved: missing fields take their defaults, a broken save does not stop the app', () => {
    const { kv } = tempStore();
    kv.set('settings', { defaultCountry: 'NZ', doNotDisturb: true, retiredOption: 1 });
    expect(new SettingsStore(kv, { defaultCountry: 'AU' }).get()).toEqual({
      defaultCountry: 'NZ',
      confirmBeforeDial: false,
      doNotDisturb: true,
      startAtLogin: true,
      popMode: 'ring',
      notification: { sound: true, showCompany: true },
      wrapUpSec: 60,
      dialShortcut: 'CommandOrControl+Shift+D',
    });
    kv.set('settings', { defaultCountry: 'new zealand' });
    expect(new SettingsStore(kv, { defaultCountry: 'AU' }).get().defaultCountry).toBe('AU');
  });

  it('emits the new settings to listeners and stops after unsubscribe', () => {
    const store = new SettingsStore(tempStore().kv);
    const seen: boolean[] = [];
    const off = store.onChange((s) => seen.push(s.confirmBeforeDial));
    store.update({ confirmBeforeDial: true });
    off();
    store.update({ confirmBeforeDial: false });
    expect(seen).toEqual([true]);
  });

  it('refuses invalid patches and changes nothing', () => {
    const store = new SettingsStore(tempStore().kv);
    expect(() => store.update({ defaultCountry: 'australia' })).toThrow();
    expect(() => store.update({ doNotDisturb: 'yes' })).toThrow();
    expect(() => store.update({ evil: true })).toThrow();
    expect(store.get().defaultCountry).toBe('US');
    expect(store.get().doNotDisturb).toBe(false);
  });

  it('stores the dial shortcut in its normal spelling, and refuses one that is not a usable accelerator with the reason', () => {
    const store = new SettingsStore(tempStore().kv);
    expect(store.update({ dialShortcut: 'ctrl+alt+9' }).dialShortcut).toBe('Control+Alt+9');
    expect(() => store.update({ dialShortcut: 'Shift+D' })).toThrow(/needs Ctrl/);
    expect(() => store.update({ dialShortcut: 'Ctrl+Banana' })).toThrow(/Banana.* is not a key Electron knows/);
    expect(store.get().dialShortcut).toBe('Control+Alt+9');
    expect(store.update({ dialShortcut: '' }).dialShortcut).toBe(''); // none
  });
});
