// The 3CX V20 Call Control connector for one PBX: holds the event WebSocket open, keeps a local copy
// of the agents' participants (WS events carry only entity paths: re-GET on Upsert, cache for Remove),
// hands CallObservations to a sink, and reconnects with capped, jittered exponential backoff,
// re-reading the full state after every connect because 3CX replays nothing (NOTES 2.4).
//
// Every connect reconciles: the legs the event log holds as in progress (on a takeover from another
// node, or after this process restarted) join the ones this connector tracks; those the PBX no
// longer shows ended while nobody watched, and the PBX's call log (XAPI GetCallLogData) says how:
// when, answered or not, for how long. Each gets one end (the log's idempotency keys drop an end
// the previous holder managed to log); one the call log does not have yet ends as connection_lost,
// unless the log has held it open for over an hour: that one (its end logged under another id, or
// a form's end that never came) gets no made-up end and is dropped from the log's open legs, so no
// later connect restores it or reads the call log back to its time.
// Calls that rang and ended entirely while nobody watched (since the socket broke, or on a takeover
// since the previous holder's lease can have lapsed) are reported from the call log as well, at the
// times it gives; one the previous holder did report has the same idempotency keys and is dropped.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { type BackoffPolicy, backoffDelay, pause } from '../../../shared/retry.js';
import type { PbxApi } from '../../pbx/api.js';
import { WS_REMOVE, WS_UPSERT, WsEventSchema, parseEntity, type CallParticipant, type XapiCallLogRow } from '../../pbx/wire.js';
import type { CallObservation } from '../observation.js';
import { findRecording } from './recordings.js';
import { ParticipantTracker, sameNumber, type EndedLeg, type LoggedEnd, type OpenLegRecord, type TrackedLeg, type UnwatchedLeg } from './tracker.js';

/** How long an ended leg stays a possible owner of recordings other legs find. */
const RECENT_LEG_MS = 10 * 60_000;
/** How long before a vanished leg was last seen its call-log row may start (it rang, or was answered, up to this long before). */
const CALL_LOG_LOOKBACK_MS = 60 * 60_000;
/** How far back a vanished leg may make the call-log read start (a call longer than this that ends unwatched gets no end). */
const CALL_LOG_MAX_AGE_MS = 12 * 60 * 60_000;
/** Clock slack between the PBX's call log and our own times. */
const CALL_LOG_SLACK_MS = 10_000;

export type ObservationSink = (observation: CallObservation) => Promise<void>;

export interface CallControlConnectorOptions {
  api: PbxApi;
  sink: ObservationSink;
  logger?: Logger;
  /** Reconnect delays. Default { baseMs: 500, capMs: 30_000 }. */
  backoff?: BackoffPolicy;
  /** WS ping interval; the official example pings every 5 s. A missed pong ends the session. */
  pingIntervalMs?: number;
  /** The legs the event log holds as in progress on this PBX (EventLog.openLegs); none when not given (a remote connector). */
  openLegs?: () => Promise<OpenLegRecord[]>;
  /** Takes legs nothing can end truly out of the log's open legs (EventLog.dropOpenLegs), so no later connect restores them. */
  dropOpenLegs?: (legs: OpenLegRecord[]) => Promise<void>;
  /**
   * On the first connect, how far back nobody may have watched the PBX (a takeover: the previous
   * holder's lease may have run this long); calls the call log has from then are reported. None:
   * the first connect reports only what the full state and the event log show.
   */
  firstLookbackMs?: number;
  /** Polls XAPI after a talked leg ends to announce recording_ready; false turns it off. */
  recordingPoll?: { attempts?: number; intervalMs?: number } | false;
  now?: () => Date;
}

class UpgradeUnauthorized extends Error {
  constructor(readonly token: string) {
    super('WebSocket upgrade refused with HTTP 401');
  }
}

/**
 * Events: 'ready' (connected and state read), 'disconnected' ({ retryInMs }: when the next attempt
 * starts), 'error' is never emitted (logged).
 */
