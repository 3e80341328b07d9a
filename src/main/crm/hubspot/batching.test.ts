// Call writes that wait for the request budget share one request (batcher.ts): the wire, read in
// the simulator's log, and each call's properties, read from the simulator's own state.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { simSession, type SimSession } from '../../../sim/crm/common/index.js';
import { HUBSPOT_SIM_PORTAL_ID, startHubSpotSim, type HubSpotSim } from '../../../sim/crm/hubspot/index.js';
import { closeCheckedSim, crmRejection as rejection } from '../../../../test/support/crm-adapter.js';
import { gatedBudget, type GatedBudget } from '../../../../test/support/gated-budget.js';
import { RecordingHistory, callEvent, keyOf, outboxOnAdapter, startFakeBus } from '../../../../test/support/outbox-fixtures.js';
import type { CallLogInput, CrmAdapter, StepMemo } from '../port.js';
import { SlotBatcher } from './batcher.js';
import { HubSpotAdapter, hubspotProvider } from './index.js';

let sim: HubSpotSim;
let session: SimSession;
/** An adapter with HubSpot's own budget (room to spare here), for setting up. */
let roomy: CrmAdapter;
let gate: GatedBudget;
/** An adapter on the gated budget. */
let crm: HubSpotAdapter;
/** Ops handed to the batchers so far (their callers may await something else first). */
let batched: MockInstance;
/** Resolves once `n` ops in all reached the batchers: whatever waits for the budget has joined its batch. */
const queued = (n: number) => vi.waitFor(() => expect(batched).toHaveBeenCalledTimes(n));

beforeEach(async () => {
  sim = await startHubSpotSim({ rateLimits: false });
  session = simSession(sim, { portalId: HUBSPOT_SIM_PORTAL_ID });
  roomy = hubspotProvider.create(session, { origin: sim.url });
  gate = gatedBudget(/\/search$/); // as HubSpot's own: searches are outside the 10 s window
  batched = vi.spyOn(SlotBatcher.prototype, 'run');
  // One attempt per request: a refused batch is seen as it is, not retried behind the gate.
  crm = new HubSpotAdapter(session, { apiOrigin: sim.url, appOrigin: sim.url, http: { budget: gate.budget, retry: { attempts: 1, maxRetryAfterMs: 0, backoff: { baseMs: 1, capMs: 1 } } } });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await closeCheckedSim(sim);
});

const input = (i: number, over: Partial<CallLogInput> = {}): CallLogInput => ({
  callKey: `acme:pbx1:call-${i}:101`,
  direction: 'inbound',
  from: `+141555501${String(i).padStart(2, '0')}`,
  to: '+14155550999',
  startedAt: '2026-03-01T10:00:00.000Z',
  answeredAt: '2026-03-01T10:00:05.000Z',
  durationSec: 60 + i,
  outcome: 'answered',
  subject: `Call ${i}`,
  notes: `notes of call ${i}`,
  contact: null,
  ownerId: null,
  ...over,
});

/** Live records (IN_PROGRESS), as the answer writes them. */
async function liveCalls(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await roomy.logCall(input(i, { status: 'in_progress', durationSec: 0 }))).id);
  return ids;
}

/** A recording already uploaded (its id in the step memo, as after a retried attach), so attaching reads and PATCHes only. */
function uploaded(i: number): StepMemo {
  const id = String(900_000 + i);
  sim.files.set(id, { id, name: `rec-${i}`, extension: 'wav', path: '/ringbridge/recordings', data: Buffer.from(`audio ${i}`), contentType: 'audio/wav' });
  return memoOf([['fileId', id]]);
}

function memoOf(entries: Array<[string, string]> = []): StepMemo {
  const memo = new Map(entries);
  return { get: (k) => memo.get(k), set: (k, v) => void memo.set(k, v) };
}

const RECORDING = { fileName: 'rec.wav', contentType: 'audio/wav', data: new Uint8Array([1, 2, 3]) };
const wireSince = (before: number) => sim.requests.slice(before).map((r) => `${r.method} ${r.path}`);

