// `npm run bench`: ingest-to-agent latency through the real bus against a bare-ws floor, ring to
// pop end to end through real agent cores in the same load (bench/ring.ts), memory
// per idle agent connection, then the agent-side benches (screen-pop, CRM writes). Human tables
// first; the last line is one JSON object with every figure. See bench/README.md.
//   --agents N (or BENCH_AGENTS)  connected agents, default 10,000
//   --seconds S                   measured window, default 60 (after a warm-up)
//   --quick                       1,000 agents, 20 s
//   --calls-per-min R             default 1,000
//   --prof                        run the bus child with --cpu-prof (profile under $TMPDIR/ringbridge-bench-prof/)
//   --bus-only                    skip the floor, the agent cores and the agent-side benches (for profiling)
//   --only crm-faults             only the generated scenario into every CRM at 25 % random faults (bench/crm-faults.ts)
//   --node-scale                  the node-scale section at full size (50,000 idle agents, 10,000 agents over 3 nodes, 10 s rate steps)
//   --only node-scale             only the node-scale section (bench/node-scale.ts)
//   --only call-workflow          only the live record and wrap-up Save latencies (bench/call-workflow.ts)
//   --idle-connections N, --cross-agents N, --step-seconds S   override the node-scale sizes
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Webhook } from 'standardwebhooks';
import { Pool } from 'undici';
import type { WebhookCallPayload } from '../src/bus/ingest/webhook/payload.js';
import { AGENT_PROTOCOL_VERSION, AGENT_WS_PATH } from '../src/shared/agent-protocol.js';
import { mulberry32 } from '../src/sim/prng.js';
import { benchCrm } from './crm.js';
import { benchCallWorkflow, type CallWorkflowBenchResult } from './call-workflow.js';
import { benchCrmFaults, type CrmFaultsBenchResult } from './crm-faults.js';
import type { RingReport } from './ring.js';
import { benchCrossNode, benchIdle, benchThroughput, THROUGHPUT_P99_LIMIT_MS, type CrossNodeResult, type IdleResult, type ThroughputResult } from './node-scale.js';
import { benchScreenpop } from './screenpop.js';
import { seedTenants, webhookRequest } from './bus.js';
import { closeAll, connectAll, drive, openSocket, QUEUE_RING, QUEUE_SHARE, readFrame, sleep, startChild, Tracker, type DriveResult } from './harness.js';
import { round, summarise, table, type ChildMessage, type MemorySnapshot, type Percentiles, type UsageReport } from './stats.js';

const { values: flags } = parseArgs({
  options: {
    agents: { type: 'string' },
    seconds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'calls-per-min': { type: 'string' },
    prof: { type: 'boolean', default: false },
    'bus-only': { type: 'boolean', default: false },
    only: { type: 'string' },
    'node-scale': { type: 'boolean', default: false },
    'idle-connections': { type: 'string' },
    'cross-agents': { type: 'string' },
    'step-seconds': { type: 'string' },
  },
});
const ONLY_SECTIONS = ['crm-faults', 'node-scale', 'call-workflow'];
if (flags.only !== undefined && !ONLY_SECTIONS.includes(flags.only)) throw new Error(`--only takes one of: ${ONLY_SECTIONS.join(', ')}`);
const AGENTS = Number(flags.agents ?? process.env.BENCH_AGENTS ?? (flags.quick ? 1_000 : 10_000));
const SECONDS = Number(flags.seconds ?? (flags.quick ? 20 : 60));
const WARMUP_SECONDS = flags.quick ? 5 : 10;
const CALLS_PER_MIN = Number(flags['calls-per-min'] ?? 1_000);
/** Real agent cores (bench/ring.ts) among the load: the first has RING_BIG_INDEX contacts, the rest RING_SMALL_INDEX. */
const RING_CORES = 5;
const RING_BIG_INDEX = 1_000_000;
const RING_SMALL_INDEX = 10_000;
/** Rings sent to those cores, on top of CALLS_PER_MIN, alternating webhook and template lookup. */
const RINGS_PER_SECOND = 5;

/** Full size with --node-scale; the default run's sizes keep `npm run bench` within 10 minutes. */
const NODE_SCALE = {
  rateAgents: 1_000,
  rates: [100, 250, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 7_500, 10_000],
  stepSeconds: Number(flags['step-seconds'] ?? (flags['node-scale'] ? 10 : 5)),
  idleConnections: Number(flags['idle-connections'] ?? (flags['node-scale'] ? 50_000 : 20_000)),
  crossAgents: Number(flags['cross-agents'] ?? (flags['node-scale'] ? 10_000 : 3_000)),
  crossEventsPerSec: 50,
  crossSeconds: flags['node-scale'] ? 60 : 20,
};

if (!Number.isInteger(AGENTS) || AGENTS < 1 || !(SECONDS > 0) || !(CALLS_PER_MIN > 0)) {
  throw new Error('--agents, --seconds and --calls-per-min must be positive numbers');
}

const mb = (bytes: number) => round(bytes / 1_048_576, 1);

// ---------- the call schedule ----------

type WebhookType = WebhookCallPayload['type'];

