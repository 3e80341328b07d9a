// A call's CRM record in the window (issue 11 items 1, 3, 4) in Debian's Chromium, against the fake
// main: pick one of several records sharing the number, log to one of its open deals, create a new
// caller's record; main's refusals shown in its words. Screenshots land in test-artifacts/screens/.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { CallRecords, PanelCall } from '../../src/shared/ipc.js';
import { FakeAgent, PAIRED, SAMPLE_CALLS } from './fake-agent.js';
import { rendererSuite } from './harness.js';

const suite = rendererSuite();
const { open, shot } = suite;


const CALL_KEY = 'acme:pbx1:c-21:101';

function talking(over: Partial<PanelCall> = {}): PanelCall {
  const now = Date.now();
  return {
    callKey: CALL_KEY,
    direction: 'inbound',
    remoteNumber: '(02) 9876 5432',
    remoteName: 'Ada Shared',
    queue: null,
    state: 'talking',
    startedAt: new Date(now - 65_000).toISOString(),
    answeredAt: new Date(now - 60_000).toISOString(),
    endedAt: null,
    wrapUpEndsAt: null,
    notes: '',
    dispositionId: null,
    ...over,
  };
}

const SHARED: CallRecords = {
  e164: '+61298765432',
  candidates: [
    { id: 'c-ada', kind: 'contact', name: 'Ada Shared', company: 'Analytical Ltd' },
    { id: 'c-bea', kind: 'contact', name: 'Bea Shared', company: null },
  ],
  chosenId: 'c-ada',
  chosenBy: 'policy',
  deals: [],
  dealId: null,
  dealsError: null,
  create: 'off',
};

async function openOnCall(fake: FakeAgent, call: PanelCall): Promise<Page> {
  const page = await suite.openOnCall(fake, call);
  await expect.poll(() => page.getByRole('tab', { name: 'Current call', exact: true }).getAttribute('aria-selected')).toBe('true');
  return page;
}

describe('CRM record of a call', () => {
  it('picks one of the records sharing the number, then one of its open deals; each pick reaches main', async () => {
    const fake = new FakeAgent(PAIRED);
    fake.records.set(CALL_KEY, SHARED);
    fake.dealsOf.set('c-bea', [
      { id: 'd-renewal', kind: 'deal', name: 'Renewal 2027', stage: 'Contract sent' },
      { id: 'd-upsell', kind: 'deal', name: 'Upsell seats', stage: 'Qualified' },
    ]);
    const p = await openOnCall(fake, talking());
    const record = p.getByRole('combobox', { name: 'Record the call with Ada Shared is logged to' });
    await expect.poll(() => record.inputValue()).toBe('c-ada');
    await expect.poll(() => p.getByText('2 records have this number; suggested').isVisible()).toBe(true);
    await shot(p, 'call-record-several');

    await record.selectOption('c-bea');
    expect(fake.callsTo('pickCallRecord')).toEqual([[CALL_KEY, 'c-bea']]);
    const deal = p.getByRole('combobox', { name: 'Deal the call with Ada Shared is logged to' });
    await expect.poll(() => deal.isVisible()).toBe(true);
    await expect.poll(() => p.getByText('2 records have this number; your pick.').isVisible()).toBe(true);
    await deal.selectOption('d-renewal');
    expect(fake.callsTo('pickCallDeal')).toEqual([[CALL_KEY, 'd-renewal']]);
    await expect.poll(() => deal.inputValue()).toBe('d-renewal');
    await shot(p, 'call-record-deal-picked');

    // Back to no deal.
    await deal.selectOption('');
    expect(fake.callsTo('pickCallDeal').at(-1)).toEqual([CALL_KEY, null]);
  });

  it('offers to create a new caller\'s record (policy ask) with an optional name, and then shows it as the record', async () => {
    const fake = new FakeAgent(PAIRED);
    fake.records.set(CALL_KEY, { ...SHARED, candidates: [], chosenId: null, chosenBy: null, create: 'ask' });
    const p = await openOnCall(fake, talking({ remoteName: null }));
    const form = p.getByRole('form', { name: 'Create a CRM record for +61298765432' });
    await expect.poll(() => form.isVisible()).toBe(true);
    await shot(p, 'call-record-new-caller');
    await form.getByRole('textbox').fill('Grace Hopper');
    await form.getByRole('button', { name: 'Create contact' }).click();
    expect(fake.callsTo('createCallRecord')).toEqual([[CALL_KEY, 'Grace Hopper']]);
    await expect.poll(() => p.getByText('Record: Grace Hopper').isVisible()).toBe(true);
    expect(await p.getByRole('form', { name: /Create a CRM record/ }).count()).toBe(0);
    await shot(p, 'call-record-created');
  });

  it("says what happens to a new caller under 'auto' and 'off', with nothing to click", async () => {
    const fake = new FakeAgent(PAIRED);
    fake.records.set(CALL_KEY, { ...SHARED, candidates: [], chosenId: null, chosenBy: null, create: 'auto' });
    const p = await openOnCall(fake, talking({ remoteName: null }));
    await expect.poll(() => p.getByText('New caller: a record with +61298765432 is created when the call is logged.').isVisible()).toBe(true);
    expect(await p.getByRole('button', { name: 'Create contact' }).count()).toBe(0);
    await shot(p, 'call-record-auto');
    await p.close();
    const off = new FakeAgent(PAIRED);
    off.records.set(CALL_KEY, { ...SHARED, candidates: [], chosenId: null, chosenBy: null, create: 'off' });
    const q = await openOnCall(off, talking({ remoteName: null }));
    await expect.poll(() => q.getByText('New caller: not in your CRM. The call is logged without a record.').isVisible()).toBe(true);
    expect(await q.getByRole('button', { name: 'Create contact' }).count()).toBe(0);
  });

  it("shows main's refusal of a create in its words and keeps the form", async () => {
    const fake = new FakeAgent(PAIRED);
    // The window still offers it, but main's policy has changed to off meanwhile.
    fake.records.set(CALL_KEY, { ...SHARED, candidates: [], chosenId: null, chosenBy: null, create: 'ask' });
    const p = await openOnCall(fake, talking({ remoteName: null }));
    const form = p.getByRole('form', { name: 'Create a CRM record for +61298765432' });
    await expect.poll(() => form.isVisible()).toBe(true);
    fake.records.set(CALL_KEY, { ...fake.records.get(CALL_KEY)!, create: 'off' });
    await form.getByRole('button', { name: 'Create contact' }).click();
    await expect.poll(() => p.getByRole('alert').textContent()).toContain('Your administrator turned off creating records from calls.');
    expect(await form.isVisible()).toBe(true);
    await shot(p, 'call-record-create-refused');
  });

  it('opens the record section of a Recent calls row on demand, and picks there too', async () => {
    const fake = new FakeAgent(PAIRED);
    const row = SAMPLE_CALLS.find((c) => c.crm.state === 'logged') ?? SAMPLE_CALLS[0]!;
    fake.history = [row];
    fake.records.set(row.callKey, SHARED);
    const p = await open(fake);
    const who = row.remoteName ?? row.remoteNumber;
    await p.getByRole('button', { name: `CRM record of the call with ${who}` }).click();
    const record = p.getByRole('combobox', { name: `Record the call with ${who} is logged to` });
    await expect.poll(() => record.isVisible()).toBe(true);
    await record.selectOption('c-bea');
    expect(fake.callsTo('pickCallRecord')).toEqual([[row.callKey, 'c-bea']]);
    await shot(p, 'call-record-recent-row');
  });
});
