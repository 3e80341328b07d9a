// The outbox against an in-memory CRM that keeps the adapter promises: what lands, in which
// order, how often, and what the agent sees when the CRM misbehaves.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { crmFetch, IgnoredBody } from '../crm/http.js';
import { CrmError } from '../crm/port.js';
import { Outbox, type OutboxOptions } from './outbox.js';
import { AGENT_EXT, FakeCrm, RecordingHistory, callEvent, keyOf, recordingBytes, silentLogger, startFakeBus, type FakeBus } from '../../../test/support/outbox-fixtures.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface Harness {
  dir: string;
  crm: FakeCrm;
  bus: FakeBus;
  history: RecordingHistory;
  open(overrides?: Partial<OutboxOptions>): Outbox;
}

async function harness(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'rb-outbox-'));
  const bus = await startFakeBus();
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => bus.close());
  const crm = new FakeCrm();
  const history = new RecordingHistory();
  const open = (overrides: Partial<OutboxOptions> = {}) => {
    const outbox = new Outbox({
      dataDir: dir,
      agentExtension: AGENT_EXT,
      adapter: crm,
      bus,
      history,
      resolveContact: async (e164) => (e164 === '+61298765432' ? { id: 'c-jane', kind: 'contact', name: 'Jane Citizen' } : null),
      ownerId: () => 'owner-ann',
      logger: silentLogger,
      backoff: { baseMs: 5, capMs: 40 },
      ...overrides,
    });
    cleanups.push(() => outbox.close());
    return outbox;
  };
  return { dir, crm, bus, history, open };
}

/** Every log of this call fails as a 500 would; the others pass. */
function refuseLogsOf(crm: FakeCrm, callKey: string): void {
  const realLog = crm.logCall.bind(crm);
  crm.logCall = async (input) => {
    if (input.callKey !== callKey) return realLog(input);
    crm.attempts.push({ op: 'logCall', callKey, at: Date.now(), failed: true });
    throw new CrmError('transient', 'HTTP 500', 500);
  };
}

const call = (n: number, extra: Partial<Parameters<typeof callEvent>[0]> = {}) => ({
  pbxCallId: `c${n}`,
  at: Date.parse('2026-03-02T09:00:00Z') + n * 60_000,
  ...extra,
});

