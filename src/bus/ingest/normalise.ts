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
// - A restarted PBX numbers its calls anew, so one PBX call id can name several calls (instances).
//   The normaliser remembers, per PBX and call id, each instance: when its first observation
//   occurred (its anchor, PBX time) and when its latest logged end occurred. An id-carrying
//   observation belongs to the newest instance anchored no later than it occurred (+10 s clock
//   slack; after the ring, the newest of those its agents were part of), so a late retry of an
//   older call's transition still finds that call and is a duplicate (one older than every
//   remembered instance is of a forgotten call: the bare id).
//   It opens a new instance instead when it is a `ringing` that occurred more than 10 s after that
//   instance's last logged end (a call rings before anything else; a transfer leg rings as the
//   other leg ends), or when Call Control flags the id as reused after a PBX restart
//   (`reusedCallId`) and that instance was anchored by the connector's last sign of the PBX before
//   the restart (a new call that another form reported first is anchored after it). A new
//   instance's events carry the id qualified by when it occurred (`1001@2026-…Z`), so every key of
//   it (and every recording it gets) is its own, and every later observation of the id, from any
//   form, joins it. The first instance of an id keeps the bare id. A Call Control leg restored from
//   the log on takeover names its instance (`instanceId`): that id is kept, whatever memory holds.
// - With no instance of the id in memory (a bus restart, or an earlier call long swept), the log
//   decides for a ring: when the append answers "duplicate" but the stored ring occurred more than
//   2 min (its window, below) from this one, the id was reused and the call takes the qualified id
//   and is appended again; its later transitions join it in memory. Left open: after a bus restart,
//   a reused id whose earlier call rang within 2 min is taken for that call, a new call whose ring
//   never arrived is too, and a bus restart in the middle of a reused-id call leaves its later
//   transitions under the bare id.
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
// Delivery ids (webhook-id, Call Control's deliveryId) are remembered in a DeliveryStore that
// outlives the process and is shared by every node, once the event is in the log: an identical
// retry (same id, event time and content digest) is a duplicate of the event it became, stored
// nothing new; the same id and event time with other content is refused. The same id with another
// event time is another delivery (see deliveryKey). A delivery that failed to store left no record,
// so its retry is accepted. A log that keeps delivery ids itself (SQLite) stores a new event's
// delivery in the append's own commit; any other is remembered once the append resolved.
//
// An `ended` that was never answered becomes `missed`: duration 0, or no duration and this
// normaliser saw the call ring but never saw it answered.
//
// Every `answered` names who answered (`answeredBy`): the form's own word for it, else the one
// agent it concerns. A queue call's `answered` may concern several agents (everyone it rang):
// the answering extension is always one of them.
import type { CountryCode } from 'libphonenumber-js';
import { LRUCache } from 'lru-cache';
import { CALL_EVENT_VERSION, CallEventSchema, type CallEvent, type CallEventType, type Party } from '../../shared/call-event.js';
import { cleanRawNumber, pbxNumberToE164 } from '../../shared/phone.js';
import type { EventLog } from '../log/port.js';
import type { TenantStore } from '../tenants/port.js';
import { contentDigest, deliveryKey, type DeliveryStore } from './deliveries/port.js';
import { sha256Url } from './digest.js';
import { openMemoryDeliveryStore } from './deliveries/sqlite.js';
import type { CallObservation, IngestResult, Ingestor } from './observation.js';

export const RINGING_WINDOW_MS = 2 * 60_000;
export const END_WINDOW_MS = 5 * 60_000;
/** How far apart two forms' end times of one call may be: clocks and delivery, not another call. */
export const END_CLOCK_SLACK_MS = 10_000;
/** How long an unfinished call may be joined by a later template observation. */
export const OPEN_CALL_WINDOW_MS = 60 * 60_000;
const SWEEP_EVERY = 512;

