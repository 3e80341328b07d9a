// In-memory stand-in for main behind window.agent: it keeps state like the real core would and
// records every call, so a test can both drive the window and check what reached "main".
import {
  AgentIpcError,
  type AppState,
  type CallPanel,
  type CallRecords,
  type CrmStatus,
  type HistoryEntry,
  type InvokeName,
  type Settings,
  type SettingsPatch,
} from '../../src/shared/ipc.js';
import type { InvokeHandlers } from '../../src/main/electron/ipc.js';
import { crmStatusOf } from '../../src/main/electron/agent-bridge.js';
import type { CrmLinkStatus } from '../../src/main/crm-link/index.js';
import type { CrmId } from '../../src/shared/crm.js';
import { crmProviders } from '../../src/main/crm/registry.js';

export const PAIRED: AppState = {
  bus: 'connected',
  busUrl: 'https://bus.example.net',
  agent: { name: 'Ana Reyes', extension: '101', tenantId: 'acme' },
  doNotDisturb: false,
  detail: null,
  saveError: null,
};

export const SAMPLE_CALLS: HistoryEntry[] = [
  {
    callKey: 'acme:pbx1:c-4:101',
    direction: 'inbound',
    outcome: 'answered',
    remoteNumber: '(02) 9876 5432',
    remoteName: 'Jane Citizen — Acme Pty Ltd',
    startedAt: '2026-11-24T23:40:00.000Z',
    durationSec: 312,
    crm: { state: 'recording_attached' },
    hasRecord: true,
    hasRecording: false,
  },
  {
    callKey: 'acme:pbx1:c-3:101',
    direction: 'outbound',
    outcome: 'answered',
    remoteNumber: '0412 345 678',
    remoteName: 'Tom Nguyen',
    startedAt: '2026-11-24T23:10:00.000Z',
    durationSec: 95,
    crm: { state: 'needs_attention', reason: 'HubSpot: the contact was deleted (404). Retry logs it unattached.' },
    hasRecord: false,
    hasRecording: false,
  },
  {
    callKey: 'acme:pbx1:c-2:101',
    direction: 'inbound',
    outcome: 'missed',
    remoteNumber: '+44 20 7123 4567',
    remoteName: null,
    startedAt: '2026-11-24T22:55:00.000Z',
    durationSec: null,
    crm: { state: 'logged' },
    hasRecord: true,
    hasRecording: false,
  },
  {
    callKey: 'acme:pbx1:c-1:101',
    direction: 'inbound',
    outcome: 'answered',
    remoteNumber: '(03) 9123 4567',
    remoteName: 'Priya Shah',
    startedAt: '2026-11-24T22:30:00.000Z',
    durationSec: 41,
    crm: { state: 'pending' },
    hasRecord: false,
    hasRecording: false,
  },
];

/**
 * Every CRM-log state the contract has, as main's agent-bridge would send them (reasons worded
 * like the outbox and history do). Names are distinct so each row is addressable by its label.
 */
