import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAKE_DEVICE_TOKEN, FAKE_PAIRING_CODE, FakeBus, callEvent } from '../../test/support/fake-bus.js';
import { MemoryContactSource } from './contacts/index.js';
import { createAgentCore, type AgentCore, type AgentCoreDeps } from './core.js';
import { memoryHistoryRows } from './history/index.js';
import type { DialFeedback } from './dial/index.js';
import type { PopNotification } from './screenpop/index.js';
import { MemoryKeyValueStore, MemorySecretStore } from './storage/index.js';

const silent = pino({ level: 'silent' });

let bus: FakeBus;
let dataDir: string;
let secretStore: MemorySecretStore;
const cores: AgentCore[] = [];

beforeEach(async () => {
  bus = await new FakeBus().listen();
  dataDir = mkdtempSync(join(tmpdir(), 'rb-core-'));
  secretStore = new MemorySecretStore();
});
afterEach(async () => {
  await Promise.all(cores.splice(0).map((c) => c.close()));
  await bus.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A core as the shell builds it; `start()` is left to the caller when `started` is false. */
async function start({ started = true, ...extra }: { started?: boolean } & Partial<AgentCoreDeps> = {}) {
  const log: string[] = [];
  const pops: PopNotification[] = [];
  const feedback: DialFeedback[] = [];
  const core = await createAgentCore({
    dataDir,
    secretStore,
    notifier: {
      show: (p) => (pops.push(p), log.push(`show:${p.popId}`)),
      withdraw: (id) => void log.push(`withdraw:${id}`),
    },
    confirm: { confirmDial: async () => true },
    feedback: { dialFeedback: (f) => void feedback.push(f) },
    contactSource: new MemoryContactSource(),
    crmUrls: { contactUrl: (c) => `https://crm.example/c/${c.id}`, newContactUrl: () => 'https://crm.example/new' },
    logger: silent,
    defaultCountry: 'AU',
    bus: { backoff: { baseMs: 5, capMs: 20 } },
    ...extra,
  });
  cores.push(core);
  if (started) core.start();
  return { core, log, pops, feedback };
}

async function paired() {
  const agent = await start();
  await agent.core.pair(bus.url, FAKE_PAIRING_CODE);
  await expect.poll(() => agent.core.state).toBe('connected');
  return agent;
}

const key = (id: string) => `tenant-1:pbx-1:${id}:201`;
/** Appends and waits until the agent acknowledged it. */
async function deliver(...events: ReturnType<typeof callEvent>[]): Promise<void> {
  let offset = 0;
  for (const e of events) offset = bus.append(e);
  await bus.until(() => bus.acks().includes(offset));
}

describe('AgentCore', () => {
  it('starts unpaired, pairs, and keeps the device token out of its files', async () => {
    const { core } = await start();
    expect(core.state).toBe('unpaired');
    await core.pair(bus.url, FAKE_PAIRING_CODE);
    await expect.poll(() => core.state).toBe('connected');
    expect(core.agent).toMatchObject({ extension: '201', name: 'Robin Reception' });
    const files = readdirSync(join(dataDir, 'state'));
    for (const file of files) expect(readFileSync(join(dataDir, 'state', file), 'utf8')).not.toContain(FAKE_DEVICE_TOKEN);
    expect(await secretStore.get('bus.deviceToken')).toBe(FAKE_DEVICE_TOKEN);
  });

  it('pops a live inbound ring, withdraws it when answered, and records the call', async () => {
    const { core, log, pops } = await paired();
    core.contacts.upsert({ id: 'jane', kind: 'contact', name: 'Jane Citizen', company: 'Acme Pty Ltd', phones: ['(02) 9876 5432'], ownerId: null, lastActivityAt: null, url: '', updatedAt: null });
    await deliver(callEvent({ type: 'ringing', pbxCallId: 'c1' }));
    expect(pops[0]).toMatchObject({ title: 'Jane Citizen', clickUrl: 'https://crm.example/c/jane' });
    await deliver(callEvent({ type: 'answered', pbxCallId: 'c1' }), callEvent({ type: 'ended', pbxCallId: 'c1', durationSec: 42 }));
    expect(log).toEqual([`show:${key('c1')}`, `withdraw:${key('c1')}`]);
    expect(core.history.list()).toEqual([expect.objectContaining({ callKey: key('c1'), contactName: 'Jane Citizen', outcome: 'answered', durationSec: 42 })]);
  });

  it('catches up after being closed: missed calls show as missed and nothing pops late', async () => {
    const first = await paired();
    await deliver(callEvent({ type: 'ringing', pbxCallId: 'before' }));
    await first.core.close();

    bus.append(callEvent({ type: 'ringing', pbxCallId: 'away' }));
    bus.append(callEvent({ type: 'missed', pbxCallId: 'away' }));
    bus.append(callEvent({ type: 'ringing', pbxCallId: 'stale' })); // rang while closed, still "ringing" in the log
    const second = await start();
    expect(second.core.agent?.extension).toBe('201');
    await expect.poll(() => second.core.history.get(key('stale'))).toBeDefined();
    expect(second.log).toEqual([]);
    expect(second.core.history.get(key('away'))?.outcome).toBe('missed');
    expect(bus.sessions.at(-1)?.hello?.resume).toEqual({ offset: 1, epoch: 'epoch-1' });
  });

  it('withdraws a queue pop when a colleague answers and records it as answered elsewhere', async () => {
    const { core, log } = await paired();
    await deliver(callEvent({ type: 'ringing', pbxCallId: 'q1', queue: '800', agents: ['201', '202'] }));
    await deliver(callEvent({ type: 'answered', pbxCallId: 'q1', queue: '800', agents: ['201', '202'], callee: { raw: '202', e164: null, name: 'Sam', extension: '202' } }));
    expect(log).toEqual([`show:${key('q1')}`, `withdraw:${key('q1')}`]);
    expect(core.history.get(key('q1'))?.outcome).toBe('answered_elsewhere');
  });

  it('does not pop under do-not-disturb but still records the call', async () => {
    const { core, log } = await paired();
    core.settings.update({ doNotDisturb: true });
    await deliver(callEvent({ type: 'ringing', pbxCallId: 'd1' }), callEvent({ type: 'missed', pbxCallId: 'd1' }));
    expect(log).toEqual([]);
    expect(core.history.get(key('d1'))?.outcome).toBe('missed');
  });

  it('dials a tel: link through the bus and reports the result', async () => {
    const { core, feedback } = await paired();
    await core.dial('tel:(02) 9876-5432');
    await core.dial('tel:javascript:alert(1)');
    expect(feedback).toEqual([
      { kind: 'placed', e164: '+61298765432', display: '(02) 9876 5432' },
      expect.objectContaining({ kind: 'refused', code: 'embedded_url' }),
    ]);
    const dials = bus.sessions.flatMap((s) => s.received.filter((f) => f.t === 'dial'));
    expect(dials).toEqual([expect.objectContaining({ number: '+61298765432' })]);
  });

  it('waits for bus-event listeners (the outbox) before acknowledging', async () => {
    const { core } = await paired();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    core.onBusEvent(() => gate);
    bus.append(callEvent({ type: 'ended', pbxCallId: 'e1', durationSec: 3 }));
    await expect.poll(() => core.history.get(key('e1'))).toBeDefined();
    expect(bus.acks()).toEqual([]);
    release();
    await bus.until(() => bus.acks().includes(1));
  });

  it('a listener attached before start() sees the first event, replayed from the bus, however long the wiring awaited', async () => {
    const first = await paired();
    await first.core.close();
    bus.append(callEvent({ type: 'ended', pbxCallId: 'while-away', durationSec: 7 }));

    const { core } = await start({ started: false });
    await new Promise((r) => setTimeout(r, 50)); // the composition root awaits other things (the CRM link)
    expect(bus.sessions).toHaveLength(1); // nothing connects before start()
    const seen: string[] = [];
    core.onBusEvent(({ event, replay }) => void seen.push(`${event.pbxCallId}:${replay}`));
    core.start();
    await bus.until(() => bus.acks().includes(1));
    expect(seen).toEqual(['while-away:true']);
    expect(core.history.get(key('while-away'))?.outcome).toBe('answered');
  });

  it('refuses a second start() with a clear error and keeps the one connection', async () => {
    const { core } = await paired();
    expect(() => core.start()).toThrow(/called twice/);
    await deliver(callEvent({ type: 'ringing', pbxCallId: 'once' }));
    expect(bus.sessions).toHaveLength(1);
  });

  it('holds an event the history cannot write, says so, and records it and the later ones once each when writes succeed', async () => {
    let diskFull = false;
    const rows = memoryHistoryRows();
    const puts: string[] = [];
    const put = rows.put.bind(rows);
    rows.put = (callKey, record) => {
      if (diskFull) throw new Error('SQLITE_FULL: database or disk is full');
      puts.push(callKey);
      put(callKey, record);
    };
    const { core } = await start({ historyRows: rows });
    await core.pair(bus.url, FAKE_PAIRING_CODE);
    await expect.poll(() => core.state).toBe('connected');
    const taken: string[] = [];
    core.onBusEvent(({ event }) => void taken.push(event.id));
    const reasons: Array<string | null> = [];
    core.onSaveError((reason) => void reasons.push(reason));

    diskFull = true;
    const events = [callEvent({ type: 'ringing', pbxCallId: 'f1' }), callEvent({ type: 'missed', pbxCallId: 'f1' }), callEvent({ type: 'ringing', pbxCallId: 'f2' })];
    for (const e of events) bus.append(e);
    await expect.poll(() => core.saveError).toMatch(/disk is full/);
    await new Promise((r) => setTimeout(r, 50)); // several retries
    expect(bus.acks()).toEqual([]);
    expect(taken).toEqual([]); // the outbox never sees an event the history could not keep

    diskFull = false;
    await bus.until(() => bus.acks().includes(3));
    expect(bus.acks()).toEqual([1, 2, 3]);
    expect(taken).toEqual(events.map((e) => e.id));
    expect(core.saveError).toBeNull();
    expect(reasons).toEqual([expect.stringMatching(/disk is full/), null]);
    expect(core.history.get(key('f1'))?.outcome).toBe('missed');
    expect(core.history.get(key('f2'))?.outcome).toBe('ringing');
    expect(puts).toEqual([key('f1'), key('f1'), key('f2')]);
  });

  it('holds an event whose resume position cannot be written and carries on in order once it can', async () => {
    const store = new MemoryKeyValueStore();
    let diskFull = false;
    const set = store.set.bind(store);
    store.set = (k, value) => {
      if (diskFull && k === 'bus.position') throw new Error('ENOSPC: no space left on device, write');
      set(k, value);
    };
    const { core } = await start({ store });
    await core.pair(bus.url, FAKE_PAIRING_CODE);
    await expect.poll(() => core.state).toBe('connected');
    await deliver(callEvent({ type: 'ringing', pbxCallId: 'p0' }));
    const taken: number[] = [];
    core.onBusEvent(({ offset }) => void taken.push(offset));

    diskFull = true;
    bus.append(callEvent({ type: 'ringing', pbxCallId: 'p1' }));
    bus.append(callEvent({ type: 'ringing', pbxCallId: 'p2' }));
    await expect.poll(() => core.saveError).toMatch(/no space left on device/);
    expect(bus.acks()).toEqual([1]);

    diskFull = false;
    await bus.until(() => bus.acks().includes(3));
    expect(bus.acks()).toEqual([1, 2, 3]);
    expect(core.saveError).toBeNull();
    // Offset 2 reached the listeners on every try (they take a repeat as a no-op); 3 only once.
    expect(taken.filter((o) => o === 3)).toEqual([3]);
    expect(new Set(taken)).toEqual(new Set([2, 3]));
  });

  it('shows signed out when the bus revokes the device, and forgets everything on sign-out', async () => {
    const { core } = await paired();
    const states: string[] = [];
    core.onState((s) => states.push(s));
    bus.revoked = true;
    bus.current!.socket.close(4101, 'revoked');
    await expect.poll(() => core.state).toBe('signed_out');
    await core.signOut();
    expect(states).toEqual(['signed_out', 'unpaired']);
    expect(core.agent).toBeNull();
    expect(await secretStore.get('bus.deviceToken')).toBeUndefined();
    await expect(core.dial('tel:+61298765432')).resolves.toMatchObject({ kind: 'failed' });
  });
});
