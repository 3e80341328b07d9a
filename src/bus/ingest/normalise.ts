// The normaliser: every ingest form (CRM template, webhook, Call Control) hands it a
// CallObservation; it resolves the PBX, normalises numbers to E.164 with the PBX's country
// (pbxNumberToE164: 3CX's 00 + country code first, then the country's own dialling rules),
// fixes a deterministic event id, checks the result against CallEvent v1 and appends it to the
// tenant's log. Only after the append resolves may the adapter answer the PBX.
//
// One transition, one event — the correlation rule:
// - A transition is (PBX, call, type class, agent set). The type class merges `ended` and
//   `missed`: a call ends once, whatever each form calls the outcome.
// - Forms with a call id (Call Control, webhook) key on (pbx, pbxCallId, class, agents). Retries
//   and a second id-carrying form produce the same key, and the log drops the repeat.
// - The CRM template carries no call id. The normaliser keeps, per PBX and in memory, the recent
//   calls it has seen, indexed by remote party (E.164, else the raw number). A template
//   observation matches a recent call with the same remote party whose agents overlap its own
//   (or either side names no agent), when that call logged the same class within the window:
//   2 min for ringing/answered, 5 min for the end. A match reuses that transition's key, so the
//   log reports a duplicate. A lookup (ringing) only matches a call that has not ended: a lookup
//   after the call ended is the next call. A journal (the end) only matches an end that is the
//   same call: one logged or already matched by a journal with the same identity (its times,
//   duration and call type: an unchanged retry), or one logged by a form with a call id that no
//   journal has matched yet, whose end time is within 10 s of the journal's (either may be
//   unknown, as for an end cut off by a lost connection). So a missed call and the call-back a
//   minute later, between the same number and agent, are two calls; a journal with no times
//   tells calls apart only by duration and type.
//   With no match, a template observation joins a call that is still open (same remote, agents
//   overlap, seen within the last hour, this class not yet logged for those agents) and uses its
//   call id; otherwise it opens a call with a `tpl_` id derived from what it saw (a journal's
//   identity, else the second), never the id of a call still remembered.
// - The reverse order works the same way: an id-carrying observation first looks its call id up,
//   then looks for a template-opened call (same remote, agents overlap, within the window) and
//   adopts it, so a later Call Control event for a transition the template logged is a duplicate.
// - Index entries are written before the append (synchronously, so two forms racing on the same
//   transition agree on one key); a failed append leaves a key that simply gets appended later.
// - The index is per process: after a restart, or across nodes, cross-form duplicates inside the
//   window can get through (each form on its own stays idempotent through its deterministic key).
//
// An `ended` that was never answered becomes `missed`: duration 0, or no duration and this
// normaliser saw the call ring but never saw it answered.
//
// Every `answered` names who answered (`answeredBy`): the form's own word for it, else the one
// agent it concerns. A queue call's `answered` may concern several agents (everyone it rang):
// the answering extension is always one of them.
import { createHash } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js';
import { CALL_EVENT_VERSION, CallEventSchema, type CallEvent, type CallEventType, type Party } from '../../shared/call-event.js';
import { cleanRawNumber, pbxNumberToE164 } from '../../shared/phone.js';
import type { EventLog } from '../log/port.js';
import type { TenantStore } from '../tenants/port.js';
import type { CallObservation, IngestResult, Ingestor } from './observation.js';

export const RINGING_WINDOW_MS = 2 * 60_000;
export const END_WINDOW_MS = 5 * 60_000;
/** How far apart two forms' end times of one call may be: clocks and delivery, not another call. */
export const END_CLOCK_SLACK_MS = 10_000;
/** How long an unfinished call may be joined by a later template observation. */
export const OPEN_CALL_WINDOW_MS = 60 * 60_000;
/** Delivery ids are remembered a little past the webhook timestamp tolerance (5 min). */
export const DELIVERY_MEMORY_MS = 10 * 60_000;
const SWEEP_EVERY = 512;

export type IngestErrorCode = 'unknown-pbx' | 'invalid' | 'replayed';

/** Why an observation was refused; adapters turn it into a 4xx problem. Nothing was stored. */
export class IngestError extends Error {
  override name = 'IngestError';
  constructor(
    readonly code: IngestErrorCode,
    message: string,
  ) {
    super(message);
  }
}

type TypeClass = 'ringing' | 'answered' | 'end' | 'recording_ready';
const classOf = (type: CallEventType): TypeClass => (type === 'ended' || type === 'missed' ? 'end' : type);
const windowOf = (cls: TypeClass): number => (cls === 'end' ? END_WINDOW_MS : RINGING_WINDOW_MS);

interface Transition {
  cls: TypeClass;
  agents: string[];
  key: string;
  at: number;
  /** End only: the end time the form reported (ms), when it reported one. */
  endedAt: number | null;
  /** End only: the identity of the template journal that logged this end or was matched to it. */
  journal: string | null;
}

