// One agent connection: authentication, resume/replay, inbound frames, bounded outbound sending.
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import {
  AGENT_PROTOCOL_VERSION,
  ClientFrameSchema,
  CloseCode,
  MAX_FRAME_BYTES,
  parseFrame,
  type ClientFrame,
  type ErrorCode,
  type Position,
} from '../../shared/agent-protocol.js';
import type { Agent } from '../tenants/port.js';
import { FrameBudget } from './frame-budget.js';
import { eventFrame, frame, PONG } from './frames.js';
import type { GatewayDeps } from './gateway.js';

/** History page size while replaying. */
const REPLAY_PAGE = 500;
/** Dial and recording requests one connection may have outstanding. */
const MAX_IN_FLIGHT = 4;
/** Frames a connection may send before it is authenticated: a client sends one, its hello. */
const PRE_AUTH_FRAMES = 8;

type State = 'hello' | 'authenticating' | 'syncing' | 'live' | 'closed';

export interface SessionHost {
  readonly deps: GatewayDeps;
  readonly logger: Logger;
  /**
   * Adds the session to the live routing index; live events start arriving (held while syncing)
   * once it resolves (the log then delivers the tenant's appends to this node).
   */
  route(session: AgentSession): Promise<void>;
  /** Counts an authenticated session against its device token's cap, closing the oldest beyond it. */
  admit(session: AgentSession, deviceToken: string): void;
  forget(session: AgentSession): void;
  /** Told of every close the bus initiates (metrics). */
  closing(code: number): void;
  /** Told of every resync frame sent (metrics). */
  resyncing(reason: 'epoch' | 'retention'): void;
}

const SESSION = Symbol('session');
type SessionSocket = WebSocket & { [SESSION]: AgentSession };

function onSocketMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  (this as SessionSocket)[SESSION].onMessage(data, isBinary);
}
function onSocketPong(this: WebSocket): void {
  (this as SessionSocket)[SESSION].alive = true;
}
function onSocketClose(this: WebSocket): void {
  (this as SessionSocket)[SESSION].onClosed();
}
function onSocketError(this: WebSocket, err: Error): void {
  (this as SessionSocket)[SESSION].host.logger.debug({ err }, 'agent socket error');
}

export class AgentSession {
  state: State = 'hello';
  agent: Agent | null = null;
  /** Pong seen since the last heartbeat. */
  alive = true;
  /** Highest tenant offset already sent or deliberately passed over: later copies are dropped. */
  covered = 0;
  /** Its device token's digest once authenticated: the gateway counts sessions per device by it. */
  device: string | null = null;
  /** Epoch of the log this session is positioned in; a live event from another means the log was recreated. */
  private epoch = '';
  /** Live events that arrived while syncing; made by the first one (most sessions are idle and live). */
  private held: Array<{ offset: number; epoch: string; frame: string }> | null = null;
  private heldBytes = 0;
  private inFlight = 0;
  /** Highest offset acknowledged: an ack of a newer offset this session sent costs no frame budget. */
  private acked = 0;
  /**
   * Made on the first frame that spends from it (a fresh budget is full, so this is the same as
   * making it up front): most idle agents send only acks, which are free, and never need one.
   */
  private budget: FrameBudget | null = null;
  /** Until the hello arrives; dropped then, so an idle connection holds no timer. */
  private authTimer: NodeJS.Timeout | null;

  /** A getter, so TypeScript does not carry narrowing of `state` across awaits. */
  get closed(): boolean {
    return this.state === 'closed';
  }

  constructor(
    readonly ws: WebSocket,
    readonly host: SessionHost,
  ) {
    this.authTimer = setTimeout(() => this.close(CloseCode.authTimeout, 'no hello in time'), host.deps.authTimeoutMs);
    // Listeners are attached synchronously so no early frame is lost. They are shared by every
    // session and find theirs on the socket: four closures per session cost ~300 bytes of heap on
    // every idle agent connection.
    (ws as SessionSocket)[SESSION] = this;
    ws.on('message', onSocketMessage);
    ws.on('pong', onSocketPong);
    ws.on('close', onSocketClose);
    ws.on('error', onSocketError);
  }

  /** Live delivery from the routing index. Never waits on the socket. */
  deliver(offset: number, epoch: string, data: string): void {
    if (this.state === 'syncing') {
      (this.held ??= []).push({ offset, epoch, frame: data });
      this.heldBytes += data.length;
      if (this.heldBytes > this.host.deps.maxBufferedBytes) this.close(CloseCode.slowConsumer, 'too far behind');
      return;
    }
    if (epoch !== this.epoch) {
      // Offsets restarted: reconnecting resumes with the old epoch and is told to resync.
      this.close(CloseCode.shutdown, 'log recreated');
      return;
    }
    if (offset <= this.covered) return;
    this.covered = offset;
    this.send(data);
  }

