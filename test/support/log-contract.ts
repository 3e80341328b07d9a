// The one behaviour suite every EventLog adapter must pass (memory, sqlite, redis).
// Each adapter's test file calls describeEventLogContract with a harness over its storage.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallEvent } from '../../src/shared/call-event.js';
import type { EventLog, LoggedEvent } from '../../src/bus/log/port.js';
import { makeCallEvent } from './make-call-event.js';

export interface EventLogHarness {
  /** Opens the log over the harness's storage; after close(), a persistent engine sees the same data again. */
  open(): Promise<EventLog>;
  /** Destroys the storage (the log must be closed): the next open() starts a new stream. */
  wipe(): Promise<void>;
  /** Releases everything the harness made. */
  dispose(): Promise<void>;
}

const DAY = 86_400_000;

export interface EngineTraits {
  /** Data outlives close(): reopening sees the same epoch, events and idempotency keys. */
  persistent: boolean;
}

/** Subscribers hear a tenant once it is watched, on adapters that deliver watched tenants only (Redis). */
async function watch(log: EventLog, ...tenants: string[]): Promise<void> {
  await Promise.all(tenants.map((t) => log.watch?.(t)));
}

export function describeEventLogContract(engine: string, traits: EngineTraits, createHarness: () => Promise<EventLogHarness>): void {
  describe(`EventLog contract: ${engine}`, () => {
    let harness: EventLogHarness;
    let log: EventLog;

    beforeEach(async () => {
      harness = await createHarness();
      log = await harness.open();
    });
    afterEach(async () => {
      await log.close();
      await harness.dispose();
    });

    it('gives 1000 concurrent appends offsets 1..1000 with no gap or duplicate, delivered to subscribers in order', async () => {
      const seen: number[] = [];
      const storedJsonMismatches: number[] = [];
      await watch(log, 't_a');
      const unsubscribe = log.subscribe((tenantId, logged) => {
        if (tenantId === 't_a') seen.push(logged.offset);
        if (logged.json !== undefined && JSON.stringify(JSON.parse(logged.json)) !== JSON.stringify(logged.event)) storedJsonMismatches.push(logged.offset);
      });
      const results = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => log.append('t_a', makeCallEvent({ tenantId: 't_a' }), `key-${i}`)),
      );
      const offsets = results.map((r) => r.offset).sort((a, b) => a - b);
      expect(offsets).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
      expect(results.every((r) => !r.duplicate && r.epoch === results[0]!.epoch)).toBe(true);
      await expect.poll(() => seen.length).toBeGreaterThanOrEqual(1000);
      expect(seen).toEqual(offsets);
      expect(storedJsonMismatches).toEqual([]);
      unsubscribe();
    });

    it('returns the original offset for a repeated idempotency key and writes nothing', async () => {
      const notified: number[] = [];
      await watch(log, 't_a');
      log.subscribe((_t, logged) => notified.push(logged.offset));
      const event = makeCallEvent({ tenantId: 't_a' });
      const [first, second] = await Promise.all([log.append('t_a', event, 'wh_1'), log.append('t_a', event, 'wh_1')]);
      const third = await log.append('t_a', makeCallEvent({ tenantId: 't_a' }), 'wh_1');
      expect(first).toMatchObject({ offset: 1, duplicate: false });
      expect(second).toEqual({ offset: 1, epoch: first!.epoch, duplicate: true });
      expect(third).toEqual({ offset: 1, epoch: first!.epoch, duplicate: true });
      expect((await log.position('t_a')).offset).toBe(1);
      const next = await log.append('t_a', makeCallEvent({ tenantId: 't_a' }), 'wh_2');
      expect(next.offset).toBe(2);
      await expect.poll(() => notified.length).toBeGreaterThanOrEqual(2);
      expect(notified).toEqual([1, 2]);
    });

    it('reads events after `since`, oldest first, at most `limit`, with the position and round-trips the event', async () => {
      const events = Array.from({ length: 10 }, () => makeCallEvent({ tenantId: 't_a' }));
      for (const [i, e] of events.entries()) await log.append('t_a', e, `k${i}`);
      const page = await log.read('t_a', { since: 3, limit: 4 });
      expect(page.events.map((e) => e.offset)).toEqual([4, 5, 6, 7]);
      expect(page.events[0]!.event).toEqual(events[3]);
      // The stored JSON an adapter may hand over (the agent frames are built from it) is the same event.
      for (const logged of page.events) if (logged.json !== undefined) expect(JSON.parse(logged.json)).toEqual(logged.event);
      expect(page.position.offset).toBe(10);
      expect(page.firstRetained).toBe(1);
      const topOnly = await log.read('t_a', { since: 0, limit: 0 });
      expect(topOnly.events).toEqual([]);
      expect(topOnly.position).toEqual(page.position);
      expect((await log.read('t_a', { since: 10, limit: 100 })).events).toEqual([]);
      expect((await log.read('t_a', { since: 8, limit: 100 })).events.map((e) => e.offset)).toEqual([9, 10]);
    });

    it('reads one agent’s events after `since`, in pages, however many other events of the tenant lie between', async () => {
      const me = { pbxId: 'pbx_1', extension: '101' };
      const others = [
        { pbxId: 'pbx_1', agents: ['102'] },
        { pbxId: 'pbx_2', agents: ['101'] }, // same extension, another PBX of the tenant
        { pbxId: 'pbx_1', agents: [] },
        { pbxId: 'pbx_1', agents: ['1010'] },
      ];
      const mine: number[] = [];
      let n = 0;
      const append = async (overrides: Partial<CallEvent>) => (await log.append('t_a', makeCallEvent({ tenantId: 't_a', ...overrides }), `k${n++}`)).offset;
      for (let i = 0; i < 40; i++) {
        // Other agents' events in chunks of 50, concurrently, between each of this agent's.
        await Promise.all(Array.from({ length: 50 }, (_, j) => append(others[(i + j) % others.length]!)));
        mine.push(await append({ pbxId: me.pbxId, agents: i % 3 === 0 ? ['102', '101', '101'] : ['101'] }));
      }
      await log.append('t_b', makeCallEvent({ tenantId: 't_b', pbxId: me.pbxId, agents: ['101'] }), 'other-tenant');
      const top = await log.position('t_a');

      const paged: number[] = [];
      for (let since = mine[4]!; ; ) {
        const page = await log.readForAgent('t_a', { ...me, since, limit: 7 });
        expect(page.position).toEqual(top);
        expect(page.firstRetained).toBe(1);
        for (const logged of page.events) {
          expect(logged.event).toMatchObject({ tenantId: 't_a', pbxId: me.pbxId });
          if (logged.json !== undefined) expect(JSON.parse(logged.json)).toEqual(logged.event);
        }
        paged.push(...page.events.map((e) => e.offset));
        if (page.events.length < 7) break;
        since = page.events.at(-1)!.offset;
      }
      expect(paged).toEqual(mine.slice(5));
      expect((await log.readForAgent('t_a', { ...me, since: 0, limit: 0 })).events).toEqual([]);
      expect((await log.readForAgent('t_a', { ...me, since: top.offset, limit: 10 })).events).toEqual([]);
      expect((await log.readForAgent('t_a', { pbxId: me.pbxId, extension: '10', since: 0, limit: 10 })).events).toEqual([]);
      const otherTenant = await log.readForAgent('t_b', { ...me, since: 0, limit: 10 });
      expect(otherTenant.events.map((e) => [e.offset, e.event.tenantId])).toEqual([[1, 't_b']]);
    });

    it('stops reading an agent’s events at what retention trimmed', async () => {
      const now = Date.now();
      const at = (msAgo: number) => new Date(now - msAgo).toISOString();
      for (const [i, age] of [9 * DAY, 9 * DAY, 0, 0].entries()) {
        await log.append('t_a', makeCallEvent({ tenantId: 't_a', agents: ['101'], receivedAt: at(age) }), `k${i}`);
      }
      expect(await log.trim(new Date(now - 7 * DAY))).toBe(2);
      const page = await log.readForAgent('t_a', { pbxId: 'pbx_test', extension: '101', since: 0, limit: 10 });
      expect(page.events.map((e) => e.offset)).toEqual([3, 4]);
      expect(page.firstRetained).toBe(3);
    });

    it('has a stable epoch from the first look, before any append', async () => {
      const empty = await log.position('t_new');
      expect(empty.offset).toBe(0);
      const read = await log.read('t_new', { since: 0, limit: 10 });
      expect(read).toEqual({ events: [], position: empty, firstRetained: 1 });
      const appended = await log.append('t_new', makeCallEvent({ tenantId: 't_new' }), 'k');
      expect(appended.epoch).toBe(empty.epoch);
    });

    it('finds an event by its CallEvent id within its own tenant only, whether or not the id is its idempotency key', async () => {
      const event = makeCallEvent({ tenantId: 't_a' });
      const keyed = makeCallEvent({ tenantId: 't_a' });
      await log.append('t_a', makeCallEvent({ tenantId: 't_a' }), 'k0');
      await log.append('t_a', event, 'k1');
      await log.append('t_a', keyed, keyed.id); // as the ingest appends every event
      const found = await log.findById('t_a', event.id);
      expect(found && { offset: found.offset, event: found.event }).toEqual<LoggedEvent>({ offset: 2, event });
      const foundKeyed = await log.findById('t_a', keyed.id);
      expect(foundKeyed && { offset: foundKeyed.offset, event: foundKeyed.event }).toEqual<LoggedEvent>({ offset: 3, event: keyed });
      expect(await log.findById('t_a', 'k1')).toBeNull();
      expect(await log.findById('t_b', keyed.id)).toBeNull();
      expect(await log.findById('t_b', event.id)).toBeNull();
      expect(await log.findById('t_a', 'evt_unknown')).toBeNull();
    });

    it('keeps tenants apart: own offsets, own epoch, never the other tenant’s events', async () => {
      const delivered: string[] = [];
      await watch(log, 't_a', 't_b');
      log.subscribe((tenantId, logged) => delivered.push(`${tenantId}:${logged.event.tenantId}`));
      await log.append('t_a', makeCallEvent({ tenantId: 't_a', agents: ['101'] }), 'same-key');
      await log.append('t_b', makeCallEvent({ tenantId: 't_b', agents: ['101'] }), 'same-key');
      await log.append('t_b', makeCallEvent({ tenantId: 't_b', agents: ['101'] }), 'other');
      const a = await log.read('t_a', { since: 0, limit: 100 });
      const b = await log.read('t_b', { since: 0, limit: 100 });
      expect(a.events.map((e) => [e.offset, e.event.tenantId])).toEqual([[1, 't_a']]);
      expect(b.events.map((e) => [e.offset, e.event.tenantId])).toEqual([[1, 't_b'], [2, 't_b']]);
      expect(a.position.epoch).not.toBe(b.position.epoch);
      await expect.poll(() => delivered.length).toBeGreaterThanOrEqual(3);
      expect(delivered.sort()).toEqual(['t_a:t_a', 't_b:t_b', 't_b:t_b']);
    });

    it('trims only the oldest prefix received before the cutoff; offsets keep counting', async () => {
      const now = Date.now();
      const at = (msAgo: number) => new Date(now - msAgo).toISOString();
      const ages = [9 * DAY, 8 * DAY, 1 * DAY, 9 * DAY, 0];
      const events = ages.map((age) => makeCallEvent({ tenantId: 't_a', receivedAt: at(age) }));
      for (const [i, e] of events.entries()) await log.append('t_a', e, `k${i}`);
      await log.append('t_b', makeCallEvent({ tenantId: 't_b', receivedAt: at(9 * DAY) }), 'b0');

      const removed = await log.trim(new Date(now - 7 * DAY));
      expect(removed).toBe(3); // two from t_a (the 4th stays: removing it would leave a hole), one from t_b
      const a = await log.read('t_a', { since: 0, limit: 100 });
      expect(a.firstRetained).toBe(3);
      expect(a.events.map((e) => e.offset)).toEqual([3, 4, 5]);
      expect(await log.findById('t_a', events[0]!.id)).toBeNull();
      const b = await log.read('t_b', { since: 0, limit: 100 });
      expect(b).toMatchObject({ events: [], firstRetained: 2, position: { offset: 1 } });
      expect((await log.append('t_b', makeCallEvent({ tenantId: 't_b' }), 'b1')).offset).toBe(2);
      expect(await log.trim(new Date(now - 7 * DAY))).toBe(0);
    });

    it('holds the legs still in progress per PBX: a ring opens them, an answer keeps only the answering one, an end closes it; retention clears them', async () => {
      const now = Date.now();
      const call = (pbxCallId: string, type: CallEvent['type'], agents: string[], extra: Partial<CallEvent> = {}) =>
        makeCallEvent({ tenantId: 't_a', pbxCallId, type, agents, extensions: agents, receivedAt: new Date(now).toISOString(), ...extra });
      const legs = async (pbxId = 'pbx_test') =>
        (await log.openLegs('t_a', pbxId)).map((l) => `${l.logged.event.pbxCallId}/${l.extension}:${l.logged.event.type}`).sort();
      await log.append('t_a', call('q1', 'ringing', ['101', '102']), 'q1r');
      await log.append('t_a', call('c2', 'ringing', ['103']), 'c2r');
      await log.append('t_a', call('c3', 'ringing', ['104'], { pbxId: 'pbx_other' }), 'c3r');
      expect(await legs()).toEqual(['c2/103:ringing', 'q1/101:ringing', 'q1/102:ringing']);
      await log.append('t_a', call('q1', 'answered', ['101', '102'], { answeredBy: '102' }), 'q1a');
      await log.append('t_a', call('c2', 'missed', ['103']), 'c2m');
      expect(await legs()).toEqual(['q1/102:answered']);
      // A repeat changes nothing; recordings change nothing.
      await log.append('t_a', call('c2', 'ringing', ['103']), 'c2r');
      await log.append('t_a', call('q1', 'recording_ready', ['102']), 'q1rec');
      expect(await legs()).toEqual(['q1/102:answered']);
      expect(await legs('pbx_other')).toEqual(['c3/104:ringing']);
      expect(await log.openLegs('t_b', 'pbx_test')).toEqual([]);
      await log.append('t_a', call('q1', 'ended', ['102']), 'q1e');
      expect(await legs()).toEqual([]);
      // A leg whose opening event retention removed is no longer in progress (never ended, long gone).
      await log.append('t_a', call('old', 'ringing', ['105'], { receivedAt: new Date(now - 9 * DAY).toISOString() }), 'oldr');
      await log.trim(new Date(now - 7 * DAY));
      await log.trim(new Date(now + 1));
      expect(await legs('pbx_other')).toEqual([]);
    });

    it('drops an open leg nothing can end only while the event it was read with still holds it open', async () => {
      const call = (pbxCallId: string, agents: string[], pbxId = 'pbx_test') => makeCallEvent({ tenantId: 't_a', pbxId, pbxCallId, type: 'ringing', agents, extensions: agents });
      const stale = await log.append('t_a', call('s1', ['101', '102']), 's1r');
      const other = await log.append('t_a', call('s1', ['101'], 'pbx_other'), 's1o');
      const reopened = await log.append('t_a', call('s2', ['103']), 's2r');
      // s2's leg was rung again (a reused id) after it was read: the newer ring keeps it open.
      await log.append('t_a', { ...call('s2', ['103']), pbxTime: new Date(Date.now() + 60_000).toISOString() }, 's2r-again');
      await log.dropOpenLegs('t_a', 'pbx_test', [
        { pbxCallId: 's1', extension: '101', offset: stale.offset },
        { pbxCallId: 's2', extension: '103', offset: reopened.offset },
      ]);
      const legs = async (pbxId: string) => (await log.openLegs('t_a', pbxId)).map((l) => `${l.logged.event.pbxCallId}/${l.extension}@${l.logged.offset}`).sort();
      expect(await legs('pbx_test')).toEqual(['s1/102@' + stale.offset, `s2/103@${reopened.offset + 1}`]);
      expect(await legs('pbx_other')).toEqual([`s1/101@${other.offset}`]);
    });

    if (traits.persistent) {
      it('keeps epoch, events, offsets and idempotency keys across close and reopen', async () => {
        const first = await log.append('t_a', makeCallEvent({ tenantId: 't_a' }), 'k1');
        await log.append('t_a', makeCallEvent({ tenantId: 't_a' }), 'k2');
        await log.close();
        log = await harness.open();
        expect(await log.position('t_a')).toEqual({ offset: 2, epoch: first.epoch });
        expect(await log.append('t_a', makeCallEvent({ tenantId: 't_a' }), 'k1')).toEqual({ ...first, duplicate: true });
        expect(await log.append('t_a', makeCallEvent({ tenantId: 't_a' }), 'k3')).toMatchObject({ offset: 3, epoch: first.epoch });
        expect((await log.read('t_a', { since: 0, limit: 10 })).events).toHaveLength(3);
        const own = await log.readForAgent('t_a', { pbxId: 'pbx_test', extension: '101', since: 1, limit: 10 });
        expect(own.events.map((e) => e.offset)).toEqual([2, 3]);
      });
    }

    it('starts a new epoch when the storage is recreated, so old positions cannot be mistaken', async () => {
      const before = await log.append('t_a', makeCallEvent({ tenantId: 't_a' }), 'k1');
      await log.close();
      await harness.wipe();
      log = await harness.open();
      const after = await log.position('t_a');
      expect(after.offset).toBe(0);
      expect(after.epoch).not.toBe(before.epoch);
    });
  });
}