export interface ScheduledEvent {
  /** ms from the start of the drive. */
  at: number;
  measured: boolean;
  pbx: number;
  callId: string;
  type: WebhookType;
  extensions: string[];
  queue: string | null;
  from: string;
  /** `${pbxCallId}|${CallEvent type}`: how a received frame is matched to its send. */
  key: string;
  /** `${pbx}:${extension}` of each agent the event must reach. */
  targets: string[];
}

/** Each call: ringing (one agent, or QUEUE_RING agents for a queue call), answered after 1 s, ended after 3 s. */
function buildSchedule(extensionsByPbx: string[][], runId: string): ScheduledEvent[] {
  const random = mulberry32(0x5eed); // deterministic: bus and floor see the same calls in the same order
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)]!;
  const spacing = 60_000 / CALLS_PER_MIN;
  const warmupMs = WARMUP_SECONDS * 1000;
  const calls = Math.round(((WARMUP_SECONDS + SECONDS) * CALLS_PER_MIN) / 60);
  const events: ScheduledEvent[] = [];
  for (let i = 0; i < calls; i++) {
    const at = i * spacing;
    const pbx = Math.floor(random() * extensionsByPbx.length);
    const pool = extensionsByPbx[pbx]!;
    const isQueue = random() < QUEUE_SHARE && pool.length >= QUEUE_RING;
    const ringing = new Set<string>([pick(pool)]);
    while (isQueue && ringing.size < QUEUE_RING) ringing.add(pick(pool));
    const answeredBy = [...ringing][0]!;
    const callId = `${runId}-${i}`;
    const from = `029${String(Math.floor(random() * 10_000_000)).padStart(7, '0')}`;
    const queue = isQueue ? '800' : null;
    const add = (offset: number, type: WebhookType, extensions: string[]) =>
      events.push({
        at: at + offset, measured: at >= warmupMs, pbx, callId, type, extensions, queue, from,
        key: `${callId}|${type.slice('call.'.length)}`,
        targets: extensions.map((e) => `${pbx}:${e}`),
      });
    add(0, 'call.ringing', [...ringing]);
    add(1_000, 'call.answered', [answeredBy]);
    add(3_000, 'call.ended', [answeredBy]);
  }
  return events.sort((a, b) => a.at - b.at);
}

// ---------- load ----------

/**
 * Agents come from offices, not from one host: 64 loopback source addresses (Linux routes all of
 * 127/8 to lo), about 160 agents each, under the bus's connection cap per address.
 */
const OFFICES = 64;
const officeAddress = (agent: number) => `127.0.1.${1 + (agent % OFFICES)}`;

interface PhaseResult {
  latency: Percentiles;
  http: Percentiles;
  drive: DriveResult;
  deliveries: number;
  lost: number;
  duplicates: number;
  memoryBefore: MemorySnapshot;
  memoryAfter: MemorySnapshot;
  /** Over the drive and drain: CPU the server used, its event-loop delay. */
  usage: UsageReport;
  connectSeconds: number;
}

interface LoadResult {
  bus: PhaseResult;
  /** Null with --bus-only. */
  floor: PhaseResult | null;
  /** Ring to pop through real agent cores; null with --bus-only. */
  ring: (RingReport & { indexBuildMs: number; heapUsedMB: number }) | null;
}

/** What the floor's load process measured (it runs in its own process: N more sockets would pass `ulimit -n`). */
export interface FloorLoadReport {
  samples: number[];
  drive: DriveResult;
  deliveries: number;
  lost: number;
  duplicates: number;
}

const agentKeyOf = (a: { pbx: number; extension: string }) => `${a.pbx}:${a.extension}`;

/**
 * Bus and floor are measured at the same time, so whatever else runs on the machine hits both
 * alike: this process drives the bus; a second copy of this script (BENCH_ROLE=floor-load) holds
 * the floor's N sockets and drives the same schedule, offset by half a call spacing.
 */