interface RecentCall {
  pbxCallId: string;
  remoteKey: string;
  /** Opened by the CRM template (no PBX call id known yet). */
  fromTemplate: boolean;
  transitions: Transition[];
  answered: boolean;
  rang: boolean;
  closedAt: number | null;
  lastAt: number;
}

class PbxCalls {
  readonly byCallId = new Map<string, RecentCall>();
  readonly byRemote = new Map<string, RecentCall[]>();

  add(call: RecentCall): void {
    this.byCallId.set(call.pbxCallId, call);
    const list = this.byRemote.get(call.remoteKey);
    if (list) list.push(call);
    else this.byRemote.set(call.remoteKey, [call]);
  }

  /**
   * A call id for a call the template opens, derived from what it saw (so a retry after a restart
   * can land on the same id) but never one a recent call holds: that is another call.
   */
  newTemplateCallId(parts: Array<string | number>): string {
    for (let n = 0; ; n++) {
      const id = `tpl_${sha([...parts, ...(n > 0 ? [n] : [])].join('\n')).slice(0, 24)}`;
      if (!this.byCallId.has(id)) return id;
    }
  }

  /** Newest first. */
  candidates(remoteKey: string, agents: string[], predicate: (c: RecentCall) => boolean): RecentCall | undefined {
    const list = this.byRemote.get(remoteKey) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const call = list[i]!;
      if (predicate(call) && call.transitions.some((t) => agentsOverlap(t.agents, agents))) return call;
    }
    return undefined;
  }

  sweep(nowMs: number): void {
    for (const [remoteKey, list] of this.byRemote) {
      const kept = list.filter((c) => !isStale(c, nowMs));
      if (kept.length) this.byRemote.set(remoteKey, kept);
      else this.byRemote.delete(remoteKey);
    }
    for (const [id, call] of this.byCallId) if (isStale(call, nowMs)) this.byCallId.delete(id);
  }
}

function isStale(call: RecentCall, nowMs: number): boolean {
  return call.closedAt !== null ? nowMs - call.closedAt > END_WINDOW_MS : nowMs - call.lastAt > OPEN_CALL_WINDOW_MS;
}

function agentsOverlap(a: string[], b: string[]): boolean {
  return a.length === 0 || b.length === 0 || a.some((x) => b.includes(x));
}

const sha = (s: string) => createHash('sha256').update(s).digest('base64url');

const EXTENSION = /^\d{1,8}$/;

function party(raw: string, name: string | null, country: CountryCode, extensions: string[]): Party {
  const cleaned = cleanRawNumber(raw);
  const e164 = pbxNumberToE164(raw, country);
  const isExtension = e164 === null && (extensions.includes(cleaned) || EXTENSION.test(cleaned));
  return { raw, e164, name: name && name.trim() ? name.trim() : null, extension: isExtension ? cleaned : null };
}

export interface IngestorOptions {
  log: EventLog;
  tenants: Pick<TenantStore, 'getPbx'>;
  now?: () => Date;
}

