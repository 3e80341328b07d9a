import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryKeyValueStore, MemorySecretStore } from '../storage/index.js';
import { FAKE_DEVICE_TOKEN, FAKE_PAIRING_CODE, FakeBus, callEvent } from '../../../test/support/fake-bus.js';
import { BusClient, BusRequestError, PairingError, loadPairing, pair, type BusEvent, type ConnectionState } from './index.js';

const silent = pino({ level: 'silent' });

let bus: FakeBus;
const clients: BusClient[] = [];
beforeEach(async () => {
  bus = await new FakeBus().listen();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
  await bus.close();
});

function client(store = new MemoryKeyValueStore(), extra: Partial<ConstructorParameters<typeof BusClient>[0]> = {}) {
  const c = new BusClient({ wsUrl: bus.wsUrl, token: FAKE_DEVICE_TOKEN, store, logger: silent, backoff: { baseMs: 5, capMs: 20 }, ...extra });
  clients.push(c);
  const seen: BusEvent[] = [];
  const states: ConnectionState[] = [];
  c.onEvent((e) => void seen.push(e));
  c.onState((s) => void states.push(s));
  return { c, seen, states, store };
}

const ring = (pbxCallId: string) => callEvent({ type: 'ringing', pbxCallId });

describe('pair', () => {
  it('keeps the device token in the secret store only and the identity in settings', async () => {
    const secrets = new MemorySecretStore();
    const store = new MemoryKeyValueStore();
    const agent = await pair(bus.url, ` ${FAKE_PAIRING_CODE} `, { secrets, store });
    expect(agent).toMatchObject({ extension: '201', name: 'Robin Reception', wsUrl: bus.wsUrl, busUrl: bus.url });
    expect(JSON.stringify(agent)).not.toContain(FAKE_DEVICE_TOKEN);
    expect(await loadPairing({ secrets, store })).toEqual({ agent, token: FAKE_DEVICE_TOKEN });
  });

  it('refuses a wrong code, a bad address and plain http to another host, storing nothing', async () => {
    const secrets = new MemorySecretStore();
    const store = new MemoryKeyValueStore();
    await expect(pair(bus.url, 'WRONG-CODE', { secrets, store })).rejects.toThrow(/not valid, already used or expired/);
    await expect(pair('not a url', FAKE_PAIRING_CODE, { secrets, store })).rejects.toBeInstanceOf(PairingError);
    await expect(pair('http://bus.example.com', FAKE_PAIRING_CODE, { secrets, store })).rejects.toThrow(/must use https/);
    await expect(pair(bus.url, '123', { secrets, store })).rejects.toThrow(/6 to 64/);
    expect(await loadPairing({ secrets, store })).toBeNull();
  });
});