async function loadPhase(): Promise<LoadResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rb-bench-bus-'));
  const masterKey = randomBytes(32);
  const withFloor = !flags['bus-only'];
  const seeded = await seedTenants(dataDir, masterKey, AGENTS, withFloor ? RING_CORES : 0);
  const bus = await startChild('./bus.ts', { BENCH_DATA_DIR: dataDir, RINGBRIDGE_MASTER_KEY: masterKey.toString('base64') }, flags.prof, true);
  const floor = withFloor ? await startChild('./floor.ts') : null;
  const floorLoad = withFloor ? await startChild('./index.ts', { BENCH_ROLE: 'floor-load' }) : null;
  const ringChild = withFloor ? await startChild('./ring.ts') : null;
  try {
    const busMemoryBefore = await bus.request({ t: 'memory' }, 'mem');
    const floorMemoryBefore = await floor?.request({ t: 'memory' }, 'mem');
    const tracker = new Tracker();
    const url = `ws://127.0.0.1:${bus.port}${AGENT_WS_PATH}`;
    const connectStart = performance.now();
    const sockets = await connectAll(AGENTS, (i) => {
      const { token } = seeded.agents[i]!;
      const agentKey = agentKeyOf(seeded.agents[i]!);
      return openSocket(
        url,
        (ws, data, t1) => {
          const frame = readFrame(data);
          if (frame.t !== 'event') return frame.t === 'welcome';
          tracker.received(agentKey, frame.key, t1, data);
          ws.send(`{"t":"ack","offset":${frame.offset}}`); // as a real agent does after handling
          return true;
        },
        (ws) => ws.send(JSON.stringify({ t: 'hello', v: AGENT_PROTOCOL_VERSION, token })),
        officeAddress(i),
      );
    });
    const connectSeconds = (performance.now() - connectStart) / 1000;
    await sleep(2_000); // let every session settle into idle
    const busMemoryAfter = await bus.request({ t: 'memory' }, 'mem');
    const floorConnected = await floorLoad?.request({ t: 'floor-connect', port: floor!.port, agentKeys: seeded.agents.map(agentKeyOf) }, 'floor-connected');
    if (floorLoad) await sleep(2_000);
    const floorMemoryAfter = await floor?.request({ t: 'memory' }, 'mem');
    // After the memory figures, so the cores' pairing and sockets are not in them.
    const coresReady = await ringChild?.request({
      t: 'cores-setup',
      setup: {
        busUrl: `http://127.0.0.1:${bus.port}`, pbxId: seeded.pbxs[0]!.pbxId, webhookSecret: seeded.pbxs[0]!.webhookSecret,
        templateKey: seeded.pbxs[0]!.templateKey, agents: seeded.unpaired,
        indexSizes: seeded.unpaired.map((_, i) => (i === 0 ? RING_BIG_INDEX : RING_SMALL_INDEX)),
      },
    }, 'cores-ready');

    const extensionsByPbx: string[][] = seeded.pbxs.map(() => []);
    for (const a of seeded.agents) extensionsByPbx[a.pbx]!.push(a.extension);
    const runId = `bench${Date.now().toString(36)}`;
    const schedule = buildSchedule(extensionsByPbx, runId);
    const signers = seeded.pbxs.map((p) => new Webhook(p.webhookSecret));
    const pool = new Pool(`http://127.0.0.1:${bus.port}`, { connections: 8, pipelining: 1, keepAliveTimeout: 60_000 });
    let seq = 0;
    const webhook = (event: ScheduledEvent) => {
      const payload: WebhookCallPayload = {
        type: event.type,
        timestamp: new Date().toISOString(),
        data: {
          callId: event.callId, direction: 'inbound', from: { number: event.from, name: null },
          to: { number: event.queue ?? event.extensions[0]!, name: null }, extensions: event.extensions, queue: event.queue,
          durationSec: event.type === 'call.ended' ? 2 : null, recordingId: null,
        },
      };
      return webhookRequest(signers[event.pbx]!, seeded.pbxs[event.pbx]!.pbxId, payload, `msg_${event.callId}_${seq++}`);
    };
    // One ringing call through the bus gives the frame the floor sends (call id and type swapped per event).
    const probe = { ...schedule[0]!, at: 0, measured: false, callId: `${runId}-probe`, key: `${runId}-probe|ringing` };
    await drive([probe], pool, tracker, webhook);
    await tracker.drain();
    const template = tracker.frames.get(probe.key)?.toString('utf8');
    if (!template) throw new Error('the probe call never reached its agent');

    await bus.request({ t: 'usage', reset: true }, 'usage-report');
    await floor?.request({ t: 'usage', reset: true }, 'usage-report');
    const floorDone = floorLoad?.request(
      { t: 'floor-go', schedule, template, probeCallId: probe.callId, offsetMs: 30_000 / CALLS_PER_MIN },
      'floor-done',
    );
    const ringDone = ringChild?.request({ t: 'ring-go', go: { warmupMs: WARMUP_SECONDS * 1000, measureMs: SECONDS * 1000, ringsPerSecond: RINGS_PER_SECOND } }, 'ring-done');
    const drove = await drive(schedule, pool, tracker, webhook);
    const lost = await tracker.drain();
    const floorReport = await floorDone;
    const ringReport = await ringDone;
    const usage = await bus.request({ t: 'usage', reset: false }, 'usage-report');
    const floorUsage = await floor?.request({ t: 'usage', reset: false }, 'usage-report');
    await pool.close();
    await Promise.all([bus.stop(), floor?.stop(), floorLoad?.stop(), ringChild?.stop()]); // servers close first: TIME_WAIT sits on their ports
    await closeAll(sockets);
    return {
      bus: {
        latency: summarise(tracker.samples), http: summarise(drove.httpSamples), drive: drove, deliveries: tracker.deliveries, lost,
        duplicates: tracker.duplicates, memoryBefore: busMemoryBefore, memoryAfter: busMemoryAfter, usage, connectSeconds,
      },
      floor: floorReport
        ? {
            latency: summarise(floorReport.samples), http: summarise(floorReport.drive.httpSamples), drive: floorReport.drive,
            deliveries: floorReport.deliveries, lost: floorReport.lost, duplicates: floorReport.duplicates,
            memoryBefore: floorMemoryBefore!, memoryAfter: floorMemoryAfter!, usage: floorUsage!, connectSeconds: floorConnected!.seconds,
          }
        : null,
      ring: ringReport && coresReady ? { ...ringReport, indexBuildMs: coresReady.indexBuildMs, heapUsedMB: coresReady.heapUsedMB } : null,
    };
  } finally {
    await Promise.all([bus.stop(), floor?.stop(), floorLoad?.stop(), ringChild?.stop()]);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** BENCH_ROLE=floor-load: the floor's agents and driver, in their own process. */
async function floorLoad(): Promise<void> {
  const send = (m: ChildMessage) => process.send!(m);
  const tracker = new Tracker();
  let port = 0;
  process.on('message', (m: ChildMessage) => {
    if (m.t === 'floor-connect') {
      port = m.port;
      const start = performance.now();
      void connectAll(m.agentKeys.length, (i) => {
        const agentKey = m.agentKeys[i]!;
        return openSocket(`ws://127.0.0.1:${port}/?to=${agentKey}`, (_ws, data, t1) => {
          const frame = readFrame(data);
          if (frame.t === 'event') tracker.received(agentKey, frame.key, t1, data);
          return true;
        });
      }).then(() => send({ t: 'floor-connected', seconds: (performance.now() - start) / 1000 }));
    } else if (m.t === 'floor-go') {
      void (async () => {
        await sleep(m.offsetMs);
        const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 8, pipelining: 1, keepAliveTimeout: 60_000 });
        const drove = await drive(m.schedule, pool, tracker, (event) => ({
          path: `/send?to=${event.targets.join(',')}`,
          headers: { 'content-type': 'application/json' },
          body: m.template.replaceAll(m.probeCallId, event.callId).replace('"type":"ringing"', `"type":"${event.type.slice('call.'.length)}"`),
        }));
        const lost = await tracker.drain();
        await pool.close();
        send({ t: 'floor-done', samples: tracker.samples, drive: drove, deliveries: tracker.deliveries, lost, duplicates: tracker.duplicates });
      })();
    } else if (m.t === 'exit') process.exit(0);
  });
  process.on('disconnect', () => process.exit(0));
  send({ t: 'ready', port: 0 });
}