describe('HubSpot call writes waiting for the budget share one request', () => {
  it('with no room, the attachment reads by id of 5 calls go out as one batch/read, their completions and attachment PATCHes as one batch/update, and each call ends with exactly its own properties', async () => {
    const ids = await liveCalls(5);
    const memos = ids.map((_, i) => uploaded(i));
    sim.searchLagMs = 60_000; // search does not show the new calls yet: their attachments are read by id
    await gate.shut();
    const before = sim.requests.length;
    const attaches = ids.map((id, i) => crm.attachRecording({ id, url: null }, RECORDING, input(i).callKey, memos[i]));
    await queued(5); // the reads by id, after their searches (which pass the gate)
    const completions = ids.map((id, i) => crm.updateCall(id, input(i)));
    gate.room(); // the reads, which asked first, go out together
    // Their PATCHes join the completions still waiting: 5 reads, 5 completions, 5 attachment PATCHes.
    await queued(15);
    gate.room();
    await Promise.all([...attaches, ...completions]);

    expect(wireSince(before)).toEqual([
      ...ids.map(() => 'POST /crm/v3/objects/calls/search'),
      'POST /crm/v3/objects/calls/batch/read',
      'POST /crm/v3/objects/calls/batch/update',
    ]);
    const update = sim.requests.at(-1)!.body as { inputs: Array<{ id: string; properties: Record<string, string> }> };
    // One input per call (HubSpot refuses an id twice): its completion and its attachment merged.
    expect(update.inputs.map((i) => i.id)).toEqual(ids);
    ids.forEach((id, i) => {
      expect(sim.calls.get(id)!.properties).toMatchObject({
        ringbridge_call_key: input(i).callKey,
        hs_call_status: 'COMPLETED',
        hs_call_duration: String((60 + i) * 1000),
        hs_call_body: `notes of call ${i}`,
        hs_attachment_ids: memos[i]!.get('fileId'),
      });
    });
  });

  it('with room, each op is the single request of before: one PATCH per update, the attachment read a search', async () => {
    const [first, second] = await liveCalls(2);
    const before = sim.requests.length;
    await roomy.updateCall(first!, input(0));
    await roomy.updateCall(second!, input(1));
    await roomy.attachRecording({ id: first!, url: null }, RECORDING, input(0).callKey, memoOf()); // a first attempt: no search for an earlier upload
    const wire = wireSince(before);
    // The read goes beside the upload (both in flight at once): their order on the wire is either.
    expect([...wire.slice(0, 2), ...wire.slice(2, 4).sort(), wire[4]]).toEqual([
      `PATCH /crm/v3/objects/calls/${first}`,
      `PATCH /crm/v3/objects/calls/${second}`,
      'POST /crm/v3/objects/calls/search',
      'POST /files/v3/files',
      `PATCH /crm/v3/objects/calls/${first}`,
    ]);
    const [patch, , , , attach] = sim.requests.slice(before);
    const read = sim.requests.slice(before).find((r) => r.path.endsWith('/search'))!;
    expect(patch!.body).toEqual({ properties: expect.objectContaining({ hs_call_status: 'COMPLETED', hs_call_body: 'notes of call 0' }) });
    expect(read.body).toMatchObject({ filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'EQ', value: first }] }], properties: ['hs_attachment_ids'] });
    expect(attach!.body).toEqual({ properties: { hs_attachment_ids: [...sim.files.keys()][0] } });
  });

  it('ops on the same call waiting together merge into one input, the later value winning', async () => {
    const [a, b] = await liveCalls(2);
    await gate.shut();
    const before = sim.requests.length;
    const writes = [crm.updateCall(a!, input(0, { notes: 'first draft' })), crm.updateCall(b!, input(1)), crm.updateCall(a!, input(0, { notes: 'saved notes' }))];
    await queued(3);
    gate.room();
    await Promise.all(writes);
    expect(wireSince(before)).toEqual(['POST /crm/v3/objects/calls/batch/update']);
    expect((sim.requests.at(-1)!.body as { inputs: Array<{ id: string }> }).inputs.map((i) => i.id)).toEqual([a, b]);
    expect(sim.calls.get(a!)!.properties.hs_call_body).toBe('saved notes');
    expect(sim.calls.get(b!)!.properties.hs_call_body).toBe('notes of call 1');

    // Only one call left after merging: the ordinary PATCH.
    const again = sim.requests.length;
    const sameCall = [crm.updateCall(a!, input(0, { notes: 'one' })), crm.updateCall(a!, input(0, { notes: 'two' }))];
    await queued(5);
    gate.room();
    await Promise.all(sameCall);
    expect(wireSince(again)).toEqual([`PATCH /crm/v3/objects/calls/${a}`]);
    expect(sim.calls.get(a!)!.properties.hs_call_body).toBe('two');
  });

  it('a 207 naming one call rejects only that op, with the error its own PATCH would have had; the others land', async () => {
    const [a, b] = await liveCalls(2);
    const alone = await rejection(roomy.updateCall('424242', input(9)));
    await gate.shut();
    const writes = [crm.updateCall(a!, input(0)), rejection(crm.updateCall('424242', input(9))), crm.updateCall(b!, input(1))];
    await queued(4); // the lone update above, with room, and these three
    gate.room();
    const [, inBatch] = await Promise.all(writes);
    expect(sim.requests.at(-1)).toMatchObject({ path: '/crm/v3/objects/calls/batch/update', status: 207 });
    expect({ kind: (inBatch as typeof alone).kind, status: (inBatch as typeof alone).status }).toEqual({ kind: alone.kind, status: alone.status });
    expect(alone).toMatchObject({ kind: 'rejected', status: 404 });
    expect([a, b].map((id) => sim.calls.get(id!)!.properties.hs_call_status)).toEqual(['COMPLETED', 'COMPLETED']);
  });

  it('a batch HubSpot refuses whole (a bad value in one input) is sent again one call at a time, so only that call fails', async () => {
    const [a, b] = await liveCalls(2);
    await gate.shut();
    const before = sim.requests.length;
    const writes = [crm.updateCall(a!, input(0)), rejection(crm.updateCall(b!, input(1, { disposition: { id: 'not-a-disposition', label: 'x' } })))];
    await queued(2);
    const stop = gate.ticking(5);
    const [, refused] = await Promise.all(writes).finally(stop);
    expect(sim.requests.slice(before).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /crm/v3/objects/calls/batch/update 400',
      `PATCH /crm/v3/objects/calls/${a} 200`,
      `PATCH /crm/v3/objects/calls/${b} 400`,
    ]);
    expect(refused).toMatchObject({ kind: 'rejected', status: 400 });
    expect(sim.calls.get(a!)!.properties.hs_call_status).toBe('COMPLETED');
    expect(sim.calls.get(b!)!.properties.hs_call_status).toBe('IN_PROGRESS');
  });

  it('a 5xx on the batch rejects every op as transient', async () => {
    const ids = await liveCalls(3);
    sim.faults.next({ match: { path: '/crm/v3/objects/calls/batch/update' }, status: 503 });
    await gate.shut();
    const writes = ids.map((id, i) => rejection(crm.updateCall(id, input(i))));
    await queued(3);
    gate.room();
    for (const error of await Promise.all(writes)) expect(error).toMatchObject({ kind: 'transient', status: 503 });
    expect(ids.map((id) => sim.calls.get(id)!.properties.hs_call_status)).toEqual(['IN_PROGRESS', 'IN_PROGRESS', 'IN_PROGRESS']);
  });
});

