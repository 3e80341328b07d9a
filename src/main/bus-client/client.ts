// The agent's connection to the bus: hello with the persisted resume position, every frame
// validated, each event handed to listeners and acknowledged only after they finished, the
// position persisted before the ack, reconnect with capped exponential backoff and full jitter.
// An event that cannot be saved (a listener or the position write threw: a full disk) holds the
// stream: it stays unacknowledged, `stalled` says why, and it is tried again with the same backoff
// until it goes through, so no later event overtakes it and none is dropped.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { z } from 'zod';
import {
  AGENT_PROTOCOL_VERSION,
  MAX_FRAME_BYTES,
  PositionSchema,
  ServerFrameSchema,
  isTerminalClose,
  parseFrame,
  type CallAction,
  type ClientFrame,
  type DialResultFrame,
  type Presence,
  type EventFrame,
  type Position,
  type ResyncFrame,
  type ServerFrame,
  type WelcomeFrame,
} from '../../shared/agent-protocol.js';
import { type BackoffPolicy, backoffDelay, pause } from '../../shared/retry.js';
import { Signal } from '../signal.js';
import type { KeyValueStore } from '../storage/index.js';
import { POSITION_KEY } from './pairing.js';

export type ConnectionState = 'unpaired' | 'connecting' | 'connected' | 'reconnecting' | 'signed_out';
export type BusEvent = z.infer<typeof EventFrame>;
export type DialResult = z.infer<typeof DialResultFrame>;
export type Welcome = z.infer<typeof WelcomeFrame>;
export type Resync = z.infer<typeof ResyncFrame>;
export interface RecordingUrl {
  url: string;
  expiresAt: string;
  /** 3CX's own transcript and summary of the recording, when the PBX made them. */
  transcription: string | null;
  summary: string | null;
}

/** The bus answered a request with an error frame, or did not answer in time. */
export class BusRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BusRequestError';
  }
}

/** The bus's refusal in an answer (an error frame, or a result carrying its error) as a BusRequestError. */
function refusalOf(frame: ServerFrame, what: string): BusRequestError {
  if (frame.t === 'error') return new BusRequestError(frame.code, frame.message);
  if ((frame.t === 'call_control_result' || frame.t === 'presence_result') && frame.error) return new BusRequestError(frame.error.code, frame.error.message);
  return new BusRequestError('bad_frame', `unexpected ${frame.t} answer to a ${what}`);
}

export interface BusClientOptions {
  wsUrl: string;
  /** The device credential; sent only inside the hello frame. */
  token: string;
  /** Where the last acknowledged position is kept across restarts. */
  store: KeyValueStore;
  logger: Logger;
  /** Reconnect delays, and retry delays for an event that could not be saved. */
  backoff?: BackoffPolicy;
  /** Ping interval; the link counts as dead after two intervals without any frame. */
  heartbeatMs?: number;
  requestTimeoutMs?: number;
  /** Injected for deterministic tests of the jitter. */
  random?: () => number;
}

interface Pending {
  resolve: (frame: ServerFrame) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 30_000 };

export class BusClient {
  private socket: WebSocket | null = null;
  private currentState: ConnectionState = 'connecting';
  private stopped = true;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private lastFrameAt = 0;
  private position: Position | undefined;
  /** The frame chain; false once a frame was given up at stop, so nothing after it runs. */
  private processing: Promise<boolean> = Promise.resolve(true);
  /** Aborted by stop(): ends the retry wait of a frame that cannot be saved. */
  private lifetime = new AbortController();
  private stallReason: string | null = null;
  private readonly pending = new Map<string, Pending>();
  private readonly events = new Signal<BusEvent>();
  private readonly states = new Signal<ConnectionState>();
  private readonly resyncs = new Signal<Resync>();
  private readonly welcomes = new Signal<Welcome>();
  private readonly stalls = new Signal<string | null>();

