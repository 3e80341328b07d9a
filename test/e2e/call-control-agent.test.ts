// The agent side of call control and presence, end to end: 3CX simulator -> bus -> a real AgentCore.
// The pop respects the agent's 3CX Do Not Disturb (set from the app through the bus and the XAPI),
// carries Answer / Hang up, and its call key drives Call Control on the PBX; the PBX's own record
// is the oracle.
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentCore, type AgentCore } from '../../src/main/core.js';
import type { PopNotification } from '../../src/main/screenpop/index.js';
import { MemorySecretStore } from '../../src/main/storage/index.js';
import type { RunningBus } from '../../src/bus/server.js';
import type { PbxSimulator } from '../../src/sim/3cx/index.js';
import { callerNumber, connectorReady, provisionSite, Resources, startSim, startTestBus, waitFor, type Site } from '../support/e2e.js';

const res = new Resources();
let bus: RunningBus;
let sim: PbxSimulator;
let site: Site;
let core: AgentCore;
const pops: Array<['show', PopNotification] | ['withdraw', string]> = [];
afterAll(() => res.cleanup());

beforeAll(async () => {
  bus = await startTestBus(res);
  sim = await startSim(res);
  site = await provisionSite(bus, sim, { extensions: ['102'] });
  await connectorReady(bus, site.pbx.id);
  const { pairingCode } = await bus.tenants.addAgent({ tenantId: site.tenantId, pbxId: site.pbx.id, extension: '101', name: 'Alice' });
  core = res.add(
    await createAgentCore({
      dataDir: res.tempDir('rb-cc-agent-'),
      secretStore: new MemorySecretStore(),
      notifier: { show: (p) => pops.push(['show', p]), withdraw: (id) => pops.push(['withdraw', id]) },
      confirm: { confirmDial: async () => true },
      feedback: { dialFeedback: () => {} },
      logger: pino({ level: 'silent' }),
      defaultCountry: 'AU',
      bus: { backoff: { baseMs: 5, capMs: 20 } },
    }),
    (c) => c.close(),
  );
  core.start();
  await core.pair(bus.url, pairingCode);
  await waitFor(() => core.presence, 'the 3CX status');
});

const shownFor = (n: number) => pops.find((p): p is ['show', PopNotification] => p[0] === 'show' && p[1].e164 === callerNumber(n).e164)?.[1];

describe('agent: pop, presence and call control', () => {
  it("shows the agent's 3CX status, sets 3CX Do Not Disturb from the app, and pops nothing while it is on", async () => {
    expect(core.presence).toMatchObject({ profile: 'Available', dnd: false });
    await core.setDoNotDisturb(true);
    expect(sim.profileOf('101')).toBe('Out of office');
    expect(core.presence).toMatchObject({ dnd: true });
    expect(core.settings.get().doNotDisturb).toBe(false); // 3CX's DND, not a local switch

    const placed = sim.placeCall({ kind: 'live', to: '101', from: callerNumber(10).raw, ringSec: 1 });
    await placed; // rang out unanswered: 3CX would have sent it to voicemail
    await waitFor(() => core.history.list().some((r) => r.remote.e164 === callerNumber(10).e164 && r.outcome === 'missed'), 'the missed call in history');
    expect(shownFor(10)).toBeUndefined();

    await core.setDoNotDisturb(false);
    expect(sim.profileOf('101')).toBe('Available');
  });

  it('pops a ringing call with Answer / Hang up; answering and transferring from the pop drive the PBX and the pop goes', async () => {
    const placed = sim.placeCall({ kind: 'live', to: '101', from: callerNumber(11).raw });
    const pop = await waitFor(() => shownFor(11), 'the pop');
    expect(pop.actions).toEqual(['answer', 'hangup']);

    await core.controlCall(pop.popId, 'answer', null);
    expect(sim.participants('101')).toEqual([expect.objectContaining({ status: 'Connected' })]);
    await waitFor(() => pops.some((p) => p[0] === 'withdraw' && p[1] === pop.popId), 'the pop withdrawn on answer');

    await expect(core.controlCall(pop.popId, 'transfer', '  ')).rejects.toThrow(/where to transfer/);
    await core.controlCall(pop.popId, 'transfer', '102');
    await waitFor(() => sim.participants('102').length > 0, 'the transfer ringing at 102');
    expect(sim.participants('101')).toEqual([]);
    await sim.hangup(sim.participants('102')[0]!.callid); // the caller hangs up while 102 rings
    const record = await placed;
    expect(record.legs.map((l) => [l.dn, l.outcome, l.transferredTo ?? null])).toEqual([
      ['101', 'answered', '102'],
      ['102', 'missed', null],
    ]);

    // The call is over for this agent: nothing more can be done to it from here.
    await waitFor(async () => {
      try {
        await core.controlCall(pop.popId, 'hangup', null);
        return false;
      } catch (err) {
        return /not in progress/.test((err as Error).message);
      }
    }, 'the call to leave the agent');
  });

  it("names a queue call's queue in the pop, by the name the PBX gives it", async () => {
    await sim.placeCall({ kind: 'queue', queue: '800', agents: ['101'], answeredBy: '101', from: callerNumber(12).raw, talkSec: 1 });
    const pop = await waitFor(() => shownFor(12), 'the queue call pop');
    expect(pop.body).toContain('queue Sales');
  });

  it("refuses a call key that is not one of the agent's calls in progress, without asking the bus", async () => {
    await expect(core.controlCall('t:p:999:101', 'hangup', null)).rejects.toThrow('This call is not in progress on your extension.');
    await sleep(0);
    const audit = await bus.storage.audit.list(site.tenantId, { action: 'call_control' });
    expect(audit.every((e) => !e.target.includes('999'))).toBe(true);
  });
});
