// Issue 11 items 2 and 10 in the outbox: the live record at answer, the wrap-up that holds its
// completion for the agent's notes and outcome, Save, the wrap-up running out, a quit during wrap-up,
// notes added after the log — and a seeded generator of all of these under CRM faults and restarts,
// with a plain model (the agent's last Save or draft) as the oracle: one record per call, completed,
// with the final notes and outcome and the recording.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mulberry32 } from '../../sim/prng.js';
import { CrmError } from '../crm/port.js';
import { Outbox, type OutboxOptions } from './outbox.js';
import { AGENT_EXT, FakeCrm, RecordingHistory, callEvent, keyOf, silentLogger, startFakeBus, type FakeBus } from '../../../test/support/outbox-fixtures.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const CONNECTED = { id: 'disp-connected', label: 'Connected' };
const LONG_WRAP_UP_MS = 60_000;

async function harness(): Promise<{ crm: FakeCrm; bus: FakeBus; open: (o?: Partial<OutboxOptions>) => Outbox }> {
  const dir = mkdtempSync(join(tmpdir(), 'rb-wrapup-'));
  const bus = await startFakeBus();
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => bus.close());
  const crm = new FakeCrm();
  const open = (overrides: Partial<OutboxOptions> = {}) => {
    const outbox = new Outbox({
      dataDir: dir,
      agentExtension: AGENT_EXT,
      adapter: crm,
      bus,
      history: new RecordingHistory(),
      resolveContact: async () => ({ id: 'c-jane', kind: 'contact', name: 'Jane Citizen' }),
      logger: silentLogger,
      backoff: { baseMs: 5, capMs: 20 },
      ...overrides,
    });
    cleanups.push(() => outbox.close());
    return outbox;
  };
  return { crm, bus, open };
}

const c1 = { pbxCallId: 'c1', at: Date.parse('2026-03-02T09:00:00Z') };

