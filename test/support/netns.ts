// Separate "hosts" on one machine for the multi-host tests: a network namespace per host, each
// joined by a veth pair to a bridge in the root namespace that carries the /24 they share. The root
// namespace keeps the bridge's address (.1), so servers the test starts there (PostgreSQL, Redis,
// the balancer, the PBX simulator) listen on it and every host reaches them. Names are random so
// parallel runs never collide; cleanup() removes everything even after a half-done setup.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';

export interface Host {
  netns: string;
  address: string;
}

export interface HostNetwork {
  /** The bridge's address in the root namespace: where shared servers listen. */
  gateway: string;
  hosts: Host[];
  cleanup(): void;
}

function ip(...args: string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${result.error?.message ?? result.stderr.trim()}`);
}

/** Why namespaces cannot be made here (to skip with), or null when they can. */
export function namespacesUnavailable(): string | null {
  if (userInfo().uid !== 0) return 'network namespaces need root (ip netns add)';
  const probe = `rb-probe-${randomBytes(4).toString('hex')}`;
  const added = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (added.status !== 0) return `ip netns add fails here: ${added.error?.message ?? added.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return null;
}

export function createHostNetwork(count: number): HostNetwork {
  const tag = randomBytes(3).toString('hex');
  // 10.77.x.0/24 with x at random: two runs at once would need the same x to clash.
  const subnet = `10.77.${randomInt(1, 255)}`;
  const bridge = `rb${tag}br`;
  const namespaces: string[] = [];
  const cleanup = () => {
    for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns]); // takes its veth end, and so the pair, with it
    spawnSync('ip', ['link', 'del', bridge]);
  };
  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', `${subnet}.1/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    const hosts = Array.from({ length: count }, (_, i): Host => {
      const netns = `rb-${tag}-${String.fromCharCode(97 + i)}`;
      const outside = `rb${tag}v${i}`;
      const inside = `rb${tag}p${i}`;
      const address = `${subnet}.${i + 2}`;
      ip('netns', 'add', netns);
      namespaces.push(netns);
      ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
      ip('link', 'set', outside, 'master', bridge, 'up');
      ip('link', 'set', inside, 'netns', netns);
      ip('-n', netns, 'addr', 'add', `${address}/24`, 'dev', inside);
      ip('-n', netns, 'link', 'set', inside, 'up');
      ip('-n', netns, 'link', 'set', 'lo', 'up');
      return { netns, address };
    });
    return { gateway: `${subnet}.1`, hosts, cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

export interface Balancer {
  url: string;
  stop(): Promise<void>;
}

/**
 * Debian's HAProxy in front of `servers` (host:port): round robin, health-checked on GET /ready
 * every 200 ms, a refused connection retried on another server, WebSockets kept open (tunnel
 * timeout) and X-Forwarded-For added (the nodes trust it via RINGBRIDGE_TRUST_PROXY).
 */
export async function startHaproxy(dir: string, listen: { host: string; port: number }, servers: string[]): Promise<Balancer> {
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(
    config,
    [
      'global',
      '  maxconn 4096',
      'defaults',
      '  mode http',
      '  option forwardfor',
      '  option redispatch',
      '  retries 3',
      '  timeout connect 1s',
      '  timeout client 1h',
      '  timeout server 1h',
      '  timeout tunnel 1h',
      'frontend bus',
      `  bind ${listen.host}:${listen.port}`,
      '  default_backend nodes',
      'backend nodes',
      '  balance roundrobin',
      '  option httpchk GET /ready',
      '  default-server inter 200ms fall 1 rise 1',
      ...servers.map((server, i) => `  server node${i} ${server} check`),
      '',
    ].join('\n'),
  );
  const check = spawnSync('haproxy', ['-c', '-f', config], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy refuses its config: ${check.error?.message ?? check.stderr}`);
  const proc = spawn('haproxy', ['-db', '-f', config], { stdio: 'ignore' });
  const exited = once(proc, 'exit');
  return {
    url: `http://${listen.host}:${listen.port}`,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}