// ---------- report ----------

async function agentBench<T>(name: string, run: () => Promise<T>): Promise<T | null> {
  try {
    return await run();
  } catch (err) {
    console.error(`${name} bench failed:`, err);
    return null;
  }
}

if (process.env.BENCH_ROLE === 'floor-load') {
  await floorLoad();
} else if (flags.only === 'crm-faults') {
  await onlyCrmFaults();
} else if (flags.only === 'node-scale') {
  await onlyNodeScale();
} else if (flags.only === 'call-workflow') {
  await onlyCallWorkflow();
} else {
  await main();
}

/** The last-line keys of the CRM-under-faults section (bench/README.md). */
function crmFaultsFigures(r: CrmFaultsBenchResult | null) {
  return {
    crm_logged_under_faults_ratio: r?.logged_ratio ?? null,
    crm_logged_under_faults_p99_ms: r?.logged.p99 ?? null,
    crm_logged_under_faults_p99_ms_by_crm: r?.logged_p99_by_crm ?? null,
    recordings_misattached: r?.recordings_misattached ?? null,
    crm_faults_calls_per_crm: r?.calls_per_crm ?? null,
    crm_faults_rate: r?.fault_rate ?? null,
    crm_faults_seeds: r ? { scenario: r.scenario_seed, faults: r.fault_seed } : null,
    crm_faults_bound_ms: r?.bound_ms ?? null,
  };
}

function printCrmFaults(r: CrmFaultsBenchResult): void {
  const crms = Object.keys(r.logged_p99_by_crm) as Array<keyof CrmFaultsBenchResult['logged_p99_by_crm']>;
  console.log(
    table([`CRM at ${r.fault_rate * 100} % random faults`, 'logged ratio', 'end -> logged p99 ms'], [
      ...crms.map((crm) => [crm, r.logged_ratio[crm], Number.isNaN(r.logged_p99_by_crm[crm]) ? 'n/a' : r.logged_p99_by_crm[crm]]),
      '-',
      ['all', r.logged_ratio.min, r.logged.p99],
    ]),
  );
  console.log(`scenario seed ${r.scenario_seed}, fault seed ${r.fault_seed}, ${r.calls_per_crm} calls per CRM, bound ${r.bound_ms / 1000} s after the last call; recordings misattached: ${r.recordings_misattached}`);
  for (const crm of crms) for (const problem of r.problems[crm]) console.log(`  ${crm}: ${problem}`);
}

/** Issue 11's two keys: answered -> live record, wrap-up Save -> log written (100 ms CRM RTT). */
function callWorkflowFigures(r: CallWorkflowBenchResult | null) {
  return {
    answer_to_live_record_p50_ms: r?.answer_to_live_record_p50_ms ?? null,
    answer_to_live_record_p99_ms: r?.answer_to_live_record_p99_ms ?? null,
    wrapup_to_logged_p50_ms: r?.wrapup_to_logged_p50_ms ?? null,
    wrapup_to_logged_p99_ms: r?.wrapup_to_logged_p99_ms ?? null,
  };
}