export const CRM_LOG_CALLS: HistoryEntry[] = [
  {
    callKey: 'acme:pbx1:s-1:101',
    direction: 'inbound',
    outcome: 'answered',
    remoteNumber: '(02) 9876 5432',
    remoteName: 'Jane Citizen — Acme Pty Ltd',
    startedAt: '2026-11-25T00:40:00.000Z',
    durationSec: 312,
    crm: { state: 'recording_attached' },
    hasRecord: true,
    hasRecording: true,
  },
  {
    callKey: 'acme:pbx1:s-2:101',
    direction: 'inbound',
    outcome: 'answered_elsewhere',
    remoteNumber: '(07) 3000 1234',
    remoteName: 'Oliver Grant',
    startedAt: '2026-11-25T00:35:00.000Z',
    durationSec: null,
    crm: { state: 'not_applicable', reason: 'Answered by extension 102, who logs it to the CRM.' },
    hasRecord: false,
    hasRecording: false,
  },
  {
    callKey: 'acme:pbx1:s-3:101',
    direction: 'inbound',
    outcome: 'missed',
    remoteNumber: '+1 415 555 0100',
    remoteName: null,
    startedAt: '2026-11-25T00:30:00.000Z',
    durationSec: null,
    crm: { state: 'not_applicable', reason: 'Rang several agents and nobody answered; extension 102 logs it to the CRM once.' },
    hasRecord: false,
    hasRecording: false,
  },
  {
    callKey: 'acme:pbx1:s-4:101',
    direction: 'internal',
    outcome: 'answered',
    remoteNumber: '104',
    remoteName: 'Sam Lee',
    startedAt: '2026-11-25T00:25:00.000Z',
    durationSec: 64,
    crm: { state: 'not_applicable', reason: 'Internal calls are not logged to the CRM.' },
    hasRecord: false,
    hasRecording: false,
  },
  {
    callKey: 'acme:pbx1:s-5:101',
    direction: 'outbound',
    outcome: 'answered',
    remoteNumber: '0412 345 678',
    remoteName: 'Tom Nguyen',
    startedAt: '2026-11-25T00:20:00.000Z',
    durationSec: 95,
    crm: { state: 'needs_attention', reason: 'HubSpot: the contact was deleted (404). Retry logs it unattached.' },
    hasRecord: false,
    hasRecording: false,
  },
  {
    // Logged, but the recording could not be attached: both Retry and Open in CRM make sense.
    callKey: 'acme:pbx1:s-6:101',
    direction: 'inbound',
    outcome: 'answered',
    remoteNumber: '(03) 9555 0199',
    remoteName: 'Mei-Ling Featherstonehaugh-Cholmondeley — Southern Cross Freight & Logistics Holdings Pty Ltd',
    startedAt: '2026-11-25T00:15:00.000Z',
    durationSec: 1804,
    crm: {
      state: 'needs_attention',
      reason:
        'Salesforce refused the recording (413 REQUEST_ENTITY_TOO_LARGE): ContentVersion VersionData exceeds the maximum size allowed by this org; ask your Salesforce administrator to raise the file upload limit, then retry. https://acme.my.salesforce.com/lightning/r/Task/00T5g00000ABCDEFGHIJKLMNOPQRS/view',
    },
    hasRecord: true,
    hasRecording: true,
  },
  {
    callKey: 'acme:pbx1:s-7:101',
    direction: 'outbound',
    outcome: 'not_answered',
    remoteNumber: '+44 20 7123 4567',
    remoteName: null,
    startedAt: '2026-11-25T00:10:00.000Z',
    durationSec: null,
    crm: { state: 'logged' },
    hasRecord: true,
    hasRecording: false,
  },
  {
    callKey: 'acme:pbx1:s-8:101',
    direction: 'inbound',
    outcome: 'answered',
    remoteNumber: '(03) 9123 4567',
    remoteName: 'Priya Shah',
    startedAt: '2026-11-25T00:05:00.000Z',
    durationSec: 41,
    crm: { state: 'pending' },
    hasRecord: false,
    hasRecording: false,
  },
  {
    // No CRM connected: nothing to say beyond "not logged".
    callKey: 'acme:pbx1:s-9:101',
    direction: 'inbound',
    outcome: 'answered',
    remoteNumber: '(08) 9200 1000',
    remoteName: 'Ravi Patel',
    startedAt: '2026-11-25T00:00:00.000Z',
    durationSec: 12,
    crm: { state: 'not_applicable', reason: null },
    hasRecord: false,
    hasRecording: false,
  },
];

/** What each CRM's token response names the account as (non-secret labels, as the link keeps them). */
export const CRM_ACCOUNTS: Record<CrmId, string> = {
  hubspot: 'portal 62515',
  salesforce: 'acme.my.salesforce.com',
  zoho: 'zoho.com.au',
  highlevel: 'Acme Plumbing (location 9fQ2)',
};

export interface Call {
  name: InvokeName;
  args: unknown[];
}