export type IngestErrorCode = 'unknown-pbx' | 'invalid' | 'delivery-reused';

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
  /** The id its events carry: the PBX's, qualified when the PBX reused it (`1001@<anchor ISO>`). */
  pbxCallId: string;
  /** The id as the forms carry it (the PBX's bare id, or the template's `tpl_` id): the index key. */
  callId: string;
  /** When its first observation occurred (PBX time, ms). */
  anchor: number;
  /** When its latest logged end occurred (PBX time, ms). */
  lastEndAt: number | null;
  /** Opened by a ring with no memory of its PBX call id: the log may hold an earlier call's keys for it. */
  unchecked: boolean;
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
  /** Every remembered instance of a call id. */
  readonly byCallId = new Map<string, RecentCall[]>();
  readonly byRemote = new Map<string, RecentCall[]>();

  add(call: RecentCall): void {
    this.addCallId(call);
    const list = this.byRemote.get(call.remoteKey);
    if (list) list.push(call);
    else this.byRemote.set(call.remoteKey, [call]);
  }

  addCallId(call: RecentCall): void {
    const list = this.byCallId.get(call.callId);
    if (list) list.push(call);
    else this.byCallId.set(call.callId, [call]);
  }

  /**
   * The instance of a PBX call id that an observation occurring at `at` belongs to, or the id a new
   * instance takes (see the rule above).
   */
  instanceOf(callId: string, agents: string[], at: number, cls: TypeClass, obs: Pick<CallObservation, 'reusedCallId' | 'instanceId'>): { call: RecentCall | undefined; pbxCallId: string } {
    // The log already named this call's instance (a leg restored on takeover): that id, whatever memory holds.
    const known = obs.instanceId;
    if (known !== undefined) return { call: this.byCallId.get(callId)?.find((c) => c.pbxCallId === known), pbxCallId: known };
    const reused = obs.reusedCallId;
    // The newest instance begun by then, so a late observation of an older one still finds it; one
    // older than every remembered instance is of a forgotten call, which had the bare id. After the
    // ring, the newest one these agents were part of: a leg's end or recording that comes after
    // another leg of the call rang anew (a transfer to a queue) is still its own call's.
    const begun = (this.byCallId.get(callId) ?? []).filter((c) => c.anchor <= at + END_CLOCK_SLACK_MS).sort((a, b) => b.anchor - a.anchor);
    const current = (cls === 'ringing' ? undefined : begun.find((c) => c.transitions.some((t) => agentsOverlap(t.agents, agents)))) ?? begun[0];
    if (!current) return { call: undefined, pbxCallId: callId };
    const restarted = reused !== undefined && current.anchor <= reused.earlierRunUntil.getTime();
    const rangAfterEnd = cls === 'ringing' && current.lastEndAt !== null && at > current.lastEndAt + END_CLOCK_SLACK_MS;
    return restarted || rangAfterEnd ? { call: undefined, pbxCallId: qualifiedCallId(callId, at) } : { call: current, pbxCallId: current.pbxCallId };
  }

  /**
   * A call id for a call the template opens, derived from what it saw (so a retry after a restart
   * can land on the same id) but never one a recent call holds: that is another call.
   */
  newTemplateCallId(parts: Array<string | number>): string {
    for (let n = 0; ; n++) {
      const id = `tpl_${sha256Url([...parts, ...(n > 0 ? [n] : [])].join('\n')).slice(0, 24)}`;
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
    for (const [id, list] of this.byCallId) {
      const kept = list.filter((c) => !isStale(c, nowMs));
      if (kept.length) this.byCallId.set(id, kept);
      else this.byCallId.delete(id);
    }
  }
}

function isStale(call: RecentCall, nowMs: number): boolean {
  return call.closedAt !== null ? nowMs - call.closedAt > END_WINDOW_MS : nowMs - call.lastAt > OPEN_CALL_WINDOW_MS;
}

function agentsOverlap(a: string[], b: string[]): boolean {
  return a.length === 0 || b.length === 0 || a.some((x) => b.includes(x));
}

/** A reused PBX call id, qualified by when its new call was first seen; within CallEvent's 128 characters. */
function qualifiedCallId(callId: string, at: number): string {
  const stamp = `@${new Date(at).toISOString()}`;
  return `${callId.length + stamp.length <= 128 ? callId : sha256Url(callId).slice(0, 32)}${stamp}`;
}

const EXTENSION = /^\d{1,8}$/;

/** E.164 of a number 3CX sent, read as `pbxNumberToE164` does. */
type NumberReader = (raw: string, country: CountryCode) => string | null;

