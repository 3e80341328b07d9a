// The React window in Debian's Chromium, driven like an agent would, against a fake main.
// Screenshots of every screen land in test-artifacts/screens/.
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CRM_LOG_CALLS, FakeAgent, PAIRED } from './fake-agent.js';
import { emit, rendererSuite } from './harness.js';

const { open, shot } = rendererSuite();

/** The few page globals the probes touch (the Node typecheck has no DOM lib). */
interface ProbeElement {
  id?: string;
  textContent: string | null;
  src?: string;
}
interface PageGlobals {
  document: {
    activeElement: ProbeElement | null;
    head: { append(el: ProbeElement): void };
    createElement(tag: 'script'): ProbeElement;
    addEventListener(type: 'securitypolicyviolation', fn: (e: { effectiveDirective: string }) => void): void;
  };
}



describe('pairing', () => {
  it('pairs with the bus address and code the admin gave, then shows the paired window', async () => {
    const fake = new FakeAgent({ bus: 'unpaired', busUrl: null, agent: null, doNotDisturb: false, detail: null, saveError: null });
    const p = await open(fake);
    await expect.poll(() => p.getByRole('heading', { name: 'Pair this computer' }).isVisible()).toBe(true);
    await shot(p, 'pairing');

    await p.getByLabel('Bus address').fill('https://bus.example.net');
    await p.getByLabel('Pairing code').fill('WRONG-CODE');
    await p.getByRole('button', { name: 'Pair' }).click();
    await expect.poll(() => p.getByRole('alert').textContent()).toContain('did not accept this pairing code');
    await shot(p, 'pairing-error');

    await p.getByLabel('Pairing code').fill('  RB-7Q4K-2M ');
    await p.getByRole('button', { name: 'Pair' }).click();
    await expect.poll(() => p.getByRole('status', { name: 'Connection' }).textContent()).toBe('Connected');
    expect(fake.callsTo('pair').at(-1)).toEqual(['https://bus.example.net', 'RB-7Q4K-2M']);
    expect(await p.getByText('Ana Reyes · ext. 101').isVisible()).toBe(true);
  });

  it('refuses a non-https bus address in main, whatever the form allowed', async () => {
    const fake = new FakeAgent({ bus: 'unpaired', busUrl: null, agent: null, doNotDisturb: false, detail: null, saveError: null });
    const p = await open(fake);
    await p.getByLabel('Bus address').fill('http://bus.example.net');
    await p.getByLabel('Pairing code').fill('RB-7Q4K-2M');
    await p.getByRole('button', { name: 'Pair' }).click();
    await expect.poll(() => p.getByRole('alert').textContent()).toContain('https://');
    expect(fake.callsTo('pair')).toEqual([]);
  });
});

