// The 3CX V20 Call Control connector for one PBX: holds the event WebSocket open, keeps a local copy
// of the agents' participants (WS events carry only entity paths: re-GET on Upsert, cache for Remove),
// hands CallObservations to a sink, and reconnects with capped, jittered exponential backoff,
// re-reading the full state after every connect because 3CX replays nothing (NOTES 2.4).
//
// Every connect reconciles: the legs the event log holds as in progress (on a takeover from another
// node, or after this process restarted) join the ones this connector tracks; those the PBX no
// longer shows ended while nobody watched, and the PBX's call log (XAPI GetCallLogData) says how:
// when, answered or not, for how long. Each gets one end (the log's idempotency keys drop an end
// the previous holder managed to log); one the call log does not have yet ends as connection_lost.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { type BackoffPolicy, backoffDelay, pause } from '../../../shared/retry.js';
import type { PbxApi } from '../../pbx/api.js';
import { WS_REMOVE, WS_UPSERT, WsEventSchema, parseEntity } from '../../pbx/wire.js';
import type { CallObservation } from '../observation.js';
import { findRecording } from './recordings.js';
import { ParticipantTracker, type EndedLeg, type LoggedEnd, type OpenLegRecord, type TrackedLeg } from './tracker.js';

/** How long an ended leg stays a possible owner of recordings other legs find. */
const RECENT_LEG_MS = 10 * 60_000;
/** How long before a vanished leg was last seen its call-log row may start (it rang, or was answered, up to this long before). */
const CALL_LOG_LOOKBACK_MS = 60 * 60_000;
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
    if (this.opts.openLegs) this.tracker.restore((await this.opts.openLegs()).filter((l) => this.agentDns.has(l.extension)));
    const at = this.now();
    const ends = await this.loggedEnds(this.tracker.vanished(participants), at);
    const { observations, ended } = this.tracker.reconcile(participants, at, lostAt, ends);
    await this.deliver(observations);
    for (const leg of ended) this.pollRecording(leg);
  }

  /**
   * How the PBX's call log says each vanished leg ended: its row is the one of the leg's callid on
   * its DN (CallId as the Call Control callid: [UNCONFIRMED], see NOTES 6) that started by the time
   * the leg was last seen. A leg whose row is missing (not written yet, or XAPI refused) is left out.
   */
  private async loggedEnds(legs: TrackedLeg[], at: Date): Promise<Map<TrackedLeg, LoggedEnd>> {
    const ends = new Map<TrackedLeg, LoggedEnd>();
    if (legs.length === 0) return ends;
    const from = new Date(Math.min(...legs.map((l) => l.seenAt.getTime())) - CALL_LOG_LOOKBACK_MS);
    const rows = await this.opts.api.xapi.callLog(from, new Date(at.getTime() + CALL_LOG_SLACK_MS), this.stopController.signal).catch((err: Error) => {
      this.opts.logger?.warn({ pbxId: this.pbxId, err: err.message }, 'call log not read: calls that ended while nobody watched end as connection_lost');
      return [];
    });
    for (const leg of legs) {
      const { dn, callid } = leg.participant;
      const seen = leg.seenAt.getTime();
      const row = rows
        .filter((r) => String(r.CallId) === callid && (r.SourceDn === dn || r.DestinationDn === dn) && r.StartTime)
        .map((r) => ({ r, start: Date.parse(r.StartTime!) }))
        .filter(({ start }) => start <= seen + CALL_LOG_SLACK_MS && start >= seen - CALL_LOG_LOOKBACK_MS)
        .sort((a, b) => b.start - a.start)[0];
      if (!row) continue;
      const answered = row.r.Answered === true;
      // A leg the log saw answered is not taken back by a row that says otherwise: that row is another's.
      if (leg.connectedAt && !answered) continue;
      const answeredAt = answered ? row.start + (row.r.RingingDuration ?? 0) * 1000 : null;
      const talk = answered ? (row.r.TalkingDuration ?? 0) : 0;
      const endedAt = Math.min((answeredAt ?? row.start + (row.r.RingingDuration ?? 0) * 1000) + talk * 1000, at.getTime());
      ends.set(leg, { endedAt: new Date(endedAt), answeredAt: answeredAt === null ? null : new Date(answeredAt), talkSec: answered ? Math.max(1, Math.round(talk)) : 0 });
    }
    return ends;
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
