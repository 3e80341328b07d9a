// The outbox with the real HubSpot adapter against the HubSpot simulator: an outage, a 429 with
// Retry-After, and an agent process killed in the middle of a CRM write.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { hubspotProvider } from '../crm/hubspot/index.js';
import type { CrmSession } from '../crm/port.js';
import { simSession } from '../../sim/crm/common/index.js';
import { hubspotRateLimitFault, startHubSpotSim, type HubSpotSim } from '../../sim/crm/hubspot/index.js';
import { RecordingHistory, callEvent, keyOf, outboxOnAdapter, outboxPlace, recordingBytes, type FakeBus } from '../../../test/support/outbox-fixtures.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup() {
  const sim = await startHubSpotSim();
  cleanups.push(() => sim.close());
  const { bus, dir } = await outboxPlace('rb-outbox-hs-', cleanups);
  const janeId = sim.addContact({ firstname: 'Jane', lastname: 'Citizen', phone: '+61 2 9876 5432' });
  const session = simSession(sim, { hubId: '62515' });
  return { sim, bus, dir, janeId, session };
}

function openOutbox(dir: string, sim: HubSpotSim, bus: FakeBus, session: CrmSession, history = new RecordingHistory()) {
  const adapter = hubspotProvider.create(session, { origin: sim.url });
  const outbox = outboxOnAdapter(adapter, { dataDir: dir, bus, history, backoff: { baseMs: 10, capMs: 50 } });
  cleanups.push(() => outbox.close());
  return outbox;
}

const call = (n: number) => ({ pbxCallId: `hs${n}`, at: Date.parse('2026-03-02T09:00:00Z') + n * 60_000 });
const callKeysInCrm = (sim: HubSpotSim) => [...sim.calls.values()].map((c) => c.properties.ringbridge_call_key);

