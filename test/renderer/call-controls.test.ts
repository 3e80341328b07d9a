// Call control from the Call panel and the pop-mode setting (issue 11 items 6, 7) in Debian's
// Chromium, against the fake main. Screenshots of each state land in test-artifacts/screens/.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { PanelCall } from '../../src/shared/ipc.js';
import { FakeAgent, PAIRED } from './fake-agent.js';
import { rendererSuite } from './harness.js';

const { open, openOnCall, shot } = rendererSuite();

const KEY = 'acme:pbx1:1042:101';

function panelCall(over: Partial<PanelCall>): PanelCall {
  const now = Date.now();
  return {
    callKey: KEY,
    direction: 'inbound',
    remoteNumber: '(02) 9876 5432',
    remoteName: 'Jane Citizen',
    queue: 'Sales',
    state: 'ringing',
    startedAt: new Date(now - 5_000).toISOString(),
    answeredAt: null,
    endedAt: null,
    wrapUpEndsAt: null,
    notes: '',
    dispositionId: null,
    ...over,
  };
}

async function withCall(call: PanelCall): Promise<{ fake: FakeAgent; p: Page }> {
  const fake = new FakeAgent(PAIRED);
  return { fake, p: await openOnCall(fake, call) };
}

describe('call controls', () => {
  it('answers a ringing call from the panel; once talking it offers Transfer and Hang up, never hold', async () => {
    const { fake, p } = await withCall(panelCall({}));
    const controls = p.getByRole('group', { name: 'Call controls for Jane Citizen' });
    await expect.poll(() => controls.isVisible()).toBe(true);
    expect(await controls.getByRole('button').allTextContents()).toEqual(['Answer', 'Decline']);
    await shot(p, 'call-controls-ringing');

    await controls.getByRole('button', { name: 'Answer' }).click();
    await expect.poll(() => p.getByRole('listitem', { name: 'On call: Jane Citizen' }).isVisible()).toBe(true);
    expect(fake.callsTo('controlCall')).toEqual([[KEY, 'answer', null]]);
    expect(await controls.getByRole('button').allTextContents()).toEqual(['Transfer…', 'Hang up']);
    await shot(p, 'call-controls-talking');
  });

  it('transfers to what the agent types, through main, and the call leaves the panel', async () => {
    const { fake, p } = await withCall(panelCall({ state: 'talking', answeredAt: new Date().toISOString() }));
    const controls = p.getByRole('group', { name: 'Call controls for Jane Citizen' });
    await controls.getByRole('button', { name: 'Transfer…' }).click();
    const form = p.getByRole('form', { name: 'Transfer Jane Citizen' });
    await expect.poll(() => form.getByRole('button', { name: 'Transfer', exact: true }).isDisabled()).toBe(true);
    await form.getByLabel('Transfer to an extension or number').fill('102');
    await shot(p, 'call-controls-transfer');
    await form.getByRole('button', { name: 'Transfer', exact: true }).click();
    await expect.poll(() => p.getByText('No call right now').isVisible()).toBe(true);
    expect(fake.callsTo('controlCall')).toEqual([[KEY, 'transfer', '102']]);
  });

  it("shows the bus's refusal in its words and leaves the call as it was", async () => {
    const { fake, p } = await withCall(panelCall({ state: 'talking', answeredAt: new Date().toISOString() }));
    fake.controlRefusal = 'That call is not on your extension (it ended, or it is not yours).';
    const controls = p.getByRole('group', { name: 'Call controls for Jane Citizen' });
    await controls.getByRole('button', { name: 'Hang up' }).click();
    await expect.poll(() => controls.getByRole('alert').textContent()).toContain('not on your extension');
    expect(await p.getByRole('listitem', { name: 'On call: Jane Citizen' }).isVisible()).toBe(true);
    await shot(p, 'call-controls-refused');
  });

  it('offers no controls during wrap-up', async () => {
    const { p } = await withCall(panelCall({ state: 'wrap_up', answeredAt: new Date().toISOString(), endedAt: new Date().toISOString(), wrapUpEndsAt: new Date(Date.now() + 60_000).toISOString() }));
    await expect.poll(() => p.getByRole('listitem', { name: 'Wrap-up: Jane Citizen' }).isVisible()).toBe(true);
    expect(await p.getByRole('group', { name: 'Call controls for Jane Citizen' }).count()).toBe(0);
  });
});

describe('pop mode setting', () => {
  it('saves when calls pop: on ring (default), on answer or never', async () => {
    const fake = new FakeAgent(PAIRED);
    const p = await open(fake);
    await p.getByRole('tab', { name: 'Settings' }).click();
    const select = p.getByLabel('Pop a call');
    await expect.poll(() => select.inputValue()).toBe('ring');
    await select.selectOption('answer');
    await expect.poll(() => fake.callsTo('setSettings')).toEqual([[{ popMode: 'answer' }]]);
    await shot(p, 'settings-pop-mode');
  });
});
