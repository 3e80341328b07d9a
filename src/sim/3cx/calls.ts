// Scripted calls. Each script walks a call through the states a 3CX V20 PBX shows: participants
// on the agents' DNs (Call Control), the CRM-template lookup at ring and journal per agent leg,
// and Standard Webhooks for every transition. Every form can be switched off per call.
import type { JournalBody } from '../../bus/ingest/crm-template/wire.js';
import type { WebhookCallPayload } from '../../bus/ingest/webhook/payload.js';
import type { BusForms } from './forms.js';
import type { CallParticipant, DnType, XapiRecording } from './wire.js';

export interface FormSwitches {
  /** Participants visible through /callcontrol and its WebSocket (default on). */
  callControl?: boolean;
  /** CRM-template lookup + journal (default on when the bus target has a template key). */
  template?: boolean;
  /** Standard Webhooks (default on when the bus target has a webhook secret). */
  webhook?: boolean;
}

interface Common {
  talkSec?: number;
  forms?: FormSwitches;
  /** Whether 3CX records the answered legs (its recording rules); default true. */
  record?: boolean;
  /**
   * The PBX restarts while this (inbound or outbound) call talks: once answered (and `talkSec` of
   * real talk with realTalkTime) its legs vanish with no Remove and no form reports an end; a
   * recorded leg keeps what was recorded up to the cut. The script ends when the PBX is back.
   */
  cutByRestart?: RestartOptions;
}

export interface RestartOptions {
  /** Count call, leg and participant ids from the start again, as 3CX may after a restart. */
  reuseCallIds: boolean;
  /** How long upgrades are refused. Default 200 ms. */
  downMs?: number;
}
export interface ExternalCaller {
  from: string;
  fromName?: string;
  /** The DID the call came in on. */
  did?: string;
}

export type CallScript =
  /** Rings one extension; `answer: false` makes it a missed call. */
  | ({ kind: 'inbound'; to: string; answer?: boolean } & ExternalCaller & Common)
  /** Rings every agent of the queue at once; `answeredBy: null` leaves it missed. */
  | ({ kind: 'queue'; queue: string; agents: string[]; answeredBy: string | null } & ExternalCaller & Common)
  /** An extension dials an external number; `answer: false` is 3CX's "Notanswered". */
  | ({ kind: 'outbound'; from: string; to: string; toName?: string; answer?: boolean } & Common)
  /** Inbound to `to`, answered, then blind-transferred to `transferTo`, who answers. */
  | ({ kind: 'transfer'; to: string; transferTo: string } & ExternalCaller & Common)
  /**
   * Inbound to `to`, driven by Call Control: it rings until an app answers or drops it (or `ringSec`
   * passes: missed), then talks until an app drops or transfers it (`transferto` an extension rings
   * there, driven the same way; a number leaves the PBX), `PbxSimulator.hangup` (the caller hangs
   * up) or `maxTalkSec`.
   */
  | ({ kind: 'live'; to: string; ringSec?: number; maxTalkSec?: number } & ExternalCaller & Common);

/** A Call Control participant action on a live call, as the PBX received it. */
export interface ControlRequest {
  /** The official action name, or `hangup` for the remote party hanging up. */
  action: string;
  participantId: number;
  destination: string | null;
  /** Answered to the app once the PBX has applied it (or refused it: `reasontext`). */
  reply(result: { ok: true } | { ok: false; reasontext: string }): void;
}

export interface PlacedCall {
  callid: number;
  /** XAPI recording ids created for the answered legs, in order. */
  recordingIds: number[];
}

/** What happened to one agent's leg of a call, as the PBX itself knows it. */
export interface LegRecord {
  dn: string;
  /** answered = talked; missed = rang out unanswered; elsewhere = a colleague took the (queue) call. */
  outcome: 'answered' | 'missed' | 'elsewhere';
  talkSec: number;
  recordingId: number | null;
  /** The leg was cut off by a PBX restart (its talk ended at the cut, no end was reported). */
  cutByRestart?: true;
  /** Blind-transferred (Call Control `transferto`) to this extension or number. */
  transferredTo?: string;
}

