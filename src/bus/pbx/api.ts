// One place that turns a PBX record into API clients sharing a single token owner per client id,
// so the gateway (dial, recordings) and the Call Control connector never steal each other's token.
import type { Dispatcher } from 'undici';
import type { TenantStore } from '../tenants/port.js';
import { CallControlClient } from './callcontrol.js';
import { PbxApiError } from './errors.js';
import { PbxHttp } from './http.js';
import { TokenRegistry } from './tokens.js';
import { XapiClient } from './xapi.js';

export interface PbxApi {
  pbxId: string;
  tenantId: string;
  callControl: CallControlClient;
  xapi: XapiClient;
}

export interface PbxApiRegistry {
  forPbx(pbxId: string): Promise<PbxApi>;
}

export interface PbxApiCredentials {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
}

/** Clients for a PBX given its credentials directly (the remote connector has no TenantStore). */
export function pbxApiFor(creds: PbxApiCredentials, ids: { pbxId: string; tenantId: string }, tokens = new TokenRegistry(), dispatcher?: Dispatcher): PbxApi {
  const http = new PbxHttp(creds.baseUrl, tokens.sourceFor(creds), dispatcher);
  return { ...ids, callControl: new CallControlClient(http), xapi: new XapiClient(http) };
}

export function createPbxApiRegistry(opts: { tenants: Pick<TenantStore, 'getPbx' | 'pbxSecrets'>; dispatcher?: Dispatcher }): PbxApiRegistry {
  const tokens = new TokenRegistry({ dispatcher: opts.dispatcher });
  return {
    async forPbx(pbxId) {
      const pbx = await opts.tenants.getPbx(pbxId);
      if (!pbx) throw new PbxApiError(`unknown PBX ${pbxId}`, null);
      const secret = (await opts.tenants.pbxSecrets(pbxId)).apiClientSecret;
      if (!pbx.apiClientId || !secret) throw new PbxApiError(`PBX ${pbxId} has no 3CX API client configured`, null);
      return pbxApiFor({ baseUrl: pbx.baseUrl, clientId: pbx.apiClientId, clientSecret: secret }, { pbxId, tenantId: pbx.tenantId }, tokens, opts.dispatcher);
    },
  };
}