export function createIngestor(opts: IngestorOptions): Ingestor {
  const now = opts.now ?? (() => new Date());
  const calls = new Map<string, PbxCalls>();
  const deliveries = new Map<string, number>();
  let sinceSweep = 0;

  const callsOf = (pbxId: string) => {
    let c = calls.get(pbxId);
    if (!c) calls.set(pbxId, (c = new PbxCalls()));
    return c;
  };

  function sweep(nowMs: number): void {
    for (const c of calls.values()) c.sweep(nowMs);
    for (const [id, expiresAt] of deliveries) if (expiresAt <= nowMs) deliveries.delete(id);
  }

  return {
    async ingest(obs: CallObservation): Promise<IngestResult> {
      const pbx = await opts.tenants.getPbx(obs.pbxId);
      if (!pbx || pbx.tenantId !== obs.tenantId) throw new IngestError('unknown-pbx', `no PBX ${obs.pbxId} in this tenant`);

      if (Number.isNaN(obs.pbxTime.getTime())) throw new IngestError('invalid', 'pbxTime: not a valid time');
      const receivedAt = now();
      const nowMs = receivedAt.getTime();
      if (++sinceSweep >= SWEEP_EVERY) {
        sinceSweep = 0;
        sweep(nowMs);
      }

      const deliveryKey = obs.deliveryId === undefined ? null : `${obs.pbxId}\n${obs.deliveryId}`;
      if (deliveryKey !== null && (deliveries.get(deliveryKey) ?? 0) > nowMs) {
        throw new IngestError('replayed', `delivery ${obs.deliveryId} was already received`);
      }

      const answeredBy = obs.type === 'answered' ? (obs.answeredBy ?? (new Set(obs.agents).size === 1 ? obs.agents[0]! : null)) : null;
      const extensions = [...new Set(answeredBy === null ? obs.extensions : [...obs.extensions, answeredBy])];
      const agents = [...new Set(answeredBy === null ? obs.agents : [...obs.agents, answeredBy])].sort();
      const caller = party(obs.caller.raw, obs.caller.name, pbx.defaultCountry, extensions);
      const callee = party(obs.callee.raw, obs.callee.name, pbx.defaultCountry, extensions);
      const remote = obs.direction === 'inbound' ? caller : callee;
      const remoteKey = remote.e164 ?? `raw:${cleanRawNumber(remote.raw)}`;
      const cls = classOf(obs.type);
      const index = callsOf(obs.pbxId);

      // Which call this is, and whether this transition was already logged (see the rule above).
      const journal = obs.journal ?? null;
      // An end cut off by a lost connection carries only when the call was last seen: not its end.
      const reportedEnd = obs.endReason === 'connection_lost' ? null : obs.pbxTime.getTime();
      const endedAt = cls !== 'end' ? null : journal ? (journal.endedAt?.getTime() ?? null) : reportedEnd;
      const sameEnd = (t: Transition) =>
        journal === null ||
        t.journal === journal.identity ||
        (t.journal === null && (t.endedAt === null || endedAt === null || Math.abs(t.endedAt - endedAt) <= END_CLOCK_SLACK_MS));
      const sameTransition = (c: RecentCall) =>
        c.transitions.find((t) => t.cls === cls && nowMs - t.at <= windowOf(cls) && agentsOverlap(t.agents, agents) && sameEnd(t));
      let call: RecentCall | undefined;
      if (obs.pbxCallId !== null) {
        call =
          index.byCallId.get(obs.pbxCallId) ??
          index.candidates(remoteKey, agents, (c) => c.fromTemplate && nowMs - c.lastAt <= windowOf(cls) && (c.closedAt === null || cls === 'end'));
      } else {
        const open = (c: RecentCall) => c.closedAt === null;
        call =
          index.candidates(remoteKey, agents, (c) => (cls === 'end' || open(c)) && sameTransition(c) !== undefined) ??
          index.candidates(
            remoteKey,
            agents,
            (c) => open(c) && nowMs - c.lastAt <= OPEN_CALL_WINDOW_MS && !c.transitions.some((t) => t.cls === cls && agentsOverlap(t.agents, agents)),
          );
      }
      const pbxCallId =
        obs.pbxCallId ??
        call?.pbxCallId ??
        index.newTemplateCallId([obs.pbxId, remoteKey, agents.join(','), cls, journal?.identity ?? Math.floor(obs.pbxTime.getTime() / 1000)]);
      const existing = call ? sameTransition(call) : undefined;
      const key = existing?.key ?? `ev_${sha([obs.pbxId, pbxCallId, cls, agents.join(',')].join('\n')).slice(0, 32)}`;

      let type = obs.type;
      if (type === 'ended' && (obs.durationSec === 0 || (obs.durationSec === null && call?.rang === true && !call.answered))) type = 'missed';

      const parsed = CallEventSchema.safeParse({
        v: CALL_EVENT_VERSION,
        id: key,
        tenantId: obs.tenantId,
        pbxId: obs.pbxId,
        pbxCallId,
        type,
        direction: obs.direction,
        caller,
        callee,
        extensions,
        queue: obs.queue,
        agents,
        pbxTime: obs.pbxTime.toISOString(),
        receivedAt: receivedAt.toISOString(),
        durationSec: type === 'ended' || type === 'missed' ? obs.durationSec : null,
        recording: obs.recording,
        source: obs.source,
        ...(type === 'answered' ? { answeredBy } : {}),
        ...(cls === 'end' && obs.endReason ? { endReason: obs.endReason } : {}),
      } satisfies CallEvent);
      if (!parsed.success) {
        throw new IngestError('invalid', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      }

      // Commit to the index before the append (see the rule above).
      if (!call) {
        call = { pbxCallId, remoteKey, fromTemplate: obs.pbxCallId === null, transitions: [], answered: false, rang: false, closedAt: null, lastAt: nowMs };
        index.add(call);
      } else if (obs.pbxCallId !== null && call.fromTemplate) {
        // The PBX's own id now names this call, for its later events from either form.
        call.fromTemplate = false;
        call.pbxCallId = obs.pbxCallId;
        index.byCallId.set(obs.pbxCallId, call);
      }
      if (!existing) call.transitions.push({ cls, agents, key, at: nowMs, endedAt, journal: journal?.identity ?? null });
      else if (journal && existing.journal === null) existing.journal = journal.identity;
      call.lastAt = nowMs;
      if (cls === 'ringing') call.rang = true;
      if (cls === 'answered') call.answered = true;
      if (cls === 'end' && call.closedAt === null) call.closedAt = nowMs;
      if (deliveryKey !== null) deliveries.set(deliveryKey, nowMs + DELIVERY_MEMORY_MS);

      try {
        const appended = await opts.log.append(obs.tenantId, parsed.data, key);
        return { offset: appended.offset, epoch: appended.epoch, duplicate: appended.duplicate, eventId: key };
      } catch (err) {
        // Not stored: the sender's retry of this delivery must be accepted.
        if (deliveryKey !== null) deliveries.delete(deliveryKey);
        throw err;
      }
    },
  };
}