describe('BusClient', () => {
  it('connects, receives live events and acks each only after its listener finished', async () => {
    const { c, states } = client();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const handled: number[] = [];
    c.onEvent(async (e) => {
      await gate;
      handled.push(e.offset);
    });
    c.start();
    await expect.poll(() => c.state).toBe('connected');
    bus.append(ring('c1'));
    await new Promise((r) => setTimeout(r, 30));
    expect(bus.acks()).toEqual([]);
    release();
    await bus.until(() => bus.acks().length === 1);
    expect(handled).toEqual([1]);
    expect(bus.acks()).toEqual([1]);
    expect(c.lastPosition).toEqual({ offset: 1, epoch: 'epoch-1' });
    expect(states).toEqual(['connected']);
    expect(bus.current?.hello).toMatchObject({ token: FAKE_DEVICE_TOKEN });
    expect(bus.current?.hello?.resume).toBeUndefined();
  });

  it('resumes after a restart from the persisted position and gets what it missed as replay', async () => {
    const store = new MemoryKeyValueStore();
    const first = client(store);
    first.c.start();
    await expect.poll(() => first.c.state).toBe('connected');
    bus.append(ring('c1'));
    await bus.until(() => bus.acks().includes(1));
    await first.c.stop();

    bus.append(ring('c2'));
    bus.append(callEvent({ type: 'missed', pbxCallId: 'c2' }));
    const second = client(store);
    second.c.start();
    await expect.poll(() => second.seen).toHaveLength(2);
    expect(bus.current?.hello?.resume).toEqual({ offset: 1, epoch: 'epoch-1' });
    expect(second.seen.map((e) => [e.offset, e.replay, e.event.type])).toEqual([
      [2, true, 'ringing'],
      [3, true, 'missed'],
    ]);
    await bus.until(() => bus.acks().includes(3));
  });

  it('drops duplicate and out-of-order events and ignores frames that do not parse', async () => {
    const { c, seen } = client();
    c.start();
    await expect.poll(() => c.state).toBe('connected');
    const events = [ring('a'), ring('b'), ring('c')];
    const frame = (offset: number) => JSON.stringify({ t: 'event', offset, epoch: 'epoch-1', replay: false, event: events[offset - 1] });
    for (const raw of [frame(1), frame(2), frame(2), frame(1), 'not json', '{"t":"event","offset":-4}', '{"t":"welcome"}', frame(3)]) bus.sendRaw(raw);
    await expect.poll(() => seen.length).toBeGreaterThanOrEqual(3);
    await bus.until(() => bus.acks().includes(3));
    expect(seen.map((e) => e.offset)).toEqual([1, 2, 3]);
    expect(bus.acks()).toEqual([1, 2, 3]);
    expect(c.state).toBe('connected');
  });

  it('reconnects after the bus drops the link and resumes without losing or repeating events', async () => {
    const { c, seen, states } = client();
    c.start();
    await expect.poll(() => c.state).toBe('connected');
    bus.append(ring('c1'));
    await bus.until(() => bus.acks().includes(1));
    bus.current!.socket.close(4000, 'shutdown');
    bus.append(ring('c2')); // appended while the link is down: only a resume can deliver it
    await expect.poll(() => seen).toHaveLength(2);
    expect(seen.map((e) => [e.offset, e.replay])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(bus.sessions).toHaveLength(2);
    expect(bus.sessions[1]!.hello?.resume).toEqual({ offset: 1, epoch: 'epoch-1' });
    expect(states).toEqual(['connected', 'reconnecting', 'connected']);
  });

  it('stops for good on a terminal close: revoked device is signed out', async () => {
    const { c, states } = client();
    c.start();
    await expect.poll(() => c.state).toBe('connected');
    bus.revoked = true;
    bus.current!.socket.close(4101, 'revoked');
    await expect.poll(() => c.state).toBe('signed_out');
    await new Promise((r) => setTimeout(r, 60)); // several backoff periods: no new attempt
    expect(bus.sessions).toHaveLength(1);
    expect(states).toEqual(['connected', 'signed_out']);
  });

  it('is signed out when the bus rejects its credential on hello', async () => {
    const { c } = client(new MemoryKeyValueStore(), { token: 'x'.repeat(32) });
    c.start();
    await expect.poll(() => c.state).toBe('signed_out');
    expect(bus.sessions).toHaveLength(1);
  });

  it('follows a resync: takes the new position and tells listeners', async () => {
    const store = new MemoryKeyValueStore();
    store.set('bus.position', { offset: 1, epoch: 'old-epoch' });
    bus.append(ring('c1'));
    bus.append(ring('c2'));
    const { c, seen } = client(store);
    const resyncs: string[] = [];
    c.onResync((r) => void resyncs.push(r.reason));
    c.start();
    await expect.poll(() => resyncs).toHaveLength(1);
    expect(resyncs).toEqual(['epoch']);
    expect(c.lastPosition).toEqual({ offset: 2, epoch: 'epoch-1' });
    bus.append(ring('c3'));
    await expect.poll(() => seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ offset: 3, replay: false });
  });

  it('reconnects when the heartbeat goes unanswered', async () => {
    bus.answerPings = false;
    const { c } = client(new MemoryKeyValueStore(), { heartbeatMs: 15 });
    c.start();
    await expect.poll(() => bus.sessions.length).toBeGreaterThanOrEqual(2);
    expect(bus.sessions[0]!.received.some((f) => f.t === 'ping')).toBe(true);
  });

  it('holds an event whose position cannot be saved unacknowledged, says why, and delivers it and the later ones once each when the disk frees up', async () => {
    const store = new MemoryKeyValueStore();
    let diskFull = false;
    const set = store.set.bind(store);
    store.set = (key, value) => {
      if (diskFull) throw new Error('ENOSPC: no space left on device, write');
      set(key, value);
    };
    const { c } = client(store);
    const stalls: Array<string | null> = [];
    c.onStalled((reason) => void stalls.push(reason));
    c.start();
    await expect.poll(() => c.state).toBe('connected');
    await expect.poll(() => c.lastPosition).toEqual({ offset: 0, epoch: 'epoch-1' });

    diskFull = true;
    bus.append(ring('c1'));
    await expect.poll(() => c.stalled).toMatch(/no space left on device/);
    bus.append(ring('c2'));
    bus.append(ring('c3'));
    await new Promise((r) => setTimeout(r, 50)); // several retries
    expect(bus.acks()).toEqual([]);
    expect(c.lastPosition).toEqual({ offset: 0, epoch: 'epoch-1' });
    expect(c.state).toBe('connected'); // dialling still works meanwhile
    await expect(c.dial('+14155552671')).resolves.toMatchObject({ ok: true });

    diskFull = false;
    await bus.until(() => bus.acks().includes(3));
    expect(bus.acks()).toEqual([1, 2, 3]);
    expect(c.lastPosition).toEqual({ offset: 3, epoch: 'epoch-1' });
    expect(c.stalled).toBeNull();
    expect(stalls).toEqual([expect.stringMatching(/no space left/), null]);
    bus.append(ring('c4'));
    await bus.until(() => bus.acks().includes(4));
  });

  it('connects for the first time on a full disk without crashing, says why, and saves its starting position once it can', async () => {
    const store = new MemoryKeyValueStore();
    let diskFull = true;
    const set = store.set.bind(store);
    store.set = (key, value) => {
      if (diskFull) throw new Error('ENOSPC: no space left on device, write');
      set(key, value);
    };
    bus.append(ring('before'));
    const { c, seen } = client(store);
    c.start();
    await expect.poll(() => c.stalled).toMatch(/no space left/);
    expect(c.state).toBe('connected');
    bus.append(ring('c2'));
    diskFull = false;
    await bus.until(() => bus.acks().includes(2));
    expect(seen.map((e) => e.offset)).toEqual([2]);
    expect(c.lastPosition).toEqual({ offset: 2, epoch: 'epoch-1' });
    expect(c.stalled).toBeNull();
  });

  it('holds an event a listener could not save, retries it, and never lets a later event overtake it', async () => {
    const { c } = client();
    let failures = 2;
    const saved: number[] = [];
    c.onEvent((e) => {
      if (e.offset === 1 && failures-- > 0) throw new Error('SQLITE_FULL: database or disk is full');
      saved.push(e.offset);
    });
    c.start();
    await expect.poll(() => c.state).toBe('connected');
    bus.append(ring('c1'));
    bus.append(ring('c2'));
    await bus.until(() => bus.acks().includes(2));
    expect(saved).toEqual([1, 2]);
    expect(bus.acks()).toEqual([1, 2]);
    expect(c.stalled).toBeNull();
  });

  it('gives up an unsaved event at stop and resumes from the last saved position on the next start', async () => {
    const store = new MemoryKeyValueStore();
    const first = client(store);
    let diskFull = true;
    first.c.onEvent(() => {
      if (diskFull) throw new Error('ENOSPC: no space left on device');
    });
    first.c.start();
    await expect.poll(() => first.c.state).toBe('connected');
    bus.append(ring('c1'));
    await expect.poll(() => first.c.stalled).not.toBeNull();
    await first.c.stop();
    expect(first.c.stalled).toBeNull();

    diskFull = false;
    const second = client(store);
    second.c.start();
    await bus.until(() => bus.acks().includes(1));
    expect(second.seen.map((e) => [e.offset, e.replay])).toEqual([[1, true]]);
  });

  it('dials through the bus and maps request errors', async () => {
    const { c } = client();
    await expect(c.dial('+14155552671')).rejects.toMatchObject({ code: 'not_connected' });
    c.start();
    await expect.poll(() => c.state).toBe('connected');
    await expect(c.dial('+14155552671')).resolves.toMatchObject({ t: 'dial_result', ok: true, e164: '+14155552671' });
    const err = await c.requestRecording('evt-unknown').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusRequestError);
    expect(err).toMatchObject({ code: 'not_found' });
    const ready = callEvent({ type: 'recording_ready', pbxCallId: 'c9', recording: { pbxRecordingId: 'r1', contentType: 'audio/wav' } });
    bus.append(ready);
    await expect(c.requestRecording(ready.id)).resolves.toMatchObject({ url: `${bus.url}/rec/${ready.id}` });
  });
});
