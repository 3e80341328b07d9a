// The call workflow of issue 11 through the real outbox, HubSpot adapter and simulator, with `rttMs`
// added to every CRM request: answered -> the live record on the contact (written, so visible to
// anyone reading the CRM), and the agent's Save in wrap-up -> the completed log with the notes and
// outcome written. Run alone: `npx tsx bench/call-workflow.ts [calls] [rttMs]` prints one JSON line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { hubspotProvider } from '../src/main/crm/hubspot/index.js';
import { Outbox } from '../src/main/outbox/outbox.js';
import { simSession } from '../src/sim/crm/common/index.js';
import { startHubSpotSim } from '../src/sim/crm/hubspot/index.js';
import { AGENT_EXT, callEvent, keyOf, startFakeBus } from '../test/support/outbox-fixtures.js';
import { callerNumber } from './crm.js';
import { summarise } from './stats.js';

export interface CallWorkflowBenchResult {
  calls: number;
  rtt_ms: number;
  answer_to_live_record_p50_ms: number;
  answer_to_live_record_p99_ms: number;
  wrapup_to_logged_p50_ms: number;
  wrapup_to_logged_p99_ms: number;
  /** Records in the CRM afterwards: one per call. */
  crm_call_records: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Long enough that only the Save ends a wrap-up here. */
const WRAP_UP_MS = 600_000;

export async function benchCallWorkflow(opts: { rttMs?: number; calls?: number; spacingMs?: number } = {}): Promise<CallWorkflowBenchResult> {
  const rttMs = opts.rttMs ?? 100;
  const calls = opts.calls ?? 20;
  // One agent's calls a second apart: within HubSpot's 100 requests per 10 s (4 requests a call), so
  // the figures are the write path's, not the rate limit's.
  const spacingMs = opts.spacingMs ?? 1_000;
  const sim = await startHubSpotSim();
  const bus = await startFakeBus();
  const dir = mkdtempSync(join(tmpdir(), 'rb-bench-workflow-'));
  const delayedFetch: typeof fetch = async (input, init) => {
    await sleep(rttMs);
    return fetch(input, init);
  };
  try {
    const contacts = Array.from({ length: calls }, (_, i) => ({ id: sim.addContact({ firstname: `Caller${i}`, phone: callerNumber(i) }), kind: 'contact', name: `Caller${i}` }));
    const adapter = hubspotProvider.create(simSession(sim, { hubId: '62515' }), { origin: sim.url, fetch: delayedFetch });
    const [connected] = await adapter.listDispositions();
    const outbox = new Outbox({
      dataDir: dir,
      agentExtension: AGENT_EXT,
      adapter,
      bus,
      history: { setCrmState: () => undefined },
      // The contact index already knows every caller (as after the app's contact sync).
      resolveContact: async (e164) => contacts[Number(e164.slice(-4)) - 5000] ?? null,
      logger: pino({ level: 'silent' }),
    });
    const answeredAt = new Map<string, number>();
    const savedAt = new Map<string, number>();
    const live: number[] = [];
    const logged: number[] = [];
    const written = new Map<string, () => void>();
    outbox.logWritten.on(({ callKey, status }) => {
      const now = performance.now();
      if (status === 'in_progress' && answeredAt.has(callKey)) live.push(now - answeredAt.get(callKey)!);
      if (status === 'completed' && savedAt.has(callKey)) logged.push(now - savedAt.get(callKey)!);
      written.get(`${callKey}:${status}`)?.();
    });
    const until = (callKey: string, status: string) => new Promise<void>((resolve) => written.set(`${callKey}:${status}`, resolve));
    const runs: Promise<void>[] = [];
    for (let i = 0; i < calls; i++) {
      const script = { pbxCallId: `flow${i}`, remote: callerNumber(i), at: Date.now() };
      const key = keyOf(script.pbxCallId);
      const liveWritten = until(key, 'in_progress');
      answeredAt.set(key, performance.now());
      outbox.enqueue(callEvent(script, 'answered'));
      runs.push(
        (async () => {
          await liveWritten;
          outbox.enqueue(callEvent(script, 'ended'), { wrapUpMs: WRAP_UP_MS });
          await sleep(spacingMs); // the agent types
          const completed = until(key, 'completed');
          savedAt.set(key, performance.now());
          outbox.saveNotes(key, `Notes for call ${i}`, connected ?? null, true);
          await completed;
        })(),
      );
      await sleep(spacingMs);
    }
    await Promise.all(runs);
    await outbox.close();
    const liveP = summarise(live);
    const loggedP = summarise(logged);
    return {
      calls,
      rtt_ms: rttMs,
      answer_to_live_record_p50_ms: liveP.p50,
      answer_to_live_record_p99_ms: liveP.p99,
      wrapup_to_logged_p50_ms: loggedP.p50,
      wrapup_to_logged_p99_ms: loggedP.p99,
      crm_call_records: sim.calls.size,
    };
  } finally {
    await bus.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [calls, rttMs] = process.argv.slice(2).map(Number);
  console.log(JSON.stringify(await benchCallWorkflow({ calls: calls || undefined, rttMs: rttMs || undefined })));
}
