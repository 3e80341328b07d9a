// PbxGateway over the 3CX V20 APIs: makecall from the extension's registered device (else the DN),
// recordings streamed from XAPI. Two adapters behind the one port, chosen per PBX: direct (the bus
// holds the API client) for connectorMode 'bus', via the connector (relay.ts) for 'remote', where
// the connector beside the PBX is the client id's only token owner and runs the same two functions.
import type { TenantStore } from '../tenants/port.js';
import { createPbxApiRegistry, type PbxApi, type PbxApiRegistry } from './api.js';
import { PbxApiError } from './errors.js';
import type { CallAction, ControlResult, MakeCallResult, PbxGateway, PbxPresence, RecordingStream, RecordingText } from './port.js';
import type { ParticipantAction } from './callcontrol.js';

export async function makeCallOn(api: Pick<PbxApi, 'callControl'>, extension: string, destination: string): Promise<MakeCallResult> {
  const [device] = await api.callControl.devices(extension);
  const outcome = await api.callControl.makeCall(extension, destination, device?.device_id ?? null);
  return outcome.success
    ? { ok: true, pbxCallId: outcome.pbxCallId, reason: null }
    : { ok: false, pbxCallId: null, reason: outcome.reason ?? 'The PBX did not place the call' };
}

export function openRecordingOn(api: Pick<PbxApi, 'xapi'>, pbxRecordingId: string): Promise<RecordingStream> {
  const recId = Number(pbxRecordingId);
  if (!Number.isInteger(recId)) return Promise.reject(new PbxApiError(`not a 3CX recording id: ${pbxRecordingId}`, 404));
  return api.xapi.download(recId);
}

/** Transcription and Summary of the recording's XAPI row (a filter on Id: NOTES 3.2); null when it has neither. */
export async function recordingTextOn(api: Pick<PbxApi, 'xapi'>, pbxRecordingId: string): Promise<RecordingText | null> {
  const recId = Number(pbxRecordingId);
  if (!Number.isInteger(recId)) return null;
  const row = await api.xapi.recording(recId);
  const transcription = row?.Transcription?.trim() || null;
  const summary = row?.Summary?.trim() || null;
  return transcription || summary ? { transcription, summary } : null;
}

/**
 * The call's participant on the extension's own DN is the only one acted on: a call id that is not
 * on that DN (another agent's call, another PBX's, a made-up one) finds nothing. Transfer is a blind
 * `transferto` of a talking leg; hang up is `drop` (rejecting a ringing call too).
 */
export async function controlOn(api: Pick<PbxApi, 'callControl'>, extension: string, pbxCallId: string, action: CallAction, destination: string | null): Promise<ControlResult> {
  const leg = (await api.callControl.participants(extension)).find((p) => p.callid === pbxCallId);
  if (!leg) return { ok: false, reason: 'no_call', message: 'That call is not on your extension (it ended, or it is not yours).' };
  const ringing = /^ringing$/i.test(leg.status);
  if (action === 'answer' && !ringing) return { ok: false, reason: 'wrong_state', message: 'The call is not ringing any more.' };
  if (action === 'transfer' && ringing) return { ok: false, reason: 'wrong_state', message: 'Answer the call before transferring it.' };
  if (action === 'transfer' && !destination) return { ok: false, reason: 'refused', message: 'A transfer needs a destination.' };
  const pbxAction: ParticipantAction = action === 'answer' ? 'answer' : action === 'hangup' ? 'drop' : 'transferto';
  const outcome = await api.callControl.control(extension, leg.id, pbxAction, action === 'transfer' ? destination : null);
  return outcome.success ? { ok: true } : { ok: false, reason: 'refused', message: outcome.reason ?? 'The PBX refused.' };
}

/**
 * 3CX V20 clients show five statuses; the XAPI names the profiles behind them. Which profile is
 * "Do Not Disturb" is [UNCONFIRMED]: V20 shows the former "Out of office" profile as Do Not Disturb,
 * so either name counts (README, Known gaps: call control and presence).
 */
const DND_PROFILE = /^(do not disturb|dnd|out of office)$/i;

/** `queues`: the PBX's queue list, read through the gateway's per-PBX cache (default: read now). */
export async function presenceOn(api: Pick<PbxApi, 'xapi'>, extension: string, dnd?: boolean, queues: () => Promise<PbxPresence['queues']> = () => api.xapi.queues()): Promise<PbxPresence> {
  const [found, queueList] = await Promise.all([api.xapi.userByNumber(extension), queues()]);
  let user = found;
  if (!user) throw new PbxApiError(`no 3CX user has extension ${extension}`, 404);
  const profiles = user.ForwardingProfiles.map((p) => p.Name).filter((name) => name);
  if (dnd !== undefined && DND_PROFILE.test(user.CurrentProfileName) !== dnd) {
    const target = dnd ? profiles.find((name) => DND_PROFILE.test(name)) : (profiles.find((name) => /^available$/i.test(name)) ?? profiles.find((name) => !DND_PROFILE.test(name)));
    if (!target) throw new PbxApiError(`extension ${extension} has no ${dnd ? 'Do Not Disturb' : 'available'} status profile`, 409);
    await api.xapi.setProfile(user.Id, target);
    user = { ...user, CurrentProfileName: target };
  }
  return { profile: user.CurrentProfileName, dnd: DND_PROFILE.test(user.CurrentProfileName), profiles, queueStatus: user.QueueStatus, queues: queueList };
}

