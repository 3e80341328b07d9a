// The bus as the operator runs it: `tsx src/bus/server.ts` in its own process, configured through
// RINGBRIDGE_* variables, so tests can SIGKILL or SIGTERM it and start it again on the same data.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { agentStreamUrl } from '../../src/bus/http/pairing.js';
import { busEnv } from './e2e.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export class BusProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
    /** Every log line the bus printed (JSON), for assertions and failure messages. */
    readonly lines: string[],
  ) {}

  get wsUrl(): string {
    return agentStreamUrl(this.url);
  }

  /** `netns`: run it inside that network namespace (another host; `ip netns exec` execs node, so signals reach the bus itself). */
  static async start(dataDir: string, env: Record<string, string> = {}, opts: { netns?: string } = {}): Promise<BusProcess> {
    const node = [process.execPath, '--import', 'tsx', join(ROOT, 'src/bus/server.ts')];
    const [command, ...args] = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...node] : node;
    const child = spawn(command!, args, {
      cwd: ROOT,
      env: { ...process.env, ...busEnv(dataDir, { RINGBRIDGE_LOG_LEVEL: 'info', ...env }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const listening = new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        lines.push(line);
        const entry = parse(line);
        if (entry?.msg === 'bus listening' && typeof entry.url === 'string') resolve(entry.url);
      });
      void exited.then(({ code, signal }) => reject(new Error(`bus exited (${code ?? signal}) before listening:\n${stderr}\n${lines.join('\n')}`)));
    });
    return new BusProcess(child, await listening, exited, lines);
  }

  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill(signal);
    return this.exited;
  }

  /** For cleanup: stops the process if a test left it running. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) await this.kill('SIGKILL');
  }
}

function parse(line: string): Record<string, unknown> | null {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}