describe('outbox + HubSpot adapter + simulator', () => {
  it('lands every call once with its recording after the CRM was down for a stretch', async () => {
    const { sim, bus, dir, janeId, session } = await setup();
    sim.faults.outage({ status: 503 });
    const outbox = openOutbox(dir, sim, bus, session);
    for (let n = 1; n <= 5; n++) {
      outbox.enqueue(callEvent(call(n), 'ended'));
      outbox.enqueue(callEvent(call(n), 'recording_ready'));
    }
    await expect.poll(() => sim.requests.filter((r) => r.fault === 'status').length).toBeGreaterThanOrEqual(5);
    expect(sim.calls.size).toBe(0);
    sim.faults.restore();
    await outbox.whenIdle();

    expect(callKeysInCrm(sim).sort()).toEqual([1, 2, 3, 4, 5].map((n) => keyOf(`hs${n}`)));
    for (const stored of sim.calls.values()) {
      expect(stored.associations).toEqual([{ toId: janeId, typeId: 194 }]);
      expect(stored.properties.hs_attachment_ids!.split(';')).toHaveLength(1);
    }
    expect(sim.files.size).toBe(5);
    sim.assertNoSpecViolations();
  });

  it('waits out a 429 for its Retry-After before the next write', async () => {
    const { sim, bus, dir, session } = await setup();
    sim.faults.next({ ...hubspotRateLimitFault(1), match: { method: 'POST', path: '/crm/v3/objects/calls' } });
    const outbox = openOutbox(dir, sim, bus, session);
    const started = Date.now();
    outbox.enqueue(callEvent(call(1), 'ended'));
    await outbox.whenIdle();
    const creates = sim.requestsTo('POST', '/crm/v3/objects/calls');
    expect(creates.map((r) => r.status)).toEqual([429, 201]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(callKeysInCrm(sim)).toEqual([keyOf('hs1')]);
  });

  it('a failed attach resumes after the upload: the file is neither searched for nor uploaded again', async () => {
    const { sim, bus, dir, session } = await setup();
    const outbox = openOutbox(dir, sim, bus, session);
    outbox.enqueue(callEvent(call(1), 'ended'));
    await outbox.whenIdle();
    // The PATCH that attaches the uploaded file fails through all its quick retries.
    for (let i = 0; i < 4; i++) sim.faults.next({ status: 503, match: { method: 'PATCH', path: /^\/crm\/v3\/objects\/calls\/[^/]+$/ } });
    outbox.enqueue(callEvent(call(1), 'recording_ready'));
    await outbox.whenIdle();
    expect(sim.requestsTo('PATCH', /^\/crm\/v3\/objects\/calls\/[^/]+$/).map((r) => r.status)).toEqual([503, 503, 503, 503, 200]);
    expect(sim.requestsTo('GET', '/files/v3/files/search')).toHaveLength(0); // a first upload has nothing to find
    expect(sim.requestsTo('POST', '/files/v3/files')).toHaveLength(1);
    const [stored] = [...sim.calls.values()];
    expect(stored!.properties.hs_attachment_ids).toBe([...sim.files.values()][0]!.id);
  });

  it('a call logged and its recording attached on first try costs 4 HubSpot requests, 3 against its 10 s window (the attachment read is a search); a retry after a lost create answer still ends with one call', async () => {
    const { sim, bus, dir, session } = await setup();
    const outbox = openOutbox(dir, sim, bus, session);
    // Every request but the screen-pop's contact lookup (the portal's limit is shared by all agents).
    const logging = () => sim.requests.filter((r) => !r.path.startsWith('/oauth/') && r.path !== '/crm/v3/objects/contacts/search');
    outbox.enqueue(callEvent(call(1), 'ended'));
    outbox.enqueue(callEvent(call(1), 'recording_ready'));
    await outbox.whenIdle();
    const [first] = [...sim.calls.keys()];
    expect(logging().map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /crm/v3/objects/calls',
      'POST /crm/v3/objects/calls/search',
      'POST /files/v3/files',
      `PATCH /crm/v3/objects/calls/${first}`,
    ]);

    // The create lands but its answer is lost, and search lags behind it: the resent create meets the
    // unique call key (409), and the outbox's retries search until the first call shows.
    sim.searchLagMs = 500;
    sim.faults.next({ match: { method: 'POST', path: '/crm/v3/objects/calls' }, timeoutAfterApply: true, mode: 'close' });
    outbox.enqueue(callEvent(call(2), 'ended'));
    await outbox.whenIdle();
    expect(callKeysInCrm(sim)).toEqual([keyOf('hs1'), keyOf('hs2')]);
    expect(sim.requestsTo('POST', '/crm/v3/objects/calls').map((r) => r.status).slice(1, 3)).toEqual([null, 409]);
    expect(sim.requestsTo('POST', '/crm/v3/objects/calls/search').length).toBeGreaterThan(0); // only retries search
    sim.assertNoSpecViolations();
  });

  for (const stage of [
    { name: 'creating the call', method: 'POST', path: '/crm/v3/objects/calls', applied: (sim: HubSpotSim) => sim.calls.size === 1 },
    { name: 'uploading the recording', method: 'POST', path: '/files/v3/files', applied: (sim: HubSpotSim) => sim.files.size === 1 },
  ]) {
    it(`resumes after the agent process is killed while ${stage.name}, without a duplicate`, async () => {
      const { sim, bus, dir, session } = await setup();
      // The CRM applies the write, and the process dies before hearing back.
      sim.faults.next({ timeoutAfterApply: true, match: { method: stage.method, path: stage.path } });
      const events = [callEvent(call(1), 'ended'), callEvent(call(1), 'recording_ready')];
      const child = fork(fileURLToPath(new URL('../../../test/support/outbox-child.ts', import.meta.url)), {
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, OUTBOX_DIR: dir, SIM_URL: sim.url, ACCESS_TOKEN: await session.accessToken(), BUS_URL: bus.url, EVENTS: JSON.stringify(events) },
        stdio: 'pipe',
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      cleanups.push(() => child.kill('SIGKILL'));
      await expect.poll(() => stage.applied(sim), { timeout: 20_000 }).toBe(true);
      child.kill('SIGKILL');
      await exited;

      const history = new RecordingHistory();
      const outbox = openOutbox(dir, sim, bus, session, history);
      await outbox.whenIdle();
      expect(sim.calls.size).toBe(1);
      expect(sim.files.size).toBe(1);
      const [stored] = [...sim.calls.values()];
      const [file] = [...sim.files.values()];
      expect(stored!.properties.hs_attachment_ids).toBe(file!.id);
      expect(file!.data).toEqual(recordingBytes('evt-hs1-recording_ready'));
      expect(history.last(keyOf('hs1'))!.state).toBe('recording_attached');
    });
  }
});
