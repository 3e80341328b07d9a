// CI, after `npm run build` (run with tsx): proves the Docker image's contents without a Docker
// engine. Reads the Dockerfile: the last stage is the image; its COPY lines say what goes in, taken
// from this checkout for `--from=build` (CI just ran that stage's `npm ci` + `npm run build` here)
// and for the build context, and from any other stage rebuilt in an empty folder by running its RUN
// lines (the `deps` stage: `npm ci --omit=dev`). Then runs two bus nodes from that folder with the
// image's ENV, WORKDIR and CMD against a real PostgreSQL and Redis (the same helpers the tests use),
// runs the image's HEALTHCHECK command, and the admin CLI from the same tree; with HAProxy installed,
// puts deploy/haproxy.cfg in front of them (only its bind and server addresses changed).
// Not checked here, because they need an engine: the base images, the RUN lines of the last stage
// (the user, /data's owner), USER, VOLUME and EXPOSE. Exits non-zero with the reason.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, posix } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { AGENT_PROTOCOL_VERSION, AGENT_WS_PATH, CloseCode } from '../src/shared/agent-protocol.js';
import { startPostgres } from '../test/support/postgres-server.js';
import { freePort, startRedis } from '../test/support/redis-server.js';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  workdir: string;
  instructions: Instruction[];
}

/** The Dockerfile's stages: instructions with continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const name = /\bAS\s+(\S+)$/i.exec(args)?.[1] ?? String(stages.length);
      stages.push({ name, workdir: '/', instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile: ${upper} before the first FROM`);
    if (upper === 'WORKDIR') stage.workdir = posix.resolve(stage.workdir, args);
    stage.instructions.push({ op: upper, args });
  }
  return stages;
}

function fail(message: string): never {
  throw new Error(`Dockerfile: ${message} (scripts/check-image.ts reproduces only the simple forms; keep them or teach it)`);
}

/** The JSON (exec) form of CMD / HEALTHCHECK CMD. */
function execForm(args: string, what: string): string[] {
  try {
    const parsed: unknown = JSON.parse(args);
    if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((a) => typeof a === 'string')) return parsed as string[];
  } catch {
    // reported below
  }
  return fail(`${what} must be in JSON form: ${args}`);
}

