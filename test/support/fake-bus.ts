// A small in-process bus speaking the agent protocol, for the agent's tests and the bench:
// pairing endpoint, hello/welcome, resume with replay, resync, live events, dial and recording
// answers. It is deliberately simple (one tenant, events kept in memory).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { AGENT_WS_PATH, ClientFrameSchema, parseFrame, type ClientFrame, type ServerFrame } from '../../src/shared/agent-protocol.js';
import type { CallEvent } from '../../src/shared/call-event.js';
import { PAIR_PATH, type PairResponse } from '../../src/shared/pairing.js';

export const FAKE_PAIRING_CODE = 'PAIR-123456';
export const FAKE_DEVICE_TOKEN = 'device-token-0123456789abcdef';

export interface FakeBusSession {
  socket: WebSocket;
  received: ClientFrame[];
  hello: Extract<ClientFrame, { t: 'hello' }> | null;
}

export class FakeBus {
  readonly sessions: FakeBusSession[] = [];
  readonly log: CallEvent[] = [];
  epoch = 'epoch-1';
  /** Oldest offset still replayable; a resume before it gets a resync. */
  firstRetained = 1;
  revoked = false;
  answerPings = true;
  extension = '201';
  private server: Server | null = null;
  private wss: WebSocketServer | null = null;
  private readonly waiters: Array<() => void> = [];

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  get wsUrl(): string {
    return this.url.replace(/^http/, 'ws') + AGENT_WS_PATH;
  }

  /** The newest session that completed hello. */
  get current(): FakeBusSession | undefined {
    return [...this.sessions].reverse().find((s) => s.hello && s.socket.readyState === s.socket.OPEN);
  }

  async listen(): Promise<this> {
    this.server = createServer((req, res) => {
      if (req.method !== 'POST' || req.url !== PAIR_PATH) return void res.writeHead(404).end();
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const code = (JSON.parse(body || '{}') as { code?: string }).code;
        if (code !== FAKE_PAIRING_CODE) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"unknown code"}');
        const answer: PairResponse = {
          deviceToken: FAKE_DEVICE_TOKEN,
          agentId: 'agent-1',
          tenantId: 'tenant-1',
          extension: this.extension,
          name: 'Robin Reception',
          crmUser: 'crm-user-1',
          wsUrl: this.wsUrl,
        };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    this.wss = new WebSocketServer({ server: this.server, path: AGENT_WS_PATH });
    this.wss.on('connection', (socket) => this.accept(socket));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async close(): Promise<void> {
    for (const client of this.wss?.clients ?? []) client.terminate();
    await new Promise<void>((resolve) => this.wss?.close(() => resolve()) ?? resolve());
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** Appends to the log and pushes live to connected sessions; returns the offset. */
  append(event: CallEvent): number {
    this.log.push(event);
    const offset = this.log.length;
    for (const session of this.sessions) {
      if (session.hello && session.socket.readyState === session.socket.OPEN) {
        this.send(session.socket, { t: 'event', offset, epoch: this.epoch, replay: false, event });
      }
    }
    return offset;
  }

  send(socket: WebSocket, frame: ServerFrame): void {
    socket.send(JSON.stringify(frame));
  }

  sendRaw(text: string): void {
    this.current?.socket.send(text);
  }

  /** Acks received by all sessions, in order. */
  acks(): number[] {
    return this.sessions.flatMap((s) => s.received.filter((f) => f.t === 'ack').map((f) => (f as { offset: number }).offset));
  }

  /** Resolves when `predicate` holds, re-checked after every frame the bus receives. */
  until(predicate: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (predicate()) resolve();
        else this.waiters.push(check);
      };
      check();
    });
  }

  private accept(socket: WebSocket): void {
    const session: FakeBusSession = { socket, received: [], hello: null };
    this.sessions.push(session);
    socket.on('message', (raw) => {
      const parsed = parseFrame(ClientFrameSchema, raw.toString());
      if (!parsed.ok) return this.send(socket, { t: 'error', code: 'bad_frame', message: parsed.message });
      session.received.push(parsed.frame);
      this.onFrame(session, parsed.frame);
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('close', () => this.waiters.splice(0).forEach((w) => w()));
  }

  private onFrame(session: FakeBusSession, frame: ClientFrame): void {
    const { socket } = session;
    switch (frame.t) {
      case 'hello': {
        if (frame.token !== FAKE_DEVICE_TOKEN) return void socket.close(4100, 'unauthenticated');
        if (this.revoked) return void socket.close(4101, 'revoked');
        session.hello = frame;
        const top = { offset: this.log.length, epoch: this.epoch };
        const resume = frame.resume;
        const recovered = !resume || (resume.epoch === this.epoch && resume.offset + 1 >= this.firstRetained);
        this.send(socket, { t: 'welcome', agentId: 'agent-1', tenantId: 'tenant-1', extension: this.extension, position: top, recovered });
        if (!resume) return;
        if (!recovered) {
          this.send(socket, { t: 'resync', reason: resume.epoch === this.epoch ? 'retention' : 'epoch', position: top });
          return;
        }
        this.log.slice(resume.offset).forEach((event, i) => {
          this.send(socket, { t: 'event', offset: resume.offset + i + 1, epoch: this.epoch, replay: true, event });
        });
        return;
      }
      case 'ping':
        if (this.answerPings) this.send(socket, { t: 'pong' });
        return;
      case 'dial':
        this.send(socket, { t: 'dial_result', reqId: frame.reqId, ok: true, e164: frame.number, pbxCallId: `out-${frame.reqId.slice(0, 8)}`, error: null });
        return;
      case 'recording': {
        const found = this.log.find((e) => e.id === frame.eventId && e.type === 'recording_ready');
        if (!found) return this.send(socket, { t: 'error', code: 'not_found', message: 'no such recording', reqId: frame.reqId });
        this.send(socket, { t: 'recording_url', reqId: frame.reqId, url: `${this.url}/rec/${found.id}`, expiresAt: new Date(Date.now() + 60_000).toISOString() });
        return;
      }
      case 'ack':
        return;
    }
  }
}

let counter = 0;

/** A CallEvent with sensible defaults for tests. */
export function callEvent(overrides: Partial<CallEvent> & Pick<CallEvent, 'type' | 'pbxCallId'>): CallEvent {
  counter += 1;
  const now = new Date().toISOString();
  return {
    v: 1,
    id: `evt-${overrides.pbxCallId}-${overrides.type}-${counter}`,
    tenantId: 'tenant-1',
    pbxId: 'pbx-1',
    direction: 'inbound',
    caller: { raw: '0298765432', e164: '+61298765432', name: null, extension: null },
    callee: { raw: '201', e164: null, name: 'Robin Reception', extension: '201' },
    extensions: ['201'],
    queue: null,
    agents: ['201'],
    pbxTime: now,
    receivedAt: now,
    durationSec: null,
    recording: null,
    source: 'webhook',
    ...overrides,
  };
}
