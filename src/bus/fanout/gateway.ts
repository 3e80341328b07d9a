// The agent fan-out: one log subscription routed to sessions by tenant -> PBX -> extension, one
// heartbeat sweep for every connection, a revocation watcher, and the handle the app uses to
// disconnect an agent or shut down.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebSocket } from 'ws';
import { pino, type Logger } from 'pino';
import { CloseCode } from '../../shared/agent-protocol.js';
import type { DialService } from '../dial/port.js';
import type { EventLog, LoggedEvent } from '../log/port.js';
import type { RecordingService } from '../recordings/port.js';
import type { TenantStore } from '../tenants/port.js';
import { eventFrame } from './frames.js';
import { AgentSession, type SessionHost } from './session.js';

export interface GatewayOptions {
  log: EventLog;
  /** getTenant: the tenant's agent policy for the welcome (absent: none is sent, agents keep defaults). */
  tenants: Pick<TenantStore, 'authenticateDevice' | 'revokedSince'> & Partial<Pick<TenantStore, 'getTenant'>>;
  dial: DialService;
  recordings: RecordingService;
  logger?: Logger;
  /** WebSocket ping interval; a connection without a pong by the next one is dropped. */
  heartbeatMs?: number;
  /** Time a new connection has to send its hello. */
  authTimeoutMs?: number;
  /** Outbound bytes a connection may have queued before it is closed as a slow consumer. */
  maxBufferedBytes?: number;
  /** How often the tenant store is asked for revoked agents, whose connections are then closed. */
  revocationPollMs?: number;
  /** Frames per second an authenticated agent socket may send on average (acks of events it was sent are free). */
  frameRate?: number;
  /** Frames such a socket may send at once; past the budget it is closed with CloseCode.rateLimited. */
  frameBurst?: number;
  /** Concurrent sessions per device token; a newer one closes the oldest with CloseCode.replaced. */
  maxSessionsPerDevice?: number;
  /** Where deliveries, slow-consumer closes and resyncs are counted; default: nowhere. */
  meter?: GatewayMeter;
}

/** The gateway's metric hooks: each called once per occurrence, O(1). */
export interface GatewayMeter {
  /** Seconds from ingest (the event's receivedAt) to its frame handed to this node's sockets; once per event with a recipient here. */
  delivered(seconds: number): void;
  slowConsumerClosed(): void;
  resynced(reason: 'epoch' | 'retention'): void;
}

const NO_METER: GatewayMeter = { delivered() {}, slowConsumerClosed() {}, resynced() {} };

export type GatewayDeps = Required<Omit<GatewayOptions, 'logger'>>;

export interface GatewayStats {
  /** Open connections, authenticated or not. */
  sessions: number;
  /** Connections past hello, receiving events. */
  agents: number;
}

/** Sessions visited per slice of a heartbeat sweep, so a sweep never blocks fan-out for long. */
const SWEEP_SLICE = 100;

/**
 * Each revocation check looks this far behind the previous one: a revoking transaction may commit
 * after a check that its timestamp precedes, and the revoking host's clock may lag this one's.
 * Seeing a revocation again is harmless (its agent has no connection left, and cannot reconnect).
 */
const REVOCATION_OVERLAP_MS = 60_000;

type Routes = Map<string, Map<string, Map<string, Set<AgentSession>>>>;

export class Gateway implements SessionHost {
  readonly deps: GatewayDeps;
  readonly logger: Logger;
  private readonly sessions = new Set<AgentSession>();
  /** tenant -> PBX -> extension -> sessions. */
  private readonly routes: Routes = new Map();
  /** Canonical copies of tenant, PBX and extension ids (see admit). */
  private readonly ids = new Map<string, string>();
  /** Authenticated sessions per device token (by its hash, AgentSession.device), oldest first. */
  private readonly byDevice = new Map<string, AgentSession[]>();
  private readonly unsubscribe: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly revocationWatch: NodeJS.Timeout;
  /** Start of the last revocation check that succeeded. */
  private revocationsCheckedAt = Date.now();
  private checkingRevocations = false;
  private closed = false;