/** `KEY=value KEY=value` without quotes or spaces in values. */
function envPairs(args: string): Record<string, string> {
  return Object.fromEntries(
    args.split(/\s+/).map((pair) => {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)=([^"'\s]*)$/.exec(pair);
      return match ? [match[1]!, match[2]!] : fail(`ENV must be KEY=value pairs without quotes: ${args}`);
    }),
  );
}

/** Where a path inside a stage lives on this machine, given the folder that stands for the stage's WORKDIR. */
function local(stage: Stage, dir: string, path: string): string {
  const absolute = posix.resolve(stage.workdir, path);
  if (absolute !== stage.workdir && !absolute.startsWith(`${stage.workdir}/`)) fail(`${path} is outside ${stage.name}'s WORKDIR ${stage.workdir}`);
  return join(dir, posix.relative(stage.workdir, absolute));
}

/** A COPY: its --from stage (undefined: the build context), sources and destination. */
function parseCopy(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = flags.map((f) => /^--from=(\S+)$/.exec(f)?.[1] ?? fail(`COPY ${args}: only --from is understood`))[0];
  if (paths.length < 2) fail(`COPY ${args}: needs a source and a destination`);
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

/** Where a COPY source lands: a destination ending in / is a folder to copy into; else the source becomes it. */
function destination(stage: Stage, dir: string, dest: string, source: string): string {
  const target = local(stage, dir, dest);
  const into = dest.endsWith('/') || dest === '.' ? join(target, posix.basename(source)) : target;
  mkdirSync(join(into, '..'), { recursive: true });
  return into;
}

/** Rebuilds a stage that starts empty: its COPY lines from the build context, then its RUN lines. */
function rebuildStage(stage: Stage, dir: string): void {
  // HOME stays: npm's cache and node-gyp's headers are there, as they are in the base image's /root.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const { op, args } of stage.instructions) {
    if (op === 'COPY') {
      const copy = parseCopy(args);
      if (copy.from) fail(`stage ${stage.name}: COPY --from is not reproduced`);
      for (const source of copy.sources) cpSync(join(root, source), destination(stage, dir, copy.dest, source), { recursive: true });
    } else if (op === 'RUN') {
      console.log(`stage ${stage.name}: RUN ${args}`);
      const result = spawnSync('sh', ['-c', args], { cwd: dir, env, stdio: 'inherit' });
      if (result.status !== 0) throw new Error(`stage ${stage.name}: RUN ${args} failed (${result.status ?? result.signal})`);
    } else if (op === 'ENV') {
      Object.assign(env, envPairs(args));
    } else if (op !== 'WORKDIR') {
      fail(`stage ${stage.name}: ${op} is not reproduced`);
    }
  }
}

/** The image's files in `tree`; returns the runtime stage's ENV, CMD and HEALTHCHECK command. */
function buildTree(stages: Stage[], tree: string, scratch: string) {
  const image = stages.at(-1)!;
  const env: Record<string, string> = {};
  let cmd: string[] | undefined;
  let healthcheck: string[] | undefined;
  const rebuilt = new Map<string, string>();
  for (const { op, args } of image.instructions) {
    if (op === 'COPY') {
      const copy = parseCopy(args);
      const fromStage = copy.from === undefined ? undefined : (stages.find((s) => s.name === copy.from) ?? fail(`COPY --from=${copy.from}: no such stage`));
      for (const source of copy.sources) {
        let from: string;
        if (!fromStage) {
          from = join(root, source);
        } else if (fromStage.name === 'build') {
          // The build stage is this checkout after CI's `npm ci` and `npm run build`.
          if (!isAbsolute(source)) fail(`COPY --from=build ${source}: use an absolute path under its WORKDIR`);
          from = local(fromStage, root, source);
        } else {
          let dir = rebuilt.get(fromStage.name);
          if (!dir) {
            dir = mkdtempSync(join(scratch, `stage-${fromStage.name}-`));
            rebuildStage(fromStage, dir);
            rebuilt.set(fromStage.name, dir);
          }
          from = local(fromStage, dir, source);
        }
        if (!existsSync(from)) throw new Error(`COPY ${args}: ${from} does not exist${fromStage?.name === 'build' ? ' (run npm run build first)' : ''}`);
        const into = destination(image, tree, copy.dest, source);
        // A rebuilt stage's folder is scratch: move node_modules instead of copying it.
        if (fromStage && fromStage.name !== 'build') renameSync(from, into);
        else cpSync(from, into, { recursive: true });
      }
    } else if (op === 'ENV') {
      Object.assign(env, envPairs(args));
    } else if (op === 'CMD') {
      cmd = execForm(args, 'CMD');
    } else if (op === 'HEALTHCHECK') {
      healthcheck = execForm(/\bCMD\s+(.*)$/.exec(args)?.[1] ?? fail(`HEALTHCHECK needs CMD: ${args}`), 'HEALTHCHECK CMD');
    }
  }
  return { env, cmd: cmd ?? fail('the last stage has no CMD'), healthcheck: healthcheck ?? fail('the last stage has no HEALTHCHECK') };
}

function check(ok: boolean, what: string, output = ''): void {
  if (!ok) throw new Error(`${what}\n${output}`);
  console.log(`ok: ${what}`);
}

/** `node …` in the image is this machine's node (same major version as the image's base). */
function program(argv: string[]): [string, string[]] {
  return [argv[0] === 'node' ? process.execPath : argv[0]!, argv.slice(1)];
}

function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv): { code: number | null; output: string } {
  const [bin, args] = program(argv);
  const result = spawnSync(bin, args, { cwd, env, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, output: `${result.stdout}${result.stderr}${result.error?.message ?? ''}` };
}

interface Node {
  child: ChildProcess;
  /** Its URL once it logs "bus listening"; rejects if it exits first. */
  listening: Promise<string>;
  exited: Promise<number | null>;
  output: () => string;
}

/** Starts the image's CMD in the tree. */
function startNode(argv: string[], cwd: string, env: NodeJS.ProcessEnv): Node {
  const [bin, args] = program(argv);
  const child = spawn(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  const listening = new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      output += `${line}\n`;
      if (line.includes('"bus listening"')) resolve((JSON.parse(line) as { url: string }).url);
    });
    void exited.then((code) => reject(new Error(`the bus from the image tree exited (${code}) before listening\n${output}`)));
  });
  // Awaited below; this only keeps a second node's failure from being an unhandled rejection.
  listening.catch(() => {});
  return { child, listening, exited, output: () => output };
}