/** The PBX's own record of a placed call: the oracle tests compare every downstream record with. */
export interface CallRecord extends PlacedCall {
  script: CallScript;
  direction: Direction;
  remote: { number: string; name: string };
  queue: string | null;
  /** The forms this call was actually sent through. */
  forms: Required<FormSwitches>;
  startedAt: string;
  endedAt: string;
  legs: LegRecord[];
}

/** What a script needs from the simulated PBX. */
export interface CallDriver {
  trunkDn: string;
  nextId(kind: 'call' | 'leg' | 'participant'): number;
  deviceOf(dn: string): string;
  nameOf(dn: string): string;
  /** Stores the participant and announces it (Upsert); resolves once watchers re-read it. */
  upsert(p: CallParticipant): Promise<void>;
  remove(p: CallParticipant): Promise<void>;
  /** A recording of the leg's talk from its answer to its end (ms), as 3CX writes it when the leg ends. */
  createRecording(p: CallParticipant, direction: 'inbound' | 'outbound', talk: { from: number; to: number }): XapiRecording;
  /** The PBX writes the call-log row of an agent leg that ended (not of one cut by a restart). */
  logLeg(leg: EndedLegLog): void;
  /** The PBX service restarts (see PbxSimulator.restart). */
  restart(opts: RestartOptions): Promise<void>;
  recordingUrl(id: number): string;
  forms: BusForms | null;
  step(): Promise<void>;
  /** Talk lasts `talkSec` in real time, so what watchers measure and what 3CX reports agree. */
  realTalkTime: boolean;
  /** Whether a DN is an extension of this PBX (a transfer rings it) rather than an outside number. */
  isExtension(dn: string): boolean;
  /** A live call starts taking Call Control requests (queued until its script asks for them). */
  openControl(callid: number): void;
  /** The next Call Control request on a live call's participants; null when none came within `timeoutMs`. */
  nextControl(callid: number, timeoutMs: number): Promise<ControlRequest | null>;
  /** The live call is over: later requests on it are refused. */
  closeControl(callid: number): void;
}

type Direction = 'inbound' | 'outbound';

/** What the PBX knows of an agent leg when it ends: the makings of its call-log row. */
export interface EndedLegLog {
  participant: CallParticipant;
  direction: Direction;
  queue: string | null;
  presentedAt: number;
  answeredAt: number | null;
  talkSec: number;
  recordingId: number | null;
}

class CallRun {
  readonly callid: number;
  readonly recordingIds: number[] = [];
  readonly legs: LegRecord[] = [];
  readonly startedAt = Date.now();
  readonly cc: boolean;
  readonly template: boolean;
  readonly webhook: boolean;
  private webhookSeq = 0;
  private readonly connectedAt = new Map<CallParticipant, number>();
  private readonly presentedAt = new Map<CallParticipant, number>();

  constructor(
    private readonly pbx: CallDriver,
    readonly direction: Direction,
    /** The remote party's number and name. */
    readonly remote: { number: string; name: string; did: string },
    readonly queue: string | null,
    forms: FormSwitches | undefined,
    private readonly record = true,
  ) {
    this.callid = pbx.nextId('call');
    this.cc = forms?.callControl ?? true;
    this.template = (forms?.template ?? true) && Boolean(pbx.forms?.templateEnabled);
    this.webhook = (forms?.webhook ?? true) && Boolean(pbx.forms?.webhookEnabled);
  }

  participant(dn: string, extra: Partial<CallParticipant> = {}): CallParticipant {
    const external: DnType = 'Wexternalline';
    return {
      id: this.pbx.nextId('participant'),
      status: this.direction === 'inbound' ? 'Ringing' : 'Dialing',
      dn,
      party_caller_name: this.remote.name,
      party_dn: this.pbx.trunkDn,
      party_caller_id: this.remote.number,
      party_did: this.remote.did,
      device_id: this.pbx.deviceOf(dn),
      party_dn_type: external,
      direct_control: false,
      originated_by_dn: this.direction === 'inbound' ? this.pbx.trunkDn : dn,
      originated_by_type: this.direction === 'inbound' ? external : 'Wextension',
      referred_by_dn: '',
      referred_by_type: '',
      on_behalf_of_dn: this.queue ?? '',
      on_behalf_of_type: this.queue ? 'Wqueue' : '',
      callid: this.callid,
      legid: this.pbx.nextId('leg'),
      ...extra,
    };
  }

