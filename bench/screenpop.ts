// Event-to-notification latency with a 1M-contact index: a real BusClient and AgentCore against
// the in-process bus on loopback. Each sample runs from the bus writing the event frame to the
// socket until Notifier.show() is called (a superset of "event received -> show").
// Standalone: `npx tsx bench/screenpop.ts [contacts] [events]` prints one JSON line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { FAKE_PAIRING_CODE, FakeBus, callEvent } from '../test/support/fake-bus.js';
import { MemoryContactSource, type ContactIndex } from '../src/main/contacts/index.js';
import { createAgentCore } from '../src/main/core.js';
import { MemoryKeyValueStore, MemorySecretStore } from '../src/main/storage/index.js';

export interface ScreenpopBenchResult {
  contacts: number;
  events: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  indexBuildMs: number;
  heapUsedMB: number;
}

function percentile(sorted: number[], p: number): number {
  return Number(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!.toFixed(3));
}

/** Australian mobile numbers +614xxxxxxxx: valid, distinct, and a tenth stored in national format. */
export function phoneOf(i: number): { e164: string; stored: string } {
  const subscriber = String(10_000_000 + i).slice(-8);
  const e164 = `+614${subscriber}`;
  return { e164, stored: i % 10 === 0 ? `04${subscriber.slice(0, 2)} ${subscriber.slice(2, 5)} ${subscriber.slice(5)}` : e164 };
}

export const contactName = (i: number) => `Contact ${i}`;

/** Fills an agent's local index with `count` contacts: contact i has name contactName(i) and number phoneOf(i). */
export function fillIndex(index: ContactIndex, count: number): void {
  for (let i = 0; i < count; i++) {
    index.upsert({
      id: `c${i}`,
      kind: 'contact',
      name: contactName(i),
      company: `Company ${i % 5_000}`,
      phones: [phoneOf(i).stored],
      ownerId: `owner-${i % 50}`,
      lastActivityAt: new Date(1_700_000_000_000 + i * 1_000).toISOString(),
      url: '',
      updatedAt: null,
    });
  }
}

export async function benchScreenpop({ contacts = 1_000_000, events = 2_000 } = {}): Promise<ScreenpopBenchResult> {
  const bus = await new FakeBus().listen();
  const dataDir = mkdtempSync(join(tmpdir(), 'rb-bench-'));
  let shownAt = 0;
  let onShown: () => void = () => {};
  const core = await createAgentCore({
    dataDir,
    store: new MemoryKeyValueStore(),
    secretStore: new MemorySecretStore(),
    notifier: {
      show: () => {
        shownAt = performance.now();
        onShown();
      },
      withdraw: () => {},
    },
    confirm: { confirmDial: async () => true },
    feedback: { dialFeedback: () => {} },
    contactSource: new MemoryContactSource(),
    crmUrls: { contactUrl: (c) => `https://crm.example/c/${c.id}`, newContactUrl: () => 'https://crm.example/new' },
    logger: pino({ level: 'silent' }),
    defaultCountry: 'AU',
  });
  try {
    const buildStart = performance.now();
    fillIndex(core.contacts, contacts);
    const indexBuildMs = performance.now() - buildStart;
    globalThis.gc?.();
    const heapUsedMB = Math.round(process.memoryUsage().heapUsed / 1_048_576);

    core.start();
    await core.pair(bus.url, FAKE_PAIRING_CODE);
    while (core.state !== 'connected') await new Promise((r) => setTimeout(r, 5));

    const samples: number[] = [];
    const warmup = Math.min(200, Math.floor(events / 5));
    for (let n = 0; n < warmup + events; n++) {
      // 9 in 10 callers are in the index; the rest are misses that start a (background) remote lookup.
      const e164 = n % 10 === 9 ? `+6129${String(1_000_000 + n).slice(-7)}` : phoneOf((n * 7_919) % contacts).e164;
      const event = callEvent({ type: 'ringing', pbxCallId: `bench-${n}`, caller: { raw: e164, e164, name: null, extension: null } });
      const popped = new Promise<void>((resolve) => (onShown = resolve));
      const sentAt = performance.now();
      bus.append(event);
      await popped;
      if (n >= warmup) samples.push(shownAt - sentAt);
    }
    samples.sort((a, b) => a - b);
    return {
      contacts,
      events,
      p50: percentile(samples, 50),
      p95: percentile(samples, 95),
      p99: percentile(samples, 99),
      max: percentile(samples, 100),
      indexBuildMs: Math.round(indexBuildMs),
      heapUsedMB,
    };
  } finally {
    await core.close();
    await bus.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [contacts, events] = process.argv.slice(2).map(Number);
  console.log(JSON.stringify(await benchScreenpop({ contacts: contacts || 1_000_000, events: events || 2_000 })));
}
