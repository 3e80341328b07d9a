// The 3CX V20 Call Control REST API (NOTES 2.1): state reads, makecall and participant actions.
import { z } from 'zod';
import { PbxApiError } from './errors.js';
import type { PbxHttp } from './http.js';
import { CallControlResultSchema, CallParticipantSchema, DnDeviceSchema, DnInfoSchema, type CallParticipant, type DnDevice, type DnInfo } from './wire.js';

export type MakeCallOutcome = z.infer<typeof CallControlResultSchema>;
/** The official action names (CCX constants.ts); there is no hold among them. */
export type ParticipantAction = 'answer' | 'drop' | 'divert' | 'routeto' | 'transferto';

const seg = encodeURIComponent;

export class CallControlClient {
  constructor(private readonly http: PbxHttp) {}

  /** `ws://` or `wss://` URL of the event socket. */
  get wsUrl(): string {
    const url = new URL('/callcontrol/ws', this.http.baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.toString();
  }

  bearer(): Promise<string> {
    return this.http.tokens.get();
  }

  /** The PBX refused `stale` (e.g. on the WebSocket upgrade). */
  refreshBearer(stale: string): Promise<string> {
    return this.http.tokens.refresh(stale);
  }

  async fullState(signal?: AbortSignal): Promise<DnInfo[]> {
    return z.array(DnInfoSchema).parse(await this.http.json({ method: 'GET', path: '/callcontrol', signal }));
  }

  /** The participant behind a WS entity path; null once it is gone (404). */
  async participant(entity: string, signal?: AbortSignal): Promise<CallParticipant | null> {
    const res = await this.http.send({ method: 'GET', path: entity, signal });
    if (res.statusCode === 404) {
      await res.body.dump();
      return null;
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new PbxApiError(`3CX GET ${entity} answered HTTP ${res.statusCode}`, res.statusCode);
    }
    return CallParticipantSchema.parse(await res.body.json());
  }

  async devices(dn: string): Promise<DnDevice[]> {
    return z.array(DnDeviceSchema).parse(await this.http.json({ method: 'GET', path: `/callcontrol/${seg(dn)}/devices` }));
  }

  async participants(dn: string): Promise<CallParticipant[]> {
    return z.array(CallParticipantSchema).parse(await this.http.json({ method: 'GET', path: `/callcontrol/${seg(dn)}/participants` }));
  }

  /** `POST /callcontrol/{dn}/participants/{id}/{action}`, with `{ destination }` where the action takes one. */
  async control(dn: string, participantId: number, action: ParticipantAction, destination: string | null): Promise<MakeCallOutcome> {
    const path = `/callcontrol/${seg(dn)}/participants/${participantId}/${action}`;
    return CallControlResultSchema.parse(await this.http.json({ method: 'POST', path, json: destination === null ? {} : { destination } }));
  }

  /** From a chosen device (official dialer's choice) or, with none, the DN itself. */
  async makeCall(dn: string, destination: string, deviceId: string | null): Promise<MakeCallOutcome> {
    const path = deviceId ? `/callcontrol/${seg(dn)}/devices/${seg(deviceId)}/makecall` : `/callcontrol/${seg(dn)}/makecall`;
    return CallControlResultSchema.parse(await this.http.json({ method: 'POST', path, json: { destination } }));
  }
}