/** deploy/haproxy.cfg with its `bind` on a free loopback port and each `server NAME` at that node's address. */
async function startBalancer(dir: string, addresses: Map<string, string>): Promise<{ url: string; stop(): Promise<void> } | null> {
  if (spawnSync('haproxy', ['-v']).error) {
    console.log('skipped: the balancer (haproxy is not installed: apt-get install haproxy)');
    return null;
  }
  const port = await freePort();
  const config = join(dir, 'haproxy.cfg');
  const text = readFileSync(join(root, 'deploy/haproxy.cfg'), 'utf8')
    .replace(/^(\s*bind\s+)\S+/m, `$1127.0.0.1:${port}`)
    .replace(/^(\s*server\s+(\S+)\s+)\S+/gm, (_, head: string, name: string) => head + (addresses.get(name) ?? fail(`deploy/haproxy.cfg: server ${name} is not a node of compose.yaml`)));
  writeFileSync(config, text);
  const valid = spawnSync('haproxy', ['-c', '-f', config], { encoding: 'utf8' });
  check(valid.status === 0, 'deploy/haproxy.cfg passes haproxy -c', valid.stdout + valid.stderr);
  // -n overrides the config's maxconn, which needs more descriptors than `ulimit -n` allows on CI machines (compose.yaml raises it).
  const proc = spawn('haproxy', ['-db', '-n', '2000', '-f', config], { stdio: 'ignore' });
  const exit = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      proc.kill('SIGTERM');
      await exit;
    },
  };
}

/** GET through the balancer until it answers 200 (its first health checks take a moment); the last status otherwise. */
async function getUntilOk(url: string): Promise<number> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const status = await fetch(url, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status, () => 0);
    if (status === 200 || Date.now() > deadline) return status;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** An agent socket through the balancer with a token the bus does not know: the close code the bus answers with. */
