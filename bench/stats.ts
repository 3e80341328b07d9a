// Percentiles, the plain-text tables the bench prints, and what the child servers report about
// themselves (memory, CPU, event-loop delay).
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface Percentiles {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarise(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => round(percentile(sorted, p));
  return { n: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: at(100) };
}

export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Left-aligned first column, right-aligned rest; `-` rows become rules. */
export function table(header: string[], rows: Array<Array<string | number> | '-'>): string {
  const cells = [header, ...rows.filter((r): r is Array<string | number> => r !== '-')].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header.map(String)), rule, ...rows.map((r) => (r === '-' ? rule : line(r.map(String))))].join('\n');
}

/** IPC between the bench and its children (bench/bus.ts, bench/floor.ts, the floor-load copy of index.ts, bench/ring.ts). */
export type ChildMessage =
  | { t: 'ready'; port: number }
  | { t: 'memory' }
  | ({ t: 'mem' } & MemorySnapshot)
  | { t: 'usage'; reset: boolean }
  | ({ t: 'usage-report' } & UsageReport)
  | { t: 'floor-connect'; port: number; agentKeys: string[] }
  | { t: 'floor-connected'; seconds: number }
  | { t: 'floor-go'; schedule: Array<import('./index.js').ScheduledEvent>; template: string; probeCallId: string; offsetMs: number }
  | ({ t: 'floor-done' } & import('./index.js').FloorLoadReport)
  | { t: 'cores-setup'; setup: import('./ring.js').CoresSetup }
  | { t: 'cores-ready'; indexBuildMs: number; heapUsedMB: number }
  | { t: 'ring-go'; go: import('./ring.js').RingGo }
  | ({ t: 'ring-done' } & import('./ring.js').RingReport)
  | { t: 'exit' };

/** CPU the child used and how late its event loop ran, since the last reset. */
export interface UsageReport {
  cpuMs: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

const loopDelay = monitorEventLoopDelay({ resolution: 5 });
let cpuSince = process.cpuUsage();

/** Child side of {t:'usage'}: reports since the last reset, then resets when asked. */
export function childUsage(reset: boolean): { t: 'usage-report' } & UsageReport {
  const cpu = process.cpuUsage(cpuSince);
  const report = {
    t: 'usage-report' as const,
    cpuMs: round((cpu.user + cpu.system) / 1000, 1),
    loopDelayP99Ms: round(loopDelay.percentile(99) / 1e6, 2),
    loopDelayMaxMs: round(loopDelay.max / 1e6, 2),
  };
  if (reset) {
    loopDelay.disable();
    loopDelay.reset();
    loopDelay.enable();
    cpuSince = process.cpuUsage();
  }
  return report;
}

export interface MemorySnapshot {
  rss: number;
  heapUsed: number;
}

/** Run inside a child started with --expose-gc: collect first, so only live memory is counted. */
export function childMemory(): { t: 'mem' } & MemorySnapshot {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('child must run with --expose-gc');
  gc();
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { t: 'mem', rss, heapUsed };
}

/**
 * Child side of a server child (bench/bus.ts, bench/floor.ts): answers {t:'memory'} and {t:'usage'},
 * exits on {t:'exit'} or when the parent goes away, and reports {t:'ready', port}.
 */
export function serveBenchChild(port: number): void {
  const send = (m: ChildMessage) => process.send!(m);
  process.on('message', (m: ChildMessage) => {
    if (m.t === 'memory') send(childMemory());
    else if (m.t === 'usage') send(childUsage(m.reset));
    else if (m.t === 'exit') process.exit(0);
  });
  process.on('disconnect', () => process.exit(0));
  send({ t: 'ready', port });
}
