// PbxGateway over the 3CX V20 APIs: makecall from the extension's registered device (else the DN),
// recordings streamed from XAPI. Two adapters behind the one port, chosen per PBX: direct (the bus
// holds the API client) for connectorMode 'bus', via the connector (relay.ts) for 'remote', where
// the connector beside the PBX is the client id's only token owner and runs the same two functions.
import type { TenantStore } from '../tenants/port.js';
import { createPbxApiRegistry, type PbxApi, type PbxApiRegistry } from './api.js';
import { PbxApiError } from './errors.js';
import type { MakeCallResult, PbxGateway, RecordingStream } from './port.js';

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

export interface PbxGatewayOptions {
  tenants: Pick<TenantStore, 'getPbx' | 'pbxSecrets'>;
  /** Pass the same `registry` the connectors use so one token owner serves both. */
  registry?: PbxApiRegistry;
  /** The via-connector adapter for PBXs in remote mode; without it they are refused. */
  relay?: PbxGateway;
}

export function createPbxGateway(opts: PbxGatewayOptions): PbxGateway {
  const registry = opts.registry ?? createPbxApiRegistry({ tenants: opts.tenants });
  const direct: PbxGateway = {
    makeCall: async (pbxId, extension, destination) => makeCallOn(await registry.forPbx(pbxId), extension, destination),
    openRecording: async (pbxId, pbxRecordingId) => openRecordingOn(await registry.forPbx(pbxId), pbxRecordingId),
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
  };
}