describe('outbox: logging', () => {
  it('writes the live record when the agent answers, completes that same record when the call ends, then attaches the recording', async () => {
    const { crm, bus, history, open } = await harness();
    const outbox = open();
    const c = call(1);
    outbox.enqueue(callEvent(c, 'answered'));
    await outbox.whenIdle();
    // Issue 11 item 10: colleagues see the call on the contact while it happens.
    expect(crm.records.get(keyOf('c1'))!.input).toMatchObject({ status: 'in_progress', answeredAt: '2026-03-02T09:01:00.000Z', contact: { id: 'c-jane', kind: 'contact' } });

    outbox.enqueue(callEvent(c, 'ended'));
    await outbox.whenIdle();
    expect(crm.created).toEqual([keyOf('c1')]); // one record, completed in place
    const logged = crm.records.get(keyOf('c1'))!;
    expect(logged.updates).toBe(1);
    expect(logged.input).toMatchObject({
      status: 'completed',
      direction: 'inbound',
      from: '+61298765432',
      to: AGENT_EXT,
      startedAt: '2026-03-02T09:01:00.000Z',
      answeredAt: '2026-03-02T09:01:00.000Z',
      durationSec: 65,
      outcome: 'answered',
      subject: 'Inbound call from Jane Citizen (+61298765432)',
      contact: { id: 'c-jane', kind: 'contact' },
      ownerId: 'owner-ann',
    });
    expect(logged.input.notes).toContain(`[ringbridge:${keyOf('c1')}]`);
    expect(history.last(keyOf('c1'))).toEqual({ state: 'logged', reason: null });

    outbox.enqueue(callEvent(c, 'recording_ready'));
    await outbox.whenIdle();
    const file = [...logged.attachments.values()][0]!;
    expect(file).toMatchObject({ fileName: 'call-recording-rec-c1.wav', contentType: 'audio/wav' });
    expect(Buffer.from(file.data)).toEqual(recordingBytes('evt-c1-recording_ready'));
    expect(bus.requests).toEqual(['evt-c1-recording_ready']);
    expect(history.states.get(keyOf('c1'))!.map((s) => s.state)).toEqual(['pending', 'logged', 'recording_attached']);
    expect(outbox.call(keyOf('c1'))).toMatchObject({ state: 'recording_attached', record: { id: 'call-1' } });
  });

  it('logs a missed call as missed, and ignores redeliveries, internal calls and other agents', async () => {
    const { crm, open } = await harness();
    const outbox = open();
    const missed = call(2, { remote: '+14155550100' });
    expect(outbox.enqueue(callEvent(missed, 'missed'))).toBe(true);
    expect(outbox.enqueue(callEvent(missed, 'missed'))).toBe(false);
    expect(outbox.enqueue(callEvent(call(3, { direction: 'internal' }), 'ended'))).toBe(false);
    expect(outbox.enqueue(callEvent(call(4, { agents: ['102'] }), 'ended'))).toBe(false);
    expect(outbox.enqueue(callEvent(call(5), 'ringing'))).toBe(false);
    await outbox.whenIdle();
    expect(crm.created).toEqual([keyOf('c2')]);
    expect(crm.records.get(keyOf('c2'))!.input).toMatchObject({
      outcome: 'missed',
      answeredAt: null,
      durationSec: 0,
      contact: null,
      subject: 'Missed call from +14155550100',
    });
    expect(crm.attempts.filter((a) => a.op === 'logCall')).toHaveLength(1);
  });

  it('updates the same record when a late event changes what is known', async () => {
    const { crm, open } = await harness();
    const outbox = open();
    const c = call(6, { direction: 'outbound' });
    outbox.enqueue(callEvent(c, 'ended', { durationSec: 0 }));
    await outbox.whenIdle();
    expect(crm.records.get(keyOf('c6'))!.input.outcome).toBe('no_answer');
    outbox.enqueue(callEvent(c, 'answered'));
    await outbox.whenIdle();
    const entry = crm.records.get(keyOf('c6'))!;
    expect(crm.created).toHaveLength(1);
    expect(entry.updates).toBe(1);
    expect(entry.input).toMatchObject({ outcome: 'answered', subject: 'Outbound call to Jane Citizen (+61298765432)' });
  });
});

describe('outbox: who logs a call', () => {
  it('logs an unanswered outbound call as no answer, never as missed', async () => {
    const { crm, history, open } = await harness();
    const outbox = open();
    outbox.enqueue(callEvent(call(7, { direction: 'outbound' }), 'missed'));
    await outbox.whenIdle();
    expect(crm.records.get(keyOf('c7'))!.input).toMatchObject({
      outcome: 'no_answer',
      durationSec: 0,
      subject: 'Outbound call to Jane Citizen (+61298765432) (not answered)',
    });
    expect(crm.records.get(keyOf('c7'))!.input.notes).toContain('Outcome: not answered');
    expect(history.last(keyOf('c7'))).toEqual({ state: 'logged', reason: null });
  });

  it('does not log a queue call a colleague answered, even when a missed for this leg comes later', async () => {
    const { crm, history, open } = await harness();
    const outbox = open();
    const q = call(8, { agents: [AGENT_EXT, '102'] });
    const colleague = { raw: '102', e164: null, name: 'Bea', extension: '102' };
    expect(outbox.enqueue(callEvent(q, 'answered', { answeredBy: '102', callee: colleague, queue: '800' }))).toBe(true);
    outbox.enqueue(callEvent(q, 'missed', { agents: [AGENT_EXT] }));
    await outbox.whenIdle();
    expect(crm.attempts).toEqual([]);
    expect(history.states.get(keyOf('c8'))).toEqual([{ state: 'not_applicable', reason: 'Answered by extension 102, who logs it to the CRM.' }]);
  });

  it('logs a queue call nobody answered once: the first agent it rang logs it, the others do not', async () => {
    const { crm, history, open } = await harness();
    const missed = callEvent(call(9, { agents: ['102', AGENT_EXT] }), 'missed', { queue: '800' });
    const first = open();
    const otherDir = mkdtempSync(join(tmpdir(), 'rb-outbox-102-'));
    cleanups.push(() => rmSync(otherDir, { recursive: true, force: true }));
    const second = open({ dataDir: otherDir, agentExtension: '102' });
    first.enqueue(missed);
    second.enqueue(missed);
    await Promise.all([first.whenIdle(), second.whenIdle()]);
    expect(crm.created).toEqual([keyOf('c9')]);
    expect(crm.records.get(keyOf('c9'))!.input).toMatchObject({ outcome: 'missed', subject: 'Missed call from Jane Citizen (+61298765432)' });
    expect(history.last('t1:pbx1:c9:102')).toEqual({
      state: 'not_applicable',
      reason: 'Rang several agents and nobody answered; extension 101 logs it to the CRM once.',
    });
  });
});