  /** Presents the call at these DNs: participants appear, the CRM is asked who calls. */
  async present(legs: CallParticipant[]): Promise<void> {
    for (const p of legs) this.presentedAt.set(p, Date.now());
    if (this.cc) await Promise.all(legs.map((p) => this.pbx.upsert(p)));
    if (this.template) {
      for (const p of legs) {
        await this.pbx.forms!.lookup({ number: this.remote.number, direction: this.direction === 'inbound' ? 'Inbound' : 'Outbound', agent: p.dn });
      }
    }
    await this.sendWebhook('call.ringing', legs.map((p) => p.dn));
    await this.pbx.step();
  }

  /** `leg` picks up; `othersRinging` (queue) lose it, and the webhook names them with the winner. */
  async answer(leg: CallParticipant, othersRinging: CallParticipant[] = []): Promise<void> {
    leg.status = 'Connected';
    this.connectedAt.set(leg, Date.now());
    if (this.cc) await this.pbx.upsert(leg);
    await this.sendWebhook('call.answered', [leg.dn, ...othersRinging.map((p) => p.dn)], { answeredBy: leg.dn });
    await this.pbx.step();
  }

  /** A leg that lost to another agent (queue): it disappears after the answer, nobody journals it. */
  async withdraw(leg: CallParticipant): Promise<void> {
    this.legs.push({ dn: leg.dn, outcome: 'elsewhere', talkSec: 0, recordingId: null });
    this.logLeg(leg, 0, null);
    if (this.cc) await this.pbx.remove(leg);
  }

  /** A one-leg call ends: hung up, or cut by a restart when the script says so and it was answered. */
  end(leg: CallParticipant, talkSec: number, cutByRestart: RestartOptions | undefined): Promise<void> {
    return cutByRestart && leg.status === 'Connected' ? this.cut(leg, talkSec, cutByRestart) : this.finish(leg, talkSec);
  }

  /** Seconds the leg has talked so far (0 if it never connected). */
  talkedSec(leg: CallParticipant): number {
    const from = this.connectedAt.get(leg);
    return from === undefined ? 0 : Math.round((Date.now() - from) / 1000);
  }

  /** A leg ends: answered legs get a recording, every leg a journal entry and a webhook. */
  async finish(leg: CallParticipant, talkSec: number, extra: Pick<LegRecord, 'transferredTo'> = {}): Promise<void> {
    const answered = leg.status === 'Connected';
    const talk = answered ? await this.talk(leg, talkSec) : null;
    const recording = talk && this.record ? this.pbx.createRecording(leg, this.direction, talk) : null;
    if (recording) this.recordingIds.push(recording.Id);
    this.legs.push({ dn: leg.dn, outcome: answered ? 'answered' : 'missed', talkSec: answered ? talkSec : 0, recordingId: recording?.Id ?? null, ...extra });
    this.logLeg(leg, answered ? talkSec : 0, recording?.Id ?? null);
    if (this.cc) await this.pbx.remove(leg);
    await this.sendWebhook(answered ? 'call.ended' : 'call.missed', [leg.dn], { durationSec: answered ? talkSec : 0 });
    if (recording) await this.sendWebhook('call.recording_ready', [leg.dn], { durationSec: talkSec, recordingId: String(recording.Id) });
    if (this.template) await this.pbx.forms!.journal(this.journalBody(leg.dn, answered, talkSec, recording?.Id ?? null));
    await this.pbx.step();
  }

  /** The PBX restarts under an answered leg: it vanishes unannounced, and nobody reports its end. */
  async cut(leg: CallParticipant, talkSec: number, restart: RestartOptions): Promise<void> {
    const talk = await this.talk(leg, talkSec);
    const recording = this.record ? this.pbx.createRecording(leg, this.direction, talk) : null;
    if (recording) this.recordingIds.push(recording.Id);
    this.legs.push({ dn: leg.dn, outcome: 'answered', talkSec, recordingId: recording?.Id ?? null, cutByRestart: true });
    await this.pbx.restart(restart);
  }

