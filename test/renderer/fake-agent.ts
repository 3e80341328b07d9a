// In-memory stand-in for main behind window.agent: it keeps state like the real core would and
// records every call, so a test can both drive the window and check what reached "main".
import {
  AgentIpcError,
  type AppState,
  type CrmStatus,
  type HistoryEntry,
  type InvokeName,
  type Settings,
  type SettingsPatch,
} from '../../src/shared/ipc.js';
import type { InvokeHandlers } from '../../src/main/electron/ipc.js';

export const PAIRED: AppState = {
  bus: 'connected',
  busUrl: 'https://bus.example.net',
  agent: { name: 'Ana Reyes', extension: '101', tenantId: 'acme' },
  doNotDisturb: false,
  detail: null,
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

const CRMS: CrmStatus = {
  crms: [
    { id: 'hubspot', displayName: 'HubSpot', state: 'signed_out', account: null },
    { id: 'salesforce', displayName: 'Salesforce', state: 'signed_out', account: null },
    { id: 'zoho', displayName: 'Zoho CRM', state: 'signed_out', account: null },
    { id: 'highlevel', displayName: 'HighLevel', state: 'signed_out', account: null },
  ],
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
  };
  history: HistoryEntry[] = structuredClone(SAMPLE_CALLS);
  crm: CrmStatus = structuredClone(CRMS);
  readonly calls: Call[] = [];
  /** Set by the harness: pushes an event into the page like main's webContents.send. */
  emit: (method: string, payload: unknown) => Promise<void> = async () => {};

  constructor(initial: AppState) {
    this.state = structuredClone(initial);
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
    retryHistory: async (callKey) => {
      this.record('retryHistory', [callKey]);
      this.history = this.history.map((c) => (c.callKey === callKey ? { ...c, crm: { state: 'logged' as const }, hasRecord: true } : c));
      return null;
    },
    openCallRecord: async (callKey) => {
      this.record('openCallRecord', [callKey]);
      return null;
    },
    dial: async (number) => {
      this.record('dial', [number]);
      if (number.includes('javascript')) throw new AgentIpcError('failed', 'That is not a phone number, so nothing was dialled.');
      return { status: 'dialling', e164: '+61298765432' };
    },
    crmStatus: async () => this.crm,
    crmSignIn: async (crmId) => {
      this.record('crmSignIn', [crmId]);
      throw new AgentIpcError('not_configured', 'CRM sign-in is not configured in this build yet.');
    },
    crmSignOut: async (crmId) => {
      this.record('crmSignOut', [crmId]);
      return this.crm;
    },
  };
}