describe('outbox: wrap-up, notes and outcome (issue 11)', () => {
  it('keeps the live record in progress during wrap-up, and Save completes that same record with the notes and outcome', async () => {
    const { crm, open } = await harness();
    const outbox = open();
    outbox.enqueue(callEvent(c1, 'answered'));
    await outbox.whenIdle();
    expect(crm.records.get(keyOf('c1'))!.input).toMatchObject({ status: 'in_progress', durationSec: 0 });

    outbox.saveNotes(keyOf('c1'), 'Asked for a quote', null, false); // typed while talking: a draft
    outbox.enqueue(callEvent(c1, 'ended'), { wrapUpMs: LONG_WRAP_UP_MS });
    await outbox.whenIdle();
    // Wrap-up: the record is still the live one; nothing completed it behind the agent's back.
    expect(crm.records.get(keyOf('c1'))!.input.status).toBe('in_progress');
    expect(outbox.heldWrapUps().map((r) => r.callKey)).toEqual([keyOf('c1')]);

    expect(outbox.saveNotes(keyOf('c1'), 'Asked for a quote; call back Friday', CONNECTED, true)).toBe(true);
    await outbox.whenIdle();
    expect(crm.created).toEqual([keyOf('c1')]);
    const { input } = crm.records.get(keyOf('c1'))!;
    expect(input).toMatchObject({ status: 'completed', durationSec: 65, disposition: CONNECTED });
    expect(input.notes.split('\n').slice(0, 3)).toEqual(['Asked for a quote; call back Friday', '', 'Call outcome: Connected']);
    expect(outbox.heldWrapUps()).toEqual([]);
  });

  it('logs what was typed when the wrap-up time runs out without a Save', async () => {
    const { crm, open } = await harness();
    const outbox = open();
    outbox.enqueue(callEvent(c1, 'answered'));
    outbox.saveNotes(keyOf('c1'), 'Left before saving', CONNECTED, false);
    outbox.enqueue(callEvent(c1, 'ended'), { wrapUpMs: 50 });
    await vi.waitFor(() => expect(crm.records.get(keyOf('c1'))?.input.status).toBe('completed'), { timeout: 5_000 });
    expect(crm.records.get(keyOf('c1'))!.input).toMatchObject({ disposition: CONNECTED });
    expect(crm.records.get(keyOf('c1'))!.input.notes).toMatch(/^Left before saving\n/);
    expect(crm.created).toEqual([keyOf('c1')]);
  });

  it('quitting during wrap-up loses nothing: after a restart the held call is shown again and Save completes it once', async () => {
    const { crm, open } = await harness();
    const first = open();
    first.enqueue(callEvent(c1, 'answered'));
    first.enqueue(callEvent(c1, 'ended'), { wrapUpMs: LONG_WRAP_UP_MS });
    first.saveNotes(keyOf('c1'), 'Draft before the quit', null, false);
    await first.whenIdle();
    await first.close();

    const second = open();
    expect(second.heldWrapUps()).toMatchObject([{ callKey: keyOf('c1'), notes: 'Draft before the quit' }]);
    second.saveNotes(keyOf('c1'), 'Draft before the quit, finished after', CONNECTED, true);
    await second.whenIdle();
    expect(crm.created).toEqual([keyOf('c1')]);
    expect(crm.records.get(keyOf('c1'))!.input).toMatchObject({ status: 'completed', disposition: CONNECTED });
  });

  it('notes saved after the call was logged update its record, never a second one; an unchanged Save writes nothing', async () => {
    const { crm, open } = await harness();
    const outbox = open();
    outbox.enqueue(callEvent(c1, 'answered'));
    outbox.enqueue(callEvent(c1, 'ended'));
    await outbox.whenIdle();
    const updatesBefore = crm.records.get(keyOf('c1'))!.updates;

    outbox.saveNotes(keyOf('c1'), 'Added from Recent calls', CONNECTED, true);
    await outbox.whenIdle();
    expect(crm.created).toEqual([keyOf('c1')]);
    expect(crm.records.get(keyOf('c1'))!.updates).toBe(updatesBefore + 1);
    expect(crm.records.get(keyOf('c1'))!.input.notes).toMatch(/^Added from Recent calls\n/);

    outbox.saveNotes(keyOf('c1'), 'Added from Recent calls', CONNECTED, true);
    await outbox.whenIdle();
    expect(crm.records.get(keyOf('c1'))!.updates).toBe(updatesBefore + 1);
  });

  it('refuses notes for a call it does not log (another agent answered it) and changes nothing', async () => {
    const { crm, open } = await harness();
    const outbox = open();
    outbox.enqueue(callEvent({ ...c1, agents: [AGENT_EXT, '102'] }, 'answered', { answeredBy: '102' }));
    expect(outbox.saveNotes(keyOf('c1'), 'not mine', null, true)).toBe(false);
    expect(outbox.saveNotes(keyOf('nope'), 'unknown', null, true)).toBe(false);
    await outbox.whenIdle();
    expect(crm.records.size).toBe(0);
  });
});

describe('outbox: 3CX transcript and summary (issue 11 item 5)', () => {
  it('adds them to the call log once, after the recording, beside the agent\'s notes; a second fetch adds nothing', async () => {
    const { crm, bus, open } = await harness();
    const outbox = open();
    bus.text.set('evt-c1-recording_ready', { transcription: 'Agent: Hello.\nCaller: My invoice is wrong.', summary: 'Billing complaint about an invoice.' });
    outbox.enqueue(callEvent(c1, 'answered'));
    outbox.saveNotes(keyOf('c1'), 'Refund promised', null, false);
    outbox.enqueue(callEvent(c1, 'ended'));
    await outbox.whenIdle();
    expect(crm.records.get(keyOf('c1'))!.input.notes).not.toContain('Summary (3CX)');
    const updatesBeforeRecording = crm.records.get(keyOf('c1'))!.updates;

    outbox.enqueue(callEvent(c1, 'recording_ready'));
    await outbox.whenIdle();
    const record = crm.records.get(keyOf('c1'))!;
    expect(record.attachments.size).toBe(1);
    expect(record.updates).toBe(updatesBeforeRecording + 1); // one update, after the recording
    const notes = record.input.notes;
    expect(notes.indexOf('Refund promised')).toBe(0);
    expect(notes).toContain('Summary (3CX): Billing complaint about an invoice.');
    expect(notes).toContain('Transcript (3CX):\nAgent: Hello.\nCaller: My invoice is wrong.');
    expect(notes.split('Summary (3CX)').length).toBe(2);

    // Notes edited later keep the transcript, once.
    outbox.saveNotes(keyOf('c1'), 'Refund sent', null, true);
    await outbox.whenIdle();
    expect(crm.records.get(keyOf('c1'))!.input.notes.split('Transcript (3CX)').length).toBe(2);
    expect(crm.created).toEqual([keyOf('c1')]);
  });
});

