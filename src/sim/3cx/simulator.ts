// A simulated 3CX V20 PBX on loopback, faithful to src/sim/3cx/NOTES.md: OAuth client credentials
// (one active token per client), the Call Control REST API and its WebSocket, XAPI recordings,
// scripted calls emitted through every form, and fault injection. Used by the demo, tests and bench.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { OpenApiValidator } from '../crm/common/openapi.js';
import { runScript, type CallDriver, type CallRecord, type CallScript, type ControlRequest, type RestartOptions } from './calls.js';
import { BusForms, type BusTarget, type Delivery } from './forms.js';
import { wavSize, wavStream } from './wav.js';
import {
  WS_EVENT_REMOVE,
  WS_EVENT_UPSERT,
  type CallControlResultResponse,
  type CallParticipant,
  type DnDevice,
  type DnInfo,
  type DnType,
  type TokenResponse,
  type WsEventMessage,
  type XapiCallLogRow,
  type XapiRecording,
} from './wire.js';

/** The official XAPI description of the endpoints the product reads (vendored, see xapi/README.md). */
const XAPI_SPEC_FILES = [new URL('./xapi/xapi-recordings.json', import.meta.url), new URL('./xapi/xapi-calllog.json', import.meta.url), new URL('./xapi/xapi-users.json', import.meta.url), new URL('./xapi/xapi-queues.json', import.meta.url)];
let xapiSpec: { validator: OpenApiValidator; queryOptions: Map<string, Set<string>> } | undefined;
/** Compiled once per process: every simulator validates against the same files. */
function loadXapiSpec(): NonNullable<typeof xapiSpec> {
  if (xapiSpec) return xapiSpec;
  const files = XAPI_SPEC_FILES.map((url) => fileURLToPath(url));
  // OData answers 400 to a query option it does not know: collect, per path, the ones the spec lists.
  const queryOptions = new Map<string, Set<string>>();
  for (const file of files) {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as {
      paths: Record<string, { get?: { parameters: Array<{ name?: string; in?: string; $ref?: string }> } }>;
      components: { parameters: Record<string, { name: string; in: string }> };
    };
    for (const [template, item] of Object.entries(doc.paths)) {
      if (!item.get) continue; // PATCH /Users({Id}) takes no query options
      const params = item.get.parameters.map((p) => (p.$ref ? doc.components.parameters[p.$ref.split('/').pop()!]! : p));
      queryOptions.set(template, new Set(params.filter((p) => p.in === 'query').map((p) => p.name!)));
    }
  }
  xapiSpec = { validator: new OpenApiValidator(files), queryOptions };
  return xapiSpec;
}

/** Call Control participant actions (NOTES 2.1, official CCX constants.ts) and those that need a destination. */
const PARTICIPANT_ACTIONS = new Set(['drop', 'answer', 'divert', 'routeto', 'transferto', 'attach_participant_data']);
const NEEDS_DESTINATION = new Set(['divert', 'routeto', 'transferto']);
/**
 * The status profiles of a V20 user (XAPI `ForwardingProfiles[].Name`). [UNCONFIRMED] names: V20
 * clients show Available, Away, Do Not Disturb, Lunch and Business Trip; this simulator names the
 * DND one "Out of office", its pre-V20 name, which the bus must also recognise.
 */
export const SIM_PROFILES = ['Available', 'Away', 'Out of office', 'Custom 1', 'Custom 2'];
const DEFAULT_QUEUE_NAMES = ['Sales', 'Support', 'Billing'];

export interface SimExtension {
  dn: string;
  name?: string;
  /** Registered devices (phones, web client); 0 = unregistered. Default 1. */
  devices?: number;
  /** The user's current status profile (one of SIM_PROFILES). Default 'Available'. */
  profile?: string;
}

export interface SimApiClient {
  /** The route point DN, used as OAuth client_id. */
  clientId: string;
  /** The API key shown once in the admin console (OAuth client_secret). */
  secret: string;
  /** DNs this client may see and control; default every extension and queue. */
  monitored?: string[];
}

export interface PbxSimulatorOptions {
  extensions?: SimExtension[];
  queues?: string[];
  /** XAPI `Queues` names by queue number. Default: Sales, Support, Billing… in the order of `queues`. */
  queueNames?: Record<string, string>;
  clients?: SimApiClient[];
  /** Token lifetime. Default 3600 s. */
  tokenTtlSec?: number;
  /** 3CX before 20.0.9 reported expires_in in minutes. Default 'seconds'. */
  expiresInUnit?: 'seconds' | 'minutes';
  /** Issue JWT-shaped access tokens carrying iat/exp (unsigned: nothing here verifies them). Default opaque. */
  jwtTokens?: boolean;
  /** The clock tokens expire by (tests move it instead of waiting). Default Date.now. */
  now?: () => number;
  /** Size of every generated recording file in bytes. Default 64 KiB. */
  recordingBytes?: number;
  /**
   * Fill Recording.RefParticipantId (a nullable int in the XAPI swagger) with the recorded agent
   * leg's Call Control participant id. Default true; false leaves it null.
   */
  refParticipantId?: boolean;
  /** Where the PBX sends CRM-template requests and webhooks; no bus = Call Control only. */
  bus?: BusTarget;
  /**
   * Answered legs stay connected for their `talkSec` in real time before they end, so the talk a
   * Call Control watcher measures, the recording's times and the reported durations agree. Default
   * false (talk is reported, not waited for).
   */
  realTalkTime?: boolean;
  /** Pause between the steps of a scripted call (demo realism). Default 0. */
  stepDelayMs?: number;
  /** How long a step waits for WebSocket watchers to re-read an announced participant. Default 5000. */
  syncReadTimeoutMs?: number;
  /** Answer makecall with finalstatus as a string, as the XAPI swagger types it. Default false. */
  finalStatusAsString?: boolean;
  /** The address it listens on. Default 127.0.0.1. */
  host?: string;
}