  constructor(options: GatewayOptions) {
    this.deps = {
      log: options.log,
      tenants: options.tenants,
      dial: options.dial,
      recordings: options.recordings,
      heartbeatMs: options.heartbeatMs ?? 25_000,
      authTimeoutMs: options.authTimeoutMs ?? 10_000,
      maxBufferedBytes: options.maxBufferedBytes ?? 1024 * 1024,
      revocationPollMs: options.revocationPollMs ?? 2_000,
      frameRate: options.frameRate ?? 100,
      frameBurst: options.frameBurst ?? 1_000,
      maxSessionsPerDevice: options.maxSessionsPerDevice ?? 2,
      meter: options.meter ?? NO_METER,
    };
    this.logger = options.logger ?? pino({ enabled: false });
    this.unsubscribe = options.log.subscribe((tenantId, logged, epoch) => this.publish(tenantId, logged, epoch));
    this.heartbeat = setInterval(() => void this.sweep(), this.deps.heartbeatMs);
    this.heartbeat.unref();
    this.revocationWatch = setInterval(() => void this.closeRevoked(), this.deps.revocationPollMs);
    this.revocationWatch.unref();
  }

  /** Takes a freshly upgraded agent socket; must be called synchronously in the upgrade handler. */
  accept(ws: WebSocket): void {
    if (this.closed) {
      ws.close(CloseCode.shutdown, 'shutting down');
      return;
    }
    this.sessions.add(new AgentSession(ws, this));
  }

  /** Closes every connection of one agent; returns how many. */
  disconnectAgent(agentId: string, code: number = CloseCode.revoked): number {
    return this.disconnectAgents(new Set([agentId]), code, 'disconnected by the bus');
  }

  stats(): GatewayStats {
    let agents = 0;
    for (const s of this.sessions) if (s.agent) agents++;
    return { sessions: this.sessions.size, agents };
  }

  /** Bytes written to agent sockets and not yet flushed to the network (O(sessions): for scrapes). */
  queuedBytes(): number {
    let bytes = 0;
    for (const s of this.sessions) bytes += s.ws.bufferedAmount;
    return bytes;
  }

  closing(code: number): void {
    if (code === CloseCode.slowConsumer) this.deps.meter.slowConsumerClosed();
  }

  resyncing(reason: 'epoch' | 'retention'): void {
    this.deps.meter.resynced(reason);
  }

  /** Stops accepting, tells every agent to reconnect later (they resume from their offset). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    clearInterval(this.revocationWatch);
    this.unsubscribe();
    for (const session of this.sessions) session.close(CloseCode.shutdown, 'server shutdown');
  }

  route(session: AgentSession): Promise<void> {
    const { tenantId, pbxId, extension } = session.agent!;
    let byPbx = this.routes.get(tenantId);
    if (!byPbx) this.routes.set(tenantId, (byPbx = new Map()));
    let byExtension = byPbx.get(pbxId);
    if (!byExtension) byPbx.set(pbxId, (byExtension = new Map()));
    let set = byExtension.get(extension);
    if (!set) byExtension.set(extension, (set = new Set()));
    set.add(session);
    // One watch per routed session (forget undoes it): a node hears only the tenants it serves.
    return this.deps.log.watch?.(tenantId) ?? Promise.resolve();
  }

  /**
   * The newest connection wins: a user who opens the app or comes back online expects that one to
   * work, and the oldest is the likeliest dead (a laptop that slept, a network that changed) or a
   * copy of the app elsewhere. Its close code is terminal so two copies cannot evict each other forever.
   */
  admit(session: AgentSession, deviceToken: string): void {
    // The ids every session routes by, as one shared copy each: the tenant store hands out fresh
    // strings per row (~90 bytes per idle agent). Kept for the node's life: one per tenant, PBX and extension number.
    const agent = session.agent!;
    session.agent = { ...agent, tenantId: this.shared(agent.tenantId), pbxId: this.shared(agent.pbxId), extension: this.shared(agent.extension) };
    // 128 bits of the digest tell devices apart as well as 256, in half the string kept per session
    // (encoded from the bytes: a slice of a longer string would keep the longer one alive).
    const device = createHash('sha256').update(deviceToken).digest().toString('base64url', 0, 16);
    session.device = device;
    let list = this.byDevice.get(device);
    // Made holding its first session: an empty array that is pushed to reserves room for 17.
    if (list) list.push(session);
    else this.byDevice.set(device, (list = [session]));
    while (list.length > this.deps.maxSessionsPerDevice) {
      const oldest = list[0]!;
      this.logger.info({ agentId: oldest.agent?.id, code: CloseCode.replaced }, 'agent session replaced by a newer one of its device');
      oldest.close(CloseCode.replaced, 'replaced by a newer connection of this device');
    }
  }

