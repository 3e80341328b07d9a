// The Call panel and the Recent calls notes editor (issue 11 item 2) in Debian's Chromium, against
// the fake main. Screenshots of each state land in test-artifacts/screens/.
import { describe, expect, it } from 'vitest';
import type { CallPanel, PanelCall } from '../../src/shared/ipc.js';
import { AgentIpcError } from '../../src/shared/ipc.js';
import { FakeAgent, PAIRED, SAMPLE_CALLS } from './fake-agent.js';
import { emit, rendererSuite } from './harness.js';

const { open, shot } = rendererSuite();



const DISPOSITIONS = [
  { id: '9d9162e7-busy', label: 'Busy' },
  { id: 'f240bbac-connected', label: 'Connected' },
  { id: 'b2cf5968-voicemail', label: 'Left voicemail' },
];

function panelCall(over: Partial<PanelCall>): PanelCall {
  const now = Date.now();
  return {
    callKey: 'acme:pbx1:c-9:101',
    direction: 'inbound',
    remoteNumber: '(02) 9876 5432',
    remoteName: 'Jane Citizen',
    queue: 'Sales',
    state: 'talking',
    startedAt: new Date(now - 95_000).toISOString(),
    answeredAt: new Date(now - 90_000).toISOString(),
    endedAt: null,
    wrapUpEndsAt: null,
    notes: '',
    dispositionId: null,
    ...over,
  };
}

describe('Call panel', () => {
  it('comes forward when a call arrives, shows who and how long, then takes notes and an outcome in wrap-up and saves them', async () => {
    const fake = new FakeAgent(PAIRED);
    const p = await open(fake);
    await expect.poll(() => p.getByRole('tab', { name: 'Recent calls' }).getAttribute('aria-selected')).toBe('true');

    // Ringing: the panel comes forward on its own; no notes form yet.
    fake.panel = { calls: [panelCall({ state: 'ringing', answeredAt: null })], dispositions: DISPOSITIONS };
    await emit(fake, 'callPanelChanged', fake.panel);
    await expect.poll(() => p.getByRole('tab', { name: 'Current call', exact: true }).getAttribute('aria-selected')).toBe('true');
    const card = p.getByRole('listitem', { name: 'Ringing: Jane Citizen' });
    await expect.poll(() => card.isVisible()).toBe(true);
    expect(await card.getByRole('textbox').count()).toBe(0);
    await shot(p, 'call-panel-ringing');

    // Talking: the timer counts from the answer; notes may be typed already.
    fake.panel = { ...fake.panel, calls: [panelCall({})] };
    await emit(fake, 'callPanelChanged', fake.panel);
    const talking = p.getByRole('listitem', { name: 'On call: Jane Citizen' });
    await expect.poll(() => talking.textContent()).toMatch(/1:3\d/);
    expect(await talking.textContent()).toContain('queue Sales');
    await shot(p, 'call-panel-talking');

    // Wrap-up: a countdown to the automatic log; typing saves drafts, Save ends the wrap-up.
    const endsAt = new Date(Date.now() + 45_000).toISOString();
    fake.panel = { ...fake.panel, calls: [panelCall({ state: 'wrap_up', endedAt: new Date().toISOString(), wrapUpEndsAt: endsAt })] };
    await emit(fake, 'callPanelChanged', fake.panel);
    const wrap = p.getByRole('listitem', { name: 'Wrap-up: Jane Citizen' });
    await expect.poll(() => wrap.textContent()).toMatch(/Logs in 0:4\d/);
    await wrap.getByLabel('Notes for the call with Jane Citizen', { exact: true }).fill('Wants the premium plan; call back Friday');
    await expect.poll(() => fake.callsTo('saveCallNotes').at(-1)).toEqual([
      { callKey: 'acme:pbx1:c-9:101', notes: 'Wants the premium plan; call back Friday', dispositionId: null, done: false },
    ]);
    const outcome = wrap.getByLabel('Outcome of the call with Jane Citizen', { exact: true });
    expect(await outcome.locator('option').allTextContents()).toEqual(['Choose an outcome…', 'Busy', 'Connected', 'Left voicemail']);
    await outcome.selectOption({ label: 'Connected' });
    await shot(p, 'call-panel-wrap-up');

    await wrap.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => fake.callsTo('saveCallNotes').at(-1)).toEqual([
      { callKey: 'acme:pbx1:c-9:101', notes: 'Wants the premium plan; call back Friday', dispositionId: 'f240bbac-connected', done: true },
    ]);
    await expect.poll(() => p.getByText('No call right now.').isVisible()).toBe(true);
    await shot(p, 'call-panel-saved');
  });

  it('opens on the Call panel when a call is on, and a clicked pop brings the panel back from another tab', async () => {
    const fake = new FakeAgent(PAIRED);
    fake.panel = { calls: [panelCall({})], dispositions: DISPOSITIONS };
    const p = await open(fake);
    const callTab = p.getByRole('tab', { name: 'Current call', exact: true });
    await expect.poll(() => callTab.getAttribute('aria-selected')).toBe('true');
    await p.getByRole('tab', { name: 'Recent calls' }).click();
    await expect.poll(() => callTab.getAttribute('aria-selected')).toBe('false');
    await emit(fake, 'callPanelRequested', null); // main: the agent clicked the pop
    await expect.poll(() => callTab.getAttribute('aria-selected')).toBe('true');
  });

  it('says why a save failed and keeps what was typed', async () => {
    const fake = new FakeAgent(PAIRED);
    fake.panel = { calls: [panelCall({ state: 'wrap_up', endedAt: new Date().toISOString(), wrapUpEndsAt: new Date(Date.now() + 30_000).toISOString() })], dispositions: [] };
    fake.handlers.saveCallNotes = async () => {
      throw new AgentIpcError('failed', 'This call is not one Ringbridge logs for you.');
    };
    const p = await open(fake);
    await p.getByRole('tab', { name: 'Current call', exact: true }).click();
    const wrap = p.getByRole('listitem', { name: 'Wrap-up: Jane Citizen' });
    expect(await wrap.getByLabel('Outcome of the call with Jane Citizen', { exact: true }).locator('option').allTextContents()).toEqual(['No outcomes from the CRM']);
    await wrap.getByLabel('Notes for the call with Jane Citizen', { exact: true }).fill('typed');
    await wrap.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => wrap.getByRole('alert').textContent()).toBe('This call is not one Ringbridge logs for you.');
    expect(await wrap.getByLabel('Notes for the call with Jane Citizen', { exact: true }).inputValue()).toBe('typed');
    await shot(p, 'call-panel-save-failed');
  });
});

