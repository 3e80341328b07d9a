// Starts a throwaway PostgreSQL for tests: initdb into a temp dir as the `postgres` user (the
// server refuses to run as root), loopback TCP on a free port, its socket in the temp dir, no
// fsync (a crash loses nothing a test needs). One server per test file; a database per caller.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './redis-server.js';

export interface PostgresServer {
  /** A new empty database on this server; its URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

/** The newest Debian PostgreSQL (apt `postgresql`; .ci/run installs it). */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('PostgreSQL not installed (apt-get install postgresql; .ci/run does this)');
  return join(root, newest, 'bin');
}

/** The `postgres` user's ids when we are root (spawned directly, so signals reach the server); ourselves otherwise. */
function serverUser(): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {};
  const id = (flag: string) => {
    const result = spawnSync('id', [flag, 'postgres']);
    check(result, `id ${flag} postgres`);
    return Number(result.stdout.toString());
  };
  return { uid: id('-u'), gid: id('-g') };
}

function check(result: SpawnSyncReturns<Buffer>, what: string): void {
  if (result.status !== 0) throw new Error(`${what} failed: ${result.error?.message ?? result.stderr.toString()}`);
}

let databases = 0;

export interface PostgresServerOptions {
  /** The address it listens on and its URLs name; default 127.0.0.1. Another one is also let in from its subnet (hosts in network namespaces). */
  host?: string;
}

export async function startPostgres(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const host = options.host ?? '127.0.0.1';
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'rb-pg-'));
  const user = serverUser();
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!);
  const data = join(dir, 'data');
  check(spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--no-locale'], { ...user, cwd: dir }), 'initdb');
  // initdb's pg_hba.conf lets in loopback only; peers on the listen address's subnet need a line.
  if (host !== '127.0.0.1') appendFileSync(join(data, 'pg_hba.conf'), 'host all all samenet trust\n');
  const port = await freePort(host);
  const settings = ['-p', String(port), '-c', `listen_addresses=${host}`, '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off',
    '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'shared_buffers=16MB', '-c', 'max_connections=200'];
  const proc = spawn(join(bin, 'postgres'), ['-D', data, ...settings], { ...user, cwd: dir, stdio: 'ignore' });
  let exited = false;
  const exit = new Promise<void>((resolve) => proc.once('exit', () => { exited = true; resolve(); }));
  const admin = `postgres://postgres@${host}:${port}/postgres`;
  const stop = async () => {
    // SIGINT is PostgreSQL's fast shutdown: aborts sessions, does not wait for clients.
    if (!exited) proc.kill('SIGINT');
    await exit;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(admin, () => exited);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    async createDatabase(name = `rb_test_${process.pid}_${++databases}`) {
      const client = new pg.Client({ connectionString: admin });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@${host}:${port}/${name}`;
    },
    stop,
  };
}

async function waitUntilReady(url: string, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited()) throw new Error('postgres exited during startup');
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`postgres did not answer on ${url}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      await client.end().catch(() => {});
    }
  }
}