describe('recent calls', () => {
  it('shows each call with its CRM-log state, and Retry reaches main and refreshes the row', async () => {
    const fake = new FakeAgent(PAIRED);
    const p = await open(fake);
    const calls = p.getByRole('list', { name: 'Recent calls' });
    await expect.poll(() => calls.getByRole('listitem').count()).toBe(4);
    const row = (name: string) => calls.getByRole('listitem', { name });
    expect(await row('Incoming call, Jane Citizen — Acme Pty Ltd').textContent()).toContain('Logged · recording attached');
    expect(await row('Outgoing call, Tom Nguyen').textContent()).toContain('Needs attention');
    expect(await row('Outgoing call, Tom Nguyen').textContent()).toContain('the contact was deleted (404)');
    expect(await row('Incoming call, +44 20 7123 4567').textContent()).toContain('Logged');
    expect(await row('Incoming call, +44 20 7123 4567').textContent()).toContain('missed');
    expect(await row('Incoming call, Priya Shah').textContent()).toContain('Logging…');
    // Only the call that needs attention offers Retry.
    expect(await calls.getByRole('button', { name: /^Retry/ }).count()).toBe(1);
    await shot(p, 'recent-calls');

    // Retry re-queues the call in main; the outbox's answer arrives later as a historyChanged push.
    await p.getByRole('button', { name: 'Retry logging the call with Tom Nguyen' }).click();
    await expect.poll(() => fake.callsTo('retryHistory')).toEqual([['acme:pbx1:c-3:101']]);
    await expect.poll(() => row('Outgoing call, Tom Nguyen').textContent()).toContain('Logging…');
    expect(await row('Outgoing call, Tom Nguyen').textContent()).not.toContain('Needs attention');
    await fake.settle('acme:pbx1:c-3:101', { crm: { state: 'logged' }, hasRecord: true });
    await expect.poll(() => row('Outgoing call, Tom Nguyen').textContent()).toContain('Logged');
  });

  it('opens a logged call in the CRM through main', async () => {
    const fake = new FakeAgent(PAIRED);
    const p = await open(fake);
    await p.getByRole('button', { name: 'Open the call with Jane Citizen — Acme Pty Ltd in the CRM' }).click();
    await expect.poll(() => fake.callsTo('openCallRecord')).toEqual([['acme:pbx1:c-4:101']]);
  });

  it('refreshes when main says the history changed', async () => {
    const fake = new FakeAgent(PAIRED);
    const p = await open(fake);
    const calls = p.getByRole('list', { name: 'Recent calls' });
    await expect.poll(() => calls.getByRole('listitem').count()).toBe(4);
    fake.history = fake.history.slice(1);
    await emit(fake, 'historyChanged', null);
    await expect.poll(() => calls.getByRole('listitem').count()).toBe(3);
  });
});

describe('settings', () => {
  it('saves each change through the bridge and shows it again after a reload', async () => {
    const fake = new FakeAgent(PAIRED);
    const p = await open(fake);
    await p.getByRole('tab', { name: 'Settings' }).click();
    await shot(p, 'settings');

    await p.getByLabel('Default country').selectOption('GB');
    await expect.poll(() => fake.settings.defaultCountry).toBe('GB');
    await p.getByLabel('Confirm before dialling').check();
    await expect.poll(() => fake.settings.confirmBeforeDial).toBe(true);
    await p.getByLabel('Play a sound').uncheck();
    await expect.poll(() => fake.settings.notification).toEqual({ sound: false, showCompany: true });
    await p.getByLabel('Start at login').uncheck();
    await expect.poll(() => fake.settings.startAtLogin).toBe(false);
    expect(fake.callsTo('setSettings')).toEqual([
      [{ defaultCountry: 'GB' }],
      [{ confirmBeforeDial: true }],
      [{ notification: { sound: false } }],
      [{ startAtLogin: false }],
    ]);

    await p.reload();
    await p.getByRole('tab', { name: 'Settings' }).click();
    expect(await p.getByLabel('Default country').inputValue()).toBe('GB');
    expect(await p.getByLabel('Confirm before dialling').isChecked()).toBe(true);
    expect(await p.getByLabel('Play a sound').isChecked()).toBe(false);
    expect(await p.getByLabel('Start at login').isChecked()).toBe(false);
  });

  it('changes the dial shortcut in its normal spelling, and refuses an unusable one with the reason, saving nothing', async () => {
    const fake = new FakeAgent(PAIRED);
    const p = await open(fake);
    await p.getByRole('tab', { name: 'Settings' }).click();
    const field = p.getByLabel('Dial shortcut');
    expect(await field.inputValue()).toBe('CommandOrControl+Shift+D');
    await field.fill('Shift+D');
    await field.press('Enter');
    const refused = p.getByRole('alert').filter({ hasText: 'needs Ctrl, Cmd, Alt or Super' });
    await expect.poll(() => refused.isVisible()).toBe(true);
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    await shot(p, 'settings-dial-shortcut-refused');
    expect(fake.callsTo('setSettings')).toEqual([]);
    expect(fake.settings.dialShortcut).toBe('CommandOrControl+Shift+D');

    await field.fill('ctrl+alt+9');
    await field.blur();
    await expect.poll(() => fake.settings.dialShortcut).toBe('Control+Alt+9');
    expect(fake.callsTo('setSettings')).toEqual([[{ dialShortcut: 'Control+Alt+9' }]]);
    await expect.poll(() => field.inputValue()).toBe('Control+Alt+9');
    expect(await refused.count()).toBe(0);
    await shot(p, 'settings-dial-shortcut');
  });

  it('follows do-not-disturb turned on from the tray', async () => {
    const fake = new FakeAgent(PAIRED);
    const p = await open(fake);
    await p.getByRole('tab', { name: 'Settings' }).click();
    expect(await p.getByLabel('Do not disturb').isChecked()).toBe(false);
    fake.settings = { ...fake.settings, doNotDisturb: true };
    await emit(fake, 'settingsChanged', fake.settings);
    await emit(fake, 'stateChanged', { ...PAIRED, doNotDisturb: true });
    await expect.poll(() => p.getByLabel('Do not disturb').isChecked()).toBe(true);
    expect(await p.getByRole('status', { name: 'Connection' }).textContent()).toBe('Connected · Do not disturb');
  });
});

