// The request budget on a fake clock: who may start when, never how long anything took.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RequestBudget, retryWithin } from './budget.js';
import { CrmError } from './port.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Starts acquiring for each path and records the order (and fake time) they were let through. */
function tracker(budget: RequestBudget) {
  const started: Array<[string, number]> = [];
  const releases = new Map<string, () => void>();
  const ask = (name: string, path = '/x', ticket?: number) =>
    void budget.acquire(path, ticket).then((release) => {
      started.push([name, Date.now()]);
      releases.set(name, release);
    });
  return { started, ask, release: (name: string) => releases.get(name)!() };
}

describe('RequestBudget', () => {
  it('paces a burst to a rolling window instead of letting it through at once', async () => {
    const t0 = Date.now();
    const { started, ask, release } = tracker(new RequestBudget({ windows: [{ max: 2, perMs: 1_000 }] }));
    for (const name of ['a', 'b', 'c', 'd', 'e']) ask(name);
    await vi.advanceTimersByTimeAsync(0);
    expect(started.map(([n]) => n)).toEqual(['a', 'b']);
    for (const name of ['a', 'b']) release(name);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(started.map(([n]) => n)).toEqual(['a', 'b', 'c', 'd', 'e']);
    // No more than 2 starts in any second.
    const at = started.map(([, t]) => t - t0);
    for (let i = 2; i < at.length; i++) expect(at[i]! - at[i - 2]!).toBeGreaterThanOrEqual(1_000);
  });

  it('tryAcquire gives a slot this instant only when one is free and nobody waits for one, and that slot counts like any', async () => {
    const budget = new RequestBudget({ windows: [{ max: 2, perMs: 1_000 }] });
    const first = budget.tryAcquire('/x');
    expect(first).toBeTypeOf('function');
    const { started, ask } = tracker(budget);
    ask('waiting'); // the window's second slot
    await vi.advanceTimersByTimeAsync(0);
    expect(budget.tryAcquire('/x')).toBeNull(); // the window is full
    ask('later');
    await vi.advanceTimersByTimeAsync(1_100);
    // The window moved on, but "later" asked first: it takes the room, and no one jumps it.
    expect(started.map(([n]) => n)).toEqual(['waiting', 'later']);
    const paused = new RequestBudget({ concurrency: 1 });
    paused.pause(500);
    expect(paused.tryAcquire('/x')).toBeNull();
    await vi.advanceTimersByTimeAsync(500);
    const release = paused.tryAcquire('/x')!;
    expect(paused.tryAcquire('/x')).toBeNull(); // held: concurrency 1
    release();
    expect(paused.tryAcquire('/x')).toBeTypeOf('function');
    first!();
  });

  it('lets an aborted request leave the line at once, and the next in line takes its place', async () => {
    const budget = new RequestBudget({ concurrency: 1 });
    const { started, ask, release } = tracker(budget);
    ask('a');
    const quitting = new AbortController();
    const waiting = budget.acquire('/x', undefined, quitting.signal).catch((e: unknown) => e);
    ask('c');
    await vi.advanceTimersByTimeAsync(0);
    quitting.abort(new Error('quitting'));
    expect(await waiting).toMatchObject({ message: 'quitting' });
    release('a');
    await vi.advanceTimersByTimeAsync(0);
    expect(started.map(([n]) => n)).toEqual(['a', 'c']);
  });

  it('counts a path-scoped window only for its paths, letting other requests pass', async () => {
    const { started, ask } = tracker(new RequestBudget({ windows: [{ max: 1, perMs: 1_000, path: /\/search$/ }] }));
    ask('s1', '/objects/contacts/search');
    ask('s2', '/objects/contacts/search');
    ask('read', '/objects/calls/1');
    await vi.advanceTimersByTimeAsync(0);
    expect(started.map(([n]) => n)).toEqual(['s1', 'read']);
    await vi.advanceTimersByTimeAsync(1_200);
    expect(started.map(([n]) => n)).toEqual(['s1', 'read', 's2']);
  });

  it('leaves the paths a window excepts out of it: searches pass a full 10 s window and do not fill it', async () => {
    const search = /\/search$/;
    const { started, ask } = tracker(new RequestBudget({ windows: [{ max: 1, perMs: 10_000, except: search }, { max: 2, perMs: 1_000, path: search }] }));
    ask('write', '/objects/calls/1');
    ask('s1', '/objects/calls/search');
    ask('s2', '/objects/calls/search');
    ask('s3', '/objects/calls/search');
    ask('write2', '/objects/calls/2');
    await vi.advanceTimersByTimeAsync(0);
    // The 10 s window is full after `write`; two searches still go, the third waits for its own window only.
    expect(started.map(([n]) => n)).toEqual(['write', 's1', 's2']);
    await vi.advanceTimersByTimeAsync(1_200);
    expect(started.map(([n]) => n)).toEqual(['write', 's1', 's2', 's3']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(started.map(([n]) => n)).toEqual(['write', 's1', 's2', 's3', 'write2']);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    const { started, ask, release } = tracker(new RequestBudget({ concurrency: 2 }));
    for (const name of ['a', 'b', 'c']) ask(name);
    await vi.advanceTimersByTimeAsync(0);
    expect(started.map(([n]) => n)).toEqual(['a', 'b']);
    release('b');
    release('b'); // a second release changes nothing
    await vi.advanceTimersByTimeAsync(0);
    expect(started.map(([n]) => n)).toEqual(['a', 'b', 'c']);
    ask('d');
    await vi.advanceTimersByTimeAsync(0);
    expect(started).toHaveLength(3);
  });

  it("holds everyone during a 429's pause, then lets the refused request go first", async () => {
    const budget = new RequestBudget();
    const { started, ask, release } = tracker(budget);
    const ticket = budget.ticket();
    ask('first', '/x', ticket);
    await vi.advanceTimersByTimeAsync(0);
    release('first');
    budget.pause(1_000); // the answer was a 429 with Retry-After: 1
    ask('newcomer');
    ask('first retry', '/x', ticket);
    await vi.advanceTimersByTimeAsync(999);
    expect(started.map(([n]) => n)).toEqual(['first']);
    await vi.advanceTimersByTimeAsync(1);
    expect(started.map(([n]) => n)).toEqual(['first', 'first retry', 'newcomer']);
  });

  it('refuses a spec it cannot honour', () => {
    expect(() => new RequestBudget({ windows: [{ max: 0, perMs: 1_000 }] })).toThrow(/max >= 1/);
    expect(() => new RequestBudget({ concurrency: 0 })).toThrow(/concurrency/);
  });
});

describe('retryWithin', () => {
  it('tries again after a rate limit while the next try fits the time budget, then gives up with the error', async () => {
    let calls = 0;
    const limited = (retryAfterMs: number) => async () => {
      calls++;
      if (calls === 1) throw new CrmError('rate_limited', 'slow down', 429, retryAfterMs);
      return 'named';
    };
    const waited = retryWithin(20_000, limited(15_000));
    await vi.advanceTimersByTimeAsync(15_000);
    await expect(waited).resolves.toBe('named');
    calls = 0;
    await expect(retryWithin(20_000, limited(25_000))).rejects.toMatchObject({ kind: 'rate_limited' });
    await expect(retryWithin(20_000, async () => Promise.reject(new CrmError('rejected', 'no')))).rejects.toMatchObject({ kind: 'rejected' });
  });
});