function agentCloseCode(baseUrl: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(baseUrl.replace(/^http/, 'ws') + AGENT_WS_PATH);
    const timer = setTimeout(() => socket.terminate(), 10_000);
    socket.once('open', () => socket.send(JSON.stringify({ t: 'hello', v: AGENT_PROTOCOL_VERSION, token: 'not-a-device-token-from-pairing' })));
    socket.once('error', reject);
    socket.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'rb-image-'));
  const tree = join(scratch, 'app');
  mkdirSync(tree);
  const nodes: Node[] = [];
  const servers: { stop(): Promise<void> }[] = [];
  try {
    const started = Date.now();
    const image = buildTree(parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8')), tree, scratch);
    console.log(`image tree built in ${Math.round((Date.now() - started) / 1000)} s`);

    // Redis as compose.yaml runs it, and the bus told to require it.
    const redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    servers.push(redis);
    const postgres = await startPostgres();
    servers.push(postgres);
    const shared = {
      PATH: process.env.PATH,
      ...image.env,
      RINGBRIDGE_HOST: '127.0.0.1',
      RINGBRIDGE_DATABASE_URL: await postgres.createDatabase('ringbridge'),
      RINGBRIDGE_REDIS_URL: redis.url,
      RINGBRIDGE_REDIS_REQUIRE_FSYNC: 'always',
      RINGBRIDGE_MASTER_KEY: randomBytes(32).toString('base64'),
      RINGBRIDGE_METRICS_TOKEN: randomBytes(24).toString('hex'),
      RINGBRIDGE_TRUST_PROXY: 'loopback',
    };
    // Two nodes, each with its own data directory (its own volume in compose.yaml), started together:
    // the schema migrations run once under PostgreSQL's advisory lock.
    const names = ['bus1', 'bus2'];
    const envs = await Promise.all(
      names.map(async (name) => ({ ...shared, HOME: join(scratch, name), RINGBRIDGE_DATA_DIR: join(scratch, name, 'data'), RINGBRIDGE_PORT: String(await freePort()) })),
    );
    const timer = setTimeout(() => nodes.forEach((n) => n.child.kill('SIGKILL')), 120_000);
    try {
      nodes.push(...envs.map((env) => startNode(image.cmd, tree, env)));
      const urls = await Promise.all(nodes.map((n) => n.listening));
      console.log(`ok: two nodes run ${image.cmd.join(' ')} from the image tree`);
      for (const [i, node] of nodes.entries()) {
        const url = urls[i]!;
        const health = run(image.healthcheck, tree, envs[i]!);
        check(health.code === 0, `the image's HEALTHCHECK passes on ${url}`, health.output + node.output());
        const ready = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(10_000) });
        check(ready.status === 200, `${url}/ready is 200 (PostgreSQL and Redis reachable)`, (await ready.text()) + node.output());
        const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${shared.RINGBRIDGE_METRICS_TOKEN}` }, signal: AbortSignal.timeout(10_000) });
        const exposition = await metrics.text();
        check(metrics.status === 200 && exposition.includes('ringbridge_agents_connected'), `${url}/metrics answers with the token`, `${metrics.status} ${exposition.slice(0, 500)}\n${node.output()}`);
      }
      const balancer = await startBalancer(scratch, new Map(names.map((name, i) => [name, new URL(urls[i]!).host])));
      if (balancer) servers.push(balancer);
      if (balancer) {
        check((await getUntilOk(`${balancer.url}/ready`)) === 200, `the balancer answers ${balancer.url}/ready from the nodes`);
        // The bus's own close code proves the upgrade and frames both ways crossed the balancer.
        const code = await agentCloseCode(balancer.url);
        check(code === CloseCode.unauthenticated, `an agent WebSocket through the balancer reaches a node (closed ${code}: unknown token)`);
      }
      // The admin CLI as an operator runs it in a container (`docker compose exec bus1 node bin/ringbridge-admin.mjs …`).
      const admin = ['node', 'bin/ringbridge-admin.mjs'];
      const created = run([...admin, 'tenant', 'create', '--name', 'Image check'], tree, envs[0]!);
      check(created.code === 0 && created.output.includes('"Image check" created'), 'the admin CLI from the image tree creates a tenant', created.output);
      const listed = run([...admin, 'tenant', 'list'], tree, envs[1]!);
      check(listed.code === 0 && listed.output.includes('Image check'), "another node's data directory lists it (it is in PostgreSQL)", listed.output);

      const [first] = nodes;
      first!.child.kill('SIGTERM');
      check((await first!.exited) === 0, 'a node stops cleanly on SIGTERM', first!.output());
      const down = run(image.healthcheck, tree, envs[0]!);
      check(down.code !== 0, 'the HEALTHCHECK fails once the node is gone');
      if (balancer) check((await getUntilOk(`${balancer.url}/ready`)) === 200, 'the balancer still answers through the other node');
    } finally {
      clearTimeout(timer);
    }
  } finally {
    for (const node of nodes) node.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    for (const server of servers.reverse()) await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

const began = Date.now();
await main();
console.log(`image check passed in ${Math.round((Date.now() - began) / 1000)} s`);