/** How many distinct numbers (with their PBX's country) an ingestor keeps read. */
const READ_NUMBERS_KEPT = 10_000;

/**
 * `pbxNumberToE164` with its answers kept (least recently used dropped past READ_NUMBERS_KEPT):
 * libphonenumber's parse is the largest single cost per webhook in a CPU profile of the bus, and the
 * same numbers recur (every transition of a call repeats its two; extensions and queues recur across calls).
 */
function numberReader(): NumberReader {
  const read = new LRUCache<string, { e164: string | null }>({ max: READ_NUMBERS_KEPT });
  return (raw, country) => {
    const key = `${country}\n${raw}`;
    let hit = read.get(key);
    if (!hit) read.set(key, (hit = { e164: pbxNumberToE164(raw, country) }));
    return hit.e164;
  };
}

function party(readNumber: NumberReader, raw: string, name: string | null, country: CountryCode, extensions: string[]): Party {
  const cleaned = cleanRawNumber(raw);
  const e164 = readNumber(raw, country);
  const isExtension = e164 === null && (extensions.includes(cleaned) || EXTENSION.test(cleaned));
  return { raw, e164, name: name && name.trim() ? name.trim() : null, extension: isExtension ? cleaned : null };
}

export interface IngestorOptions {
  log: EventLog;
  tenants: Pick<TenantStore, 'getPbx'>;
  /** Where delivery ids are remembered: default the log's own (`log.deliveries`), else in memory (this ingestor only, as in tests). */
  deliveries?: DeliveryStore;
  now?: () => Date;
}

