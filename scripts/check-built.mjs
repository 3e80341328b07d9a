#!/usr/bin/env node
// CI, after `npm run build`: the production commands run the built JavaScript. Starts the bus
// through its launcher (what `npm run bus` runs) on a free port with an empty data directory, waits
// for /health, stops it with SIGTERM; runs the admin CLI and the remote connector the same way; and
// checks that a launcher without a build says to build first. Exits non-zero with the reason.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'rb-built-'));
const env = { ...process.env, RINGBRIDGE_DATA_DIR: join(tmp, 'data'), RINGBRIDGE_HOST: '127.0.0.1', RINGBRIDGE_PORT: '0', RINGBRIDGE_MASTER_KEY: '' };

/** Runs a launcher to its end: exit code and everything it printed. */
function run(bin, args = [], cwd = root) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

function check(ok, what, output = '') {
  if (ok) return console.log(`ok: ${what}`);
  throw new Error(`${what}\n${output}`);
}

async function bus() {
  const child = spawn(process.execPath, ['bin/ringbridge-bus.mjs'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  child.stderr.on('data', (d) => (output += d));
  const lines = createInterface({ input: child.stdout });
  const listening = new Promise((resolve, reject) => {
    lines.on('line', (line) => {
      output += `${line}\n`;
      if (line.includes('"bus listening"')) resolve(JSON.parse(line).url);
    });
    void exited.then((code) => reject(new Error(`the built bus exited (${code}) before listening\n${output}`)));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    const url = await listening;
    const health = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) });
    const body = await health.json();
    check(health.status === 200 && body.status === 'ok', `built bus answers ${url}/health`, output);
    child.kill('SIGTERM');
    check((await exited) === 0, 'built bus stops cleanly on SIGTERM', output);
  } finally {
    clearTimeout(timer);
    child.kill('SIGKILL');
  }
}

try {
  await bus();
  const help = await run('bin/ringbridge-admin.mjs', ['--help']);
  check(help.code === 0 && help.output.includes('ringbridge-admin <command>'), 'built admin CLI prints its usage', help.output);
  const tenant = await run('bin/ringbridge-admin.mjs', ['tenant', 'create', '--name', 'CI check']);
  check(tenant.code === 0 && /tenant \S+ "CI check" created/.test(tenant.output), 'built admin CLI creates a tenant in the bus data directory', tenant.output);
  const connector = await run('bin/ringbridge-connector.mjs');
  check(connector.code === 1 && connector.output.includes('connector cannot start') && connector.output.includes('pbxUrl'), 'built remote connector starts and refuses a missing configuration', connector.output);
  // A checkout that was never built: the launcher names the fix instead of a module-not-found trace.
  cpSync(join(root, 'bin'), join(tmp, 'unbuilt/bin'), { recursive: true });
  const unbuilt = await run(join(tmp, 'unbuilt/bin/ringbridge-bus.mjs'), [], tmp);
  check(unbuilt.code === 1 && unbuilt.output.includes('run npm run build first'), 'an unbuilt launcher says to run npm run build first', unbuilt.output);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
