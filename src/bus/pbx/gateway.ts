// PbxGateway over the 3CX V20 APIs: makecall from the extension's registered device (else the DN),
// recordings streamed from XAPI.
import type { TenantStore } from '../tenants/port.js';
import { createPbxApiRegistry, type PbxApiRegistry } from './api.js';
import { PbxApiError } from './errors.js';
import type { MakeCallResult, PbxGateway } from './port.js';

/** Pass the same `registry` the connectors use so one token owner serves both. */
export function createPbxGateway(opts: { tenants: TenantStore; registry?: PbxApiRegistry }): PbxGateway {
  const registry = opts.registry ?? createPbxApiRegistry({ tenants: opts.tenants });
  return {
    async makeCall(pbxId, extension, destination): Promise<MakeCallResult> {
      const { callControl } = await registry.forPbx(pbxId);
      const [device] = await callControl.devices(extension);
      const outcome = await callControl.makeCall(extension, destination, device?.device_id ?? null);
      return outcome.success
        ? { ok: true, pbxCallId: outcome.pbxCallId, reason: null }
        : { ok: false, pbxCallId: null, reason: outcome.reason ?? 'The PBX did not place the call' };
    },
    async openRecording(pbxId, pbxRecordingId) {
      const recId = Number(pbxRecordingId);
      if (!Number.isInteger(recId)) throw new PbxApiError(`not a 3CX recording id: ${pbxRecordingId}`, 404);
      const { xapi } = await registry.forPbx(pbxId);
      return xapi.download(recId);
    },
  };
}
