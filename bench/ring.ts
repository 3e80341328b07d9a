// Ring to pop, end to end: real agent cores (createAgentCore, paired through the bus's pairing
// route) connected to the bus under test while the load runs, each with a Notifier that notes
// when show() is called. The child sends inbound rings for those cores' extensions from numbers in
// their local index, in both forms a 3CX PBX uses on ring (a signed Standard Webhooks POST, and the
// CRM template's lookup GET), and measures, on this process's clock, from just before the request
// to show(). A child of its own: the 1M-contact index (~300 MB of heap) stays out of the load
// driver's heap, and the cores get an event loop of their own, as the Electron main process has.
// IPC (types in stats.ts):
//   parent -> {t:'cores-setup', ...}  child -> {t:'cores-ready', indexBuildMs, heapUsedMB}  (paired, connected)
//   parent -> {t:'ring-go', ...}      child -> {t:'ring-done', ...RingReport}
//   parent -> {t:'exit'}              child exits
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { Pool } from 'undici';
import { LOOKUP_PATH } from '../src/bus/ingest/crm-template/routes.js';
import { TEMPLATE_KEY_HEADER } from '../src/bus/ingest/crm-template/wire.js';
import { createAgentCore, type AgentCore } from '../src/main/core.js';
import type { PopNotification } from '../src/main/screenpop/index.js';
import { MemoryKeyValueStore, MemorySecretStore } from '../src/main/storage/index.js';
import { webhookRequest } from './bus.js';
import { contactName, fillIndex, phoneOf } from './screenpop.js';
import type { ChildMessage } from './stats.js';

/** How the PBX told the bus the phone is ringing. */
export type RingForm = 'webhook' | 'template';
export const RING_FORMS: readonly RingForm[] = ['webhook', 'template'];

export interface CoresSetup {
  busUrl: string;
  pbxId: string;
  webhookSecret: string;
  templateKey: string;
  /** One per core: its extension and a fresh pairing code. */
  agents: Array<{ extension: string; pairingCode: string }>;
  /** Contacts in each core's local index (same order as agents). */
  indexSizes: number[];
}

export interface RingGo {
  /** Rings sent before this (ms from go) are not measured. */
  warmupMs: number;
  measureMs: number;
  ringsPerSecond: number;
}

export interface RingReport {
  /** ms from just before the request to Notifier.show(), per form, measured rings only. */
  samples: Record<RingForm, number[]>;
  /** Measured pops whose title was not the contact's name. */
  unnamed: number;
  /** Measured rings with no pop within DRAIN_MS of the last send. */
  lost: number;
  httpErrors: number;
  firstError: string | null;
}

const DRAIN_MS = 5_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface PendingRing {
  t0: number;
  form: RingForm;
  name: string;
  measured: boolean;
}

/** Key of a ring in flight: which core, which caller (each ring uses a caller not used before on that core). */
const ringKey = (core: number, e164: string | null) => `${core}|${e164}`;

