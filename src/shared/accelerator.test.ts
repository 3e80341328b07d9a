import { describe, expect, it } from 'vitest';
import { checkAccelerator, DEFAULT_DIAL_SHORTCUT, DialShortcutSchema } from './accelerator.js';

describe('dial shortcut accelerator', () => {
  it.each([
    [DEFAULT_DIAL_SHORTCUT, 'CommandOrControl+Shift+D'],
    ['ctrl+alt+d', 'Control+Alt+D'],
    [' CmdOrCtrl + Shift + 9 ', 'CommandOrControl+Shift+9'],
    ['Super+F5', 'Super+F5'],
    ['F13', 'F13'],
    ['Alt+Plus', 'Alt+Plus'],
    ['Option+num5', 'Alt+num5'],
    ['Control+PageDown', 'Control+PageDown'],
    ['', ''],
  ])('accepts %j as %j', (raw, normal) => {
    expect(checkAccelerator(raw)).toEqual({ ok: true, accelerator: normal });
  });

  it.each([
    ['D', 'needs Ctrl'],
    ['Shift+D', 'needs Ctrl'],
    ['Ctrl+Shift', 'needs a key'],
    ['Ctrl+D+E', 'exactly one key'],
    ['Ctrl+Ctrl+D', 'appears twice'],
    ['D+Ctrl', 'before the key'],
    ['Ctrl++', 'empty part'],
    ['Ctrl+Banana', '"Banana" is not a key'],
    ['Ctrl+F25', '"F25" is not a key'],
    ['Ctrl+' + 'A'.repeat(70), 'too long'],
  ])('refuses %j with a reason', (raw, reason) => {
    const checked = checkAccelerator(raw);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.reason).toContain(reason);
  });

  it('the settings schema stores the normal spelling and refuses a bad one with the reason', () => {
    expect(DialShortcutSchema.parse('cmdorctrl+shift+d')).toBe('CommandOrControl+Shift+D');
    const bad = DialShortcutSchema.safeParse('Shift+D');
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toContain('needs Ctrl');
  });
});
