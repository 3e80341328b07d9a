import { describe, expect, it } from 'vitest';
import type { AppState } from '../../../shared/ipc.js';
import { trayMenu, trayStateOf, trayTooltip } from './tray-model.js';

const base: AppState = {
  bus: 'connected',
  busUrl: 'https://bus.example.net',
  agent: { name: 'Ana Reyes', extension: '101', tenantId: 't1' },
  doNotDisturb: false,
  detail: null,
  saveError: null,
};

describe('tray model', () => {
  it.each([
    [{ bus: 'connected' }, 'connected'],
    [{ bus: 'connected', doNotDisturb: true }, 'dnd'],
    [{ bus: 'reconnecting' }, 'reconnecting'],
    [{ bus: 'connecting' }, 'reconnecting'],
    [{ bus: 'signed_out' }, 'signed_out'],
    [{ bus: 'unpaired', agent: null }, 'signed_out'],
    [{ bus: 'reconnecting', doNotDisturb: true }, 'reconnecting'],
  ] as const)('%o shows %s', (over, expected) => {
    expect(trayStateOf({ ...base, ...over })).toBe(expected);
  });

  it('names the agent in the tooltip', () => {
    expect(trayTooltip(base)).toBe('Ringbridge: connected — Ana Reyes (ext. 101)');
    expect(trayTooltip({ ...base, bus: 'unpaired', agent: null })).toBe('Ringbridge: not paired yet');
  });

  it('offers Open, Dial number…, Do not disturb and Quit; dial only while connected', () => {
    expect(trayMenu(base).map((e) => e.label)).toEqual(['Open Ringbridge', 'Dial number…', 'Do not disturb', 'Quit']);
    expect(trayMenu({ ...base, bus: 'reconnecting' }).find((e) => e.action === 'dial')?.enabled).toBe(false);
    expect(trayMenu({ ...base, doNotDisturb: true }).find((e) => e.action === 'toggleDnd')?.checked).toBe(true);
  });

  const available = { profile: 'Available', dnd: false, profiles: ['Available', 'Away', 'Out of office'], queueStatus: 'LoggedIn' as const };
  it("shows the agent's 3CX status as a line of its own, and its Do Not Disturb as the checkbox", () => {
    const menu = trayMenu({ ...base, presence: available });
    expect(menu.map((e) => [e.label, e.enabled])).toEqual([
      ['Open Ringbridge', true],
      ['Dial number…', true],
      ['3CX: Available', false],
      ['Do not disturb (3CX)', true],
      ['Quit', true],
    ]);
    expect(trayTooltip({ ...base, presence: available })).toBe('Ringbridge: connected — Ana Reyes (ext. 101) — 3CX: Available');
    const dnd = { ...base, doNotDisturb: true, presence: { ...available, profile: 'Out of office', dnd: true } };
    expect(trayStateOf(dnd)).toBe('dnd');
    expect(trayMenu(dnd).filter((e) => !e.enabled || e.type === 'checkbox').map((e) => [e.label, e.checked])).toEqual([
      ['3CX: Do not disturb (Out of office)', undefined],
      ['Do not disturb (3CX)', true],
    ]);
  });

  it('drops the 3CX status while not connected (it may have changed meanwhile)', () => {
    expect(trayMenu({ ...base, bus: 'reconnecting', presence: available }).map((e) => e.label)).toEqual(['Open Ringbridge', 'Dial number…', 'Do not disturb', 'Quit']);
  });
});