async function onlyCallWorkflow(): Promise<void> {
  const wallStart = performance.now();
  const result = await benchCallWorkflow({ rttMs: 100 });
  console.log(`call workflow: ${result.calls} calls into HubSpot at ${result.rtt_ms} ms RTT, ${result.crm_call_records} records afterwards`);
  console.log(JSON.stringify({ ...callWorkflowFigures(result), wall_seconds: round((performance.now() - wallStart) / 1000, 1) }));
  process.exit(0);
}

async function onlyCrmFaults(): Promise<void> {
  const wallStart = performance.now();
  const result = await benchCrmFaults();
  printCrmFaults(result);
  console.log(JSON.stringify({ ...crmFaultsFigures(result), wall_seconds: round((performance.now() - wallStart) / 1000, 1) }));
  process.exit(0);
}

// ---------- node scale ----------

interface NodeScaleResults {
  rate: ThroughputResult | null;
  idle: IdleResult | null;
  cross: CrossNodeResult | null;
}

async function nodeScale(): Promise<NodeScaleResults> {
  const n = NODE_SCALE;
  console.log(`\nnode scale: rate steps of ${n.stepSeconds} s on one node (${n.rateAgents} agents), ${n.idleConnections} idle agents on one node, ${n.crossAgents} agents over 3 nodes (PostgreSQL + Redis)`);
  const rate = await agentBench('events per second per node', () => benchThroughput({ agents: n.rateAgents, stepSeconds: n.stepSeconds, rates: n.rates }));
  const idle = await agentBench('idle connections', () => benchIdle({ connections: n.idleConnections }));
  const cross = await agentBench('cross node', () => benchCrossNode({ agents: n.crossAgents, eventsPerSec: n.crossEventsPerSec, seconds: n.crossSeconds }));
  return { rate, idle, cross };
}

/** The last-line keys of the node-scale section (bench/README.md, "Node scale"). */
function nodeScaleFigures({ rate, idle, cross }: NodeScaleResults) {
  return {
    events_per_sec_per_node: rate ? (rate.best?.rate ?? 0) : null,
    events_per_sec_p99_ms: rate?.best?.latency.p99 ?? null,
    events_per_sec_load_cores: rate?.best?.loadCores ?? null,
    events_per_sec_bus_cores: rate?.best?.busCores ?? null,
    events_per_sec_step_seconds: rate?.stepSeconds ?? null,
    events_per_sec_broken_at: rate && rate.steps.at(-1) !== rate.best ? rate.steps.at(-1)!.rate : null,
    idle_connections_per_node: idle?.open ?? null,
    bytes_per_idle_connection_50k: idle?.bytesPerConnection ?? null,
    heap_bytes_per_idle_connection_50k: idle?.heapBytesPerConnection ?? null,
    idle_connections_wanted: idle?.wanted ?? null,
    idle_connections_capped_by_nofile: idle ? idle.connected < idle.wanted : null,
    idle_connect_seconds: idle?.connectSeconds ?? null,
    idle_source_addresses: idle?.sourceAddresses ?? null,
    nofile_limit_found: idle?.nofileFound ?? null,
    nofile_limit_used: idle ? Math.min(idle.nofileBench, idle.nofileBus) : null,
    cross_node_p50_ms: cross?.cross.p50 ?? null,
    cross_node_p95_ms: cross?.cross.p95 ?? null,
    cross_node_p99_ms: cross?.cross.p99 ?? null,
    cross_node_samples: cross?.cross.n ?? null,
    cross_node_same_node_p99_ms: cross?.local.p99 ?? null,
    cross_node_agents: cross?.agents ?? null,
    cross_node_lost: cross ? cross.lost + cross.httpErrors : null,
    cross_node_unexpected: cross?.unexpected ?? null,
  };
}

function printNodeScale({ rate, idle, cross }: NodeScaleResults): void {
  if (rate) {
    console.log(
      table(['events/s on one node', 'sent/s', 'p50 ms', 'p99 ms', 'max ms', 'lost', 'errors', 'load cores', 'bus cores', ''],
        rate.steps.map((s) => [s.rate, s.sentPerSec, s.latency.p50, s.latency.p99, s.latency.max, s.lost, s.httpErrors, s.loadCores, s.busCores, s.ok ? 'held' : 'BROKE'])),
    );
    console.log(`${rate.agents} agents, ${rate.stepSeconds} s per step; a step holds with p99 <= ${THROUGHPUT_P99_LIMIT_MS} ms, nothing lost or refused, the rate sent${rate.firstError ? `; first error: ${rate.firstError}` : ''}`);
  }
  if (idle) {
    if (idle.connected < idle.wanted) console.log(`idle: WARNING: ${idle.wanted} agents wanted, ${idle.connected} connected: the open-file limit (ulimit -n ${idle.nofileFound}) could not be raised (prlimit needs CAP_SYS_RESOURCE past the hard limit)`);
    console.log(`idle: ${idle.open} of ${idle.wanted} agents open on one node (from ${idle.sourceAddresses} source addresses, connected in ${idle.connectSeconds} s), ${idle.bytesPerConnection} bytes RSS each (${idle.heapBytesPerConnection} heap), bus RSS ${idle.rssIdleMb} MB; open-file limit found ${idle.nofileFound}, raised to ${idle.nofileBench} (bench) / ${idle.nofileBus} (bus)`);
  }
  if (cross) {
    console.log(
      table(['ingest on node A -> agent (ms)', 'samples', 'p50', 'p95', 'p99', 'max'], [
        ['agent on node B or C', cross.cross.n, cross.cross.p50, cross.cross.p95, cross.cross.p99, cross.cross.max],
        ['agent on node A', cross.local.n, cross.local.p50, cross.local.p95, cross.local.p99, cross.local.max],
      ]),
    );
    console.log(`${cross.agents} agents over ${cross.nodes} nodes, ${cross.eventsPerSec} events/s for ${cross.seconds} s; lost ${cross.lost}, unexpected ${cross.unexpected}, webhook errors ${cross.httpErrors}${cross.firstError ? ` (first: ${cross.firstError})` : ''}`);
  }
}