export interface PbxFaults {
  /** Added before every REST answer. */
  latencyMs: number;
  /** The next `count` REST requests (token endpoint included) answer `status`. */
  failNextRest(count: number, status?: number): void;
  /** Closes every Call Control WebSocket abruptly (no close frame). */
  dropWebSockets(): void;
  /** Every issued token stops working at once. */
  expireTokens(): void;
  /** The next `count` makecalls are rejected with this reason text. */
  refuseMakeCall(reasontext?: string, count?: number): void;
  /** While true, WebSocket upgrades are answered 503 (PBX restarting). */
  blockWebSockets: boolean;
  /** While true, WebSocket upgrades are answered 401 whatever the token (e.g. access withdrawn). */
  refuseWebSocketAuth: boolean;
}

export interface MakeCallRequest {
  dn: string;
  deviceId: string | null;
  destination: string;
}

export interface PbxSimulator {
  baseUrl: string;
  faults: PbxFaults;
  placeCall(script: CallScript): Promise<CallRecord>;
  /** Every call placed so far, as the PBX recorded it (legs, outcomes, talk, recordings), in the order they ended. */
  callRecords(): CallRecord[];
  /** The bytes the XAPI serves for a recording (each recording's audio differs). */
  recordingContent(id: number): Promise<Buffer>;
  /**
   * The PBX service restarts (between calls, or under one: CallScript.cutByRestart): every token
   * and Call Control socket is dropped, every participant vanishes with no Remove, and upgrades
   * are refused for `downMs`; with `reuseCallIds` it counts call, leg and participant ids from the
   * start again, as 3CX may after a restart.
   */
  restart(opts: RestartOptions): Promise<void>;
  /** Ends every leg of a call (e.g. one placed with makecall): participants removed, Remove events sent. */
  hangup(callid: number): Promise<void>;
  /** Current participants of a DN. */
  participants(dn: string): CallParticipant[];
  /** Every Call Control participant action received, in order, and whether the PBX applied it. */
  controlRequests: Array<{ dn: string; participantId: number; action: string; destination: string | null; applied: boolean }>;
  /** The extension user's current status profile (XAPI `CurrentProfileName`). */
  profileOf(dn: string): string;
  /** The user switches status on their phone or 3CX app. */
  setProfile(dn: string, profile: string): void;
  recordings(): XapiRecording[];
  /** 3CX transcribed a recording (V20): its XAPI row now carries the transcript and summary. */
  transcribe(recordingId: number, text: { transcription: string | null; summary: string | null }): void;
  makeCallRequests: MakeCallRequest[];
  deliveries: Delivery[];
  /** Tokens issued so far per client id. */
  tokensIssued(clientId: string): number;
  /** Requests and upgrades refused because their token had expired (not revoked or unknown). */
  expiredTokensPresented(): number;
  /** The XAPI call log (ReportCallLogData/Pbx.GetCallLogData): one row per agent leg that ended. */
  callLog(): XapiCallLogRow[];
  /** Currently open Call Control WebSockets. */
  openSockets(): number;
  /**
   * Points the CRM-template and webhook forms at a bus (replacing `opts.bus`). A bus must know the
   * PBX's URL before it issues the secrets the PBX sends, so the PBX usually starts first.
   */
  attachBus(target: BusTarget): void;
  /** XAPI requests and answers that broke the official XAPI description (see xapi/README.md). */
  specViolations(): string[];
  /** Stops the PBX; rejects when any XAPI traffic broke the official description. */
  close(): Promise<void>;
}

const TRUNK_DN = '10000';

interface IssuedToken {
  clientId: string;
  expiresAt: number;
}