describe('dial box', () => {
  it('sends the typed number to main and says what happened', async () => {
    const fake = new FakeAgent(PAIRED);
    const p = await open(fake);
    await p.getByLabel('Number to dial').fill('02 9876 5432');
    await p.getByRole('button', { name: 'Call', exact: true }).click();
    await expect.poll(() => fake.callsTo('dial')).toEqual([['02 9876 5432']]);
    await expect.poll(() => p.getByText('Calling +61298765432').isVisible()).toBe(true);
    await shot(p, 'dial');
  });

  it('shows main\'s refusal of something that is not a number', async () => {
    const fake = new FakeAgent(PAIRED);
    const p = await open(fake);
    await p.getByLabel('Number to dial').fill('javascript:alert(1)');
    await p.getByRole('button', { name: 'Call', exact: true }).click();
    await expect.poll(() => p.getByText('That is not a phone number, so nothing was dialled.').isVisible()).toBe(true);
  });

  it('takes focus when the tray asks for the dial box', async () => {
    const fake = new FakeAgent(PAIRED);
    const p = await open(fake);
    await p.getByRole('tab', { name: 'CRM' }).click();
    await emit(fake, 'dialBoxRequested', null);
    await expect.poll(() => p.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.id)).toBe('dial-number');
  });
});