/** How long a PBX's queue list and a number's extension check are reused: admins change them rarely. */
export const DIRECTORY_TTL_MS = 5 * 60_000;
/** Numbers remembered across PBXs (oldest forgotten first): transfers go to a few colleagues and queues. */
const MAX_NUMBERS = 2_000;

/**
 * Per PBX: its queues (every agent's presence names them, so one read serves every agent for the
 * TTL instead of one per agent per refresh) and which short numbers are its extensions or queues.
 * A failed read is not kept.
 */
function createDirectory(now: () => number) {
  const queues = new Map<string, { at: number; list: Promise<PbxPresence['queues']> }>();
  const numbers = new Map<string, { at: number; internal: boolean }>();
  const fresh = (at: number) => now() - at < DIRECTORY_TTL_MS;
  const queuesOf = (pbxId: string, api: Pick<PbxApi, 'xapi'>): Promise<PbxPresence['queues']> => {
    const hit = queues.get(pbxId);
    if (hit && fresh(hit.at)) return hit.list;
    const list = api.xapi.queues();
    queues.set(pbxId, { at: now(), list });
    list.catch(() => {
      if (queues.get(pbxId)?.list === list) queues.delete(pbxId);
    });
    return list;
  };
  return {
    queuesOf,
    async isInternal(pbxId: string, api: Pick<PbxApi, 'xapi'>, number: string): Promise<boolean> {
      const key = `${pbxId}\n${number}`;
      const hit = numbers.get(key);
      if (hit && fresh(hit.at)) return hit.internal;
      const [queueList, user] = await Promise.all([queuesOf(pbxId, api), api.xapi.userByNumber(number)]);
      const internal = user !== null || queueList.some((q) => q.number === number);
      numbers.delete(key);
      numbers.set(key, { at: now(), internal });
      if (numbers.size > MAX_NUMBERS) numbers.delete(numbers.keys().next().value!);
      return internal;
    },
  };
}

export interface PbxGatewayOptions {
  tenants: Pick<TenantStore, 'getPbx' | 'pbxSecrets'>;
  /** The clock the directory cache ages by. Default Date.now. */
  now?: () => number;
  /** Pass the same `registry` the connectors use so one token owner serves both. */
  registry?: PbxApiRegistry;
  /** The via-connector adapter for PBXs in remote mode; without it they are refused. */
  relay?: PbxGateway;
}

export function createPbxGateway(opts: PbxGatewayOptions): PbxGateway {
  const registry = opts.registry ?? createPbxApiRegistry({ tenants: opts.tenants });
  const directory = createDirectory(opts.now ?? Date.now);
  const direct: PbxGateway = {
    makeCall: async (pbxId, extension, destination) => makeCallOn(await registry.forPbx(pbxId), extension, destination),
    openRecording: async (pbxId, pbxRecordingId) => openRecordingOn(await registry.forPbx(pbxId), pbxRecordingId),
    recordingText: async (pbxId, pbxRecordingId) => recordingTextOn(await registry.forPbx(pbxId), pbxRecordingId),
    controlCall: async (pbxId, extension, callId, action, destination) => controlOn(await registry.forPbx(pbxId), extension, callId, action, destination),
    presence: async (pbxId, extension, dnd) => {
      const api = await registry.forPbx(pbxId);
      return presenceOn(api, extension, dnd, () => directory.queuesOf(pbxId, api));
    },
    isInternalNumber: async (pbxId, number) => directory.isInternal(pbxId, await registry.forPbx(pbxId), number),
  };
  async function adapterFor(pbxId: string): Promise<PbxGateway> {
    const pbx = await opts.tenants.getPbx(pbxId);
    if (!pbx) throw new PbxApiError(`unknown PBX ${pbxId}`, null);
    if (pbx.connectorMode === 'bus') return direct;
    if (!opts.relay) throw new PbxApiError(`PBX ${pbxId} is reached through its connector, and this bus relays nothing`, null);
    return opts.relay;
  }
  return {
    makeCall: async (pbxId, extension, destination) => (await adapterFor(pbxId)).makeCall(pbxId, extension, destination),
    openRecording: async (pbxId, pbxRecordingId) => (await adapterFor(pbxId)).openRecording(pbxId, pbxRecordingId),
    recordingText: async (pbxId, pbxRecordingId) => {
      const adapter = await adapterFor(pbxId);
      return adapter.recordingText ? adapter.recordingText(pbxId, pbxRecordingId) : null;
    },
    controlCall: async (pbxId, extension, callId, action, destination) => (await adapterFor(pbxId)).controlCall(pbxId, extension, callId, action, destination),
    presence: async (pbxId, extension, dnd) => (await adapterFor(pbxId)).presence(pbxId, extension, dnd),
    isInternalNumber: async (pbxId, number) => (await adapterFor(pbxId)).isInternalNumber(pbxId, number),
  };
}