async function startCores(setup: CoresSetup, onPop: (core: number, pop: PopNotification, shownAt: number) => void) {
  const dataDir = mkdtempSync(join(tmpdir(), 'rb-bench-cores-'));
  const cores: AgentCore[] = [];
  let indexBuildMs = 0;
  try {
    for (const [i, agent] of setup.agents.entries()) {
      const core = await createAgentCore({
        dataDir: join(dataDir, String(i)),
        store: new MemoryKeyValueStore(),
        secretStore: new MemorySecretStore(),
        notifier: { show: (pop) => onPop(i, pop, performance.now()), withdraw: () => {} },
        confirm: { confirmDial: async () => true },
        feedback: { dialFeedback: () => {} },
        crmUrls: { contactUrl: (c) => `https://crm.example/c/${c.id}`, newContactUrl: () => 'https://crm.example/new' },
        logger: pino({ level: 'silent' }),
        defaultCountry: 'AU',
      });
      cores.push(core);
      core.start();
      const buildStart = performance.now();
      fillIndex(core.contacts, setup.indexSizes[i]!);
      indexBuildMs += performance.now() - buildStart;
      await core.pair(setup.busUrl, agent.pairingCode);
      if (core.agent?.extension !== agent.extension) throw new Error(`core ${i} paired as ${core.agent?.extension}, expected ${agent.extension}`);
    }
    const until = performance.now() + 30_000;
    while (cores.some((c) => c.state !== 'connected')) {
      if (performance.now() > until) throw new Error('agent cores did not connect within 30 s');
      await sleep(20);
    }
  } catch (err) {
    await Promise.all(cores.map((c) => c.close()));
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    cores,
    indexBuildMs,
    async close() {
      await Promise.all(cores.map((c) => c.close()));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Open loop, `ringsPerSecond` rings alternating form and going round the cores. Each ring is a new
 * call from a caller in that core's index (contact (seq * 7919) mod size: distinct while seq < size).
 */
async function ring(setup: CoresSetup, go: RingGo, pending: Map<string, PendingRing>, report: RingReport): Promise<void> {
  const pool = new Pool(new URL(setup.busUrl).origin, { connections: 2, pipelining: 1, keepAliveTimeout: 60_000 });
  const signer = new Webhook(setup.webhookSecret);
  const seqs = setup.agents.map(() => 0);
  const lookupPath = LOOKUP_PATH.replace(':pbxId', encodeURIComponent(setup.pbxId));
  const runId = Date.now().toString(36);
  const inFlight = new Set<Promise<void>>();
  const start = performance.now();
  for (let n = 0; ; n++) {
    const at = (n * 1000) / go.ringsPerSecond;
    if (at >= go.warmupMs + go.measureMs) break;
    const wait = start + at - performance.now();
    if (wait > 1) await sleep(wait);
    const form = RING_FORMS[n % RING_FORMS.length]!;
    const core = Math.floor(n / RING_FORMS.length) % setup.agents.length;
    const { extension } = setup.agents[core]!;
    const seq = seqs[core]!;
    seqs[core] = seq + 1;
    const contact = (seq * 7_919) % setup.indexSizes[core]!;
    const { e164 } = phoneOf(contact);
    const request =
      form === 'webhook'
        ? {
            method: 'POST' as const,
            ...webhookRequest(signer, setup.pbxId, {
              type: 'call.ringing',
              timestamp: new Date().toISOString(),
              data: {
                callId: `ring-${runId}-${n}`, direction: 'inbound', from: { number: e164, name: null }, to: { number: extension, name: null },
                extensions: [extension], queue: null, durationSec: null, recordingId: null,
              },
            }, `msg_ring_${runId}_${n}`),
          }
        : {
            // The template's lookup: 3CX (Number Prefix="Zeros") sends a domestic caller in national form.
            method: 'GET' as const,
            path: `${lookupPath}?number=0${e164.slice(3)}&direction=Inbound&agent=${extension}`,
            headers: { [TEMPLATE_KEY_HEADER]: setup.templateKey },
          };
    pending.set(ringKey(core, e164), { t0: performance.now(), form, name: contactName(contact), measured: at >= go.warmupMs });
    const p = pool
      .request(request)
      .then(async (res) => {
        const text = await res.body.text();
        if (res.statusCode >= 300) throw new Error(`${form} HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
      })
      .catch((err: unknown) => {
        report.httpErrors++;
        report.firstError ??= String(err);
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  const until = performance.now() + DRAIN_MS;
  while (pending.size > 0 && performance.now() < until) await sleep(20);
  for (const ring of pending.values()) if (ring.measured) report.lost++;
  await pool.close();
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('bench/ring.ts runs as a forked child');
  const send = (m: ChildMessage) => process.send!(m);
  const pending = new Map<string, PendingRing>();
  const report: RingReport = { samples: { webhook: [], template: [] }, unnamed: 0, lost: 0, httpErrors: 0, firstError: null };
  const onPop = (core: number, pop: PopNotification, shownAt: number) => {
    const key = ringKey(core, pop.e164);
    const ring = pending.get(key);
    if (!ring) return;
    pending.delete(key);
    if (!ring.measured) return;
    report.samples[ring.form].push(shownAt - ring.t0);
    if (pop.title !== ring.name) report.unnamed++;
  };
  let setup: CoresSetup | null = null;
  let cores: Awaited<ReturnType<typeof startCores>> | null = null;
  const exit = async () => {
    await cores?.close();
    process.exit(0);
  };
  process.on('message', (m: ChildMessage) => {
    if (m.t === 'cores-setup') {
      setup = m.setup;
      void startCores(m.setup, onPop).then((started) => {
        cores = started;
        globalThis.gc?.();
        send({ t: 'cores-ready', indexBuildMs: Math.round(started.indexBuildMs), heapUsedMB: Math.round(process.memoryUsage().heapUsed / 1_048_576) });
      });
    } else if (m.t === 'ring-go') {
      void ring(setup!, m.go, pending, report).then(() => send({ t: 'ring-done', ...report }));
    } else if (m.t === 'exit') void exit();
  });
  process.on('disconnect', () => void exit());
  send({ t: 'ready', port: 0 });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
