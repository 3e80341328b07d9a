// Turns the plain-TypeScript AgentCore and its CRM link into what the Electron shell serves over
// IPC: the window's view of state, settings, history and CRM sign-in, and one handler per
// contract channel. Electron-free, so it is tested in Node against a real core and link.
import type { AgentCore } from '../core.js';
import { CallControlError } from '../call-control/index.js';
import { BusRequestError } from '../bus-client/index.js';
import { CrmLinkError, type CrmLink, type CrmLinkStatus } from '../crm-link/index.js';
import { ChoiceError } from '../call-choices/choices.js';
import type { CallRecord } from '../history/index.js';
import { CrmError, type CrmProvider } from '../crm/port.js';
import type { CrmId } from '../../shared/crm.js';
import type { DialFeedback } from '../dial/index.js';
import { formatForDisplay } from '../../shared/phone.js';
import { AgentIpcError, type AppState, type CrmStatus, type HistoryEntry } from '../../shared/ipc.js';
import type { ShellAgent } from './app.js';

export function appStateOf(core: AgentCore): AppState {
  const agent = core.agent;
  return {
    bus: core.state,
    busUrl: agent?.busUrl ?? null,
    agent: agent ? { name: agent.name, extension: agent.extension, tenantId: agent.tenantId } : null,
    // The tray's Do Not Disturb: the agent's 3CX status when the bus could read it, or the local switch.
    doNotDisturb: core.settings.get().doNotDisturb || (core.presence?.dnd ?? false),
    presence: core.presence,
    detail: core.state === 'signed_out' ? 'This device was signed out by the bus (revoked or expired). Pair again with a new code.' : null,
    saveError: core.saveError === null ? null : clip(core.saveError),
  };
}

/** The contract bounds the CRM's words: a long error text must not make a whole answer unsendable. */
const MAX_REASON = 500;
function clip(text: string): string {
  return text.length <= MAX_REASON ? text : `${text.slice(0, MAX_REASON - 1)}…`;
}

/** `hasRecord`: the call's record exists in the CRM, so "Open in CRM" has somewhere to go. */
export function historyEntryOf(record: CallRecord, home: Parameters<typeof formatForDisplay>[1], hasRecord: boolean): HistoryEntry {
  const crm: HistoryEntry['crm'] =
    record.crm.state === 'needs_attention'
      ? { state: 'needs_attention', reason: clip(record.crm.reason ?? 'The CRM refused this call log.') }
      : record.crm.state === 'not_applicable'
        ? { state: 'not_applicable', reason: record.crm.reason === null ? null : clip(record.crm.reason) }
        : { state: record.crm.state };
  return {
    callKey: record.callKey,
    direction: record.direction,
    outcome: record.outcome,
    remoteNumber: record.remote.e164 ? formatForDisplay(record.remote.e164, home) : record.remote.raw,
    remoteName: record.contactName ?? record.remote.name,
    startedAt: record.startedAt,
    durationSec: record.durationSec === null ? null : Math.round(record.durationSec),
    crm,
    hasRecord,
    hasRecording: record.hasRecording,
  };
}

/** The window's answer for a dial; refusals and failures become the sentence the dial box shows. */
export function dialAnswer(feedback: DialFeedback) {
  switch (feedback.kind) {
    case 'placed':
      return { status: 'dialling' as const, e164: feedback.e164 };
    case 'cancelled':
      return { status: 'cancelled' as const, e164: null };
    case 'refused':
      throw new AgentIpcError('failed', feedback.reason);
    case 'failed':
      throw new AgentIpcError('failed', `The call to ${feedback.display} failed: ${feedback.message}`);
  }
}

/** The OS notice for a dial from a link or the tray (the window shows its own answer too). */
export function dialNotice(feedback: DialFeedback): { title: string; body: string } | null {
  switch (feedback.kind) {
    case 'placed':
      return { title: `Calling ${feedback.display}`, body: 'Your phone rings first; pick up to connect.' };
    case 'cancelled':
      return null;
    case 'refused':
      return { title: 'Nothing was dialled', body: feedback.reason };
    case 'failed':
      return { title: `The call to ${feedback.display} failed`, body: feedback.message };
  }
}

/** Every CRM of the build with where this agent stands: the link connects at most one at a time. */
export function crmStatusOf(providers: readonly CrmProvider[], link: CrmLinkStatus, clientIds: Partial<Record<CrmId, string>>): CrmStatus {
  return {
    crms: providers.map(({ id, displayName }) => {
      if (link.crm === id) {
        const account = link.account ?? null;
        return link.state === 'sign_in_required'
          ? { id, displayName, state: 'needs_sign_in' as const, account, ...(link.reason ? { detail: clip(link.reason) } : {}) }
          : { id, displayName, state: link.state, account };
      }
      return { id, displayName, state: clientIds[id] ? ('signed_out' as const) : ('not_configured' as const), account: null };
    }),
  };
}