async function onlyNodeScale(): Promise<void> {
  const wallStart = performance.now();
  const loadAtStart = round(loadavg()[0]!, 2);
  const results = await nodeScale();
  printNodeScale(results);
  console.log(JSON.stringify({ ...nodeScaleFigures(results), load_avg_1m_start: loadAtStart, load_avg_1m_end: round(loadavg()[0]!, 2), wall_seconds: round((performance.now() - wallStart) / 1000, 1) }));
  process.exit(0);
}

async function main(): Promise<void> {
  const wallStart = performance.now();
  const loadAtStart = round(loadavg()[0]!, 2);
  console.log(`Ringbridge bench: ${AGENTS} agents, ${CALLS_PER_MIN} calls/min, ${WARMUP_SECONDS} s warm-up + ${SECONDS} s measured (${Math.round(QUEUE_SHARE * 100)}% queue calls ringing ${QUEUE_RING})\n`);
  const { bus, floor: floorOrNull, ring } = await loadPhase();
  console.log(`bus: ${AGENTS} agents connected in ${bus.connectSeconds.toFixed(1)} s; ${bus.drive.sent} webhooks, ${bus.deliveries} deliveries`);
  if (!floorOrNull) {
    console.log(table(['latency (ms)', 'samples', 'p50', 'p95', 'p99', 'max'], [['ingest -> agent socket (bus)', bus.latency.n, bus.latency.p50, bus.latency.p95, bus.latency.p99, bus.latency.max]]));
    console.log(JSON.stringify({ agents: AGENTS, ingest_to_agent_p50_ms: bus.latency.p50, ingest_to_agent_p95_ms: bus.latency.p95, ingest_to_agent_p99_ms: bus.latency.p99, deliveries_lost: bus.lost, bus_cpu_ms_per_webhook: round(bus.usage.cpuMs / bus.drive.sent, 3), bus_event_loop_delay_p99_ms: bus.usage.loopDelayP99Ms, bytes_per_idle_connection: Math.round((bus.memoryAfter.rss - bus.memoryBefore.rss) / AGENTS), load_avg_1m: round(loadavg()[0]!, 2) }));
    process.exit(0);
  }
  const floor = floorOrNull;
  if (ring) console.log(`ring: ${RING_CORES} real agent cores (contacts: ${RING_BIG_INDEX} in one, ${RING_SMALL_INDEX} in each other), index build ${ring.indexBuildMs} ms, heap ${ring.heapUsedMB} MB; ${ring.samples.webhook.length + ring.samples.template.length} measured rings`);
  console.log(`floor: ${AGENTS} sockets connected in ${floor.connectSeconds.toFixed(1)} s; ${floor.drive.sent} triggers, ${floor.deliveries} deliveries\n`);
  const nodeScaleResults = await nodeScale();
  const screenpop = await agentBench('screen-pop', () => benchScreenpop({ contacts: 1_000_000 }));
  const crm = await agentBench('CRM', () => benchCrm({ rttMs: 100 }));
  const crmFaults = await agentBench('CRM under faults', () => benchCrmFaults());
  const callWorkflow = await agentBench('call workflow', () => benchCallWorkflow({ rttMs: 100 }));

  const rings = {
    all: summarise(ring ? [...ring.samples.webhook, ...ring.samples.template] : []),
    webhook: summarise(ring?.samples.webhook ?? []),
    template: summarise(ring?.samples.template ?? []),
  };
  const perConnection = (p: PhaseResult, field: keyof MemorySnapshot) => Math.round((p.memoryAfter[field] - p.memoryBefore[field]) / AGENTS);
  const ratio = (a: number, b: number) => round(a / b, 2);
  const figures = {
    agents: AGENTS,
    calls_per_min: CALLS_PER_MIN,
    measured_seconds: SECONDS,
    queue_share: QUEUE_SHARE,
    webhooks_sent: bus.drive.sent,
    ingest_http_errors: bus.drive.httpErrors,
    ingest_to_agent_samples: bus.latency.n,
    ingest_to_agent_p50_ms: bus.latency.p50,
    ingest_to_agent_p95_ms: bus.latency.p95,
    ingest_to_agent_p99_ms: bus.latency.p99,
    ingest_to_agent_max_ms: bus.latency.max,
    ingest_http_response_p99_ms: bus.http.p99,
    deliveries_lost: bus.lost,
    deliveries_unexpected: bus.duplicates,
    floor_samples: floor.latency.n,
    floor_p50_ms: floor.latency.p50,
    floor_p95_ms: floor.latency.p95,
    floor_p99_ms: floor.latency.p99,
    floor_max_ms: floor.latency.max,
    ratio_to_floor_p50: ratio(bus.latency.p50, floor.latency.p50),
    ratio_to_floor_p95: ratio(bus.latency.p95, floor.latency.p95),
    ratio_to_floor_p99: ratio(bus.latency.p99, floor.latency.p99),
    bus_cpu_ms_per_webhook: round(bus.usage.cpuMs / bus.drive.sent, 3),
    floor_cpu_ms_per_trigger: round(floor.usage.cpuMs / floor.drive.sent, 3),
    bus_event_loop_delay_p99_ms: bus.usage.loopDelayP99Ms,
    floor_event_loop_delay_p99_ms: floor.usage.loopDelayP99Ms,
    bytes_per_idle_connection: perConnection(bus, 'rss'),
    heap_bytes_per_idle_connection: perConnection(bus, 'heapUsed'),
    bus_rss_idle_mb: mb(bus.memoryAfter.rss),
    floor_bytes_per_idle_connection: perConnection(floor, 'rss'),
    agents_connect_seconds: round(bus.connectSeconds, 1),
    ring_to_pop_samples: rings.all.n,
    ring_to_pop_p50_ms: ring ? rings.all.p50 : null,
    ring_to_pop_p95_ms: ring ? rings.all.p95 : null,
    ring_to_pop_p99_ms: ring ? rings.all.p99 : null,
    ring_to_pop_max_ms: ring ? rings.all.max : null,
    ring_to_pop_webhook_p50_ms: ring ? rings.webhook.p50 : null,
    ring_to_pop_webhook_p95_ms: ring ? rings.webhook.p95 : null,
    ring_to_pop_webhook_p99_ms: ring ? rings.webhook.p99 : null,
    ring_to_pop_template_p50_ms: ring ? rings.template.p50 : null,
    ring_to_pop_template_p95_ms: ring ? rings.template.p95 : null,
    ring_to_pop_template_p99_ms: ring ? rings.template.p99 : null,
    ring_to_pop_unnamed: ring?.unnamed ?? null,
    ring_to_pop_lost: ring?.lost ?? null,
    ring_http_errors: ring?.httpErrors ?? null,
    ring_cores: RING_CORES,
    ring_big_index_contacts: RING_BIG_INDEX,
    ring_small_index_contacts: RING_SMALL_INDEX,
    event_to_notification_p50_ms: screenpop?.p50 ?? null,
    event_to_notification_p95_ms: screenpop?.p95 ?? null,
    event_to_notification_p99_ms: screenpop?.p99 ?? null,
    screenpop_contacts: screenpop?.contacts ?? null,
    call_end_to_logged_p50_ms: crm?.call_end_to_logged_p50_ms ?? null,
    call_end_to_logged_p95_ms: crm?.call_end_to_logged_p95_ms ?? null,
    call_end_to_logged_p99_ms: crm?.call_end_to_logged_p99_ms ?? null,
    ready_to_attached_p50_ms: crm?.ready_to_attached_p50_ms ?? null,
    ready_to_attached_p95_ms: crm?.ready_to_attached_p95_ms ?? null,
    ready_to_attached_p99_ms: crm?.ready_to_attached_p99_ms ?? null,
    crm_rtt_ms: crm?.rtt_ms ?? null,
    ...crmFaultsFigures(crmFaults),
    ...callWorkflowFigures(callWorkflow),
    ...nodeScaleFigures(nodeScaleResults),
    /** Other work on this 2-core machine skews every figure; the 1-minute load average says how much. */
    load_avg_1m_start: loadAtStart,
    load_avg_1m_end: round(loadavg()[0]!, 2),
    wall_seconds: 0,
  };

  const verdict = (value: number | null, target: number) => (value === null ? 'n/a' : value <= target ? 'ok' : 'MISSED');
  const latencyRow = (name: string, p: Percentiles) => [name, p.n, p.p50, p.p95, p.p99, p.max];
  console.log(
    table(['latency (ms)', 'samples', 'p50', 'p95', 'p99', 'max'], [
      latencyRow('ingest -> agent socket (bus)', bus.latency),
      latencyRow('trigger -> agent socket (floor)', floor.latency),
      '-',
      latencyRow('ring -> pop, real agent cores (both forms)', rings.all),
      latencyRow('  webhook POST -> pop', rings.webhook),
      latencyRow('  template lookup GET -> pop', rings.template),
      '-',
      latencyRow('webhook HTTP response (bus)', bus.http),
      latencyRow('trigger HTTP response (floor)', floor.http),
    ]),
  );
  console.log();
  console.log(table(['bus / floor', 'p50', 'p95', 'p99'], [['latency ratio', figures.ratio_to_floor_p50, figures.ratio_to_floor_p95, figures.ratio_to_floor_p99]]));
  console.log();
  console.log(
    table(['server work', 'CPU ms/request', 'event-loop delay p99 ms', 'max ms'], [
      ['bus (per webhook)', figures.bus_cpu_ms_per_webhook, bus.usage.loopDelayP99Ms, bus.usage.loopDelayMaxMs],
      ['floor (per trigger)', figures.floor_cpu_ms_per_trigger, floor.usage.loopDelayP99Ms, floor.usage.loopDelayMaxMs],
    ]),
  );
  console.log();
  console.log(
    table(['memory', 'rss before MB', 'rss idle MB', 'bytes/conn (rss)', 'bytes/conn (heap)'], [
      ['bus', mb(bus.memoryBefore.rss), mb(bus.memoryAfter.rss), perConnection(bus, 'rss'), perConnection(bus, 'heapUsed')],
      ['floor', mb(floor.memoryBefore.rss), mb(floor.memoryAfter.rss), perConnection(floor, 'rss'), perConnection(floor, 'heapUsed')],
    ]),
  );
  console.log();
  console.log(
    table(['agent side (ms)', 'p50', 'p95', 'p99'], [
      ['event -> notification (1M contacts)', screenpop?.p50 ?? 'n/a', screenpop?.p95 ?? 'n/a', screenpop?.p99 ?? 'n/a'],
      ['call end -> logged (100 ms RTT)', crm?.call_end_to_logged_p50_ms ?? 'n/a', crm?.call_end_to_logged_p95_ms ?? 'n/a', crm?.call_end_to_logged_p99_ms ?? 'n/a'],
      ['recording ready -> attached (100 ms RTT)', crm?.ready_to_attached_p50_ms ?? 'n/a', crm?.ready_to_attached_p95_ms ?? 'n/a', crm?.ready_to_attached_p99_ms ?? 'n/a'],
    ]),
  );
  console.log();
  console.log(
    table(['target', 'value', 'limit', ''], [
      ['ring_to_pop_p99_ms', figures.ring_to_pop_p99_ms ?? 'n/a', 100, verdict(figures.ring_to_pop_p99_ms, 100)],
      ['ring_to_pop_unnamed', figures.ring_to_pop_unnamed ?? 'n/a', 0, verdict(figures.ring_to_pop_unnamed, 0)],
      ['ingest_to_agent_p99_ms', figures.ingest_to_agent_p99_ms, 20, verdict(figures.ingest_to_agent_p99_ms, 20)],
      ['ratio_to_floor_p99', figures.ratio_to_floor_p99, 2, verdict(figures.ratio_to_floor_p99, 2)],
      ['event_to_notification_p99_ms', figures.event_to_notification_p99_ms ?? 'n/a', 5, verdict(figures.event_to_notification_p99_ms, 5)],
      ['call_end_to_logged_p99_ms', figures.call_end_to_logged_p99_ms ?? 'n/a', 2000, verdict(figures.call_end_to_logged_p99_ms, 2000)],
      ['ready_to_attached_p99_ms', figures.ready_to_attached_p99_ms ?? 'n/a', 10000, verdict(figures.ready_to_attached_p99_ms, 10000)],
      ['answer_to_live_record_p99_ms', figures.answer_to_live_record_p99_ms ?? 'n/a', 1000, verdict(figures.answer_to_live_record_p99_ms, 1000)],
      ['wrapup_to_logged_p99_ms', figures.wrapup_to_logged_p99_ms ?? 'n/a', 1000, verdict(figures.wrapup_to_logged_p99_ms, 1000)],
      ['crm_logged_under_faults_ratio (min)', crmFaults?.logged_ratio.min ?? 'n/a', '>= 1', crmFaults ? (crmFaults.logged_ratio.min >= 1 ? 'ok' : 'MISSED') : 'n/a'],
      ['recordings_misattached', figures.recordings_misattached ?? 'n/a', 0, verdict(figures.recordings_misattached, 0)],
      ['events_per_sec_per_node', figures.events_per_sec_per_node ?? 'n/a', '>= 5000', figures.events_per_sec_per_node === null ? 'n/a' : figures.events_per_sec_per_node >= 5_000 ? 'ok' : 'MISSED'],
      ['bytes_per_idle_connection_50k', figures.bytes_per_idle_connection_50k ?? 'n/a', 8192, verdict(figures.bytes_per_idle_connection_50k, 8192)],
      ['cross_node_p99_ms', figures.cross_node_p99_ms ?? 'n/a', 15, verdict(figures.cross_node_p99_ms, 15)],
    ]),
  );
  if (crmFaults) {
    console.log();
    printCrmFaults(crmFaults);
  }
  console.log();
  printNodeScale(nodeScaleResults);
  if (ring && (ring.lost || ring.httpErrors)) {
    console.log(`\nWARNING: ring to pop: ${ring.lost} rings never popped, ${ring.httpErrors} ring request errors (first: ${ring.firstError})`);
  }
  if (bus.lost || bus.duplicates || bus.drive.httpErrors) {
    console.log(`\nWARNING: ${bus.lost} deliveries lost, ${bus.duplicates} unexpected, ${bus.drive.httpErrors} webhook errors (first: ${bus.drive.firstError})`);
  }
  figures.wall_seconds = round((performance.now() - wallStart) / 1000, 1);
  console.log(`\nwall time ${figures.wall_seconds} s; load average (1 min) ${loadAtStart} at start, ${figures.load_avg_1m_end} at end (2 cores)`);
  console.log(JSON.stringify(figures));
  process.exit(0);
}
