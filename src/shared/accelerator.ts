// The "dial the selected number" shortcut setting: an Electron accelerator string
// ("CommandOrControl+Shift+D"), checked here against Electron's accelerator grammar so a bad one
// is refused with a sentence before it reaches globalShortcut (which would only return false).
// Shared: the settings contract validates with it, and the Settings screen can say why at once.
import { z } from 'zod';

export const DEFAULT_DIAL_SHORTCUT = 'CommandOrControl+Shift+D';

const MODIFIERS = new Map<string, string>(
  [
    ['command', 'Command'], ['cmd', 'Command'], ['control', 'Control'], ['ctrl', 'Control'],
    ['commandorcontrol', 'CommandOrControl'], ['cmdorctrl', 'CommandOrControl'], ['alt', 'Alt'],
    ['option', 'Alt'], ['altgr', 'AltGr'], ['shift', 'Shift'], ['super', 'Super'], ['meta', 'Super'],
  ],
);

const NAMED_KEYS = [
  'Plus', 'Space', 'Tab', 'Capslock', 'Numlock', 'Scrolllock', 'Backspace', 'Delete', 'Insert',
  'Return', 'Enter', 'Up', 'Down', 'Left', 'Right', 'Home', 'End', 'PageUp', 'PageDown', 'Escape',
  'Esc', 'VolumeUp', 'VolumeDown', 'VolumeMute', 'MediaNextTrack', 'MediaPreviousTrack', 'MediaStop',
  'MediaPlayPause', 'PrintScreen', 'numdec', 'numadd', 'numsub', 'nummult', 'numdiv',
];
const KEYS = new Map<string, string>(NAMED_KEYS.map((k) => [k.toLowerCase(), k]));
const FUNCTION_KEY = /^f([1-9]|1\d|2[0-4])$/i;
const SINGLE_KEY = /^[A-Za-z0-9)!@#$%^&*(:;=<,_\-.>?/~`{\][|\\}"']$/;
const NUMPAD_DIGIT = /^num[0-9]$/i;

export type AcceleratorCheck = { ok: true; accelerator: string } | { ok: false; reason: string };

/**
 * Checks one accelerator; '' means "no shortcut". A global shortcut steals its keys from every
 * other app, so a plain key (or Shift + key, i.e. typing a capital) is refused: it needs Control,
 * Command, Alt or Super, unless it is a function key.
 */
export function checkAccelerator(raw: string): AcceleratorCheck {
  const text = raw.trim();
  if (text === '') return { ok: true, accelerator: '' };
  if (text.length > 64) return { ok: false, reason: 'The shortcut is too long.' };
  // "Ctrl++" (Plus as the key written as "+") is spelt "Ctrl+Plus" in Electron.
  const parts = text.split('+').map((p) => p.trim());
  if (parts.some((p) => p === '')) return { ok: false, reason: `"${text}" has an empty part; write the + key as "Plus".` };
  const modifiers: string[] = [];
  let key: string | null = null;
  for (const part of parts) {
    const modifier = MODIFIERS.get(part.toLowerCase());
    if (modifier) {
      if (key !== null) return { ok: false, reason: 'Put the modifiers (Ctrl, Alt, Shift…) before the key.' };
      if (modifiers.includes(modifier)) return { ok: false, reason: `"${part}" appears twice.` };
      modifiers.push(modifier);
      continue;
    }
    if (key !== null) return { ok: false, reason: 'A shortcut has exactly one key besides the modifiers.' };
    const named = KEYS.get(part.toLowerCase());
    if (named) key = named;
    else if (FUNCTION_KEY.test(part)) key = part.toUpperCase();
    else if (NUMPAD_DIGIT.test(part)) key = part.toLowerCase();
    else if (SINGLE_KEY.test(part)) key = part.toUpperCase();
    else return { ok: false, reason: `"${part}" is not a key Electron knows.` };
  }
  if (key === null) return { ok: false, reason: 'The shortcut needs a key, not only modifiers.' };
  if (!FUNCTION_KEY.test(key) && !modifiers.some((m) => m !== 'Shift')) {
    return { ok: false, reason: 'A system-wide shortcut needs Ctrl, Cmd, Alt or Super (or a function key), or it would take that key from every other app.' };
  }
  return { ok: true, accelerator: [...modifiers, key].join('+') };
}

/** The setting: a valid accelerator in its normal spelling, or '' for none. */
export const DialShortcutSchema = z.string().max(64).transform((value, ctx) => {
  const checked = checkAccelerator(value);
  if (checked.ok) return checked.accelerator;
  ctx.addIssue({ code: 'custom', message: checked.reason });
  return z.NEVER;
});
