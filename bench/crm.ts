// CRM write latency through the real outbox, HubSpot adapter and simulator, with `rttMs` added to
// every CRM and bus request: call end -> call logged, and recording ready -> recording attached.
// Run alone: `npx tsx bench/crm.ts [calls] [rttMs]` prints one JSON line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { ContactIndex } from '../src/main/contacts/contact-index.js';
import { hubspotProvider } from '../src/main/crm/hubspot/index.js';
import { Outbox } from '../src/main/outbox/outbox.js';
import type { CallEvent } from '../src/shared/call-event.js';
import { simSession } from '../src/sim/crm/common/index.js';
import { startHubSpotSim } from '../src/sim/crm/hubspot/index.js';
import { AGENT_EXT, callEvent, keyOf, startFakeBus } from '../test/support/outbox-fixtures.js';
import { summarise } from './stats.js';

export interface CrmBenchOptions {
  rttMs?: number;
  calls?: number;
  /** Gap between call ends. */
  spacingMs?: number;
  /** How long after its end a call's recording is reported ready. */
  readyAfterMs?: number;
  /** Answer to end of each call (the live record is written in between). */
  talkMs?: number;
}

export interface CrmBenchResult {
  calls: number;
  rtt_ms: number;
  call_end_to_logged_p50_ms: number;
  call_end_to_logged_p95_ms: number;
  call_end_to_logged_p99_ms: number;
  ready_to_attached_p50_ms: number;
  ready_to_attached_p95_ms: number;
  ready_to_attached_p99_ms: number;
  crm_call_records: number;
  crm_files: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function benchCrm(opts: CrmBenchOptions = {}): Promise<CrmBenchResult> {
  const rttMs = opts.rttMs ?? 100;
  const calls = opts.calls ?? 30;
  const spacingMs = opts.spacingMs ?? 500;
  const readyAfterMs = opts.readyAfterMs ?? 1_000;
  const talkMs = opts.talkMs ?? 1_000;
  const sim = await startHubSpotSim();
  const bus = await startFakeBus({ delayMs: rttMs / 2 }); // requestRecording and download: one RTT each
  const dir = mkdtempSync(join(tmpdir(), 'rb-bench-crm-'));
  const delayedFetch: typeof fetch = async (input, init) => {
    await sleep(rttMs);
    return fetch(input, init);
  };
  try {
    for (let i = 0; i < calls; i++) sim.addContact({ firstname: `Caller${i}`, lastname: 'Bench', phone: callerNumber(i) });
    const adapter = hubspotProvider.create(simSession(sim, { hubId: '62515' }), { origin: sim.url, fetch: delayedFetch });
    // As in the app: the contact index is filled by incremental sync, the log resolves from it.
    const index = new ContactIndex({ defaultCountry: () => 'AU' });
    for (let cursor: string | null = null, more = true; more; ) {
      const page = await adapter.syncContacts(cursor);
      for (const contact of page.contacts) index.upsert(contact);
      ({ cursor, hasMore: more } = page);
    }
    const endedAt = new Map<string, number>();
    const readyAt = new Map<string, number>();
    const logged: number[] = [];
    const loggedCalls = new Set<string>();
    const attached: number[] = [];
    const outbox = new Outbox({
      dataDir: dir,
      agentExtension: AGENT_EXT,
      adapter,
      bus,
      history: { setCrmState: () => undefined },
      resolveContact: async (e164) => index.lookup(e164)[0] ?? null,
      logger: pino({ level: 'silent' }),
    });
    // Logged = the completed log written (the live record made at answer is not the end's log).
    outbox.logWritten.on(({ callKey, status }) => {
      if (status === 'completed' && endedAt.has(callKey) && !loggedCalls.has(callKey)) {
        loggedCalls.add(callKey);
        logged.push(performance.now() - endedAt.get(callKey)!);
      }
    });
    outbox.stateChanged.on(({ callKey, state }) => {
      if (state === 'recording_attached' && readyAt.has(callKey)) attached.push(performance.now() - readyAt.get(callKey)!);
    });
    const deliver = (event: CallEvent, stamps: Map<string, number>) => {
      stamps.set(keyOf(event.pbxCallId), performance.now());
      outbox.enqueue(event);
    };
    const pending: Promise<void>[] = [];
    for (let i = 0; i < calls; i++) {
      const script = { pbxCallId: `bench${i}`, remote: callerNumber(i), at: Date.now() };
      // The live record is written at the answer; the call talks a moment, and its end completes that record.
      deliver(callEvent(script, 'answered'), new Map());
      pending.push(
        sleep(talkMs)
          .then(() => deliver(callEvent(script, 'ended'), endedAt))
          .then(() => sleep(readyAfterMs))
          .then(() => deliver(callEvent(script, 'recording_ready'), readyAt)),
      );
      await sleep(spacingMs);
    }
    await Promise.all(pending);
    while (attached.length < calls) await sleep(20);
    await outbox.whenIdle();
    await outbox.close();
    const loggedP = summarise(logged);
    const attachedP = summarise(attached);
    return {
      calls,
      rtt_ms: rttMs,
      call_end_to_logged_p50_ms: loggedP.p50,
      call_end_to_logged_p95_ms: loggedP.p95,
      call_end_to_logged_p99_ms: loggedP.p99,
      ready_to_attached_p50_ms: attachedP.p50,
      ready_to_attached_p95_ms: attachedP.p95,
      ready_to_attached_p99_ms: attachedP.p99,
      crm_call_records: sim.calls.size,
      crm_files: sim.files.size,
    };
  } finally {
    await bus.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The i-th bench caller's number (also the call-workflow bench's). */
export function callerNumber(i: number): string {
  return `+6129876${String(5000 + i).padStart(4, '0')}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [calls, rttMs] = process.argv.slice(2).map(Number);
  console.log(JSON.stringify(await benchCrm({ calls: calls || undefined, rttMs: rttMs || undefined })));
}
