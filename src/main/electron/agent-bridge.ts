// Turns the plain-TypeScript AgentCore into what the Electron shell serves over IPC: the window's
// view of state, settings and history, and one handler per contract channel. Electron-free, so
// it is tested in Node against a real core.
import type { AgentCore } from '../core.js';
import type { CallRecord } from '../history/index.js';
import type { CrmProvider } from '../crm/port.js';
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
    doNotDisturb: core.settings.get().doNotDisturb,
    detail: core.state === 'signed_out' ? 'This device was signed out by the bus (revoked or expired). Pair again with a new code.' : null,
  };
}

export function historyEntryOf(record: CallRecord, home: Parameters<typeof formatForDisplay>[1]): HistoryEntry {
  const crm: HistoryEntry['crm'] =
    record.crm.state === 'needs_attention'
      ? { state: 'needs_attention', reason: record.crm.reason ?? 'The CRM refused this call log.' }
      : record.crm.state === 'not_applicable'
        ? { state: 'not_applicable', reason: record.crm.reason }
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
    // Record links come with the CRM outbox (next issue); until then there is nothing to open.
    hasRecord: false,
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

export function crmStatusOf(providers: readonly CrmProvider[]): CrmStatus {
  return { crms: providers.map((p) => ({ id: p.id, displayName: p.displayName, state: 'signed_out' as const, account: null })) };
}

export interface BridgeDeps {
  core: AgentCore;
  crmProviders: readonly CrmProvider[];
}

export function createShellAgent({ core, crmProviders }: BridgeDeps): ShellAgent {
  const history = () => core.history.list().map((r) => historyEntryOf(r, core.settings.get().defaultCountry));
  const notYet = (what: string): never => {
    throw new AgentIpcError('not_configured', `${what} is not configured in this version yet.`);
  };
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
      retryHistory: () => notYet('Retrying CRM call logs'),
      openCallRecord: () => notYet('Opening calls in the CRM'),
      dial: async (raw) => dialAnswer(await core.dial(raw)),
      crmStatus: () => crmStatusOf(crmProviders),
      crmSignIn: (crmId) => notYet(`${crmProviders.find((p) => p.id === crmId)?.displayName ?? 'CRM'} sign-in`),
      crmSignOut: () => crmStatusOf(crmProviders),
    },
    state: () => appStateOf(core),
    settings: () => core.settings.get(),
    onState: (listener) => {
      // Do-not-disturb is a setting but part of what the tray and window show as state.
      const offs = [core.onState(() => listener(appStateOf(core))), core.settings.onChange(() => listener(appStateOf(core)))];
      return () => offs.forEach((off) => off());
    },
    onSettings: (listener) => core.settings.onChange(listener),
    onHistory: (listener) => core.history.onChange(() => listener()),
    onCrmStatus: () => () => {},
    dial: (raw) => void core.dial(raw),
    setDoNotDisturb: (on) => void core.settings.update({ doNotDisturb: on }),
    busOrigin: () => {
      const url = core.agent?.busUrl;
      return url ? new URL(url).origin : null;
    },
    stop: () => core.close(),
  };
}