describe('CRM sign-in', () => {
  const crmRow = (p: Page, name: string) => p.getByRole('list', { name: 'CRMs' }).getByRole('listitem', { name, exact: true });

  it('shows a CRM this build has no client id for as unavailable, in plain words, with nothing to click', async () => {
    const fake = new FakeAgent(PAIRED); // client ids for HubSpot and Salesforce only
    const p = await open(fake);
    await p.getByRole('tab', { name: 'CRM' }).click();
    await expect.poll(() => p.getByRole('list', { name: 'CRMs' }).getByRole('listitem').count()).toBe(4);
    for (const name of ['Zoho CRM', 'HighLevel']) {
      const text = await crmRow(p, name).textContent();
      expect(text).toContain('Not available in this build');
      expect(text).toContain(`This copy of Ringbridge was built without a ${name} connection`);
      expect(await crmRow(p, name).getByRole('button').count()).toBe(0);
    }
    for (const name of ['HubSpot', 'Salesforce']) {
      expect(await crmRow(p, name).textContent()).toContain('Not signed in');
      expect(await crmRow(p, name).getByRole('button', { name: `Sign in to ${name}` }).isEnabled()).toBe(true);
    }
    // Main refuses it anyway, should anything ask: the window never offered it.
    expect(fake.callsTo('crmSignIn')).toEqual([]);
  });

  it('turns a lost grant into the CRM\'s reason and one "Sign in again" that signs in through main', async () => {
    const fake = new FakeAgent(PAIRED);
    fake.link = { crm: 'hubspot', state: 'signed_in', account: 'portal 62515' };
    const p = await open(fake);
    await p.getByRole('tab', { name: 'CRM' }).click();
    await expect.poll(() => crmRow(p, 'HubSpot').textContent()).toContain('Signed in · portal 62515');
    expect(await crmRow(p, 'HubSpot').getByRole('button').allTextContents()).toEqual(['Sign out']);
    await shot(p, 'crm-signed-in');

    const reason = 'HubSpot revoked access: the Ringbridge app was uninstalled from portal 62515 by a super admin.';
    await fake.loseGrant(reason);
    await expect.poll(() => crmRow(p, 'HubSpot').textContent()).toContain(reason);
    const row = crmRow(p, 'HubSpot');
    expect(await row.textContent()).toContain('portal 62515');
    expect(await row.getByRole('button').allTextContents()).toEqual(['Sign in again']);
    // The other CRMs are unchanged: one still offered, two unavailable in this build.
    expect(await crmRow(p, 'Salesforce').getByRole('button').allTextContents()).toEqual(['Sign in']);
    expect(await crmRow(p, 'Zoho CRM').getByRole('button').count()).toBe(0);
    await shot(p, 'crm-states');

    await row.getByRole('button', { name: 'Sign in to HubSpot again' }).click();
    await expect.poll(() => fake.callsTo('crmSignIn')).toEqual([['hubspot']]);
    await expect.poll(() => crmRow(p, 'HubSpot').textContent()).toContain('Signed in · portal 62515');
    expect(await crmRow(p, 'HubSpot').textContent()).not.toContain(reason);

    await crmRow(p, 'HubSpot').getByRole('button', { name: 'Sign out of HubSpot' }).click();
    await expect.poll(() => fake.callsTo('crmSignOut')).toEqual([['hubspot']]);
    await expect.poll(() => crmRow(p, 'HubSpot').textContent()).toContain('Not signed in');
    expect(await crmRow(p, 'HubSpot').getByRole('button').allTextContents()).toEqual(['Sign in']);
  });

  it('still offers "Sign in again" when the CRM gave no reason', async () => {
    const fake = new FakeAgent(PAIRED);
    fake.link = { crm: 'salesforce', state: 'sign_in_required', account: 'acme.my.salesforce.com' };
    const p = await open(fake);
    await p.getByRole('tab', { name: 'CRM' }).click();
    await expect.poll(() => crmRow(p, 'Salesforce').getByRole('button').allTextContents()).toEqual(['Sign in again']);
    await crmRow(p, 'Salesforce').getByRole('button', { name: 'Sign in to Salesforce again' }).click();
    await expect.poll(() => crmRow(p, 'Salesforce').textContent()).toContain('Signed in · acme.my.salesforce.com');
    expect(fake.callsTo('crmSignIn')).toEqual([['salesforce']]);
  });

  it('shows main\'s sentence when a sign-in fails, and one CRM at a time when it works', async () => {
    const fake = new FakeAgent(PAIRED);
    fake.link = { crm: 'hubspot', state: 'signed_in', account: 'portal 62515' };
    fake.signInFailure = 'The sign-in was not finished in the browser. Try again when you are ready.';
    const p = await open(fake);
    await p.getByRole('tab', { name: 'CRM' }).click();
    await p.getByRole('button', { name: 'Sign in to Salesforce' }).click();
    await expect.poll(() => p.getByRole('alert').textContent()).toContain('not finished in the browser');
    expect(await crmRow(p, 'HubSpot').textContent()).toContain('Signed in');

    fake.signInFailure = null;
    await p.getByRole('button', { name: 'Sign in to Salesforce' }).click();
    await expect.poll(() => crmRow(p, 'Salesforce').textContent()).toContain('Signed in · acme.my.salesforce.com');
    expect(await crmRow(p, 'HubSpot').textContent()).toContain('Not signed in');
    expect(await p.getByRole('alert').count()).toBe(0);
    expect(fake.callsTo('crmSignIn')).toEqual([['salesforce'], ['salesforce']]);
  });
});

