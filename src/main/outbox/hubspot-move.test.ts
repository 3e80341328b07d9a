// A HubSpot re-pick moves only the links the outbox wrote, also when the move was cut short: the
// links are noted only once a write lands, so the retry unlinks the same contact again.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CallChoice } from '../call-choices/choices.js';
import { startHubSpotSim } from '../../sim/crm/hubspot/index.js';
import { callEvent, hubspotOutboxes, keyOf, outboxPlace } from '../../../test/support/outbox-fixtures.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('HubSpot re-pick through the outbox', () => {
  it('a move cut short (its unlink failed, the agent restarted) is redone from the links last written: the old contact unlinked, the one a colleague added by hand kept', async () => {
    const sim = await startHubSpotSim({ rateLimits: false });
    const jane = sim.addContact({ firstname: 'Jane', lastname: 'Citizen', phone: '+61 2 9876 5432' });
    const bea = sim.addContact({ firstname: 'Bea', lastname: 'Other', phone: '+61 2 9876 0001' });
    const kim = sim.addContact({ firstname: 'Kim', lastname: 'Colleague', phone: '+61 2 9876 0002' });
    cleanups.push(() => sim.close());
    const { bus, dir } = await outboxPlace('rb-move-', cleanups);
    let choice: CallChoice | null = null;
    const open = hubspotOutboxes(sim, { dataDir: dir, bus, contactId: jane, choice: () => choice, cleanups });
    const script = { pbxCallId: 'move1', remote: '+61298765432' };
    const first = open();
    for (const type of ['answered', 'ended'] as const) {
      first.enqueue(callEvent(script, type));
      await first.whenIdle();
    }
    const [record] = [...sim.calls.values()].filter((c) => c.properties.ringbridge_call_key === keyOf('move1'));
    sim.calls.get(record!.id)!.associations.push({ toId: kim, typeId: 194, toType: 'contacts' }); // by hand in HubSpot

    choice = { contact: { id: bea, kind: 'contact', name: 'Bea Other' }, deal: null };
    sim.faults.outage({ match: { method: 'DELETE', path: /\/associations\/contacts\// }, status: 503 });
    first.relog(keyOf('move1'));
    await vi.waitFor(() => expect(sim.requestsTo('DELETE', /\/associations\/contacts\//).length).toBeGreaterThan(0));
    expect(sim.callLinks(record!.id, 'contacts').sort()).toEqual([jane, kim].sort());
    await first.close(); // the agent stops before the retry
    sim.faults.restore();

    const again = open();
    again.relog(keyOf('move1'));
    await again.whenIdle();
    expect(sim.callLinks(record!.id, 'contacts').sort()).toEqual([bea, kim].sort());
    expect([...sim.calls.values()].filter((c) => c.properties.ringbridge_call_key === keyOf('move1'))).toHaveLength(1);
    sim.assertNoSpecViolations();
  });
});