  send(data: string): void {
    const ws = this.ws;
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount + data.length > this.host.deps.maxBufferedBytes) {
      this.close(CloseCode.slowConsumer, 'slow consumer');
      return;
    }
    ws.send(data);
  }

  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.host.closing(code);
    this.onClosed();
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.onClosed();
    this.ws.terminate();
  }

  onClosed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.stopAuthTimer();
    this.held = null;
    this.host.forget(this);
  }

  private stopAuthTimer(): void {
    if (this.authTimer === null) return;
    clearTimeout(this.authTimer);
    this.authTimer = null;
  }

  private sendError(code: ErrorCode, message: string, reqId?: string): void {
    this.send(frame(reqId === undefined ? { t: 'error', code, message } : { t: 'error', code, message, reqId }));
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    if (this.state === 'closed') return;
    if (isBinary || data.length > MAX_FRAME_BYTES) {
      if (this.overBudget()) return;
      this.sendError('bad_frame', isBinary ? 'binary frames are not accepted' : 'frame too large');
      return;
    }
    const parsed = parseFrame(ClientFrameSchema, data);
    // One ack per event sent is the client's own pace (a replay of thousands acks as fast as the
    // agent stores them), so it is free; every other frame spends budget.
    if (parsed.ok && parsed.frame.t === 'ack' && parsed.frame.offset > this.acked && parsed.frame.offset <= this.covered) {
      this.acked = parsed.frame.offset;
    } else if (this.overBudget()) {
      return;
    }
    if (!parsed.ok) {
      if (this.state === 'hello' && isOtherProtocolHello(data)) {
        this.sendError('bad_frame', `protocol version ${AGENT_PROTOCOL_VERSION} required`);
        this.close(CloseCode.protocolVersion, 'protocol version');
        return;
      }
      this.sendError('bad_frame', parsed.message, parsed.reqId);
      return;
    }
    this.handle(parsed.frame);
  }

  /** Spends one frame of budget; a socket that has none left is closed. */
  private overBudget(): boolean {
    this.budget ??= this.agent ? new FrameBudget(this.host.deps.frameBurst, this.host.deps.frameRate) : new FrameBudget(PRE_AUTH_FRAMES, 0);
    if (this.budget.take()) return false;
    this.host.logger.warn({ agentId: this.agent?.id, code: CloseCode.rateLimited }, 'agent socket sent too many frames');
    this.close(CloseCode.rateLimited, 'too many frames');
    return true;
  }

  private handle(f: ClientFrame): void {
    if (this.state === 'hello') {
      if (f.t !== 'hello') {
        this.sendError('unauthenticated', 'the first frame must be hello');
        this.close(CloseCode.unauthenticated, 'unauthenticated');
        return;
      }
      void this.authenticate(f.token, f.resume);
      return;
    }
    const agent = this.agent;
    if (!agent) {
      this.sendError('unauthenticated', 'wait for welcome');
      return;
    }
    switch (f.t) {
      case 'hello':
        this.sendError('bad_frame', 'already authenticated');
        return;
      case 'ping':
        this.send(PONG);
        return;
      case 'ack':
        // Accepted and not kept: nothing reads it; a reconnecting agent resumes from its own offset.
        return;
      case 'dial':
        this.request(f.reqId, async () => {
          const outcome = await this.host.deps.dial.dial(agent, f.number);
          return frame(
            outcome.ok
              ? { t: 'dial_result', reqId: f.reqId, ok: true, e164: outcome.e164, pbxCallId: outcome.pbxCallId, error: null }
              : { t: 'dial_result', reqId: f.reqId, ok: false, e164: outcome.e164, pbxCallId: null, error: { code: outcome.code, message: outcome.message } },
          );
        });
        return;
      case 'call_control':
        this.request(f.reqId, async () => {
          const outcome = await this.host.deps.dial.control(agent, f);
          return frame({ t: 'call_control_result', reqId: f.reqId, ok: outcome.ok, error: outcome.ok ? null : { code: outcome.code, message: outcome.message } });
        });
        return;
      case 'presence':
        this.request(f.reqId, async () => {
          const outcome = await this.host.deps.dial.presence(agent, f.dnd);
          return frame({ t: 'presence_result', reqId: f.reqId, presence: outcome.ok ? outcome.presence : null, error: outcome.ok ? null : { code: outcome.code, message: outcome.message } });
        });
        return;
      case 'recording':
        this.request(f.reqId, async () => {
          const grant = await this.host.deps.recordings.grant(agent, f.eventId);
          return frame(
            grant.ok
              ? { t: 'recording_url', reqId: f.reqId, url: grant.url, expiresAt: grant.expiresAt, ...(grant.text ? { transcription: grant.text.transcription, summary: grant.text.summary } : {}) }
              : { t: 'error', code: grant.code, message: grant.message, reqId: f.reqId },
          );
        });
        return;
    }
  }

  /** Runs a dial/recording request without blocking the frame loop; bounded per connection. */
  private request(reqId: string, run: () => Promise<string>): void {
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.sendError('rate_limited', `at most ${MAX_IN_FLIGHT} requests at a time`, reqId);
      return;
    }
    this.inFlight++;
    run()
      .then((reply) => this.send(reply))
      .catch((err: unknown) => {
        this.host.logger.error({ err, agentId: this.agent?.id }, 'agent request failed');
        this.sendError('internal', 'request failed', reqId);
      })
      .finally(() => {
        this.inFlight--;
      });
  }

  private async authenticate(token: string, resume: Position | undefined): Promise<void> {
    this.state = 'authenticating';
    this.stopAuthTimer();
    let agent: Agent | null;
    try {
      agent = await this.host.deps.tenants.authenticateDevice(token);
    } catch (err) {
      this.host.logger.error({ err }, 'device authentication failed');
      this.sendError('internal', 'authentication unavailable');
      this.close(CloseCode.shutdown, 'try again');
      return;
    }
    if (this.closed) return;
    if (!agent) {
      this.sendError('unauthenticated', 'unknown or revoked device credential');
      this.close(CloseCode.unauthenticated, 'unauthenticated');
      return;
    }
    this.agent = agent;
    this.budget = null; // the authenticated budget, full, from the next frame that spends
    this.host.admit(this, token);
    this.state = 'syncing';
    try {
      await this.host.route(this); // before reading history, so nothing between the two is missed
      await this.sync(agent, resume);
    } catch (err) {
      this.host.logger.error({ err, agentId: agent.id }, 'agent sync failed');
      this.close(CloseCode.shutdown, 'sync failed');
    }
  }

  private async sync(agent: Agent, resume: Position | undefined): Promise<void> {
    const { log } = this.host.deps;
    const head = await log.read(agent.tenantId, { since: 0, limit: 0 });
    const top = head.position;
    // The tenant's agent policy rides on the welcome (issue 11), so a change reaches agents on their next connect.
    const policy = (await this.host.deps.tenants.getTenant?.(agent.tenantId))?.agentPolicy;
    const welcome = (recovered: boolean) =>
      frame({ t: 'welcome', agentId: agent.id, tenantId: agent.tenantId, extension: agent.extension, position: top, recovered, ...(policy ? { policy } : {}) });
    if (this.closed) return;
    this.epoch = top.epoch;

    if (!resume) {
      this.send(welcome(false));
      this.goLive(top.offset);
      return;
    }
    const reason =
      resume.epoch !== top.epoch || resume.offset > top.offset ? 'epoch' : resume.offset < head.firstRetained - 1 ? 'retention' : null;
    if (reason) {
      this.host.resyncing(reason);
      this.send(frame({ t: 'resync', reason, position: top }));
      this.send(welcome(false));
      this.goLive(top.offset);
      return;
    }
    this.send(welcome(true));
    await this.replay(agent, resume.offset, top.epoch);
  }

  /**
   * Sends the agent's events after `since`, a page at a time from the log's agent index (however
   * many other events the tenant logged meanwhile), then whatever was held meanwhile.
   */
  private async replay(agent: Agent, since: number, epoch: string): Promise<void> {
    const address = { pbxId: agent.pbxId, extension: agent.extension };
    let cursor = since;
    for (;;) {
      const page = await this.host.deps.log.readForAgent(agent.tenantId, { ...address, since: cursor, limit: REPLAY_PAGE });
      if (this.closed) return;
      if (page.position.epoch !== epoch || page.firstRetained > cursor + 1) {
        // Log recreated or trimmed under us: reconnecting resumes and is told to resync.
        this.close(CloseCode.shutdown, 'history changed during replay');
        return;
      }
      for (const logged of page.events) {
        const data = eventFrame(logged, epoch, true);
        if (this.ws.bufferedAmount > this.host.deps.maxBufferedBytes / 2) {
          // Replay is per connection, so waiting here slows only this agent; live fan-out never waits.
          await new Promise<void>((resolve) => this.ws.send(data, () => resolve()));
          if (this.closed) return;
        } else {
          this.ws.send(data);
        }
        this.covered = logged.offset;
      }
      cursor = page.events.at(-1)?.offset ?? cursor;
      if (page.events.length < REPLAY_PAGE) {
        // The last page holds every event of this agent up to the top it was read at.
        this.goLive(page.position.offset);
        return;
      }
    }
  }

  private goLive(coveredUpTo: number): void {
    if (this.state !== 'syncing') return;
    this.covered = Math.max(this.covered, coveredUpTo);
    const held = this.held ?? [];
    this.held = null;
    this.heldBytes = 0;
    this.state = 'live';
    for (const h of held) this.deliver(h.offset, h.epoch, h.frame);
  }
}

function isOtherProtocolHello(data: Buffer): boolean {
  try {
    const json = JSON.parse(data.toString('utf8')) as { t?: unknown; v?: unknown };
    return json.t === 'hello' && json.v !== AGENT_PROTOCOL_VERSION;
  } catch {
    return false;
  }
}
