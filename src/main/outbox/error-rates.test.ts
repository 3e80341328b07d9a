// Ordinary CRM error rates (every Nth request refused) against the real adapters and simulators:
// every call is still logged with its recording, and a burst of lookups is paced under the
// vendor's documented limits (enforced by the simulator) instead of being refused.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hubspotProvider } from '../crm/hubspot/index.js';
import type { CrmAdapter } from '../crm/port.js';
import { zohoProvider } from '../crm/zoho/index.js';
import type { Outbox } from './outbox.js';
import { simSession, type CrmSimulator } from '../../sim/crm/common/index.js';
import { hubspotRateLimitFault, startHubSpotSim } from '../../sim/crm/hubspot/index.js';
import { startZohoSimulator } from '../../sim/crm/zoho/index.js';
import { RecordingHistory, callEvent, keyOf, outboxOnAdapter, recordingBytes, startFakeBus } from '../../../test/support/outbox-fixtures.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const call = (n: number) => ({ pbxCallId: `er${n}`, at: Date.parse('2026-03-02T09:00:00Z') + n * 60_000 });

/** An outbox on `adapter` that looks contacts up in the CRM, as crm-link does on an index miss. */
async function outboxOn(adapter: CrmAdapter) {
  const bus = await startFakeBus();
  const dir = mkdtempSync(join(tmpdir(), 'rb-outbox-er-'));
  const history = new RecordingHistory();
  const outbox = outboxOnAdapter(adapter, { dataDir: dir, bus, history });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => bus.close(), () => outbox.close());
  return { outbox, history };
}

/** Resolves when the outbox has no work left, or says how far it got after `ms`. */
async function idleWithin(outbox: Outbox, ms: number, progress: () => string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`outbox still busy after ${ms} ms: ${progress()}`)), ms);
  });
  try {
    await Promise.race([outbox.whenIdle(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const faultStatuses = (sim: CrmSimulator) => sim.requests.filter((r) => r.fault === 'status').map((r) => r.status);

describe('outbox under ordinary CRM error rates', () => {
  it('every 3rd Zoho request failing with 429/5xx: all 4 calls are logged', async () => {
    const sim = await startZohoSimulator();
    cleanups.push(() => sim.close());
    const jane = sim.addRecord('Contacts', { Full_Name: 'Jane Citizen', Phone: '+61 2 9876 5432' });
    const adapter = zohoProvider.create(simSession(sim, { api_domain: sim.url }), { origin: sim.url });
    const { outbox, history } = await outboxOn(adapter);
    sim.faults.every(3, [{ status: 429 }, { status: 500 }, { status: 503 }]);

    for (let n = 1; n <= 4; n++) outbox.enqueue(callEvent(call(n), 'ended'));
    await idleWithin(outbox, 20_000, () => `${sim.records.Calls.length} of 4 calls in Zoho`);

    const keys = [1, 2, 3, 4].map((n) => keyOf(`er${n}`));
    for (const k of keys) expect(history.last(k)).toEqual({ state: 'logged', reason: null });
    expect(sim.records.Calls).toHaveLength(4);
    for (const record of sim.records.Calls) expect(record.Who_Id).toMatchObject({ id: jane.id });
    expect(faultStatuses(sim)).toEqual(expect.arrayContaining([429, 500, 503]));
    sim.assertNoSpecViolations();
  });

  it('every 3rd HubSpot request 429: the recording is attached', async () => {
    const sim = await startHubSpotSim();
    cleanups.push(() => sim.close());
    const janeId = sim.addContact({ firstname: 'Jane', lastname: 'Citizen', phone: '+61 2 9876 5432' });
    const adapter = hubspotProvider.create(simSession(sim, { hubId: '62515' }), { origin: sim.url });
    const { outbox, history } = await outboxOn(adapter);
    sim.faults.every(3, [hubspotRateLimitFault(1)]);

    outbox.enqueue(callEvent(call(1), 'ended'));
    outbox.enqueue(callEvent(call(1), 'recording_ready'));
    await idleWithin(outbox, 25_000, () => `${sim.calls.size} calls, ${sim.files.size} files in HubSpot`);

    expect(history.last(keyOf('er1'))).toEqual({ state: 'recording_attached', reason: null });
    const [stored] = [...sim.calls.values()];
    const [file] = [...sim.files.values()];
    expect(sim.calls.size).toBe(1);
    expect(stored!.associations).toEqual([{ toId: janeId, typeId: 194 }]);
    expect(stored!.properties.hs_attachment_ids).toBe(file!.id);
    expect(file!.data).toEqual(recordingBytes('evt-er1-recording_ready'));
    expect(faultStatuses(sim).length).toBeGreaterThan(0);
    sim.assertNoSpecViolations();
  });
});

describe('client-side request budget', () => {
  it("a burst of 50 lookups against HubSpot's 10-second limit is paced, none refused", async () => {
    const sim = await startHubSpotSim();
    cleanups.push(() => sim.close());
    const numbers = Array.from({ length: 50 }, (_, i) => `+6129876${String(5400 + i)}`);
    for (const [i, e164] of numbers.entries()) sim.addContact({ firstname: 'Caller', lastname: String(i), phone: e164 });
    // The simulator holds HubSpot to its documented limits: an unpaced burst on another token is refused.
    const { accessToken } = sim.oauth.issueTokens();
    const raw = await Promise.all(
      numbers.slice(0, 8).map(() =>
        fetch(`${sim.url}/crm/v3/objects/contacts/search`, {
          method: 'POST',
          headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ filterGroups: [], properties: [], sorts: [], limit: 1, after: '0' }),
        }).then((r) => r.status),
      ),
    );
    expect(raw).toContain(429);

    const before = sim.requests.length;
    const adapter = hubspotProvider.create(simSession(sim, { hubId: '62515' }), { origin: sim.url });
    const found = await Promise.all(numbers.map((e164) => adapter.findContactsByPhone(e164)));
    expect(found.map((contacts) => contacts.map((c) => c.name))).toEqual(numbers.map((_, i) => [`Caller ${i}`]));
    const sent = sim.requests.slice(before);
    expect(sent).toHaveLength(50);
    expect(sent.filter((r) => r.status !== 200)).toEqual([]);
    sim.assertNoSpecViolations();
  });
});