/** A row's log actions (Retry, Open in CRM), without the Notes and Record toggles every loggable row has (tested in call-panel.test.ts and beside the record picker). */
const logActions = async (row: Locator) => (await row.getByRole('button').allTextContents()).filter((text) => text !== 'Notes' && text !== 'Record');

describe('recent calls: every CRM-log state', () => {
  const tom = 'acme:pbx1:s-5:101';

  it('explains calls that are not this agent\'s to log, offers Retry only on needs-attention and Open in CRM only with a record', async () => {
    const fake = new FakeAgent(PAIRED);
    fake.history = structuredClone(CRM_LOG_CALLS);
    const p = await open(fake);
    const calls = p.getByRole('list', { name: 'Recent calls' });
    await expect.poll(() => calls.getByRole('listitem').count()).toBe(CRM_LOG_CALLS.length);
    const row = (name: string) => calls.getByRole('listitem', { name, exact: true });
    const buttons = (name: string) => logActions(row(name));

    const elsewhere = row('Incoming call, Oliver Grant');
    expect(await elsewhere.textContent()).toContain('answered by a colleague');
    expect(await elsewhere.textContent()).toContain('Answered by extension 102, who logs it to the CRM.');
    expect(await elsewhere.textContent()).not.toContain('Needs attention');
    expect(await buttons('Incoming call, Oliver Grant')).toEqual([]);

    expect(await row('Incoming call, +1 415 555 0100').textContent()).toContain('extension 102 logs it to the CRM once');
    expect(await row('Internal call, Sam Lee').textContent()).toContain('Internal calls are not logged to the CRM.');
    expect(await buttons('Internal call, Sam Lee')).toEqual([]);
    expect(await buttons('Incoming call, Ravi Patel')).toEqual([]);

    expect(await row('Outgoing call, Tom Nguyen').textContent()).toContain('the contact was deleted (404)');
    expect(await buttons('Outgoing call, Tom Nguyen')).toEqual(['Retry']);
    const meiLing = row(`Incoming call, ${CRM_LOG_CALLS[5]!.remoteName}`);
    expect(await meiLing.textContent()).toContain('413 REQUEST_ENTITY_TOO_LARGE');
    expect(await logActions(meiLing)).toEqual(['Retry', 'Open in CRM']);
    expect(await buttons('Incoming call, Jane Citizen — Acme Pty Ltd')).toEqual(['Open in CRM']);
    expect(await buttons('Outgoing call, +44 20 7123 4567')).toEqual(['Open in CRM']);
    expect(await buttons('Incoming call, Priya Shah')).toEqual([]);

    // Exactly the rows main says have a record, and exactly the ones needing attention.
    expect(await calls.getByRole('button', { name: /in the CRM$/ }).count()).toBe(CRM_LOG_CALLS.filter((c) => c.hasRecord).length);
    expect(await calls.getByRole('button', { name: /^Retry/ }).count()).toBe(CRM_LOG_CALLS.filter((c) => c.crm.state === 'needs_attention').length);
    await shot(p, 'recent-calls-states');
  });

  it('walks a retried call from needs attention through logging to Open in CRM', async () => {
    const fake = new FakeAgent(PAIRED);
    fake.history = structuredClone(CRM_LOG_CALLS);
    const p = await open(fake);
    const row = p.getByRole('list', { name: 'Recent calls' }).getByRole('listitem', { name: 'Outgoing call, Tom Nguyen', exact: true });
    await row.getByRole('button', { name: 'Retry logging the call with Tom Nguyen' }).click();
    await expect.poll(() => row.textContent()).toContain('Logging…');
    expect(fake.callsTo('retryHistory')).toEqual([[tom]]);
    expect(await logActions(row)).toEqual([]);

    await fake.settle(tom, { crm: { state: 'logged' }, hasRecord: true });
    await expect.poll(() => logActions(row)).toEqual(['Open in CRM']);
    expect(await row.textContent()).not.toContain('the contact was deleted');
    await row.getByRole('button', { name: 'Open the call with Tom Nguyen in the CRM' }).click();
    await expect.poll(() => fake.callsTo('openCallRecord')).toEqual([[tom]]);
  });

  it('shows main\'s refusal when the window retried a call that had already moved on', async () => {
    const fake = new FakeAgent(PAIRED);
    fake.history = structuredClone(CRM_LOG_CALLS);
    const p = await open(fake);
    const row = p.getByRole('list', { name: 'Recent calls' }).getByRole('listitem', { name: 'Outgoing call, Tom Nguyen', exact: true });
    await expect.poll(() => logActions(row)).toEqual(['Retry']);
    // The outbox logged it in main, and the push has not reached the window yet.
    fake.history = fake.history.map((c) => (c.callKey === tom ? { ...c, crm: { state: 'logged' as const }, hasRecord: true } : c));
    await row.getByRole('button', { name: /^Retry/ }).click();
    await expect.poll(() => row.getByRole('alert').textContent()).toBe('This call is not waiting for a retry.');
  });
});