export class FakeAgent {
  state: AppState;
  settings: Settings = {
    defaultCountry: 'AU',
    confirmBeforeDial: false,
    doNotDisturb: false,
    startAtLogin: true,
    notification: { sound: true, showCompany: true },
    wrapUpSec: 60,
    popMode: 'ring',
    dialShortcut: 'CommandOrControl+Shift+D',
  };
  history: HistoryEntry[] = structuredClone(SAMPLE_CALLS);
  /** What the bus says to the next call-control request (null: it goes through). */
  controlRefusal: string | null = null;
  /** The Call panel as main's view model would send it (set by a test, pushed with `emit`). */
  panel: CallPanel = { calls: [], dispositions: [] };
  /** Notes and outcome saved per call, as the outbox keeps them. */
  readonly notes = new Map<string, { notes: string; dispositionId: string | null }>();
  /** Each call's CRM record picker (issue 11: pick the record, log to the deal, create a record). */
  readonly records = new Map<string, CallRecords>();
  /** The deals each record has, as the CRM would list them. */
  readonly dealsOf = new Map<string, CallRecords['deals']>();
  /**
   * The build's public OAuth client ids: a CRM without one is `not_configured` (main's own
   * mapping, crmStatusOf, turns this and `link` into the window's CrmStatus).
   */
  clientIds: Partial<Record<CrmId, string>> = { hubspot: 'hs-public-client', salesforce: 'sf-public-client' };
  /** The CRM link: one CRM at a time, as in main. */
  link: CrmLinkStatus = { crm: null, state: 'signed_out' };
  /** Set to make the next browser sign-in fail with this sentence (user closed the tab, CRM refused). */
  signInFailure: string | null = null;
  readonly calls: Call[] = [];
  /** Answers of this fake that broke the IPC contract (the guard turns them into a generic error). */
  readonly contractBreaks: string[] = [];
  /** Set by the harness: pushes an event into the page like main's webContents.send. */
  emit: (method: string, payload: unknown) => Promise<void> = async () => {};

  constructor(initial: AppState) {
    this.state = structuredClone(initial);
  }

  get crm(): CrmStatus {
    return crmStatusOf(Object.values(crmProviders), this.link, this.clientIds);
  }

  /** The CRM revoked or expired the grant: main flips to needs-sign-in once and pushes it. */
  async loseGrant(reason: string): Promise<void> {
    if (!this.link.crm) throw new Error('no CRM is connected');
    this.link = { crm: this.link.crm, state: 'sign_in_required', ...(this.link.account ? { account: this.link.account } : {}), reason };
    await this.emit('onCrmStatusChanged', this.crm);
  }

  /** The outbox moved a call on: main updates its history and pushes historyChanged. */
  async settle(callKey: string, change: Pick<HistoryEntry, 'crm'> & Partial<Pick<HistoryEntry, 'hasRecord'>>): Promise<void> {
    this.history = this.history.map((c) => (c.callKey === callKey ? { ...c, ...change } : c));
    await this.emit('onHistoryChanged', null);
  }

  private callRecords(callKey: string): CallRecords {
    return this.records.get(callKey) ?? { e164: null, candidates: [], chosenId: null, chosenBy: null, deals: [], dealId: null, dealsError: null, create: 'off' };
  }

  private setRecords(callKey: string, view: CallRecords): CallRecords {
    this.records.set(callKey, view);
    return view;
  }

  callsTo(name: InvokeName): unknown[][] {
    return this.calls.filter((c) => c.name === name).map((c) => c.args);
  }

  private record<K extends InvokeName>(name: K, args: unknown[]): void {
    this.calls.push({ name, args });
  }

