// A real `ws` agent client for the fan-out tests: validates every server frame against the shared
// schema and hands them out in order.
import WebSocket from 'ws';
import { AGENT_PROTOCOL_VERSION, ServerFrameSchema, type Position, type ServerFrame } from '../../src/shared/agent-protocol.js';

export class TestAgent {
  private readonly frames: ServerFrame[] = [];
  private waiting: ((f: ServerFrame) => void) | null = null;
  readonly closed: Promise<number>;
  readonly opened: Promise<void>;

  constructor(
    url: string,
    readonly options: { autoPong?: boolean } = {},
  ) {
    this.ws = new WebSocket(url, { autoPong: options.autoPong ?? true });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve(code)));
    this.ws.on('message', (data: Buffer) => {
      const f = ServerFrameSchema.parse(JSON.parse(data.toString('utf8')));
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(f);
      } else this.frames.push(f);
    });
  }

  readonly ws: WebSocket;

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  hello(token: string, resume?: Position): void {
    this.send(resume ? { t: 'hello', v: AGENT_PROTOCOL_VERSION, token, resume } : { t: 'hello', v: AGENT_PROTOCOL_VERSION, token });
  }

  next(): Promise<ServerFrame> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      void this.closed.then((code) => {
        if (this.waiting === resolve) reject(new Error(`socket closed (${code}) while waiting for a frame`));
      });
    });
  }

  async nextOf<T extends ServerFrame['t']>(t: T): Promise<Extract<ServerFrame, { t: T }>> {
    const f = await this.next();
    if (f.t !== t) throw new Error(`expected ${t}, got ${JSON.stringify(f)}`);
    return f as Extract<ServerFrame, { t: T }>;
  }

  close(): void {
    this.ws.close();
  }
}