describe('connection state and lock-down', () => {
  it('shows reconnecting when main says so', async () => {
    const fake = new FakeAgent(PAIRED);
    const p = await open(fake);
    await expect.poll(() => p.getByRole('status', { name: 'Connection' }).textContent()).toBe('Connected');
    await emit(fake, 'stateChanged', { ...PAIRED, bus: 'reconnecting', detail: 'The bus is restarting; resuming where we stopped.' });
    await expect.poll(() => p.getByRole('status', { name: 'Connection' }).textContent()).toBe('Reconnecting…');
    await shot(p, 'reconnecting');
  });

  it("says it can't save calls, and why, while main cannot write them, and clears when it can again", async () => {
    const fake = new FakeAgent(PAIRED);
    const p = await open(fake);
    await expect.poll(() => p.getByRole('status', { name: 'Connection' }).textContent()).toBe('Connected');
    await emit(fake, 'stateChanged', { ...PAIRED, saveError: 'SQLITE_FULL: database or disk is full' });
    await expect.poll(() => p.getByRole('status', { name: 'Connection' }).textContent()).toBe("Can't save calls");
    expect(await p.getByRole('alert').textContent()).toContain("Can't save calls: SQLITE_FULL: database or disk is full.");
    await shot(p, 'cant-save-calls');
    await emit(fake, 'stateChanged', PAIRED);
    await expect.poll(() => p.getByRole('status', { name: 'Connection' }).textContent()).toBe('Connected');
    expect(await p.getByRole('alert').count()).toBe(0);
  });

  it('runs under the CSP: no inline or foreign script, no network from the page', async () => {
    const fake = new FakeAgent(PAIRED);
    const p = await open(fake);
    await expect.poll(() => p.getByRole('status', { name: 'Connection' }).isVisible()).toBe(true);
    // Playwright's evaluate itself bypasses CSP, so each probe is something the page would have to run.
    const verdict = await p.evaluate(async () => {
      const { document } = globalThis as unknown as PageGlobals;
      const violations: string[] = [];
      document.addEventListener('securitypolicyviolation', (e) => violations.push(e.effectiveDirective));
      const w = globalThis as unknown as Record<string, unknown>;
      const inline = document.createElement('script');
      inline.textContent = 'window.__inlineRan = true;';
      document.head.append(inline);
      const foreign = document.createElement('script');
      foreign.src = 'https://cdn.example.com/x.js';
      document.head.append(foreign);
      let fetched = true;
      try {
        await fetch('/index.html');
      } catch {
        fetched = false;
      }
      // Violation reports are dispatched asynchronously: wait for both (the test timeout bounds this).
      while (new Set(violations).size < 2) await new Promise((resolve) => setTimeout(resolve, 10));
      return { inlineRan: w['__inlineRan'] === true, fetched, violations: [...new Set(violations)].sort() };
    });
    expect(verdict).toEqual({ inlineRan: false, fetched: false, violations: ['connect-src', 'script-src-elem'] });
  });
});