export function createIngestor(opts: IngestorOptions): Ingestor {
  const now = opts.now ?? (() => new Date());
  const calls = new Map<string, PbxCalls>();
  const readNumber = numberReader();
  const deliveries = opts.deliveries ?? opts.log.deliveries ?? openMemoryDeliveryStore();
  // The log may store a delivery with its event only where this ingestor looks deliveries up.
  const logStoresDeliveries = opts.log.deliveries !== undefined && deliveries === opts.log.deliveries;
  let sinceSweep = 0;

  const callsOf = (pbxId: string) => {
    let c = calls.get(pbxId);
    if (!c) calls.set(pbxId, (c = new PbxCalls()));
    return c;
  };

  function sweep(nowMs: number): void {
    for (const c of calls.values()) c.sweep(nowMs);
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

      const at = obs.pbxTime.getTime();
      const delivery = obs.deliveryId === undefined ? null : { key: deliveryKey(obs.pbxId, obs.deliveryId, at), digest: contentDigest(obs) };
      if (delivery !== null) {
        const delivered = await deliveries.find(delivery.key);
        if (delivered?.digest === delivery.digest) return { duplicate: true, eventId: delivered.eventId };
        if (delivered) throw new IngestError('delivery-reused', `delivery ${obs.deliveryId} was already received with other content for the same event time`);
      }

      const answeredBy = obs.type === 'answered' ? (obs.answeredBy ?? (new Set(obs.agents).size === 1 ? obs.agents[0]! : null)) : null;
      const extensions = [...new Set(answeredBy === null ? obs.extensions : [...obs.extensions, answeredBy])];
      const agents = [...new Set(answeredBy === null ? obs.agents : [...obs.agents, answeredBy])].sort();
      const caller = party(readNumber, obs.caller.raw, obs.caller.name, pbx.defaultCountry, extensions);
      const callee = party(readNumber, obs.callee.raw, obs.callee.name, pbx.defaultCountry, extensions);
      const remote = obs.direction === 'inbound' ? caller : callee;
      const remoteKey = remote.e164 ?? `raw:${cleanRawNumber(remote.raw)}`;
      const cls = classOf(obs.type);
      const index = callsOf(obs.pbxId);

      // Which call this is, and whether this transition was already logged (see the rule above).
      const journal = obs.journal ?? null;
      // An end cut off by a lost connection carries only when the call was last seen: not its end.
      const reportedEnd = obs.endReason === 'connection_lost' ? null : at;
      const endedAt = cls !== 'end' ? null : journal ? (journal.endedAt?.getTime() ?? null) : reportedEnd;
      const sameEnd = (t: Transition) =>
        journal === null ||
        t.journal === journal.identity ||
        (t.journal === null && (t.endedAt === null || endedAt === null || Math.abs(t.endedAt - endedAt) <= END_CLOCK_SLACK_MS));
      const sameTransition = (c: RecentCall) =>
        c.transitions.find((t) => t.cls === cls && nowMs - t.at <= windowOf(cls) && agentsOverlap(t.agents, agents) && sameEnd(t));
      let call: RecentCall | undefined;
      let instanceId: string | null = null;
      if (obs.pbxCallId !== null) {
        const instance = index.instanceOf(obs.pbxCallId, agents, at, cls, obs);
        instanceId = instance.pbxCallId;
        call =
          instance.call ??
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
        instanceId ??
        call?.pbxCallId ??
        index.newTemplateCallId([obs.pbxId, remoteKey, agents.join(','), cls, journal?.identity ?? Math.floor(at / 1000)]);
      const existing = call ? sameTransition(call) : undefined;
      const keyOf = (id: string) => `ev_${sha256Url([obs.pbxId, id, cls, agents.join(',')].join('\n')).slice(0, 32)}`;
      const key = existing?.key ?? keyOf(pbxCallId);

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
      const unknownId = obs.pbxCallId !== null && pbxCallId === obs.pbxCallId && !index.byCallId.has(obs.pbxCallId) && cls === 'ringing';
      if (!call) {
        call = {
          pbxCallId, callId: obs.pbxCallId ?? pbxCallId, anchor: at, lastEndAt: null, unchecked: unknownId, remoteKey,
          fromTemplate: obs.pbxCallId === null, transitions: [], answered: false, rang: false, closedAt: null, lastAt: nowMs,
        };
        index.add(call);
      } else if (obs.pbxCallId !== null && call.fromTemplate) {
        // The PBX's own id now names this call, for its later events from either form.
        call.fromTemplate = false;
        call.pbxCallId = pbxCallId;
        call.callId = obs.pbxCallId;
        call.unchecked = unknownId;
        index.addCallId(call);
      }
      const transition: Transition = existing ?? { cls, agents, key, at: nowMs, endedAt, journal: journal?.identity ?? null };
      if (!existing) call.transitions.push(transition);
      else if (journal && existing.journal === null) existing.journal = journal.identity;
      call.lastAt = nowMs;
      if (cls === 'ringing') call.rang = true;
      if (cls === 'answered') call.answered = true;
      if (cls === 'end' && call.closedAt === null) call.closedAt = nowMs;
      if (cls === 'end') call.lastEndAt = Math.max(call.lastEndAt ?? -Infinity, endedAt ?? at);

      // Only a ring: a connector restarted with the bus reports a call it finds talking as answered
      // now, long after the answer it logged before; that is the same call.
      const checkLog = call.unchecked && cls === 'ringing';
      const deliveryOf = (eventId: string) => (delivery !== null && logStoresDeliveries ? { key: delivery.key, record: { digest: delivery.digest, eventId } } : undefined);
      let appended = await opts.log.append(obs.tenantId, parsed.data, key, deliveryOf(key));
      let eventId = key;
      if (checkLog) {
        // Memory had no instance of this id (a bus restart, or the call is long forgotten): the log
        // decides. A duplicate whose stored event occurred further away than the correlation window
        // is an earlier call under a reused id, so this call takes an id of its own.
        const stored = appended.duplicate ? await opts.log.findById(obs.tenantId, key) : null;
        const reused = stored !== null && Math.abs(Date.parse(stored.event.pbxTime) - at) > windowOf(cls);
        call.unchecked = false;
        if (reused) {
          if (call.pbxCallId === call.callId) call.pbxCallId = qualifiedCallId(call.callId, at);
          eventId = transition.key = keyOf(call.pbxCallId);
          appended = await opts.log.append(obs.tenantId, { ...parsed.data, id: eventId, pbxCallId: call.pbxCallId }, eventId, deliveryOf(eventId));
        }
      }
      // Only once the event is in the log: a delivery that failed to store must be accepted on retry.
      if (delivery !== null && appended.deliveryStored !== true) await deliveries.remember(delivery.key, { digest: delivery.digest, eventId });
      return { duplicate: appended.duplicate, eventId };
    },
  };
}