describe('outbox: when the CRM misbehaves', () => {
  it('holds every call while the CRM is down and lands each exactly once afterwards', async () => {
    const { crm, history, open } = await harness();
    const outbox = open();
    crm.down = new CrmError('transient', 'HTTP 503', 503);
    for (let n = 1; n <= 6; n++) outbox.enqueue(callEvent(call(n), n % 3 === 0 ? 'missed' : 'ended'));
    await expect.poll(() => crm.attempts.length).toBeGreaterThanOrEqual(4);
    // Two calls failing in a row pause the whole queue; the pause lasts at most capMs, so look for it.
    await expect.poll(() => outbox.paused).toBe('backoff');
    expect(crm.records.size).toBe(0);
    crm.down = null;
    await outbox.whenIdle();
    expect([...crm.created].sort()).toEqual([1, 2, 3, 4, 5, 6].map((n) => keyOf(`c${n}`)));
    for (let n = 1; n <= 6; n++) expect(history.last(keyOf(`c${n}`))!.state).toBe('logged');
  });

  it('one call the CRM keeps refusing does not block the calls after it', async () => {
    const { crm, history, open } = await harness();
    refuseLogsOf(crm, keyOf('c1'));
    const outbox = open();
    for (let n = 1; n <= 4; n++) outbox.enqueue(callEvent(call(n), 'ended'));
    await expect.poll(() => crm.created).toHaveLength(3);
    expect(crm.created).toEqual([2, 3, 4].map((n) => keyOf(`c${n}`)));
    for (let n = 2; n <= 4; n++) expect(history.last(keyOf(`c${n}`))).toEqual({ state: 'logged', reason: null });
    // The refused call backs off on its own and is tried again, still pending.
    await expect.poll(() => crm.attempts.filter((a) => a.callKey === keyOf('c1')).length).toBeGreaterThanOrEqual(3);
    expect(history.last(keyOf('c1'))).toEqual({ state: 'pending', reason: null });
  });

  it("a call stuck on a CRM request that never answers holds up no other caller's call; the same caller's next call waits its turn", async () => {
    const { crm, open } = await harness();
    let answer!: () => void;
    const unanswered = new Promise<void>((resolve) => (answer = resolve));
    const realLog = crm.logCall.bind(crm);
    crm.logCall = async (input) => {
      if (input.callKey === keyOf('c1')) await unanswered;
      return realLog(input);
    };
    const outbox = open();
    outbox.enqueue(callEvent(call(1), 'ended'));
    for (let n = 2; n <= 4; n++) outbox.enqueue(callEvent(call(n, { remote: `+6129876500${n}` }), 'ended'));
    outbox.enqueue(callEvent(call(5), 'ended')); // c1's caller again
    await expect.poll(() => crm.created).toHaveLength(3);
    expect([...crm.created].sort()).toEqual([2, 3, 4].map((n) => keyOf(`c${n}`)).sort());
    answer();
    await outbox.whenIdle();
    expect(crm.created.slice(3)).toEqual([keyOf('c1'), keyOf('c5')]);
  });

  it('backoff never exceeds 60 s while the CRM answers', async () => {
    const { crm, open } = await harness();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    cleanups.push(() => vi.useRealTimers());
    refuseLogsOf(crm, keyOf('c1'));
    // The shipped policy, with the longest delay its jitter can draw.
    const outbox = open({ backoff: undefined, random: () => 0.999 });
    outbox.enqueue(callEvent(call(1), 'ended'));
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    outbox.enqueue(callEvent(call(2), 'ended'));
    await vi.advanceTimersByTimeAsync(20 * 60_000);
    const tries = crm.attempts.filter((a) => a.callKey === keyOf('c1')).map((a) => a.at);
    const gaps = tries.slice(1).map((at, i) => at - tries[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(60_000);
    expect(tries.length).toBeGreaterThan(30);
    // A call arriving meanwhile is logged at once, not after the failing call's backoff.
    expect(crm.created).toEqual([keyOf('c2')]);
  });

  it('honours Retry-After on 429 and pauses the whole queue until then', async () => {
    const { crm, open } = await harness();
    const outbox = open();
    crm.failNext(new CrmError('rate_limited', 'ten_secondly_rolling limit', 429, 400));
    outbox.enqueue(callEvent(call(1), 'ended'));
    outbox.enqueue(callEvent(call(2), 'ended'));
    await outbox.whenIdle();
    const [limited, ...rest] = crm.attempts;
    expect(limited).toMatchObject({ callKey: keyOf('c1'), failed: true });
    expect(rest.map((a) => a.callKey)).toEqual([keyOf('c1'), keyOf('c2')]);
    for (const attempt of rest) expect(attempt.at - limited!.at).toBeGreaterThanOrEqual(400);
    expect(crm.created).toEqual([keyOf('c1'), keyOf('c2')]);
  });

  it('parks a call the CRM refuses as needs-attention with its message, lets others pass, and retries on demand', async () => {
    const { crm, history, open } = await harness();
    const outbox = open();
    crm.failNext(new CrmError('rejected', 'Property "hs_call_duration" is not writable', 400), 'logCall');
    outbox.enqueue(callEvent(call(1), 'ended'));
    outbox.enqueue(callEvent(call(2), 'ended'));
    await outbox.whenIdle();
    expect(crm.created).toEqual([keyOf('c2')]);
    expect(history.last(keyOf('c1'))).toEqual({ state: 'needs_attention', reason: 'Property "hs_call_duration" is not writable' });
    expect(outbox.calls().find((c) => c.callKey === keyOf('c1'))).toMatchObject({ state: 'needs_attention' });

    expect(outbox.retry(keyOf('c2'))).toBe(false); // nothing to retry
    expect(outbox.retry(keyOf('c1'))).toBe(true);
    await outbox.whenIdle();
    expect(crm.created).toEqual([keyOf('c2'), keyOf('c1')]);
    expect(history.states.get(keyOf('c1'))!.map((s) => s.state)).toEqual(['pending', 'needs_attention', 'pending', 'logged']);
  });

  it('parks a recording the bus refuses, and keeps the call logged', async () => {
    const { crm, bus, history, open } = await harness();
    const outbox = open();
    bus.failNext.push(Object.assign(new Error('not your call'), { code: 'forbidden' }));
    const c = call(1);
    outbox.enqueue(callEvent(c, 'ended'));
    outbox.enqueue(callEvent(c, 'recording_ready'));
    await outbox.whenIdle();
    expect(history.last(keyOf('c1'))).toMatchObject({ state: 'needs_attention', reason: expect.stringContaining('not your call') });
    expect(crm.records.get(keyOf('c1'))!.attachments.size).toBe(0);
    outbox.retry(keyOf('c1'));
    await outbox.whenIdle();
    expect(history.last(keyOf('c1'))!.state).toBe('recording_attached');
    expect(crm.created).toHaveLength(1);
  });

  it('retries a recording the bus could not hand out yet without holding up other calls', async () => {
    const { crm, bus, open } = await harness();
    const outbox = open();
    bus.failNext.push(new Error('bus reconnecting'), new Error('bus reconnecting'));
    outbox.enqueue(callEvent(call(1), 'ended'));
    outbox.enqueue(callEvent(call(1), 'recording_ready'));
    outbox.enqueue(callEvent(call(2), 'ended'));
    await outbox.whenIdle();
    expect(crm.created).toEqual([keyOf('c1'), keyOf('c2')]);
    expect(crm.records.get(keyOf('c1'))!.attachments.size).toBe(1);
    expect(bus.requests).toHaveLength(3);
  });

  it('stops on a lost grant without hammering the CRM, and resumes when signed in again', async () => {
    const { crm, open } = await harness();
    const outbox = open();
    crm.down = new CrmError('auth', 'sign in to hubspot again');
    outbox.enqueue(callEvent(call(1), 'ended'));
    outbox.enqueue(callEvent(call(2), 'ended'));
    await outbox.whenIdle();
    expect(outbox.paused).toBe('auth');
    expect(crm.attempts).toHaveLength(1);
    outbox.enqueue(callEvent(call(3), 'ended')); // calls keep queueing
    await outbox.whenIdle();
    expect(crm.attempts).toHaveLength(1);
    crm.down = null;
    outbox.resume();
    await outbox.whenIdle();
    expect(crm.created).toEqual([1, 2, 3].map((n) => keyOf(`c${n}`)));
  });

  it('queues while no CRM is signed in and logs once one is', async () => {
    const { crm, open } = await harness();
    const outbox = open({ adapter: null });
    outbox.enqueue(callEvent(call(1), 'ended'));
    await outbox.whenIdle();
    outbox.setAdapter(crm);
    await outbox.whenIdle();
    expect(crm.created).toEqual([keyOf('c1')]);
  });
});

describe('outbox: follow-up task for a missed call', () => {
  it('creates one call-back task after the missed log, only by the agent that logs it, across a lost answer and a restart', async () => {
    const { crm, history, open } = await harness();
    // c1: missed by this agent alone. c2: answered. c3: outbound nobody picked up. c4: a queue call
    // nobody answered that extension 100 (first rung) logs. c5: missed by all, this agent logs it.
    const first = open();
    const realTask = crm.createFollowUpTask.bind(crm);
    let lostAnswers = 1;
    crm.createFollowUpTask = async (record, input) => {
      await realTask(record, input);
      if (lostAnswers-- > 0) throw new CrmError('transient', 'POST /tasks timed out'); // applied, answer lost
    };
    first.enqueue(callEvent(call(1), 'missed'));
    first.enqueue(callEvent(call(2), 'ended'));
    first.enqueue(callEvent(call(3, { direction: 'outbound' }), 'missed'));
    first.enqueue(callEvent(call(4, { agents: ['100', AGENT_EXT] }), 'missed'));
    await first.whenIdle();
    expect(crm.tasks.get(keyOf('c1'))).toEqual({
      record: crm.records.get(keyOf('c1'))!.record,
      input: {
        callKey: keyOf('c1'),
        contact: { id: 'c-jane', kind: 'contact' },
        ownerId: 'owner-ann',
        subject: 'Call back Jane Citizen (+61298765432)',
        dueAt: '2026-03-02T10:01:20.000Z', // an hour after the call was missed
      },
    });
    expect(crm.attempts.filter((a) => a.op === 'createFollowUpTask').map((a) => a.callKey)).toEqual([keyOf('c1'), keyOf('c1')]);
    expect([...crm.tasks.keys()]).toEqual([keyOf('c1')]);
    expect(history.last(keyOf('c1'))).toEqual({ state: 'logged', reason: null });

    // The log lands, then the app dies before the task is made: the next start makes it, once.
    crm.createFollowUpTask = async (_record, input) => {
      crm.attempts.push({ op: 'createFollowUpTask', callKey: input.callKey, at: Date.now(), failed: true });
      throw new CrmError('transient', 'HTTP 503', 503);
    };
    first.enqueue(callEvent(call(5, { agents: [AGENT_EXT, '102'] }), 'missed'));
    await expect.poll(() => crm.attempts.some((a) => a.op === 'createFollowUpTask' && a.callKey === keyOf('c5'))).toBe(true);
    await first.close();
    expect(crm.records.has(keyOf('c5'))).toBe(true);
    crm.createFollowUpTask = realTask;
    const second = open();
    await second.whenIdle();
    expect([...crm.tasks.keys()]).toEqual([keyOf('c1'), keyOf('c5')]);
    expect(crm.created.filter((k) => k === keyOf('c5'))).toHaveLength(1);
    expect(second.call(keyOf('c5'))).toMatchObject({ followUp: true, followUpCreated: true, state: 'logged' });
  });

  it('parks a task the CRM refuses as needs-attention naming the task, and makes it on retry', async () => {
    const { crm, history, open } = await harness();
    const outbox = open();
    crm.failNext(new CrmError('rejected', 'Property "ringbridge_call_key" does not exist', 400), 'createFollowUpTask');
    outbox.enqueue(callEvent(call(1), 'missed'));
    await outbox.whenIdle();
    expect(history.last(keyOf('c1'))).toEqual({ state: 'needs_attention', reason: 'Follow-up task: Property "ringbridge_call_key" does not exist' });
    expect(outbox.retry(keyOf('c1'))).toBe(true);
    await outbox.whenIdle();
    expect([crm.tasks.size, crm.created.length]).toEqual([1, 1]);
    expect(history.last(keyOf('c1'))).toEqual({ state: 'logged', reason: null });
  });
});

describe('outbox: durability', () => {
  it('keeps queued calls across a restart and resumes without a second record', async () => {
    const { crm, open } = await harness();
    crm.down = new CrmError('transient', 'HTTP 502', 502);
    const first = open();
    first.enqueue(callEvent(call(1), 'ended'));
    first.enqueue(callEvent(call(1), 'recording_ready'));
    await expect.poll(() => crm.attempts.length).toBeGreaterThanOrEqual(1);
    await first.close();

    crm.down = null;
    const second = open();
    expect(second.enqueue(callEvent(call(1), 'ended'))).toBe(false); // already taken before the restart
    await second.whenIdle();
    expect(crm.created).toEqual([keyOf('c1')]);
    expect(crm.records.get(keyOf('c1'))!.attachments.size).toBe(1);
  });

  it('after a create whose answer was lost, reuses the CRM record and brings it up to date', async () => {
    const { crm, open } = await harness();
    const outbox = open();
    // The create lands in the CRM, then the answer is lost (timeout after apply).
    const realLog = crm.logCall.bind(crm);
    let lose = true;
    crm.logCall = async (input) => {
      const record = await realLog(input);
      if (lose) {
        lose = false;
        throw new CrmError('transient', 'POST /calls timed out');
      }
      return record;
    };
    outbox.enqueue(callEvent(call(1), 'ended'));
    await outbox.whenIdle();
    expect(crm.created).toEqual([keyOf('c1')]);
    expect(crm.records.get(keyOf('c1'))!.updates).toBe(1);
    expect(outbox.call(keyOf('c1'))).toMatchObject({ state: 'logged', record: { id: 'call-1' } });
  });

  it('after a lost create and a failed update, the retry only updates: the record id was kept', async () => {
    const { crm, open } = await harness();
    const realLog = crm.logCall.bind(crm);
    crm.logCall = async (input) => {
      await realLog(input);
      if (crm.attempts.filter((a) => a.op === 'logCall').length === 1) throw new CrmError('transient', 'POST /calls timed out');
      return crm.records.get(input.callKey)!.record;
    };
    crm.failNext(new CrmError('transient', 'HTTP 502', 502), 'updateCall');
    const outbox = open();
    outbox.enqueue(callEvent(call(1), 'ended'));
    await outbox.whenIdle();
    expect(crm.attempts.map((a) => [a.op, a.failed])).toEqual([
      ['logCall', false], // applied; its answer lost
      ['logCall', false], // found again
      ['updateCall', true],
      ['updateCall', false], // no third look-up
    ]);
    expect(crm.created).toEqual([keyOf('c1')]);
    expect(outbox.call(keyOf('c1'))).toMatchObject({ state: 'logged', record: { id: 'call-1' } });
  });

  it('closing while a step is retrying returns promptly and the step completes once after restart', async () => {
    const { crm, open } = await harness();
    // The recording upload goes through the real HTTP layer: the CRM stores the file, its answer
    // is a 503, and the request's retry would wait ten minutes. The user quits meanwhile.
    const uploads: string[] = [];
    const crmApi: typeof fetch = async (input) => {
      uploads.push(String(input));
      return uploads.length === 1 ? new Response('{"message":"unavailable"}', { status: 503 }) : new Response(null, { status: 204 });
    };
    const session = { accessToken: async () => 'token', refreshAfterUnauthorized: async () => 'token', context: {} };
    const tenMinutes = { baseMs: 600_000, capMs: 600_000 };
    crm.attachRecording = async (record, file, callKey) => {
      const files = crm.records.get(callKey)!.attachments;
      if (files.has(file.fileName)) return; // idempotent per record + file name, as every adapter is
      await crmFetch(
        session,
        { method: 'PUT', url: `https://crm.example/calls/${record.id}/files/${file.fileName}`, schema: IgnoredBody },
        { fetch: async (input, init) => (files.set(file.fileName, file), crmApi(input, init)), retry: { attempts: 3, maxRetryAfterMs: 0, backoff: tenMinutes }, random: () => 0.99 },
      );
    };
    const first = open();
    first.enqueue(callEvent(call(1), 'ended'));
    first.enqueue(callEvent(call(1), 'recording_ready'));
    await expect.poll(() => uploads).toHaveLength(1);
    await first.close(); // before the fix: waited the ten minutes out

    const second = open();
    await second.whenIdle();
    expect(uploads).toHaveLength(1); // the file had landed: found, not sent again
    expect(crm.created).toEqual([keyOf('c1')]);
    expect(crm.records.get(keyOf('c1'))!.attachments.size).toBe(1);
    expect(second.call(keyOf('c1'))!.state).toBe('recording_attached');
  });

  it('opens an outbox file from before step progress was kept, and resumes its calls', async () => {
    const { dir, crm, open } = await harness();
    const first = open({ adapter: null });
    first.enqueue(callEvent(call(1), 'ended'));
    first.enqueue(callEvent(call(1), 'recording_ready'));
    await first.close();
    // What that release left: no progress column, and no schema version (user_version 0).
    const db = new Database(join(dir, 'outbox.sqlite'));
    db.exec('ALTER TABLE calls DROP COLUMN progress_json');
    db.pragma('user_version = 0');
    db.close();
    const second = open();
    await second.whenIdle();
    expect(crm.created).toEqual([keyOf('c1')]);
    expect(second.call(keyOf('c1'))!.state).toBe('recording_attached');
  });

  it('attaches a recording that is ready long after the call was logged, even across a restart', async () => {
    const { crm, open } = await harness();
    const first = open();
    first.enqueue(callEvent(call(1), 'ended'));
    await first.whenIdle();
    await first.close();
    const second = open();
    second.enqueue(callEvent(call(1), 'recording_ready', { pbxTime: '2026-03-02T09:31:00Z', receivedAt: '2026-03-02T09:31:00Z' }));
    await second.whenIdle();
    expect(crm.created).toEqual([keyOf('c1')]);
    expect(crm.records.get(keyOf('c1'))!.attachments.size).toBe(1);
    expect(second.call(keyOf('c1'))!.state).toBe('recording_attached');
  });
});