/** A refused pick or create (bad pick, CRM refusal) keeps its sentence for the window. */
async function recordAnswer<T>(attempt: Promise<T>): Promise<T> {
  try {
    return await attempt;
  } catch (error) {
    if (error instanceof ChoiceError || error instanceof CrmError) throw new AgentIpcError('failed', error.message);
    throw error;
  }
}

/** The link's refusals keep their sentence; only "not configured" keeps its own code for the window. */
async function signInAnswer<T>(attempt: Promise<T>): Promise<T> {
  try {
    return await attempt;
  } catch (error) {
    if (error instanceof CrmLinkError) throw new AgentIpcError(error.code === 'not_configured' ? 'not_configured' : 'failed', error.message);
    throw error;
  }
}

export interface BridgeDeps {
  core: AgentCore;
  crm: CrmLink;
  crmProviders: readonly CrmProvider[];
  /** The build's public OAuth client ids; a CRM without one is shown as not configured. */
  clientIds: Partial<Record<CrmId, string>>;
  /** The checked openExternal gate ("Open in CRM"). */
  openExternal: (url: string) => Promise<boolean>;
}

export function createShellAgent({ core, crm, crmProviders, clientIds, openExternal }: BridgeDeps): ShellAgent {
  const history = () =>
    core.history.list().map((r) => historyEntryOf(r, core.settings.get().defaultCountry, crm.callRecordUrl(r.callKey) !== null));
  const crmStatus = () => crmStatusOf(crmProviders, crm.status(), clientIds);
  return {
    handlers: {
      getState: () => appStateOf(core),
      pair: async (busUrl, code) => {
        await core.pair(busUrl, code);
        return appStateOf(core);
      },
      signOut: async () => {
        await core.signOut();
        return appStateOf(core);
      },
      getSettings: () => core.settings.get(),
      setSettings: (patch) => core.settings.update(patch),
      listHistory: () => history(),
      retryHistory: (callKey) => {
        if (!crm.retry(callKey)) throw new AgentIpcError('failed', 'This call is not waiting for a retry.');
        return null;
      },
      openCallRecord: async (callKey) => {
        const url = crm.callRecordUrl(callKey);
        if (!url) throw new AgentIpcError('failed', 'This call is not in the CRM yet.');
        if (!(await openExternal(url))) throw new AgentIpcError('failed', 'Ringbridge refused to open that CRM link.');
        return null;
      },
      dial: async (raw) => dialAnswer(await core.dial(raw)),
      crmStatus,
      crmSignIn: async (crmId) => {
        await signInAnswer(crm.signIn(crmId));
        return crmStatus();
      },
      getCallPanel: () => crm.callPanel(),
      controlCall: async (callKey, action, destination) => {
        try {
          await core.controlCall(callKey, action, destination);
        } catch (error) {
          if (error instanceof CallControlError || error instanceof BusRequestError) throw new AgentIpcError('failed', error.message);
          throw error;
        }
        return null;
      },
      getCallNotes: (callKey) => {
        const saved = crm.callNotes(callKey);
        if (!saved) throw new AgentIpcError('failed', 'This call is not one Ringbridge logs for you.');
        return saved;
      },
      saveCallNotes: (input) => {
        try {
          crm.saveCallNotes(input);
        } catch (error) {
          if (error instanceof CrmLinkError) throw new AgentIpcError('failed', error.message);
          throw error;
        }
        return null;
      },
      getCallRecords: (callKey) => recordAnswer(crm.records.view(callKey)),
      pickCallRecord: (callKey, id) => recordAnswer(crm.records.pickRecord(callKey, id)),
      pickCallDeal: (callKey, id) => recordAnswer(crm.records.pickDeal(callKey, id)),
      createCallRecord: (callKey, name) => recordAnswer(crm.records.createRecord(callKey, name || null)),
      // One CRM at a time: signing out of one that is not connected has nothing to undo.
      crmSignOut: async (crmId) => {
        if (crm.status().crm === crmId) await crm.signOut();
        return crmStatus();
      },
    },
    state: () => appStateOf(core),
    settings: () => core.settings.get(),
    onState: (listener) => {
      // Do-not-disturb is a setting but part of what the tray and window show as state.
      const offs = [
        core.onState(() => listener(appStateOf(core))),
        core.onSaveError(() => listener(appStateOf(core))),
        core.settings.onChange(() => listener(appStateOf(core))),
        core.onPresence(() => listener(appStateOf(core))),
      ];
      return () => offs.forEach((off) => off());
    },
    onSettings: (listener) => core.settings.onChange(listener),
    onHistory: (listener) => core.history.onChange(() => listener()),
    onCrmStatus: (listener) => crm.onStatus(() => listener(crmStatus())),
    onCallPanel: (listener) => crm.onCallPanel(listener),
    handleAppUrl: (url) => crm.handleAppUrl(url),
    dial: (raw) => void core.dial(raw),
    setDoNotDisturb: (on) => core.setDoNotDisturb(on),
    busOrigin: () => {
      const url = core.agent?.busUrl;
      return url ? new URL(url).origin : null;
    },
    stop: async () => {
      await crm.close(); // first: its outbox and sync use the core
      await core.close();
    },
  };
}