  /**
   * The call-log row is written before the leg's Remove, as the CDR of a finished leg. A call with
   * Call Control switched off is one the API client cannot see (on a real PBX: an extension it does
   * not monitor, outside its department), so its XAPI call log has no row of it either.
   */
  private logLeg(leg: CallParticipant, talkSec: number, recordingId: number | null): void {
    if (!this.cc) return;
    const presentedAt = this.presentedAt.get(leg) ?? this.startedAt;
    this.pbx.logLeg({ participant: leg, direction: this.direction, queue: this.queue, presentedAt, answeredAt: this.connectedAt.get(leg) ?? null, talkSec, recordingId });
  }

  /** The leg talks (for real with realTalkTime); returns when it talked from and to. */
  private async talk(leg: CallParticipant, talkSec: number): Promise<{ from: number; to: number }> {
    const from = this.connectedAt.get(leg)!;
    if (!this.pbx.realTalkTime) return { from, to: Date.now() };
    const to = from + talkSec * 1000;
    if (to > Date.now()) await new Promise((r) => setTimeout(r, to - Date.now()));
    return { from, to };
  }

  /** An unanswered queue call: one webhook for the call, a Missed journal per agent offered it. */
  async missAll(legs: CallParticipant[]): Promise<void> {
    for (const p of legs) {
      this.legs.push({ dn: p.dn, outcome: 'missed', talkSec: 0, recordingId: null });
      this.logLeg(p, 0, null);
    }
    if (this.cc) await Promise.all(legs.map((p) => this.pbx.remove(p)));
    await this.sendWebhook('call.missed', legs.map((p) => p.dn), { durationSec: 0 });
    if (this.template) for (const p of legs) await this.pbx.forms!.journal(this.journalBody(p.dn, false, 0, null));
    await this.pbx.step();
  }

  private async sendWebhook(
    type: WebhookCallPayload['type'],
    extensions: string[],
    { durationSec, recordingId, answeredBy }: { durationSec?: number; recordingId?: string; answeredBy?: string } = {},
  ): Promise<void> {
    if (!this.webhook) return;
    const agentParty = { number: extensions[0] ?? '', name: extensions[0] ? this.pbx.nameOf(extensions[0]) : null };
    const remoteParty = { number: this.remote.number, name: this.remote.name || null };
    const payload: WebhookCallPayload = {
      type,
      timestamp: new Date().toISOString(),
      data: {
        callId: String(this.callid),
        direction: this.direction,
        from: this.direction === 'inbound' ? remoteParty : agentParty,
        to: this.direction === 'inbound' ? agentParty : remoteParty,
        extensions,
        ...(answeredBy ? { answeredBy } : {}),
        queue: this.queue,
        durationSec: durationSec ?? null,
        recordingId: recordingId ?? null,
      },
    };
    await this.pbx.forms!.sendWebhook(`msg_${this.callid}_${++this.webhookSeq}`, payload);
  }

  private journalBody(agent: string, answered: boolean, talkSec: number, recordingId: number | null): JournalBody {
    const end = new Date();
    const callType = this.direction === 'inbound' ? (answered ? 'Inbound' : 'Missed') : answered ? 'Outbound' : 'Notanswered';
    return {
      callType,
      direction: this.direction === 'inbound' ? 'Inbound' : 'Outbound',
      number: this.remote.number,
      name: this.remote.name,
      agent,
      agentEmail: '',
      duration: hhmmss(talkSec),
      dateTime: end.toISOString().replace('T', ' ').slice(0, 19),
      startUtc: isoSeconds(new Date(Math.min(this.startedAt, end.getTime() - talkSec * 1000))),
      endUtc: isoSeconds(end),
      queue: this.queue ?? '',
      entityId: '',
      recordingUrl: recordingId === null ? '' : this.pbx.recordingUrl(recordingId),
    };
  }
}