export class CallControlConnector extends EventEmitter {
  private readonly tracker: ParticipantTracker;
  private readonly now: () => Date;
  private readonly stopController = new AbortController();
  private chain: Promise<void> = Promise.resolve();
  private socket: WebSocket | null = null;
  private agentDns = new Set<string>();
  private running: Promise<void> | null = null;
  private readonly polls = new Set<Promise<void>>();
  private readonly claimedRecordings = new Set<number>();
  /** Answered legs ended lately: a recording that fits one of them as well is not another's. */
  private recentLegs: EndedLeg[] = [];
  /** The last sign of life on the socket (open, frame, pong): where legs that vanish with it end. */
  private lastAlive: Date | null = null;

  constructor(private readonly opts: CallControlConnectorOptions) {
    super();
    this.tracker = new ParticipantTracker({ tenantId: opts.api.tenantId, pbxId: opts.api.pbxId });
    this.now = opts.now ?? (() => new Date());
  }

  get pbxId(): string {
    return this.opts.api.pbxId;
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    this.socket?.terminate();
    await this.running;
    await Promise.allSettled([this.chain, ...this.polls]);
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async loop(): Promise<void> {
    const backoff = this.opts.backoff ?? { baseMs: 500, capMs: 30_000 };
    let failures = 0;
    let retriedAtOnce = false;
    while (!this.stopped) {
      const outcome = await this.session().then(
        (ready) => (ready ? 'ready' : 'failed'),
        (err: Error) => {
          this.opts.logger?.warn({ pbxId: this.pbxId, err: err.message }, 'call-control session failed');
          return err instanceof UpgradeUnauthorized ? this.renewToken(err.token) : 'failed';
        },
      );
      if (this.stopped) break;
      failures = outcome === 'ready' ? 0 : failures + 1;
      // A 401 a new token fixes (PBX restarted, token expired) costs no backoff step, but only once
      // in a row: a PBX refusing every token is not hammered.
      const retryNow: boolean = outcome === 'renewed' && !retriedAtOnce;
      retriedAtOnce = retryNow;
      // Full jitter: spreads reconnects of many connectors after a PBX restart.
      const delayMs = retryNow ? 0 : backoffDelay(failures, backoff);
      this.emit('disconnected', { retryInMs: delayMs });
      if (delayMs > 0) await pause(delayMs, this.stopController.signal);
    }
  }

  /** 'renewed' once the PBX has handed out a token other than the refused one. */
  private async renewToken(refused: string): Promise<'renewed' | 'failed'> {
    try {
      await this.opts.api.callControl.refreshBearer(refused);
      return 'renewed';
    } catch (err) {
      this.opts.logger?.warn({ pbxId: this.pbxId, err: (err as Error).message }, 'call-control token refresh failed');
      return 'failed';
    }
  }

  /** One WebSocket lifetime; resolves true when it got as far as reading the full state. */
  private async session(): Promise<boolean> {
    const { callControl } = this.opts.api;
    const token = await callControl.bearer();
    const ws = new WebSocket(callControl.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    this.socket = ws;
    let ready = false;
    let alive = true;
    const ping = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, this.opts.pingIntervalMs ?? 5000);
    ws.on('pong', () => {
      alive = true;
      this.lastAlive = this.now();
    });
    ws.on('message', (data) => {
      this.lastAlive = this.now();
      this.enqueue(() => this.onFrame(String(data)));
    });
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => {
          const lostAt = this.lastAlive;
          this.lastAlive = this.now();
          // Official order: socket first, then the full state, so no change falls between the two.
          this.enqueue(async () => {
            try {
              await this.bootstrap(lostAt);
            } catch (err) {
              // Without the full state, events cannot be interpreted: start over.
              ws.terminate();
              throw err;
            }
            ready = true;
            this.emit('ready');
          });
        });
        ws.once('unexpected-response', (_req, res) => {
          // 401 on the upgrade: the token died (expired, or taken by a new one); the loop renews it.
          reject(res.statusCode === 401 ? new UpgradeUnauthorized(token) : new Error(`WebSocket upgrade refused with HTTP ${res.statusCode}`));
        });
        ws.once('error', reject);
        ws.once('close', () => resolve());
      });
    } finally {
      clearInterval(ping);
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      this.socket = null;
    }
    await this.chain;
    return ready;
  }

  /** Frames are handled strictly in arrival order, each after the previous one's re-read. */
  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(task).catch((err: Error) => {
      this.opts.logger?.warn({ pbxId: this.pbxId, err: err.message }, 'call-control event handling failed');
    });
  }

  /** `lostAt`: the previous socket's last sign of life (null on the first connect). */
  private async bootstrap(lostAt: Date | null): Promise<void> {
    const state = await this.opts.api.callControl.fullState(this.stopController.signal);
    this.agentDns = new Set(state.filter((d) => d.type === 'Wextension').map((d) => d.dn));
    const participants = state.filter((d) => this.agentDns.has(d.dn)).flatMap((d) => d.participants);
    const open = this.opts.openLegs ? (await this.opts.openLegs()).filter((l) => this.agentDns.has(l.extension)) : [];
    this.tracker.restore(open);
    const at = this.now();
    // Nobody watched since the socket broke, or (first connect) for as long as we are told.
    const unwatchedSince = lostAt ?? (this.opts.firstLookbackMs === undefined ? null : new Date(at.getTime() - this.opts.firstLookbackMs));
    const vanished = this.tracker.vanished(participants);
    const rows = await this.callLogFor(vanished, unwatchedSince, at);
    // Picked before the reconcile ends the vanished legs, so their rows are not taken for unseen calls.
    const unseen = unwatchedSince ? this.unwatchedLegs(rows, unwatchedSince, participants, at) : [];
    const ends = this.loggedEnds(vanished, rows, at);
    // A leg the log has held open for over the lookback with no call-log row to say how it ended
    // (its end logged under another id, or a form's end that never came) is not given a made-up one.
    const stale = vanished.filter((l) => l.restored && !ends.has(l) && l.seenAt.getTime() < at.getTime() - CALL_LOG_LOOKBACK_MS);
    for (const leg of stale) this.opts.logger?.warn({ pbxId: this.pbxId, pbxCallId: leg.pbxCallId, dn: leg.participant.dn }, 'call in progress in the log, gone from the PBX, not in its call log: no end reported');
    this.tracker.forget(stale);
    await this.dropFromLog(open.filter((r) => stale.some((l) => l.participant.dn === r.extension && l.pbxCallId === r.event.pbxCallId)));
    const { observations, ended } = this.tracker.reconcile(participants, at, lostAt, ends);
    const unwatched = this.tracker.replay(unseen);
    await this.deliver([...observations, ...unwatched.observations]);
    for (const leg of [...ended, ...unwatched.ended]) this.pollRecording(leg);
  }

  private async dropFromLog(legs: OpenLegRecord[]): Promise<void> {
    if (legs.length === 0 || !this.opts.dropOpenLegs) return;
    await this.opts.dropOpenLegs(legs).catch((err: Error) => {
      this.opts.logger?.warn({ pbxId: this.pbxId, err: err.message }, 'stale open legs not dropped from the log: the next connect finds them again');
    });
  }

  /**
   * The call-log rows that can tell how vanished legs ended and which calls nobody watched; none
   * when there is nothing to ask. A leg the log held open for days does not stretch the read past
   * CALL_LOG_MAX_AGE_MS: the rows of calls older than that are not worth holding live events for.
   */
  private async callLogFor(vanished: TrackedLeg[], unwatchedSince: Date | null, at: Date): Promise<XapiCallLogRow[]> {
    const oldest = at.getTime() - CALL_LOG_MAX_AGE_MS;
    const starts = [...vanished.map((l) => Math.max(l.seenAt.getTime() - CALL_LOG_LOOKBACK_MS, oldest)), ...(unwatchedSince ? [unwatchedSince.getTime()] : [])];
    if (starts.length === 0) return [];
    const from = new Date(Math.min(...starts));
    return this.opts.api.xapi.callLog(from, new Date(at.getTime() + CALL_LOG_SLACK_MS), this.stopController.signal).catch((err: Error) => {
      this.opts.logger?.warn({ pbxId: this.pbxId, err: err.message }, 'call log not read: calls that ended while nobody watched end as connection_lost, calls nobody saw are not reported');
      return [];
    });
  }

  /**
   * How the PBX's call log says each vanished leg ended: its row is the one of the leg's callid on
   * its DN (CallId as the Call Control callid: [UNCONFIRMED], see NOTES 6) that started by the time
   * the leg was last seen and ended no earlier, with the same remote number where both name one
   * (a restarted PBX's earlier call under a reused id is another's). A leg whose row is missing (not written yet, a leg cut by a PBX restart, or
   * XAPI refused) is left out.
   */
  private loggedEnds(legs: TrackedLeg[], rows: XapiCallLogRow[], at: Date): Map<TrackedLeg, LoggedEnd> {
    const ends = new Map<TrackedLeg, LoggedEnd>();
    for (const leg of legs) {
      const { dn, callid } = leg.participant;
      const seen = leg.seenAt.getTime();
      const row = rows
        .map((r) => ({ r, times: rowTimes(r, at) }))
        .filter(({ r, times }) => times && String(r.CallId) === callid && (r.SourceDn === dn || r.DestinationDn === dn) && sameRemote(r, leg.participant))
        .filter(({ times }) => times!.startedAt.getTime() <= seen + CALL_LOG_SLACK_MS && times!.endedAt.getTime() >= seen - CALL_LOG_SLACK_MS)
        .sort((a, b) => b.times!.startedAt.getTime() - a.times!.startedAt.getTime())[0];
      // A leg the log saw answered is not taken back by a row that says otherwise: that row is another's.
      if (!row || (leg.connectedAt && !row.times!.answeredAt)) continue;
      ends.set(leg, row.times!);
    }
    return ends;
  }

  /**
   * Agent legs of calls that started once nobody watched and that neither the PBX still shows nor
   * this connector holds: they rang and ended unseen.
   */
  private unwatchedLegs(rows: XapiCallLogRow[], since: Date, current: CallParticipant[], at: Date): UnwatchedLeg[] {
    const legs: UnwatchedLeg[] = [];
    for (const [i, r] of rows.entries()) {
      const times = rowTimes(r, at);
      const outbound = r.Direction === 'Outbound';
      const dn = outbound ? r.SourceDn : r.DestinationDn;
      const callid = String(r.CallId);
      if (!times || times.startedAt < since || !this.agentDns.has(dn)) continue;
      if (this.tracker.holds(dn, callid) || current.some((p) => p.dn === dn && p.callid === callid)) continue;
      const remote = outbound ? { dn: r.DestinationDn, id: r.DestinationCallerId, name: r.DestinationDisplayName } : { dn: r.SourceDn, id: r.SourceCallerId, name: r.SourceDisplayName };
      const queue = r.CallType === 'Queue' ? r.actionDnDn : '';
      const participant: CallParticipant = {
        // Ids no PBX hands out, one per row, so the legs of one call stay apart.
        id: -2 - i,
        status: outbound ? 'Dialing' : 'Ringing',
        dn,
        party_caller_name: remote.name,
        party_dn: remote.dn,
        party_caller_id: remote.id || remote.dn,
        party_did: '',
        device_id: '',
        party_dn_type: r.Direction === 'Internal' ? 'Wextension' : '',
        originated_by_dn: outbound ? dn : remote.dn,
        referred_by_dn: '',
        on_behalf_of_dn: queue,
        on_behalf_of_type: queue ? 'Wqueue' : '',
        callid,
      };
      legs.push({ participant, ...times });
    }
    return legs;
  }

  private async onFrame(raw: string): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return;
    }
    const frame = WsEventSchema.safeParse(json);
    if (!frame.success) return;
    const entity = parseEntity(frame.data.event.entity);
    if (!entity || entity.collection !== 'participants' || !this.agentDns.has(entity.dn)) return;
    if (frame.data.event.event_type === WS_UPSERT) {
      const participant = await this.opts.api.callControl.participant(frame.data.event.entity, this.stopController.signal);
      // Gone already: its Remove follows and finds it unknown (or known, if an earlier read saw it).
      if (participant) await this.deliver(this.tracker.upsert(participant, this.now()));
    } else if (frame.data.event.event_type === WS_REMOVE) {
      const { observations, ended } = this.tracker.remove(entity.dn, entity.id, this.now());
      await this.deliver(observations);
      if (ended) this.pollRecording(ended);
    }
  }

  private async deliver(observations: CallObservation[]): Promise<void> {
    for (const observation of observations) {
      try {
        await this.opts.sink(observation);
      } catch (err) {
        this.opts.logger?.error({ pbxId: this.pbxId, deliveryId: observation.deliveryId, err: (err as Error).message }, 'observation sink failed');
      }
    }
  }

  /** 3CX has no recording event: look the talked leg's recording up in XAPI a bounded number of times. */
  private pollRecording(leg: EndedLeg): void {
    const cutoff = leg.endedAt.getTime() - RECENT_LEG_MS;
    this.recentLegs = [...this.recentLegs.filter((l) => l.endedAt.getTime() >= cutoff), leg];
    if (this.opts.recordingPoll === false) return;
    const attempts = this.opts.recordingPoll?.attempts ?? 10;
    const intervalMs = this.opts.recordingPoll?.intervalMs ?? 3000;
    const poll = (async () => {
      let reason: string | null = null;
      for (let i = 0; i < attempts && !this.stopped; i++) {
        if (!(await pause(intervalMs, this.stopController.signal))) return;
        const others = [...this.recentLegs, ...this.tracker.liveLegs()].filter((l) => l !== leg);
        const match = await findRecording(this.opts.api.xapi, leg, { claimed: this.claimedRecordings, others }, this.stopController.signal).catch((err: Error) => {
          this.opts.logger?.warn({ pbxId: this.pbxId, err: err.message }, 'XAPI recording lookup failed');
          return null;
        });
        reason = match?.reason ?? reason;
        if (match?.recording) {
          this.claimedRecordings.add(match.recording.Id);
          await this.deliver([this.tracker.recordingReady(leg, { pbxRecordingId: String(match.recording.Id), contentType: null }, this.now())]);
          return;
        }
      }
      // Seen but not provably this call's: attach nothing, and say why.
      if (reason) this.opts.logger?.warn({ pbxId: this.pbxId, pbxCallId: leg.pbxCallId, dn: leg.participant.dn, reason }, 'recording not attached');
    })();
    this.polls.add(poll);
    void poll.finally(() => this.polls.delete(poll));
  }
}

/** When a call-log row's leg started, was answered and ended (never after `at`), and its talk in whole seconds. */
function rowTimes(r: XapiCallLogRow, at: Date): (LoggedEnd & { startedAt: Date }) | null {
  const start = r.StartTime ? Date.parse(r.StartTime) : Number.NaN;
  if (Number.isNaN(start)) return null;
  const answered = r.Answered === true;
  const rangUntil = start + (r.RingingDuration ?? 0) * 1000;
  const talk = answered ? (r.TalkingDuration ?? 0) : 0;
  return {
    startedAt: new Date(start),
    answeredAt: answered ? new Date(rangUntil) : null,
    endedAt: new Date(Math.min(rangUntil + talk * 1000, at.getTime())),
    talkSec: answered ? Math.max(1, Math.round(talk)) : 0,
  };
}

/** The row's remote party is the leg's, where both name one. */
function sameRemote(r: XapiCallLogRow, p: CallParticipant): boolean {
  return sameNumber(r.Direction === 'Outbound' ? r.DestinationCallerId : r.SourceCallerId, p.party_caller_id);
}