/**
 * The seeded generator: calls answered (a live record each), ended into a wrap-up, with notes
 * typed or not, saved or left to run out, some edited again after the log, recordings; the CRM
 * fails a seeded share of writes (before the write, or after it with the answer lost) and is down
 * for a while; the app quits and restarts at seeded points, wrap-ups included.
 */
describe('outbox: generated wrap-up scenarios under CRM faults and restarts', () => {
  for (const seed of [11, 12, 13]) {
    it(`seed ${seed}: one record per call, completed, with the final notes, outcome and recording`, async () => {
      const random = mulberry32(seed);
      const pick = <T,>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
      const { crm, open } = await harness();
      // Faults: a seeded share of log and update calls fail, half of them after the write landed.
      for (const op of ['logCall', 'updateCall'] as const) {
        const real = (op === 'logCall' ? crm.logCall : crm.updateCall).bind(crm) as (...args: never[]) => Promise<unknown>;
        (crm as unknown as Record<string, unknown>)[op] = async (...args: never[]) => {
          const roll = random();
          if (roll < 0.15) throw new CrmError('transient', `${op}: HTTP 503`, 503);
          const result = await real(...args);
          if (roll < 0.25) throw new CrmError('transient', `${op}: answer lost`);
          return result;
        };
      }
      let outbox = open();
      const expected = new Map<string, { notes: string; disposition: typeof CONNECTED | null; recording: boolean }>();
      const calls = 8;
      for (let n = 0; n < calls; n++) {
        const script = { pbxCallId: `g${n}`, at: Date.parse('2026-03-02T09:00:00Z') + n * 120_000 };
        const key = keyOf(script.pbxCallId);
        const model = { notes: '', disposition: null as typeof CONNECTED | null, recording: false };
        expected.set(key, model);
        outbox.enqueue(callEvent(script, 'answered'));
        if (random() < 0.5) {
          model.notes = `during call ${n}`;
          outbox.saveNotes(key, model.notes, null, false);
        }
        const wrapUpMs = random() < 0.5 ? LONG_WRAP_UP_MS : 20 + Math.floor(random() * 60);
        outbox.enqueue(callEvent(script, 'ended'), { wrapUpMs });
        if (random() < 0.3) {
          await outbox.close(); // the agent quits mid wrap-up (or just after)
          outbox = open();
        }
        const outage = random() < 0.2;
        if (outage) crm.down = new CrmError('transient', 'CRM down', 503);
        if (wrapUpMs === LONG_WRAP_UP_MS || random() < 0.5) {
          model.notes = `saved notes ${n}`;
          model.disposition = pick([CONNECTED, null]);
          outbox.saveNotes(key, model.notes, model.disposition, true);
        }
        if (random() < 0.6) {
          model.recording = true;
          outbox.enqueue(callEvent(script, 'recording_ready'));
        }
        if (outage) {
          await new Promise((resolve) => setTimeout(resolve, 30)); // the CRM stays down a moment
          crm.down = null;
        }
        if (random() < 0.3) {
          await outbox.whenIdle();
          model.notes = `edited later ${n}`;
          outbox.saveNotes(key, model.notes, model.disposition, true);
        }
      }
      await vi.waitFor(
        () => {
          for (const [key, model] of expected) {
            const record = crm.records.get(key);
            expect(record?.input.status, key).toBe('completed');
            expect(record!.input.notes.startsWith(model.notes ? `${model.notes}\n` : 'Direction:'), key).toBe(true);
            expect(record!.input.disposition ?? null, key).toEqual(model.disposition);
            expect(record!.attachments.size, key).toBe(model.recording ? 1 : 0);
          }
        },
        { timeout: 15_000, interval: 50 },
      );
      // Never a second record, whatever the lost answers and restarts.
      expect([...crm.created].sort()).toEqual([...expected.keys()].sort());
    });
  }
});