  private shared(id: string): string {
    const known = this.ids.get(id);
    if (known !== undefined) return known;
    this.ids.set(id, id);
    return id;
  }

  forget(session: AgentSession): void {
    this.sessions.delete(session);
    const device = session.device;
    if (device !== null) {
      session.device = null;
      const list = this.byDevice.get(device)!;
      list.splice(list.indexOf(session), 1);
      if (list.length === 0) this.byDevice.delete(device);
    }
    const agent = session.agent;
    if (!agent) return;
    const byPbx = this.routes.get(agent.tenantId);
    const byExtension = byPbx?.get(agent.pbxId);
    const set = byExtension?.get(agent.extension);
    if (!set?.delete(session)) return;
    this.deps.log.unwatch?.(agent.tenantId);
    if (set.size > 0) return;
    byExtension!.delete(agent.extension);
    if (byExtension!.size > 0) return;
    byPbx!.delete(agent.pbxId);
    if (byPbx!.size === 0) this.routes.delete(agent.tenantId);
  }

  /** Hot path: one frame string per event, sent to each session of each agent it concerns. */
  private publish(tenantId: string, logged: LoggedEvent, epoch: string): void {
    const byExtension = this.routes.get(tenantId)?.get(logged.event.pbxId);
    if (!byExtension) return;
    const agents = logged.event.agents;
    let data: string | null = null;
    for (let i = 0; i < agents.length; i++) {
      const extension = agents[i]!;
      if (agents.indexOf(extension) !== i) continue; // listed twice
      const sessions = byExtension.get(extension);
      if (!sessions) continue;
      data ??= eventFrame(logged, epoch, false);
      for (const session of sessions) session.deliver(logged.offset, epoch, data);
    }
    if (data !== null) this.deps.meter.delivered((Date.now() - Date.parse(logged.event.receivedAt)) / 1000);
  }

  private disconnectAgents(agentIds: ReadonlySet<string>, code: number, reason: string): number {
    let n = 0;
    for (const session of this.sessions) {
      if (!session.agent || !agentIds.has(session.agent.id)) continue;
      session.close(code, reason);
      n++;
    }
    return n;
  }

  /**
   * Revocation watcher: one query per interval for agents revoked since the last check (by this
   * process or another, e.g. the admin CLI; every node of a scale-out asks the same store), and
   * their connections closed with CloseCode.revoked, so a departing agent's app is signed out
   * within the interval instead of each connection re-checking its credential on every heartbeat.
   */
  private async closeRevoked(): Promise<void> {
    if (this.checkingRevocations || this.closed) return;
    this.checkingRevocations = true;
    const startedAt = Date.now();
    try {
      const revoked = await this.deps.tenants.revokedSince(new Date(this.revocationsCheckedAt - REVOCATION_OVERLAP_MS));
      this.revocationsCheckedAt = startedAt;
      if (revoked.length === 0 || this.closed) return;
      const closed = this.disconnectAgents(new Set(revoked), CloseCode.revoked, 'credential revoked');
      if (closed > 0) this.logger.info({ recentlyRevoked: revoked, connections: closed }, 'revoked agents disconnected');
    } catch (err) {
      this.logger.warn({ err }, 'revocation check failed; retrying at the next interval');
    } finally {
      this.checkingRevocations = false;
    }
  }

  /**
   * Heartbeat: drop connections that missed a pong, ping the rest. Slices are spread over half the
   * interval so 10,000 pings never land on the event loop at once (that burst alone pushed
   * delivery p95 past 100 ms).
   */
  private async sweep(): Promise<void> {
    const batch = [...this.sessions];
    const slices = Math.ceil(batch.length / SWEEP_SLICE);
    const spacing = this.deps.heartbeatMs / 2 / Math.max(slices, 1);
    for (let i = 0; i < batch.length; i += SWEEP_SLICE) {
      if (this.closed) return;
      for (let j = i; j < i + SWEEP_SLICE && j < batch.length; j++) this.beat(batch[j]!);
      await sleep(spacing, undefined, { ref: false });
    }
  }

  private beat(session: AgentSession): void {
    if (session.state === 'closed') return;
    if (!session.alive) {
      this.logger.info({ agentId: session.agent?.id, code: CloseCode.heartbeatTimeout }, 'agent missed heartbeat');
      session.terminate();
      return;
    }
    session.alive = false;
    session.ws.ping();
  }
}