export async function startPbxSimulator(opts: PbxSimulatorOptions = {}): Promise<PbxSimulator> {
  const extensions = opts.extensions ?? [
    { dn: '101', name: 'Alice Agent' },
    { dn: '102', name: 'Bob Agent' },
    { dn: '103', name: 'Carol Agent' },
  ];
  const queues = opts.queues ?? ['800'];
  const clients = opts.clients ?? [{ clientId: '900', secret: 'sim-api-key' }];
  const tokenTtlSec = opts.tokenTtlSec ?? 3600;
  const recordingBytes = opts.recordingBytes ?? 64 * 1024;
  const syncReadTimeoutMs = opts.syncReadTimeoutMs ?? 5000;
  const now = opts.now ?? Date.now;
  let expiredPresented = 0;

  const dnTypes = new Map<string, DnType>();
  for (const e of extensions) dnTypes.set(e.dn, 'Wextension');
  for (const q of queues) dnTypes.set(q, 'Wqueue');
  for (const c of clients) dnTypes.set(c.clientId, 'Wroutepoint');
  const devices = new Map<string, DnDevice[]>(
    extensions.map((e) => [
      e.dn,
      Array.from({ length: e.devices ?? 1 }, (_, i) => ({
        dn: e.dn,
        device_id: `sip:${e.dn}@127.0.0.1:5060;rinstance=${i === 0 ? 'desk' : `soft${i}`}`,
        user_agent: i === 0 ? 'Yealink SIP-T54W 96.86.0.70' : '3CX Web Client',
      })),
    ]),
  );
  const names = new Map(extensions.map((e) => [e.dn, e.name ?? `Ext ${e.dn}`]));
  /** XAPI users: one per extension, Id counting from 1 in the order given. */
  const users = new Map(extensions.map((e, i) => [e.dn, { Id: i + 1, profile: e.profile ?? 'Available', QueueStatus: 'LoggedIn' as const }]));
  const controlRequests: PbxSimulator['controlRequests'] = [];
  /** Live calls (CallScript 'live'): their pending Call Control requests and the script's waiter. */
  const liveCalls = new Map<number, { queue: ControlRequest[]; wake: (() => void) | null }>();
  const monitored = new Map(clients.map((c) => [c.clientId, new Set(c.monitored ?? [...extensions.map((e) => e.dn), ...queues])]));

  const tokens = new Map<string, IssuedToken>();
  const activeToken = new Map<string, string>();
  const issued = new Map<string, number>();
  const participants = new Map<string, Map<number, CallParticipant>>();
  const recordings: XapiRecording[] = [];
  const callLog: XapiCallLogRow[] = [];
  const specViolations: string[] = [];
  const makeCallRequests: MakeCallRequest[] = [];
  const deliveries: Delivery[] = [];
  const sockets = new Map<WebSocket, string>();
  const rawSockets = new Set<Socket>();
  /** `${clientId} ${entity}` -> resolvers waiting for that client to GET the entity. */
  const pendingReads = new Map<string, Array<() => void>>();
  const INITIAL_IDS = { call: 1000, leg: 0, participant: 0 };
  const counters = { ...INITIAL_IDS, recording: 0, sequence: 0 };
  const callRecords: CallRecord[] = [];
  const failures = { remaining: 0, status: 503 };
  const refusals = { remaining: 0, reasontext: '' };

  const faults: PbxFaults = {
    latencyMs: 0,
    failNextRest(count, status = 503) {
      failures.remaining = count;
      failures.status = status;
    },
    dropWebSockets() {
      for (const ws of sockets.keys()) ws.terminate();
    },
    expireTokens() {
      for (const t of tokens.values()) t.expiresAt = 0;
    },
    refuseMakeCall(reasontext = 'Call rejected by the PBX', count = 1) {
      refusals.remaining = count;
      refusals.reasontext = reasontext;
    },
    blockWebSockets: false,
    refuseWebSocketAuth: false,
  };

  function clientOf(req: IncomingMessage): string | null {
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const token = match ? tokens.get(match[1]!) : undefined;
    if (token && token.expiresAt <= now()) expiredPresented++;
    return token && token.expiresAt > now() ? token.clientId : null;
  }

  function dnParticipants(dn: string): Map<number, CallParticipant> {
    let map = participants.get(dn);
    if (!map) participants.set(dn, (map = new Map()));
    return map;
  }

  function dnInfo(dn: string): DnInfo {
    return { dn, type: dnTypes.get(dn) ?? 'Wextension', devices: devices.get(dn) ?? [], participants: [...dnParticipants(dn).values()] };
  }

  /** Sends an event to every socket whose client monitors the DN; Upserts wait for the re-read. */
  function announce(dn: string, id: number, eventType: number): Promise<void> {
    const entity = `/callcontrol/${dn}/participants/${id}`;
    const waits: Promise<void>[] = [];
    for (const [ws, clientId] of sockets) {
      if (!monitored.get(clientId)?.has(dn)) continue;
      if (eventType === WS_EVENT_UPSERT) waits.push(readBy(clientId, entity));
      const message: WsEventMessage = { sequence: ++counters.sequence, event: { event_type: eventType, entity, attached_data: {} } };
      ws.send(JSON.stringify(message));
    }
    return Promise.all(waits).then(() => undefined);
  }

  function readBy(clientId: string, entity: string): Promise<void> {
    return new Promise((resolve) => {
      const key = `${clientId} ${entity}`;
      const timer = setTimeout(resolve, syncReadTimeoutMs);
      timer.unref();
      const list = pendingReads.get(key) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve();
      });
      pendingReads.set(key, list);
    });
  }

  function markRead(clientId: string, entity: string): void {
    const key = `${clientId} ${entity}`;
    const list = pendingReads.get(key);
    if (!list) return;
    pendingReads.delete(key);
    for (const done of list) done();
  }

  async function restart({ reuseCallIds, downMs = 200 }: RestartOptions): Promise<void> {
    tokens.clear();
    activeToken.clear();
    faults.blockWebSockets = true;
    for (const ws of sockets.keys()) ws.terminate();
    participants.clear();
    if (reuseCallIds) Object.assign(counters, INITIAL_IDS);
    await new Promise((r) => setTimeout(r, downMs));
    faults.blockWebSockets = false;
  }

  const baseUrlRef = { value: '' };
  const driver: CallDriver = {
    trunkDn: TRUNK_DN,
    nextId: (kind) => ++counters[kind],
    deviceOf: (dn) => devices.get(dn)?.[0]?.device_id ?? '',
    nameOf: (dn) => names.get(dn) ?? dn,
    restart: (o) => restart(o),
    async upsert(p) {
      dnParticipants(p.dn).set(p.id, { ...p });
      await announce(p.dn, p.id, WS_EVENT_UPSERT);
    },
    async remove(p) {
      dnParticipants(p.dn).delete(p.id);
      await announce(p.dn, p.id, WS_EVENT_REMOVE);
    },
    createRecording(p, direction, talk) {
      const end = new Date(talk.to);
      const id = ++counters.recording;
      const agent = { dn: p.dn, type: 0, number: p.dn, name: names.get(p.dn) ?? p.dn, did: '', participant: p.id };
      const remote = { dn: p.party_dn, type: 1, number: p.party_caller_id, name: p.party_caller_name, did: p.party_did, participant: 0 };
      const [from, to] = direction === 'inbound' ? [remote, agent] : [agent, remote];
      const recording: XapiRecording = {
        Id: id,
        StartTime: new Date(talk.from).toISOString(),
        EndTime: end.toISOString(),
        CallType: direction === 'inbound' ? 'InboundExternal' : 'OutboundExternal',
        FromDn: from.dn,
        FromDnType: from.type,
        FromCallerNumber: from.number,
        FromDisplayName: from.name,
        FromDidNumber: from.did,
        FromIdParticipant: from.participant,
        ToDn: to.dn,
        ToDnType: to.type,
        ToCallerNumber: to.number,
        ToDisplayName: to.name,
        ToDidNumber: to.did,
        ToIdParticipant: to.participant,
        RefParticipantId: opts.refParticipantId === false ? null : p.id,
        RecordingUrl: driver.recordingUrl(id),
        IsArchived: false,
        ArchivedUrl: null,
        CanBeTranscribed: false,
        IsTranscribed: false,
      };
      recordings.push(recording);
      return recording;
    },
    logLeg(leg) {
      const p = leg.participant;
      const agent = { dn: p.dn, type: 0, callerId: p.dn, name: names.get(p.dn) ?? p.dn };
      const remote = { dn: p.party_dn, type: 1, callerId: p.party_caller_id, name: p.party_caller_name };
      const [src, dst] = leg.direction === 'inbound' ? [remote, agent] : [agent, remote];
      const ringEnd = leg.answeredAt ?? Date.now();
      const id = callLog.length + 1;
      const recId = leg.recordingId;
      callLog.push({
        CallId: p.callid,
        CdrId: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
        CallHistoryId: `00000000-0000-4000-9000-${String(p.legid).padStart(12, '0')}`,
        MainCallHistoryId: `00000000-0000-4000-9000-${String(p.callid).padStart(12, '0')}`,
        SegmentId: id,
        Indent: 0,
        StartTime: new Date(leg.presentedAt).toISOString(),
        RingingDuration: isoDuration(ringEnd - leg.presentedAt),
        TalkingDuration: isoDuration(leg.talkSec * 1000),
        Answered: leg.answeredAt !== null,
        Status: leg.answeredAt !== null ? 'Answered' : 'Unanswered',
        Direction: leg.direction === 'inbound' ? 'Inbound' : 'Outbound',
        CallType: leg.queue ? 'Queue' : 'Extension',
        Reason: null,
        SourceDn: src.dn,
        SourceType: src.type,
        SourceCallerId: src.callerId,
        SourceDisplayName: src.name,
        DestinationDn: dst.dn,
        DestinationType: dst.type,
        DestinationCallerId: dst.callerId,
        DestinationDisplayName: dst.name,
        actionDnDn: leg.queue,
        ActionDnType: leg.queue ? 4 : null,
        ActionDnCallerId: leg.queue,
        ActionDnDisplayName: leg.queue,
        ActionType: null,
        SrcRecId: leg.direction === 'outbound' ? recId : null,
        DstRecId: leg.direction === 'inbound' ? recId : null,
        RecordingUrl: recId === null ? null : driver.recordingUrl(recId),
        Recordings: recId === null ? [] : [{ Id: recId, SentimentScore: null, Summary: null, Transcription: null }],
        Transcription: null,
        Summary: null,
        SentimentScore: null,
        CallCost: null,
        QualityReport: false,
        SubrowDescNumber: 0,
      });
    },
    recordingUrl: (id) => `${baseUrlRef.value}/xapi/v1/Recordings/Pbx.DownloadRecording(recId=${id})`,
    forms: opts.bus ? new BusForms(opts.bus, deliveries) : null,
    step: () => (opts.stepDelayMs ? new Promise((r) => setTimeout(r, opts.stepDelayMs)) : Promise.resolve()),
    realTalkTime: opts.realTalkTime ?? false,
    isExtension: (dn) => names.has(dn),
    openControl(callid) {
      liveCalls.set(callid, { queue: [], wake: null });
    },
    async nextControl(callid, timeoutMs) {
      const live = liveCalls.get(callid);
      if (!live) return null;
      if (live.queue.length === 0) {
        const entry = live;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          timer.unref();
          entry.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        entry.wake = null;
      }
      return live.queue.shift() ?? null;
    },
    closeControl(callid) {
      for (const request of liveCalls.get(callid)?.queue ?? []) request.reply({ ok: false, reasontext: 'The call has ended' });
      liveCalls.delete(callid);
    },
  };

  /** Hands a request to a live call's script and waits for what the PBX made of it; null when the call is not live. */
  function toLiveCall(callid: number, request: Omit<ControlRequest, 'reply'>): Promise<{ ok: true } | { ok: false; reasontext: string }> | null {
    const live = liveCalls.get(callid);
    if (!live) return null;
    return new Promise((reply) => {
      live.queue.push({ ...request, reply });
      live.wake?.();
    });
  }

  // ---- HTTP ----
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  };
  const odataError = (res: ServerResponse, status: number, code: string, message: string) => json(res, status, { error: { code, message } });

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async function handleToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const contentType = req.headers['content-type'] ?? '';
    if (!/^(multipart\/form-data|application\/x-www-form-urlencoded)/i.test(contentType)) {
      return json(res, 400, { error: 'invalid_request', error_description: 'The request body must be form data.' });
    }
    let form: FormData;
    try {
      form = await new Request('http://sim/connect/token', { method: 'POST', headers: { 'content-type': contentType }, body: await readBody(req) }).formData();
    } catch {
      return json(res, 400, { error: 'invalid_request', error_description: 'Malformed form body.' });
    }
    if (form.get('grant_type') !== 'client_credentials') {
      return json(res, 400, { error: 'unsupported_grant_type', error_description: 'Only client_credentials is supported here.' });
    }
    const client = clients.find((c) => c.clientId === form.get('client_id'));
    if (!client || client.secret !== form.get('client_secret')) {
      return json(res, 400, { error: 'invalid_client', error_description: 'Unknown client or wrong secret.' });
    }
    // One active token per client: a new one invalidates the previous (NOTES 1.2).
    const previous = activeToken.get(client.clientId);
    if (previous) tokens.delete(previous);
    const accessToken = opts.jwtTokens ? jwtShapedToken(now(), tokenTtlSec) : randomBytes(24).toString('base64url');
    tokens.set(accessToken, { clientId: client.clientId, expiresAt: now() + tokenTtlSec * 1000 });
    activeToken.set(client.clientId, accessToken);
    issued.set(client.clientId, (issued.get(client.clientId) ?? 0) + 1);
    const body: TokenResponse = {
      token_type: 'Bearer',
      expires_in: opts.expiresInUnit === 'minutes' ? Math.round(tokenTtlSec / 60) : tokenTtlSec,
      access_token: accessToken,
    };
    json(res, 200, body);
  }

  async function handleMakeCall(req: IncomingMessage, res: ServerResponse, dn: string, deviceId: string | null): Promise<void> {
    let destination: unknown;
    try {
      destination = (JSON.parse((await readBody(req)).toString('utf8')) as { destination?: unknown }).destination;
    } catch {
      return json(res, 400, { error: 'Malformed JSON body' });
    }
    if (typeof destination !== 'string' || destination.length === 0) return json(res, 400, { error: 'destination is required' });
    if (deviceId !== null && !devices.get(dn)?.some((d) => d.device_id === deviceId)) return json(res, 404, { error: 'Device not found' });
    makeCallRequests.push({ dn, deviceId, destination });
    const status = (n: -1 | 0 | 1) => (opts.finalStatusAsString ? (['Failed', 'Rejected', 'Success'][n + 1] as unknown as -1 | 0 | 1) : n);
    if (refusals.remaining > 0) {
      refusals.remaining--;
      const refused: CallControlResultResponse = { finalstatus: status(0), reason: 'Rejected', reasontext: refusals.reasontext, result: null };
      return json(res, 200, refused);
    }
    const leg: CallParticipant = {
      id: driver.nextId('participant'),
      status: 'Dialing',
      dn,
      party_caller_name: '',
      party_dn: TRUNK_DN,
      party_caller_id: destination,
      party_did: '',
      device_id: deviceId ?? driver.deviceOf(dn),
      party_dn_type: 'Wexternalline',
      direct_control: true,
      originated_by_dn: dn,
      originated_by_type: 'Wextension',
      referred_by_dn: '',
      referred_by_type: '',
      on_behalf_of_dn: '',
      on_behalf_of_type: '',
      callid: driver.nextId('call'),
      legid: driver.nextId('leg'),
    };
    const ok: CallControlResultResponse = { finalstatus: status(1), reason: 'None', reasontext: '', result: leg };
    json(res, 200, ok);
    void driver.upsert(leg);
  }

  /** `POST /callcontrol/{dn}/participants/{id}/{action}` (NOTES 2.1, 2.2): checked as the notes describe it. */
  async function handleParticipantAction(req: IncomingMessage, res: ServerResponse, dn: string, rawId: string, action: string): Promise<void> {
    const problems: string[] = [];
    const where = `POST /callcontrol/${dn}/participants/${rawId}/${action}`;
    if (!PARTICIPANT_ACTIONS.has(action)) problems.push(`${where}: ${action} is not a Call Control action`);
    if (!/^application\/json/i.test(req.headers['content-type'] ?? '')) problems.push(`${where}: content-type must be application/json`);
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req)).toString('utf8'));
    } catch {
      problems.push(`${where}: body is not JSON`);
    }
    const destination = body && typeof body === 'object' && 'destination' in body ? (body as { destination: unknown }).destination : undefined;
    if (body !== undefined && (body === null || typeof body !== 'object' || Array.isArray(body))) problems.push(`${where}: body must be an object`);
    if (destination !== undefined && (typeof destination !== 'string' || destination.length === 0)) problems.push(`${where}: destination must be a non-empty string`);
    if (NEEDS_DESTINATION.has(action) && typeof destination !== 'string') problems.push(`${where}: ${action} needs a destination`);
    if (problems.length > 0) {
      specViolations.push(...problems);
      return json(res, 400, { error: problems.join('; ') });
    }
    const participant = /^\d+$/.test(rawId) ? dnParticipants(dn).get(Number(rawId)) : undefined;
    if (!participant) return json(res, 404, { error: 'Participant not found' });
    const request = { action, participantId: participant.id, destination: typeof destination === 'string' ? destination : null };
    const outcome = (await toLiveCall(participant.callid, request)) ?? { ok: false as const, reasontext: 'This simulated call is scripted; only live calls take Call Control actions' };
    controlRequests.push({ dn, ...request, applied: outcome.ok });
    const result: CallControlResultResponse = outcome.ok
      ? { finalstatus: 1, reason: 'None', reasontext: '', result: dnParticipants(dn).get(participant.id) ?? participant }
      : { finalstatus: 0, reason: 'Rejected', reasontext: outcome.reasontext, result: null };
    json(res, 200, result);
  }

  /** A `Pbx.User` as the XAPI serves it, cut to `$select` (and `ForwardingProfiles` with `$expand`). */
  function userRow(dn: string, query: URLSearchParams): Record<string, unknown> {
    const user = users.get(dn)!;
    const [first, ...rest] = (names.get(dn) ?? dn).split(' ');
    const full: Record<string, unknown> = { Id: user.Id, Number: dn, FirstName: first, LastName: rest.join(' '), CurrentProfileName: user.profile, QueueStatus: user.QueueStatus, IsRegistered: (devices.get(dn)?.length ?? 0) > 0 };
    const select = query.get('$select')?.split(',').map((f) => f.trim());
    const row = select ? Object.fromEntries(Object.entries(full).filter(([k]) => select.includes(k))) : full;
    if (query.get('$expand')?.split(',').some((e) => e.trim() === 'ForwardingProfiles')) {
      row.ForwardingProfiles = SIM_PROFILES.map((Name, i) => ({ Id: user.Id * 10 + i, Name }));
    }
    return row;
  }

  function handleUsers(res: ServerResponse, query: URLSearchParams): void {
    let dns = [...users.keys()];
    const filter = query.get('$filter');
    if (filter) {
      const predicate = parseODataFilter(filter);
      if (!predicate) return odataError(res, 400, 'BadRequest', `Unsupported $filter: ${filter}`);
      dns = dns.filter((dn) => predicate(userRow(dn, new URLSearchParams())));
    }
    const top = query.get('$top');
    const page = { '@odata.context': `${baseUrlRef.value}/xapi/v1/$metadata#Users`, value: dns.slice(0, top === null ? undefined : Number(top)).map((dn) => userRow(dn, query)) };
    specViolations.push(...loadXapiSpec().validator.validateResponse('GET', '/Users', 200, 'application/json', page));
    json(res, 200, page);
  }

  function handleQueues(res: ServerResponse, query: URLSearchParams): void {
    const select = query.get('$select')?.split(',').map((f) => f.trim());
    const rows = queues.map((q, i) => {
      const full: Record<string, unknown> = { Id: 100 + i, Number: q, Name: opts.queueNames?.[q] ?? DEFAULT_QUEUE_NAMES[i] ?? `Queue ${q}` };
      return select ? Object.fromEntries(Object.entries(full).filter(([k]) => select.includes(k))) : full;
    });
    const page = { '@odata.context': `${baseUrlRef.value}/xapi/v1/$metadata#Queues`, value: rows.slice(0, Number(query.get('$top') ?? rows.length)) };
    specViolations.push(...loadXapiSpec().validator.validateResponse('GET', '/Queues', 200, 'application/json', page));
    json(res, 200, page);
  }

  function patchUser(res: ServerResponse, id: number, body: unknown): void {
    const entry = [...users.entries()].find(([, u]) => u.Id === id);
    if (!entry) return odataError(res, 404, 'NotFound', `User ${id} not found`);
    const profile = (body as { CurrentProfileName?: unknown }).CurrentProfileName;
    if (profile !== undefined) {
      if (typeof profile !== 'string' || !SIM_PROFILES.includes(profile)) return odataError(res, 400, 'BadRequest', `No forwarding profile named ${String(profile)}`);
      entry[1].profile = profile;
    }
    res.writeHead(204);
    res.end();
  }

  function handleRecordings(res: ServerResponse, query: URLSearchParams): void {
    let rows = recordings.slice();
    const filter = query.get('$filter');
    if (filter) {
      const predicate = parseODataFilter(filter);
      if (!predicate) return odataError(res, 400, 'BadRequest', `Unsupported $filter: ${filter}`);
      rows = rows.filter(predicate);
    }
    const orderBy = query.get('$orderby');
    if (orderBy) {
      const [field, dir] = orderBy.trim().split(/\s+/) as [keyof XapiRecording, string | undefined];
      const sign = dir?.toLowerCase() === 'desc' ? -1 : 1;
      rows.sort((a, b) => (a[field]! < b[field]! ? -sign : a[field]! > b[field]! ? sign : 0));
    }
    const skip = Number(query.get('$skip') ?? 0);
    const top = query.get('$top');
    rows = rows.slice(skip, top === null ? undefined : skip + Number(top));
    const page = { '@odata.context': `${baseUrlRef.value}/xapi/v1/$metadata#Recordings`, value: rows };
    specViolations.push(...loadXapiSpec().validator.validateResponse('GET', '/Recordings', 200, 'application/json', page));
    json(res, 200, page);
  }

  /**
   * GetCallLogData(periodFrom=…,periodTo=…,…): the rows of legs that started in the period, in the
   * order they were written. $top/$skip page them; 3CX applies paging before $filter on its report
   * functions [COMMUNITY], so the bus filters on its side and the simulator supports no $filter.
   */
  function handleCallLog(res: ServerResponse, path: string, query: URLSearchParams): void {
    const period = (name: string) => Date.parse(new RegExp(`[(,]${name}=([^,)]+)`).exec(path)?.[1] ?? '');
    const [from, to] = [period('periodFrom'), period('periodTo')];
    if (query.has('$filter')) return odataError(res, 400, 'BadRequest', 'The simulator applies no $filter to report functions');
    const skip = Number(query.get('$skip') ?? 0);
    const top = query.get('$top');
    const rows = callLog.filter((r) => Date.parse(r.StartTime) >= from && Date.parse(r.StartTime) <= to).slice(skip, top === null ? undefined : skip + Number(top));
    const page = { '@odata.context': `${baseUrlRef.value}/xapi/v1/$metadata#Collection(Pbx.CallLogData)`, value: rows };
    specViolations.push(...loadXapiSpec().validator.validateResponse('GET', path, 200, 'application/json', page));
    json(res, 200, page);
  }

  /** What the official XAPI description says is wrong with a request; [] when it conforms. */
  function checkXapiRequest(method: string, path: string, query: URLSearchParams, contentType?: string, body?: unknown): string[] {
    const spec = loadXapiSpec();
    const op = spec.validator.findOperation(method, path);
    const known = op ? spec.queryOptions.get(op.template) : undefined;
    const unknown = known ? [...query.keys()].filter((k) => !known.has(k)) : [];
    return [
      ...unknown.map((k) => `${method} ${path}: query option ${k} is not in the spec`),
      ...spec.validator.validateRequest({ method, path, query: Object.fromEntries(query), contentType, body }),
      ...(op ? spec.validator.validatePathParams(method, path) : []),
    ];
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs));
    if (failures.remaining > 0) {
      failures.remaining--;
      return json(res, failures.status, { error: 'server_error', error_description: 'Injected failure' });
    }
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = url.pathname;
    if (req.method === 'POST' && path === '/connect/token') return handleToken(req, res);

    const clientId = clientOf(req);
    if (!clientId) {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
      return void res.end();
    }
    const visible = monitored.get(clientId)!;

    if (path.startsWith('/xapi/v1/')) {
      // Only PATCH /Users({Id}) sends a body here; `(not JSON)` fails the spec's schema.
      const body = req.method === 'PATCH' ? await readBody(req).then((b) => { try { return JSON.parse(b.toString('utf8')) as unknown; } catch { return '(not JSON)'; } }) : undefined;
      const problems = checkXapiRequest(req.method ?? 'GET', decodeURIComponent(path.slice('/xapi/v1'.length)), url.searchParams, req.headers['content-type'], body);
      if (problems.length > 0) {
        specViolations.push(...problems);
        return odataError(res, 400, 'BadRequest', problems.join('; '));
      }
      if (req.method === 'GET' && path === '/xapi/v1/Recordings') return handleRecordings(res, url.searchParams);
      if (req.method === 'GET' && path === '/xapi/v1/Users') return handleUsers(res, url.searchParams);
      if (req.method === 'GET' && path === '/xapi/v1/Queues') return handleQueues(res, url.searchParams);
      const user = /^\/xapi\/v1\/Users\((-?\d+)\)$/.exec(path);
      if (req.method === 'PATCH' && user) return patchUser(res, Number(user[1]), body);
      if (req.method === 'GET' && decodeURIComponent(path).startsWith('/xapi/v1/ReportCallLogData/Pbx.GetCallLogData(')) {
        return handleCallLog(res, decodeURIComponent(path).slice('/xapi/v1'.length), url.searchParams);
      }
      const download = /^\/xapi\/v1\/Recordings\/Pbx\.DownloadRecording\(recId=(-?\d+)\)$/.exec(decodeURIComponent(path));
      if (req.method === 'GET' && download) {
        if (!recordings.some((r) => r.Id === Number(download[1]))) return odataError(res, 404, 'NotFound', 'Recording not found');
        res.writeHead(200, { 'content-type': 'audio/x-wav', 'content-length': String(wavSize(recordingBytes)) });
        wavStream(recordingBytes, Number(download[1])).pipe(res);
        return;
      }
      return odataError(res, 404, 'NotFound', `No route for ${path}`);
    }

    if (req.method === 'GET' && path === '/callcontrol') return json(res, 200, [...visible].map(dnInfo).concat(dnInfo(clientId)));
    const act = /^\/callcontrol\/([^/]+)\/participants\/([^/]+)\/([^/]+)$/.exec(path);
    if (act && req.method === 'POST') {
      const [, dn, rawId, action] = act as unknown as [string, string, string, string];
      if (!visible.has(dn)) return json(res, 403, { error: 'DN is not monitored by this application' });
      return handleParticipantAction(req, res, dn, rawId, action);
    }
    const m = /^\/callcontrol\/([^/]+)(?:\/(participants|devices)(?:\/([^/]+))?)?(?:\/(makecall))?$/.exec(path);
    if (!m) return json(res, 404, { error: 'Not found' });
    const [, dn, collection, rawId, makecall] = m as unknown as [string, string, string | undefined, string | undefined, string | undefined];
    if (!visible.has(dn) && dn !== clientId) return json(res, 403, { error: 'DN is not monitored by this application' });

    if (req.method === 'POST' && makecall) {
      if (!collection) return handleMakeCall(req, res, dn, null);
      if (collection === 'devices' && rawId) return handleMakeCall(req, res, dn, decodeURIComponent(rawId));
    }
    if (req.method !== 'GET' || makecall) return json(res, 405, { error: 'Method not allowed' });
    if (!collection) return json(res, 200, dnInfo(dn));
    if (collection === 'devices') {
      const list = devices.get(dn) ?? [];
      if (!rawId) return json(res, 200, list);
      const device = list.find((d) => d.device_id === decodeURIComponent(rawId));
      return device ? json(res, 200, device) : json(res, 404, { error: 'Device not found' });
    }
    if (!rawId) return json(res, 200, [...dnParticipants(dn).values()]);
    const participant = dnParticipants(dn).get(Number(rawId));
    markRead(clientId, path);
    return participant ? json(res, 200, participant) : json(res, 404, { error: 'Participant not found' });
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: Error) => {
      if (!res.headersSent) json(res, 500, { error: err.message });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    rawSockets.add(socket);
    socket.on('close', () => rawSockets.delete(socket));
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const clientId = faults.refuseWebSocketAuth ? null : clientOf(req);
    if (faults.blockWebSockets) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    if (new URL(req.url ?? '/', 'http://sim').pathname !== '/callcontrol/ws' || !clientId) {
      socket.end(`HTTP/1.1 ${clientId ? '404 Not Found' : '401 Unauthorized'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.set(ws, clientId);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => sockets.delete(ws));
    });
  });

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  baseUrlRef.value = `http://${host}:${(server.address() as AddressInfo).port}`;

  return {
    baseUrl: baseUrlRef.value,
    faults,
    async placeCall(script) {
      const record = await runScript(driver, script);
      callRecords.push(record);
      return record;
    },
    callRecords: () => callRecords.slice(),
    async recordingContent(id) {
      const chunks: Buffer[] = [];
      for await (const chunk of wavStream(recordingBytes, id)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    restart,
    async hangup(callid) {
      // A live call's script ends it (its records stay true); other calls just lose their legs.
      const live = toLiveCall(callid, { action: 'hangup', participantId: 0, destination: null });
      if (live) return void (await live);
      const legs = [...participants.values()].flatMap((m) => [...m.values()]).filter((p) => p.callid === callid);
      await Promise.all(legs.map((p) => driver.remove(p)));
    },
    participants: (dn) => [...dnParticipants(dn).values()].map((p) => ({ ...p })),
    controlRequests,
    profileOf: (dn) => users.get(dn)?.profile ?? '',
    setProfile(dn, profile) {
      const user = users.get(dn);
      if (!user || !SIM_PROFILES.includes(profile)) throw new Error(`no user ${dn} or no profile ${profile}`);
      user.profile = profile;
    },
    recordings: () => recordings.slice(),
    transcribe(recordingId, { transcription, summary }) {
      const row = recordings.find((r) => r.Id === recordingId);
      if (!row) throw new Error(`no recording ${recordingId}`);
      Object.assign(row, { CanBeTranscribed: true, IsTranscribed: true, Transcription: transcription, Summary: summary });
    },
    callLog: () => callLog.slice(),
    makeCallRequests,
    deliveries,
    tokensIssued: (clientId) => issued.get(clientId) ?? 0,
    expiredTokensPresented: () => expiredPresented,
    openSockets: () => sockets.size,
    attachBus(target) {
      driver.forms = new BusForms(target, deliveries);
    },
    specViolations: () => specViolations.slice(),
    async close() {
      for (const ws of sockets.keys()) ws.terminate();
      wss.close();
      for (const socket of rawSockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (specViolations.length > 0) throw new Error(`XAPI traffic broke the official description:\n${specViolations.join('\n')}`);
    },
  };
}

/** `Field op value [and Field op value]...` with eq/ne/ge/gt/le/lt, numbers and 'quoted' strings. */
export function parseODataFilter(filter: string): ((row: XapiRecording | Record<string, unknown>) => boolean) | null {
  const clauses = filter.split(/\s+and\s+/i).map((clause) => /^\s*(\w+)\s+(eq|ne|ge|gt|le|lt)\s+('(?:[^']|'')*'|-?\d+(?:\.\d+)?|[\d:T.+\-Z]+)\s*$/i.exec(clause));
  if (clauses.some((c) => c === null)) return null;
  const tests = (clauses as RegExpExecArray[]).map(([, field, op, literal]) => {
    const value: string | number = literal!.startsWith("'") ? literal!.slice(1, -1).replace(/''/g, "'") : /^-?\d+(\.\d+)?$/.test(literal!) ? Number(literal) : literal!;
    return (row: XapiRecording | Record<string, unknown>) => {
      const actual = (row as Record<string, unknown>)[field!];
      if (actual === undefined) return false;
      // Date-times compare as instants, so offsets and fractional seconds do not matter.
      const [a, b] = typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value) ? [Date.parse(String(actual)), Date.parse(value)] : [actual as string | number, value];
      switch (op!.toLowerCase()) {
        case 'eq': return a === b;
        case 'ne': return a !== b;
        case 'ge': return a >= b;
        case 'gt': return a > b;
        case 'le': return a <= b;
        default: return a < b;
      }
    };
  });
  return (row) => tests.every((t) => t(row));
}

/** ISO 8601 duration as 3CX writes it (`PT1M5.25S`). */
function isoDuration(ms: number): string {
  const total = Math.max(0, ms) / 1000;
  const minutes = Math.floor(total / 60);
  const seconds = Math.round((total - minutes * 60) * 1000) / 1000;
  return `PT${minutes > 0 ? `${minutes}M` : ''}${seconds}S`;
}

/** header.payload.signature with the standard iat/exp claims (seconds), as OAuth servers commonly issue. */
function jwtShapedToken(nowMs: number, ttlSec: number): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const iat = Math.floor(nowMs / 1000);
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iat, exp: iat + ttlSec, jti: randomBytes(8).toString('hex') })}.${randomBytes(32).toString('base64url')}`;
}
