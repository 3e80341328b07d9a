// The bus process as an operator starts it: what it says when it cannot start, and what it leaves
// readable in its data directory.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startBus } from './server.js';

const SERVER_ENTRY = fileURLToPath(new URL('./server.ts', import.meta.url));

const dirs: string[] = [];
const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rb-server-'));
  dirs.push(dir);
  return dir;
}

/** Runs the bus entry (not a launcher script, which builds may change) until it exits. */
async function runBus(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER_ENTRY], {
    env: { ...process.env, RINGBRIDGE_HOST: '127.0.0.1', RINGBRIDGE_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

async function occupiedPort(): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

describe('a bus that cannot start', () => {
  it('says why on one stderr line and exits non-zero (not 13) when its port is taken, its host is not local, or its data directory is a file', async () => {
    const port = await occupiedPort();
    const notADir = join(tempDir(), 'file');
    writeFileSync(notADir, '');
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['port in use', { RINGBRIDGE_DATA_DIR: tempDir(), RINGBRIDGE_PORT: String(port) }, new RegExp(`^ringbridge bus: cannot start: 127\\.0\\.0\\.1:${port} is already in use`)],
      // 192.0.2.1 (TEST-NET-1) is never an address of this machine.
      ['host not local', { RINGBRIDGE_DATA_DIR: tempDir(), RINGBRIDGE_PORT: '0', RINGBRIDGE_HOST: '192.0.2.1' }, /^ringbridge bus: cannot start: .*RINGBRIDGE_HOST is not an address of this machine/],
      ['data directory is a file', { RINGBRIDGE_DATA_DIR: notADir, RINGBRIDGE_PORT: '0' }, /^ringbridge bus: cannot start: data directory .* \(RINGBRIDGE_DATA_DIR\) is not usable: /],
      ['invalid setting', { RINGBRIDGE_DATA_DIR: tempDir(), RINGBRIDGE_PORT: 'eighty' }, /^ringbridge bus: invalid configuration: RINGBRIDGE_PORT: /],
    ];
    const outcomes = await Promise.all(cases.map(([, env]) => runBus(env)));
    for (const [i, [name, , message]] of cases.entries()) {
      const { code, stderr } = outcomes[i]!;
      expect.soft(stderr, name).toMatch(message);
      expect.soft(stderr.trim().split('\n'), `${name}: one line`).toHaveLength(1);
      expect.soft(code, name).not.toBe(0);
      expect.soft(code, `${name}: 13 is Node's "unsettled top-level await", not a reason`).not.toBe(13);
    }
  }, 120_000);
});

describe('the data directory', () => {
  /** Octal permissions of the directory and of every file in it. */
  function modes(dir: string): Record<string, string> {
    const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
    return Object.fromEntries([['.', mode(dir)], ...readdirSync(dir).map((name) => [name, mode(join(dir, name))])]);
  }

  it.each([
    ['with RINGBRIDGE_MASTER_KEY', { RINGBRIDGE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }],
    ['with a master key file', {}],
  ])('is 0700 with every file 0600 %s, tightening what an earlier run left readable', async (_name, env: Record<string, string>) => {
    // The usual umask, whatever the test runner was started with.
    const umask = process.umask(0o022);
    try {
      const dataDir = tempDir();
      chmodSync(dataDir, 0o755);
      const config = loadConfig({ RINGBRIDGE_DATA_DIR: dataDir, RINGBRIDGE_PORT: '0', RINGBRIDGE_HOST: '127.0.0.1', RINGBRIDGE_LOG_LEVEL: 'silent', ...env });
      const expectOwnerOnly = () => {
        const found = modes(dataDir);
        expect(Object.keys(found)).toEqual(expect.arrayContaining(['events.sqlite', 'events.sqlite-wal', 'events.sqlite-shm', 'tenants.sqlite', 'tenants.sqlite-wal']));
        expect(found).toEqual(Object.fromEntries(Object.keys(found).map((name) => [name, name === '.' ? '700' : '600'])));
      };

      const first = await startBus(config, { shutdownGraceMs: 0 });
      try {
        expectOwnerOnly();
      } finally {
        await first.close();
      }

      // As a bus before this fix left them (and as the WAL files may outlive a crash).
      chmodSync(dataDir, 0o755);
      for (const name of readdirSync(dataDir)) chmodSync(join(dataDir, name), 0o644);
      writeFileSync(join(dataDir, 'events.sqlite-wal'), '', { flag: 'a' });
      const second = await startBus(config, { shutdownGraceMs: 0 });
      try {
        expectOwnerOnly();
      } finally {
        await second.close();
      }
    } finally {
      process.umask(umask);
    }
  });
});