describe('HubSpot batches through the outbox', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  it('a failed batch/update fails its calls\' steps, and the outbox then completes each call exactly once with its own recording', async () => {
    const calls = 6;
    const remote = (i: number) => `+6129876${String(5100 + i)}`;
    for (let i = 0; i < calls; i++) sim.addContact({ firstname: `Caller${i}`, phone: remote(i) });
    const bus = await startFakeBus();
    const dir = mkdtempSync(join(tmpdir(), 'rb-batching-'));
    const adapter = new HubSpotAdapter(session, { apiOrigin: sim.url, appOrigin: sim.url, http: { budget: gate.budget } });
    const stop = gate.ticking(20); // always the bottleneck: requests wait, so writes meet in batches
    const outbox = outboxOnAdapter(adapter, { dataDir: dir, bus, history: new RecordingHistory(), backoff: { baseMs: 10, capMs: 50 } });
    cleanups.push(() => bus.close(), () => rmSync(dir, { recursive: true, force: true }), stop, () => outbox.close());
    // Every attempt of the first batch/update fails (crmFetch resends an idempotent write on 5xx).
    for (let n = 0; n < 4; n++) sim.faults.next({ match: { path: '/crm/v3/objects/calls/batch/update' }, status: 500 });
    for (const type of ['answered', 'ended', 'recording_ready'] as const) {
      for (let i = 0; i < calls; i++) outbox.enqueue(callEvent({ pbxCallId: `batched${i}`, remote: remote(i) }, type));
      await outbox.whenIdle();
    }
    expect(sim.faults.pending).toBe(0); // the batch did fail
    for (let i = 0; i < calls; i++) {
      expect(outbox.call(keyOf(`batched${i}`))?.state).toBe('recording_attached');
      const records = [...sim.calls.values()].filter((c) => c.properties.ringbridge_call_key === keyOf(`batched${i}`));
      expect(records).toHaveLength(1);
      expect(records[0]!.properties.hs_call_status).toBe('COMPLETED');
      const [fileId] = records[0]!.properties.hs_attachment_ids!.split(';');
      expect(records[0]!.properties.hs_attachment_ids).toBe(fileId);
      expect(sim.files.get(fileId!)!.name).toContain(`batched${i}`);
    }
  });
});
