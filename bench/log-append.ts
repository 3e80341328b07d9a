// The SQLite event log alone: the bench's call mix (one agent rung, or QUEUE_RING for a fifth of
// the calls; answered; ended) appended one event at a time, each with its delivery id, across 100
// tenants, with a pause every few appends so the checkpointer runs as it does under real pacing.
// Times each append (enqueue to commit, group commit included) and the process's CPU per event
// (main thread and checkpoint worker). `npx tsx bench/log-append.ts [--calls N]`; the last line is
// one JSON object.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { CallEvent } from '../src/shared/call-event.js';
import { sha256Url } from '../src/bus/ingest/digest.js';
import { deliveryKey } from '../src/bus/ingest/deliveries/port.js';
import { openSqliteEventLog } from '../src/bus/log/sqlite/index.js';
import { mulberry32 } from '../src/sim/prng.js';
import { QUEUE_RING, QUEUE_SHARE } from './harness.js';
import { round, summarise, table } from './stats.js';

const TENANTS = 100;
const EXTENSIONS = 100;
/** Appends between 1 ms pauses: ~the bench's 50 webhooks/s leaves the worker idle time to checkpoint. */
const APPENDS_PER_PAUSE = 5;
/** The first appends warm the statement cache and the b-trees; they are not counted. */
const WARMUP_SHARE = 0.15;

function callMix(calls: number): Array<{ tenantId: string; event: CallEvent }> {
  const random = mulberry32(0x5eed);
  const tenants = Array.from({ length: TENANTS }, (_, i) => ({ tenantId: `ten_bench_${i}`, pbxId: `pbx_bench_${i}` }));
  const timed: Array<{ at: number; tenantId: string; event: CallEvent }> = [];
  const now = new Date().toISOString();
  for (let i = 0; i < calls; i++) {
    const { tenantId, pbxId } = tenants[Math.floor(random() * TENANTS)]!;
    const isQueue = random() < QUEUE_SHARE;
    const ring = new Set([String(1000 + Math.floor(random() * EXTENSIONS))]);
    while (isQueue && ring.size < QUEUE_RING) ring.add(String(1000 + Math.floor(random() * EXTENSIONS)));
    const rung = [...ring].sort();
    const answeredBy = [...ring][0]!;
    const pbxCallId = `call_${i}`;
    const event = (type: CallEvent['type'], agents: string[]): CallEvent => ({
      v: 1, id: `ev_${sha256Url(`${pbxCallId}\n${type}`).slice(0, 32)}`, tenantId, pbxId, pbxCallId, type, direction: 'inbound',
      caller: { raw: '0291234567', e164: '+61291234567', name: null, extension: null },
      callee: { raw: isQueue ? '800' : answeredBy, e164: null, name: null, extension: isQueue ? null : answeredBy },
      extensions: agents, queue: isQueue ? '800' : null, agents, pbxTime: now, receivedAt: now,
      durationSec: type === 'ended' ? 2 : null, recording: null, source: 'webhook', ...(type === 'answered' ? { answeredBy } : {}),
    });
    timed.push({ at: i * 60, tenantId, event: event('ringing', rung) });
    timed.push({ at: i * 60 + 1_000, tenantId, event: event('answered', [answeredBy]) });
    timed.push({ at: i * 60 + 3_000, tenantId, event: event('ended', [answeredBy]) });
  }
  return timed.sort((a, b) => a.at - b.at);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { calls: { type: 'string', default: '1200' } } });
  const events = callMix(Number(values.calls));
  const dataDir = mkdtempSync(join(tmpdir(), 'ringbridge-log-append-'));
  const log = openSqliteEventLog({ dataDir });
  const samples: number[] = [];
  const warmup = Math.floor(events.length * WARMUP_SHARE);
  const cpuStart = process.cpuUsage();
  for (const [i, { tenantId, event }] of events.entries()) {
    const t0 = performance.now();
    await log.append(tenantId, event, event.id, { key: deliveryKey(event.pbxId, `msg_${event.id}`, Date.parse(event.pbxTime)), record: { digest: sha256Url(event.id), eventId: event.id } });
    if (i >= warmup) samples.push(performance.now() - t0);
    if (i % APPENDS_PER_PAUSE === 0) await sleep(1);
  }
  await sleep(1_500); // the checkpoint of the last appends counts too
  const cpu = process.cpuUsage(cpuStart);
  await log.close();
  rmSync(dataDir, { recursive: true, force: true });
  const append = summarise(samples);
  console.log(table(['SQLite log append (ms)', 'samples', 'p50', 'p95', 'p99', 'max'], [['enqueue -> committed', append.n, append.p50, append.p95, append.p99, append.max]]));
  console.log(JSON.stringify({ log_append_p50_ms: append.p50, log_append_p95_ms: append.p95, log_append_p99_ms: append.p99, log_cpu_ms_per_event: round((cpu.user + cpu.system) / 1000 / events.length, 3), events: events.length }));
}

await main();
