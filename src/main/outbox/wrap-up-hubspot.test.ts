// The wrap-up workflow (issue 11 items 2, 5, 10) through the real HubSpot adapter into the HubSpot
// simulator, whose wire traffic is checked against HubSpot's official files, with a seeded share of
// its API requests failing (429 with Retry-After, 500, 503, and writes applied with the answer
// lost) and the agent app quitting and restarting at seeded points, wrap-ups included. The oracle
// is a plain model of what the agent last saved: the simulator must hold exactly one COMPLETED call
// per call, with those notes, that outcome, its recording and 3CX's summary.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hubspotProvider } from '../crm/hubspot/index.js';
import { simSession } from '../../sim/crm/common/index.js';
import { startHubSpotSim } from '../../sim/crm/hubspot/index.js';
import { mulberry32 } from '../../sim/prng.js';
import type { Outbox } from './outbox.js';
import { RecordingHistory, callEvent, keyOf, outboxOnAdapter, outboxPlace } from '../../../test/support/outbox-fixtures.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const LONG_WRAP_UP_MS = 600_000;

describe('wrap-up into the HubSpot simulator under seeded faults and restarts', () => {
  for (const seed of [21, 22]) {
    it(`seed ${seed}: one COMPLETED record per call with the last saved notes, outcome, recording and 3CX summary`, async () => {
      const random = mulberry32(seed);
      const sim = await startHubSpotSim({ rateLimits: false });
      cleanups.push(() => sim.close());
      const { bus, dir } = await outboxPlace('rb-wrapup-hs-', cleanups);
      const calls = 6;
      for (let n = 0; n < calls; n++) sim.addContact({ firstname: `Caller${n}`, phone: `+6129876${5000 + n}` });
      const adapter = hubspotProvider.create(simSession(sim, { hubId: '62515' }), { origin: sim.url });
      const dispositions = await adapter.listDispositions();
      const open = (): Outbox => {
        const outbox = outboxOnAdapter(adapter, { dataDir: dir, bus, history: new RecordingHistory(), backoff: { baseMs: 10, capMs: 80 } });
        cleanups.push(() => outbox.close());
        return outbox;
      };
      sim.faults.random({ seed, rate: 0.2, retryAfterSec: 1, timeoutMode: 'close' });

      let outbox = open();
      const model = new Map<string, { notes: string; outcome: string | null; summary: string | null }>();
      for (let n = 0; n < calls; n++) {
        const script = { pbxCallId: `w${n}`, remote: `+6129876${5000 + n}`, at: Date.parse('2026-03-02T09:00:00Z') + n * 120_000 };
        const key = keyOf(script.pbxCallId);
        const expected = { notes: '', outcome: null as string | null, summary: null as string | null };
        model.set(key, expected);
        outbox.enqueue(callEvent(script, 'answered'));
        outbox.enqueue(callEvent(script, 'ended'), { wrapUpMs: LONG_WRAP_UP_MS });
        expected.notes = `draft ${n}`;
        outbox.saveNotes(key, expected.notes, null, false);
        if (random() < 0.5) {
          await outbox.close(); // the agent quits during wrap-up; the app starts again
          outbox = open();
        }
        const disposition = dispositions[Math.floor(random() * dispositions.length)]!;
        expected.notes = `saved notes ${n}`;
        expected.outcome = disposition.id;
        outbox.saveNotes(key, expected.notes, disposition, true);
        if (random() < 0.5) {
          expected.summary = `Summary of call ${n}`;
          bus.text.set(`evt-w${n}-recording_ready`, { transcription: `Transcript of call ${n}`, summary: expected.summary });
        }
        outbox.enqueue(callEvent(script, 'recording_ready'));
      }
      await vi.waitFor(
        () => {
          for (const [key, want] of model) {
            const records = [...sim.calls.values()].filter((c) => c.properties.ringbridge_call_key === key);
            expect(records.length, key).toBe(1);
            const p = records[0]!.properties;
            expect(p.hs_call_status, key).toBe('COMPLETED');
            expect(p.hs_call_body?.startsWith(`${want.notes}\n`), key).toBe(true);
            expect(p.hs_call_disposition, key).toBe(want.outcome);
            expect((p.hs_attachment_ids ?? '').split(';').filter(Boolean).length, key).toBe(1);
            if (want.summary) expect(p.hs_call_body, key).toContain(`Summary (3CX): ${want.summary}`);
            else expect(p.hs_call_body, key).not.toContain('Summary (3CX)');
          }
        },
        { timeout: 30_000, interval: 100 },
      );
      expect(sim.faults.randomFired).not.toEqual({ rateLimit: 0, serverError: 0, unavailable: 0, timeout: 0 });
      sim.faults.restore();
      expect(sim.calls.size).toBe(calls);
      sim.assertNoSpecViolations();
    });
  }
});