  constructor(private readonly options: BusClientOptions) {
    this.position = options.store.get(POSITION_KEY, PositionSchema);
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The last processed (and acknowledged) position, as persisted. */
  get lastPosition(): Position | undefined {
    return this.position;
  }

  /**
   * Each event in offset order; the ack waits for the promise a listener returns. A listener that
   * throws or rejects holds the event unacknowledged and it comes again (to every listener), as it
   * would after a restart: listeners must take a repeated event as a no-op.
   */
  onEvent(listener: (event: BusEvent) => void | Promise<void>): () => void {
    return this.events.on(listener);
  }

  /** Why the stream is held at an unsaved event (the error's message), or null while events flow. */
  get stalled(): string | null {
    return this.stallReason;
  }

  onStalled(listener: (reason: string | null) => void): () => void {
    return this.stalls.on(listener);
  }

  onState(listener: (state: ConnectionState) => void): () => void {
    return this.states.on(listener);
  }

  /** The bus could not resume (retention or a new log epoch): local per-call state may be stale. */
  onResync(listener: (resync: Resync) => void): () => void {
    return this.resyncs.on(listener);
  }

  onWelcome(listener: (welcome: Welcome) => void): () => void {
    return this.welcomes.on(listener);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.lifetime = new AbortController();
    this.processing = this.processing.then(() => true);
    this.setState('connecting');
    this.connect();
  }

  /** Closes the connection for good; waits for the event being processed to be acknowledged. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.lifetime.abort();
    this.clearTimers();
    this.socket?.close(1000, 'agent stopping');
    this.socket = null;
    this.failPending(new BusRequestError('stopped', 'The agent is shutting down.'));
    await this.processing;
    this.setStalled(null);
  }

  /** Asks the bus to place a call from this agent's extension. */
  dial(e164: string): Promise<DialResult> {
    return this.request((reqId) => ({ t: 'dial', reqId, number: e164 })).then((frame) => {
      if (frame.t === 'dial_result') return frame;
      if (frame.t === 'error') return { t: 'dial_result', reqId: frame.reqId ?? '', ok: false, e164: null, pbxCallId: null, error: { code: frame.code, message: frame.message } };
      throw new BusRequestError('bad_frame', `unexpected ${frame.t} answer to a dial`);
    });
  }

  /** Answers, hangs up or transfers a call of this agent's extension; a refusal throws BusRequestError with its code. */
  controlCall(pbxCallId: string, action: CallAction, destination?: string): Promise<void> {
    return this.request((reqId) => ({ t: 'call_control', reqId, pbxCallId, action, ...(destination ? { destination } : {}) })).then((frame) => {
      if (frame.t === 'call_control_result' && frame.ok) return;
      throw refusalOf(frame, 'call-control request');
    });
  }

  /** This agent's 3CX status, switching Do Not Disturb first when `dnd` is given. */
  presence(dnd?: boolean): Promise<Presence> {
    return this.request((reqId) => ({ t: 'presence', reqId, ...(dnd === undefined ? {} : { dnd }) })).then((frame) => {
      if (frame.t === 'presence_result' && frame.presence) return frame.presence;
      throw refusalOf(frame, 'presence request');
    });
  }

  /** A short-lived URL for the recording of one of this agent's calls. */
  requestRecording(eventId: string): Promise<RecordingUrl> {
    return this.request((reqId) => ({ t: 'recording', reqId, eventId })).then((frame) => {
      if (frame.t === 'recording_url') return { url: frame.url, expiresAt: frame.expiresAt, transcription: frame.transcription ?? null, summary: frame.summary ?? null };
      if (frame.t === 'error') throw new BusRequestError(frame.code, frame.message);
      throw new BusRequestError('bad_frame', `unexpected ${frame.t} answer to a recording request`);
    });
  }

  private request(build: (reqId: string) => ClientFrame): Promise<ServerFrame> {
    const socket = this.socket;
    if (this.currentState !== 'connected' || !socket) {
      return Promise.reject(new BusRequestError('not_connected', 'Not connected to the Ringbridge bus.'));
    }
    const reqId = randomUUID();
    return new Promise<ServerFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(reqId);
        reject(new BusRequestError('timeout', 'The bus did not answer in time.'));
      }, this.options.requestTimeoutMs ?? 10_000);
      this.pending.set(reqId, { resolve, reject, timer });
      this.send(socket, build(reqId));
    });
  }

  private connect(): void {
    const { wsUrl, token, logger } = this.options;
    const socket = new WebSocket(wsUrl, { maxPayload: MAX_FRAME_BYTES, handshakeTimeout: 10_000 });
    this.socket = socket;
    socket.on('open', () => {
      this.lastFrameAt = Date.now();
      this.send(socket, { t: 'hello', v: AGENT_PROTOCOL_VERSION, token, ...(this.position ? { resume: this.position } : {}) });
      this.startHeartbeat(socket);
    });
    socket.on('message', (data, isBinary) => {
      if (socket !== this.socket) return;
      this.lastFrameAt = Date.now();
      this.onMessage(socket, isBinary ? Buffer.from(data as Buffer) : data.toString());
    });
    socket.on('error', (err) => logger.warn({ err: err.message }, 'bus connection error'));
    socket.on('close', (code, reason) => {
      if (socket !== this.socket) return;
      this.onClose(code, reason.toString());
    });
  }

  private onMessage(socket: WebSocket, raw: string | Buffer): void {
    const parsed = parseFrame(ServerFrameSchema, raw);
    if (!parsed.ok) {
      this.options.logger.warn({ problem: parsed.message.slice(0, 500) }, 'ignored a bad frame from the bus');
      return;
    }
    const frame = parsed.frame;
    switch (frame.t) {
      case 'welcome':
        this.onWelcomeFrame(frame);
        return;
      case 'event':
      case 'resync':
        // Serialised with events so a resync never overtakes events that came before it.
        this.enqueue(frame.t === 'event' ? () => this.process(socket, frame) : () => this.resync(frame));
        return;
      case 'dial_result':
      case 'recording_url':
      case 'call_control_result':
      case 'presence_result':
        this.settle(frame.reqId, frame);
        return;
      case 'error':
        if (frame.reqId) this.settle(frame.reqId, frame);
        else this.options.logger.warn({ code: frame.code, message: frame.message }, 'bus reported an error');
        return;
      case 'pong':
        return;
    }
  }

  private onWelcomeFrame(frame: Welcome): void {
    this.attempt = 0;
    const top = frame.position;
    // First connect: resume from this top next time (unless an event is saved first).
    if (!this.position) {
      this.enqueue(() => {
        if (!this.position) this.persist(top);
      });
    }
    if (!frame.recovered) this.options.logger.warn('bus could not honour the resume position');
    this.setState('connected');
    this.welcomes.emit(frame);
  }

  private async process(socket: WebSocket, frame: BusEvent): Promise<void> {
    const last = this.position;
    if (last && last.epoch === frame.epoch && frame.offset <= last.offset) {
      this.options.logger.debug({ offset: frame.offset, last: last.offset }, 'dropped duplicate or out-of-order event');
      return;
    }
    if (last && last.epoch !== frame.epoch) {
      this.options.logger.warn({ epoch: frame.epoch }, 'bus log epoch changed without a resync; following it');
    }
    // Settled, not raced: a retry must not start while a listener of this attempt still runs.
    const failed = (await Promise.allSettled(this.events.emit(frame))).find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    this.persist({ offset: frame.offset, epoch: frame.epoch });
    if (socket.readyState === WebSocket.OPEN) this.send(socket, { t: 'ack', offset: frame.offset });
  }

  private resync(frame: Resync): void {
    this.options.logger.warn({ reason: frame.reason }, 'bus asked for a resync');
    this.persist(frame.position);
    this.resyncs.emit(frame);
  }

  /** Runs a frame's work after every frame before it has gone through (see `untilSaved`). */
  private enqueue(work: () => void | Promise<void>): void {
    const { signal } = this.lifetime;
    this.processing = this.processing.then((goOn) => goOn && this.untilSaved(work, signal));
  }

  /**
   * Tries the work until it succeeds, waiting with backoff between tries; false only when stop()
   * ended the wait, and then nothing after it runs: the next start resumes from the position saved.
   */
  private async untilSaved(work: () => void | Promise<void>, signal: AbortSignal): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await work();
        this.setStalled(null);
        return true;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        this.options.logger.error({ err: reason, attempt }, 'could not save a bus event; it stays unacknowledged and is tried again');
        this.setStalled(reason);
        if (signal.aborted) return false;
        if (!(await pause(backoffDelay(attempt, this.options.backoff ?? DEFAULT_BACKOFF, this.options.random), signal))) return false;
      }
    }
  }

  private persist(position: Position): void {
    // Written first: if the write throws, the event is tried again rather than taken as done.
    this.options.store.set(POSITION_KEY, position);
    this.position = position;
  }

  private setStalled(reason: string | null): void {
    if (reason === this.stallReason) return;
    this.stallReason = reason;
    this.stalls.emit(reason);
  }

  private settle(reqId: string, frame: ServerFrame): void {
    const pending = this.pending.get(reqId);
    if (!pending) return;
    this.pending.delete(reqId);
    clearTimeout(pending.timer);
    pending.resolve(frame);
  }

  private onClose(code: number, reason: string): void {
    this.clearTimers();
    this.socket = null;
    this.failPending(new BusRequestError('connection_lost', 'The connection to the bus dropped before it answered.'));
    if (this.stopped) return;
    if (isTerminalClose(code)) {
      this.options.logger.warn({ code, reason }, 'bus signed this device out');
      this.stopped = true;
      this.setState('signed_out');
      return;
    }
    const delay = backoffDelay(this.attempt++, this.options.backoff ?? DEFAULT_BACKOFF, this.options.random);
    this.options.logger.info({ code, delay }, 'bus connection closed; reconnecting');
    this.setState('reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }

  private startHeartbeat(socket: WebSocket): void {
    const every = this.options.heartbeatMs ?? 25_000;
    this.heartbeatTimer = setInterval(() => {
      if (Date.now() - this.lastFrameAt > 2 * every) {
        this.options.logger.warn('bus heartbeat lost');
        socket.terminate();
        return;
      }
      this.send(socket, { t: 'ping' });
    }, every);
  }

  private send(socket: WebSocket, frame: ClientFrame): void {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  private failPending(err: Error): void {
    for (const [reqId, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(err);
      this.pending.delete(reqId);
    }
  }

  private clearTimers(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.reconnectTimer = null;
    this.heartbeatTimer = null;
  }

  private setState(state: ConnectionState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.states.emit(state);
  }
}
