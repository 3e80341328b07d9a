// Starts a throwaway redis-server on a free loopback port for tests (no persistence, temp dir,
// unless the options say otherwise).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** SIGKILL, as a crash: no shutdown save or fsync; the data directory is kept. */
  kill(): Promise<void>;
}

export interface RedisServerOptions {
  /** More redis-server arguments; later ones override the defaults (e.g. --appendonly yes). */
  args?: string[];
  /** A data directory the caller owns and keeps (a restart on it replays its files); default: a temp dir removed on stop. */
  dir?: string;
  port?: number;
  /** The address it listens on and its URL names; default 127.0.0.1 (another host: an address they reach, e.g. a bridge's). */
  host?: string;
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilReady(url: string, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited()) throw new Error('redis-server exited during startup');
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch {
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${url}`);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
}

export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error('redis-server not installed (apt-get install redis-server; .ci/run does this)');
  }
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'rb-redis-'));
  const removeDir = () => options.dir === undefined && rmSync(dir, { recursive: true, force: true });
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort(host));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', host, '--protected-mode', 'no', '--save', '', '--appendonly', 'no', '--dir', dir, ...(options.args ?? [])], {
    stdio: 'ignore',
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    proc.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const url = `redis://${host}:${port}`;
  try {
    await waitUntilReady(url, () => exited);
  } catch (err) {
    proc.kill('SIGKILL');
    await exit;
    removeDir();
    throw err;
  }
  const end = async (signal: NodeJS.Signals) => {
    if (exited) return;
    proc.kill(signal);
    await exit;
  };
  return {
    url,
    port,
    async stop() {
      await end('SIGTERM');
      removeDir();
    },
    kill: () => end('SIGKILL'),
  };
}