  readonly handlers: InvokeHandlers = {
    getState: async () => this.state,
    pair: async (busUrl, code) => {
      this.record('pair', [busUrl, code]);
      if (code !== 'RB-7Q4K-2M') throw new AgentIpcError('failed', 'The bus did not accept this pairing code (expired or already used).');
      this.state = { ...PAIRED, busUrl };
      return this.state;
    },
    signOut: async () => {
      this.record('signOut', []);
      this.state = { ...this.state, bus: 'signed_out', agent: null };
      return this.state;
    },
    getSettings: async () => this.settings,
    setSettings: async (patch: SettingsPatch) => {
      this.record('setSettings', [patch]);
      this.settings = { ...this.settings, ...patch, notification: { ...this.settings.notification, ...patch.notification } };
      return this.settings;
    },
    listHistory: async () => this.history,
    getCallPanel: async () => this.panel,
    // As main: the bus answers, hangs up or transfers; the panel then follows the call's events.
    controlCall: async (callKey, action, destination) => {
      this.record('controlCall', [callKey, action, destination]);
      if (this.controlRefusal) throw new AgentIpcError('failed', this.controlRefusal);
      const calls =
        action === 'answer'
          ? this.panel.calls.map((c) => (c.callKey === callKey ? { ...c, state: 'talking' as const, answeredAt: new Date().toISOString() } : c))
          : this.panel.calls.filter((c) => c.callKey !== callKey);
      this.panel = { ...this.panel, calls };
      await this.emit('onCallPanelChanged', this.panel);
      return null;
    },
    getCallNotes: async (callKey) => {
      if (!this.history.some((c) => c.callKey === callKey) && !this.panel.calls.some((c) => c.callKey === callKey)) {
        throw new AgentIpcError('failed', 'This call is not one Ringbridge logs for you.');
      }
      return { callKey, ...(this.notes.get(callKey) ?? { notes: '', dispositionId: null }) };
    },
    // As main: Save ends the wrap-up (the call leaves the panel); a draft only updates it.
    saveCallNotes: async (input) => {
      this.record('saveCallNotes', [input]);
      this.notes.set(input.callKey, { notes: input.notes, dispositionId: input.dispositionId });
      const calls = input.done
        ? this.panel.calls.filter((c) => c.callKey !== input.callKey)
        : this.panel.calls.map((c) => (c.callKey === input.callKey ? { ...c, notes: input.notes, dispositionId: input.dispositionId } : c));
      if (calls !== this.panel.calls) this.panel = { ...this.panel, calls };
      await this.emit('onCallPanelChanged', this.panel);
      return null;
    },
    // As main's call-records service: picks are checked against what the call offers.
    getCallRecords: async (callKey) => this.callRecords(callKey),
    pickCallRecord: async (callKey, id) => {
      this.record('pickCallRecord', [callKey, id]);
      const view = this.callRecords(callKey);
      if (!view.candidates.some((c) => c.id === id)) throw new AgentIpcError('failed', 'That record does not have the caller’s number.');
      return this.setRecords(callKey, { ...view, chosenId: id, chosenBy: 'agent', deals: this.dealsOf.get(id) ?? [], dealId: null });
    },
    pickCallDeal: async (callKey, id) => {
      this.record('pickCallDeal', [callKey, id]);
      const view = this.callRecords(callKey);
      if (id !== null && !view.deals.some((d) => d.id === id)) throw new AgentIpcError('failed', 'That deal is not an open deal of this record.');
      return this.setRecords(callKey, { ...view, dealId: id });
    },
    createCallRecord: async (callKey, name) => {
      this.record('createCallRecord', [callKey, name]);
      const view = this.callRecords(callKey);
      if (view.create === 'off') throw new AgentIpcError('failed', 'Your administrator turned off creating records from calls.');
      const created = { id: `new-${callKey}`, kind: 'contact', name: name || view.e164 || 'New contact', company: null };
      return this.setRecords(callKey, { ...view, candidates: [created], chosenId: created.id, chosenBy: 'agent', create: 'off' });
    },
    // As main: a retry re-queues the call (pending); the outbox's answer arrives later by push.
    retryHistory: async (callKey) => {
      this.record('retryHistory', [callKey]);
      const call = this.history.find((c) => c.callKey === callKey);
      if (call?.crm.state !== 'needs_attention') throw new AgentIpcError('failed', 'This call is not waiting for a retry.');
      this.history = this.history.map((c) => (c.callKey === callKey ? { ...c, crm: { state: 'pending' as const } } : c));
      return null;
    },
    openCallRecord: async (callKey) => {
      this.record('openCallRecord', [callKey]);
      if (!this.history.find((c) => c.callKey === callKey)?.hasRecord) throw new AgentIpcError('failed', 'This call is not in the CRM yet.');
      return null;
    },
    dial: async (number) => {
      this.record('dial', [number]);
      if (number.includes('javascript')) throw new AgentIpcError('failed', 'That is not a phone number, so nothing was dialled.');
      return { status: 'dialling', e164: '+61298765432' };
    },
    crmStatus: async () => this.crm,
    // As main's link: refused without a client id; otherwise the browser flow replaces any CRM
    // connected before (one at a time).
    crmSignIn: async (crmId) => {
      this.record('crmSignIn', [crmId]);
      if (!this.clientIds[crmId]) {
        throw new AgentIpcError('not_configured', `${crmProviders[crmId].displayName} sign-in is not configured in this build of Ringbridge.`);
      }
      if (this.signInFailure) throw new AgentIpcError('failed', this.signInFailure);
      this.link = { crm: crmId, state: 'signed_in', account: CRM_ACCOUNTS[crmId] };
      return this.crm;
    },
    crmSignOut: async (crmId) => {
      this.record('crmSignOut', [crmId]);
      if (this.link.crm === crmId) this.link = { crm: null, state: 'signed_out' };
      return this.crm;
    },
  };
}