function hhmmss(sec: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(sec / 3600))}:${pad(Math.floor((sec % 3600) / 60))}:${pad(sec % 60)}`;
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export async function runScript(pbx: CallDriver, script: CallScript): Promise<CallRecord> {
  const call = await play(pbx, script);
  return {
    callid: call.callid,
    recordingIds: [...call.recordingIds],
    script,
    direction: call.direction,
    remote: { number: call.remote.number, name: call.remote.name },
    queue: call.queue,
    forms: { callControl: call.cc, template: call.template, webhook: call.webhook },
    startedAt: new Date(call.startedAt).toISOString(),
    endedAt: new Date().toISOString(),
    legs: [...call.legs],
  };
}

async function play(pbx: CallDriver, script: CallScript): Promise<CallRun> {
  const talkSec = script.talkSec ?? 30;
  switch (script.kind) {
    case 'inbound': {
      const call = new CallRun(pbx, 'inbound', external(script), null, script.forms, script.record);
      const leg = call.participant(script.to);
      await call.present([leg]);
      if (script.answer ?? true) await call.answer(leg);
      await call.end(leg, talkSec, script.cutByRestart);
      return call;
    }
    case 'queue': {
      const call = new CallRun(pbx, 'inbound', external(script), script.queue, script.forms, script.record);
      const legs = script.agents.map((dn) => call.participant(dn));
      await call.present(legs);
      const winner = legs.find((p) => p.dn === script.answeredBy);
      if (!winner) {
        await call.missAll(legs);
        return call;
      }
      const losers = legs.filter((p) => p !== winner);
      await call.answer(winner, losers);
      for (const loser of losers) await call.withdraw(loser);
      await call.finish(winner, talkSec);
      return call;
    }
    case 'outbound': {
      const call = new CallRun(pbx, 'outbound', { number: script.to, name: script.toName ?? '', did: '' }, null, script.forms, script.record);
      const leg = call.participant(script.from);
      await call.present([leg]);
      if (script.answer ?? true) await call.answer(leg);
      await call.end(leg, talkSec, script.cutByRestart);
      return call;
    }
    case 'live':
      return playLive(pbx, script);
    case 'transfer': {
      const call = new CallRun(pbx, 'inbound', external(script), null, script.forms, script.record);
      const first = call.participant(script.to);
      await call.present([first]);
      await call.answer(first);
      const second = call.participant(script.transferTo, { referred_by_dn: script.to, referred_by_type: 'Wextension' });
      await call.present([second]);
      await call.finish(first, talkSec);
      await call.answer(second);
      await call.finish(second, talkSec);
      return call;
    }
  }
}

/** A live call: each step waits for what an app (or the caller) does through the PBX. */
async function playLive(pbx: CallDriver, script: Extract<CallScript, { kind: 'live' }>): Promise<CallRun> {
  const call = new CallRun(pbx, 'inbound', external(script), null, script.forms, script.record);
  let leg = call.participant(script.to);
  // Open before presenting: an app may answer as soon as it sees the ring, before presenting is done.
  pbx.openControl(call.callid);
  try {
    await call.present([leg]);
    for (;;) {
      const ringing = leg.status === 'Ringing';
      const request = await pbx.nextControl(call.callid, (ringing ? (script.ringSec ?? 30) : (script.maxTalkSec ?? 600)) * 1000);
      if (!request) {
        await call.finish(leg, call.talkedSec(leg));
        return call;
      }
      if (request.participantId !== leg.id && request.action !== 'hangup') {
        request.reply({ ok: false, reasontext: 'The participant is no longer part of this call' });
        continue;
      }
      switch (request.action) {
        case 'answer':
          if (!ringing) {
            request.reply({ ok: false, reasontext: 'The participant is not ringing' });
            continue;
          }
          await call.answer(leg);
          request.reply({ ok: true });
          continue;
        case 'drop':
        case 'hangup':
          await call.finish(leg, call.talkedSec(leg));
          request.reply({ ok: true });
          return call;
        case 'transferto': {
          const destination = request.destination!;
          if (ringing) {
            request.reply({ ok: false, reasontext: 'Only a connected participant can be transferred' });
            continue;
          }
          const next = pbx.isExtension(destination) ? call.participant(destination, { referred_by_dn: leg.dn, referred_by_type: 'Wextension' }) : null;
          if (next) await call.present([next]);
          await call.finish(leg, call.talkedSec(leg), { transferredTo: destination });
          request.reply({ ok: true });
          if (!next) return call;
          leg = next;
          continue;
        }
        default:
          request.reply({ ok: false, reasontext: `${request.action} is not simulated` });
      }
    }
  } finally {
    pbx.closeControl(call.callid);
  }
}

function external(s: ExternalCaller): { number: string; name: string; did: string } {
  return { number: s.from, name: s.fromName ?? '', did: s.did ?? '' };
}
