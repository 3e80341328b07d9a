// How often the agent reads its 3CX status: spread out, so a thousand agents that reconnected together
// do not ask their PBX in the same second every minute.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Presence } from '../../shared/agent-protocol.js';
import { PresenceWatch, type LineTransport } from './call-control.js';

afterEach(() => vi.useRealTimers());

const presence: Presence = { profile: 'Available', dnd: false, profiles: ['Available'], queueStatus: 'LoggedIn', queues: [] };

function watch(random: number) {
  let reads = 0;
  const transport: LineTransport = { controlCall: async () => undefined, presence: async () => (reads++, presence) };
  const w = new PresenceWatch(() => transport, () => undefined, 60_000, () => random);
  return { w, reads: () => reads };
}

describe('PresenceWatch refresh', () => {
  it('reads on connect, then after a wait drawn between half and one and a half minutes, so agents connected together spread their reads', async () => {
    vi.useFakeTimers();
    const early = watch(0);
    const late = watch(0.99);
    early.w.connected(true);
    late.w.connected(true);
    await vi.advanceTimersByTimeAsync(0);
    expect([early.reads(), late.reads()]).toEqual([1, 1]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect([early.reads(), late.reads()]).toEqual([2, 1]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect([early.reads(), late.reads()]).toEqual([4, 2]);
    early.w.connected(false);
    late.w.stop();
    await vi.advanceTimersByTimeAsync(600_000);
    expect([early.reads(), late.reads()]).toEqual([4, 2]);
  });
});
