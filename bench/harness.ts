// What the bench's sections share: forked children spoken to over IPC, agent sockets opened and
// matched to the sends that caused their frames, and a file-descriptor limit raised for the
// sections that hold tens of thousands of sockets. bench/index.ts and bench/node-scale.ts use it.
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pool } from 'undici';
import WebSocket from 'ws';
import type { ChildMessage } from './stats.js';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long after the last send a missing delivery still counts as late rather than lost. */
export const DRAIN_MS = 5_000;
/** The bench's call mix: the share of calls that come through a queue, ringing QUEUE_RING agents at once. */
export const QUEUE_SHARE = 0.2;
export const QUEUE_RING = 3;
/** Sockets opening at once while connecting agents. */
const CONNECT_CONCURRENCY = 200;

// ---------- children ----------

export interface Child {
  port: number;
  pid: number;
  request<T extends ChildMessage['t']>(message: ChildMessage, reply: T): Promise<Extract<ChildMessage, { t: T }>>;
  stop(): Promise<void>;
}

/** `quiet`: discard the child's stdout (the bus logs a JSON line per request at its default level). */
export async function startChild(file: string, env: Record<string, string> = {}, profile = false, quiet = false): Promise<Child> {
  const execArgv = ['--import', 'tsx', '--expose-gc'];
  if (profile) {
    const dir = join(tmpdir(), 'ringbridge-bench-prof');
    mkdirSync(dir, { recursive: true });
    execArgv.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
  }
  const proc: ChildProcess = fork(fileURLToPath(new URL(file, import.meta.url)), [], {
    execArgv,
    env: { ...process.env, ...env },
    stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const next = <T extends ChildMessage['t']>(t: T) =>
    new Promise<Extract<ChildMessage, { t: T }>>((resolve, reject) => {
      const onMessage = (m: ChildMessage) => {
        if (m.t !== t) return;
        proc.off('message', onMessage);
        resolve(m as Extract<ChildMessage, { t: T }>);
      };
      proc.on('message', onMessage);
      void exited.then(() => reject(new Error(`${file} exited while the bench waited for '${t}'`)));
    });
  const { port } = await next('ready');
  return {
    port,
    pid: proc.pid!,
    request(message, reply) {
      const answer = next(reply);
      proc.send(message);
      return answer;
    },
    async stop() {
      if (proc.exitCode !== null) return;
      proc.send({ t: 'exit' } satisfies ChildMessage);
      const timeout = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timeout);
    },
  };
}

/** A process's soft open-file limit (`ulimit -n`), read with util-linux `prlimit`. */
export function fileLimit(pid: number): number {
  const shown = spawnSync('prlimit', ['--pid', String(pid), '--nofile', '--raw', '--noheadings', '--output=SOFT']);
  const soft = Number(shown.stdout?.toString().trim());
  if (!Number.isFinite(soft) || soft <= 0) throw new Error(`cannot read the open-file limit of ${pid} (is util-linux prlimit installed?)`);
  return soft;
}

/**
 * Raises a process's open-file limit (soft and hard) to at least `wanted` with `prlimit` (Node has
 * no setrlimit); past the hard limit that needs root (CAP_SYS_RESOURCE). Never lowers it. Returns
 * the soft limit the process has afterwards, raised or not.
 */
export function raiseFileLimit(pid: number, wanted: number): number {
  if (fileLimit(pid) < wanted) spawnSync('prlimit', ['--pid', String(pid), `--nofile=${wanted}:${wanted}`]);
  return fileLimit(pid);
}

// ---------- delivery tracking ----------

/** A send the tracker waits for: `key` matches the frames it causes, `targets` the agents that must get one. */
export interface TrackedEvent {
  key: string;
  targets: string[];
  measured: boolean;
}

/** Matches frames received by agents to the request that caused them. One clock: performance.now(). */
export class Tracker {
  private readonly pending = new Map<string, { t0: number; remaining: Set<string>; measured: boolean }>();
  readonly samples: number[] = [];
  /** The first copy of each event frame, replayed byte for byte by the floor. */
  readonly frames = new Map<string, Buffer>();
  duplicates = 0;
  deliveries = 0;

  /** Call right before the request is written. */
  sent(event: TrackedEvent): void {
    this.pending.set(event.key, { t0: performance.now(), remaining: new Set(event.targets), measured: event.measured });
  }

  /** Returns the latency of a measured, expected delivery; null otherwise. */
  received(agentKey: string, eventKey: string, t1: number, frame: Buffer): number | null {
    const entry = this.pending.get(eventKey);
    if (!entry || !entry.remaining.delete(agentKey)) {
      this.duplicates++; // a copy nobody expected: a repeat, or the wrong agent
      return null;
    }
    this.deliveries++;
    if (!this.frames.has(eventKey)) this.frames.set(eventKey, frame);
    if (entry.remaining.size === 0) this.pending.delete(eventKey);
    if (!entry.measured) return null;
    this.samples.push(t1 - entry.t0);
    return t1 - entry.t0;
  }

  outstanding(): number {
    let n = 0;
    for (const entry of this.pending.values()) n += entry.remaining.size;
    return n;
  }

  async drain(ms = DRAIN_MS): Promise<number> {
    const until = performance.now() + ms;
    while (this.outstanding() > 0 && performance.now() < until) await sleep(20);
    return this.outstanding();
  }
}

/** What the client needs from a frame to match an event to its send; the raw bytes are kept as they came. */
export function readFrame(data: Buffer): { t: string; key: string; offset: number } {
  const f = JSON.parse(data.toString('utf8')) as { t: string; offset?: number; event?: { pbxCallId: string; type: string } };
  return { t: f.t, key: f.event ? `${f.event.pbxCallId}|${f.event.type}` : '', offset: f.offset ?? 0 };
}

// ---------- load ----------

export interface DriveResult {
  sent: number;
  httpErrors: number;
  firstError: string | null;
  httpSamples: number[];
  /** From the start to the last send: past the schedule's last `at` when the driver fell behind. */
  sendSpanMs: number;
}

/** Open loop: each event goes out at its time whether or not earlier requests have answered. */
export async function drive<E extends TrackedEvent & { at: number }>(
  schedule: E[],
  pool: Pool,
  tracker: Tracker,
  request: (event: E) => { path: string; headers: Record<string, string>; body: string | Buffer } | null,
): Promise<DriveResult> {
  const result: DriveResult = { sent: 0, httpErrors: 0, firstError: null, httpSamples: [], sendSpanMs: 0 };
  const inFlight = new Set<Promise<void>>();
  const start = performance.now();
  for (const event of schedule) {
    const wait = start + event.at - performance.now();
    if (wait > 1) await sleep(wait);
    const req = request(event);
    if (!req) continue;
    tracker.sent(event);
    const t0 = performance.now();
    result.sent++;
    const p = pool
      .request({ method: 'POST', path: req.path, headers: req.headers, body: req.body })
      .then(async (res) => {
        const text = await res.body.text();
        if (event.measured) result.httpSamples.push(performance.now() - t0);
        if (res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
      })
      .catch((err: unknown) => {
        result.httpErrors++;
        result.firstError ??= String(err);
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  result.sendSpanMs = performance.now() - start;
  await Promise.all(inFlight);
  return result;
}

// ---------- sockets ----------

export async function connectAll(count: number, connect: (i: number) => Promise<WebSocket>): Promise<WebSocket[]> {
  const sockets = new Array<WebSocket>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      sockets[i] = await connect(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, count) }, worker));
  return sockets;
}

/** Opens a socket and resolves once `ready` says so; rejects if it closes first. */
export function openSocket(
  url: string,
  onMessage: (ws: WebSocket, data: Buffer, t1: number) => boolean,
  onOpen?: (ws: WebSocket) => void,
  localAddress?: string,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, localAddress });
    let ready = !onOpen;
    ws.on('open', () => {
      onOpen?.(ws);
      if (ready) resolve(ws);
    });
    ws.on('message', (data: Buffer) => {
      const t1 = performance.now();
      if (onMessage(ws, data, t1) && !ready) {
        ready = true;
        resolve(ws);
      }
    });
    ws.on('error', reject);
    ws.on('close', (code) => reject(new Error(`socket closed (${code}) before it was ready`)));
  });
}

export async function closeAll(sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map((ws) =>
      ws.readyState === ws.CLOSED ? undefined : new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.terminate();
      }),
    ),
  );
}