describe('Recent calls: notes after the call', () => {
  it('edits the notes and outcome of a logged call; Save sends an update for that call', async () => {
    const fake = new FakeAgent(PAIRED);
    const logged = SAMPLE_CALLS[0]!;
    fake.notes.set(logged.callKey, { notes: 'First notes', dispositionId: null });
    fake.panel = { calls: [], dispositions: DISPOSITIONS } satisfies CallPanel;
    const p = await open(fake);
    const row = p.getByRole('listitem', { name: `Incoming call, ${logged.remoteName}` });
    await row.getByRole('button', { name: `Notes and outcome of the call with ${logged.remoteName}` }).click();
    const notes = row.getByLabel(`Notes for the call with ${logged.remoteName}`, { exact: true });
    await expect.poll(() => notes.inputValue()).toBe('First notes');
    await notes.fill('First notes; sent the quote');
    await row.getByLabel(`Outcome of the call with ${logged.remoteName}`, { exact: true }).selectOption({ label: 'Left voicemail' });
    await shot(p, 'recent-calls-notes');
    // No drafts here: only Save writes, and it is an update of the logged call.
    expect(fake.callsTo('saveCallNotes')).toEqual([]);
    await row.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => fake.callsTo('saveCallNotes')).toEqual([[{ callKey: logged.callKey, notes: 'First notes; sent the quote', dispositionId: 'b2cf5968-voicemail', done: true }]]);
    await expect.poll(() => row.getByRole('textbox').count()).toBe(0);
  });
});

describe('Settings: wrap-up time', () => {
  it('sets how long an ended call waits for notes before it is logged', async () => {
    const fake = new FakeAgent(PAIRED);
    const p = await open(fake);
    await p.getByRole('tab', { name: 'Settings' }).click();
    const select = p.getByLabel('Wrap-up time');
    expect(await select.inputValue()).toBe('60');
    await select.selectOption({ label: 'None: log as the call ends' });
    await expect.poll(() => fake.callsTo('setSettings')).toEqual([[{ wrapUpSec: 0 }]]);
    await shot(p, 'settings-wrap-up');
  });
});
