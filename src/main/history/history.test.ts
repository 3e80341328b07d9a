import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { callEvent } from '../../../test/support/fake-bus.js';
import { CallHistory, callKeyOf, memoryHistoryRows, sqliteHistoryRows } from './index.js';

const at = (iso: string) => ({ pbxTime: iso, receivedAt: iso });

describe('CallHistory', () => {
  it('builds an answered inbound call with times, duration and contact name', () => {
    const history = new CallHistory({ rows: memoryHistoryRows(), contactNameOf: (e) => (e === '+61298765432' ? 'Jane Citizen' : null) });
    history.record(callEvent({ type: 'ringing', pbxCallId: 'c1', ...at('2025-01-01T10:00:00Z') }), '201');
    history.record(callEvent({ type: 'answered', pbxCallId: 'c1', ...at('2025-01-01T10:00:05Z') }), '201');
    history.record(callEvent({ type: 'ended', pbxCallId: 'c1', durationSec: 65, ...at('2025-01-01T10:01:10Z') }), '201');
    history.record(callEvent({ type: 'recording_ready', pbxCallId: 'c1', ...at('2025-01-01T10:01:20Z') }), '201');
    expect(history.list()).toEqual([
      expect.objectContaining({
        callKey: 'tenant-1:pbx-1:c1:201',
        direction: 'inbound',
        remote: { raw: '0298765432', e164: '+61298765432', name: null },
        contactName: 'Jane Citizen',
        startedAt: '2025-01-01T10:00:00Z',
        answeredAt: '2025-01-01T10:00:05Z',
        endedAt: '2025-01-01T10:01:10Z',
        durationSec: 65,
        outcome: 'answered',
        hasRecording: true,
        crm: expect.objectContaining({ state: 'pending', reason: null }),
      }),
    ]);
  });

  it('records missed calls (including unanswered ends) and calls a colleague answered', () => {
    const history = new CallHistory({ rows: memoryHistoryRows() });
    history.record(callEvent({ type: 'ringing', pbxCallId: 'm1' }), '201');
    history.record(callEvent({ type: 'missed', pbxCallId: 'm1' }), '201');
    history.record(callEvent({ type: 'ringing', pbxCallId: 'm2' }), '201');
    history.record(callEvent({ type: 'ended', pbxCallId: 'm2', durationSec: 0 }), '201');
    history.record(callEvent({ type: 'ringing', pbxCallId: 'q1', queue: '800', agents: ['201', '202'] }), '201');
    history.record(callEvent({ type: 'answered', pbxCallId: 'q1', callee: { raw: '202', e164: null, name: 'Sam', extension: '202' } }), '201');
    history.record(callEvent({ type: 'ringing', pbxCallId: 'o1', direction: 'outbound', caller: { raw: '201', e164: null, name: null, extension: '201' }, callee: { raw: '0412345678', e164: '+61412345678', name: null, extension: null } }), '201');
    history.record(callEvent({ type: 'ended', pbxCallId: 'o1', direction: 'outbound', durationSec: 0 }), '201');
    const outcome = (id: string) => history.get(`tenant-1:pbx-1:${id}:201`)?.outcome;
    expect([outcome('m1'), outcome('m2'), outcome('q1'), outcome('o1')]).toEqual(['missed', 'missed', 'answered_elsewhere', 'not_answered']);
    expect(history.get('tenant-1:pbx-1:o1:201')?.remote.e164).toBe('+61412345678');
  });

  it('shows a queue call a colleague answered as answered elsewhere, for good, and an unanswered outbound call as not answered', () => {
    const history = new CallHistory({ rows: memoryHistoryRows() });
    const queue = { pbxCallId: 'q2', queue: '800', agents: ['201', '202'] };
    history.record(callEvent({ type: 'ringing', ...queue }), '201');
    history.record(callEvent({ type: 'answered', ...queue, answeredBy: '202' }), '201');
    history.record(callEvent({ type: 'missed', ...queue, agents: ['201'] }), '201'); // a late form's word for this leg
    history.record(callEvent({ type: 'answered', ...queue, answeredBy: '202' }), '202');
    expect(history.get('tenant-1:pbx-1:q2:201')?.outcome).toBe('answered_elsewhere');
    expect(history.get('tenant-1:pbx-1:q2:202')?.outcome).toBe('answered');

    const outbound = { pbxCallId: 'o2', direction: 'outbound' as const };
    history.record(callEvent({ type: 'ringing', ...outbound }), '201');
    history.record(callEvent({ type: 'missed', ...outbound }), '201');
    expect(history.get('tenant-1:pbx-1:o2:201')?.outcome).toBe('not_answered');
  });

  it('lets the outbox set the CRM state, marks internal calls not applicable, and emits changes', () => {
    const history = new CallHistory({ rows: memoryHistoryRows() });
    const seen: string[] = [];
    history.onChange((r) => seen.push(`${r.pbxCallId}:${r.crm.state}`));
    const event = callEvent({ type: 'ringing', pbxCallId: 'c1' });
    history.record(event, '201');
    expect(history.setCrmState(callKeyOf(event, '201'), 'needs_attention', 'HubSpot: contact was deleted')).toBe(true);
    expect(history.setCrmState('unknown', 'logged')).toBe(false);
    history.record(callEvent({ type: 'ringing', pbxCallId: 'i1', direction: 'internal' }), '201');
    expect(history.get(callKeyOf(event, '201'))?.crm).toMatchObject({ state: 'needs_attention', reason: 'HubSpot: contact was deleted' });
    expect(history.get('tenant-1:pbx-1:i1:201')?.crm.state).toBe('not_applicable');
    expect(seen).toEqual(['c1:pending', 'c1:needs_attention', 'i1:not_applicable']);
  });

  it('persists every change at once across restarts (nothing waits for a timer), capped by count and age', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-history-'));
    try {
      const file = join(dir, 'history.sqlite');
      const now = Date.parse('2025-03-01T00:00:00Z');
      const history = new CallHistory({ rows: sqliteHistoryRows(file), maxEntries: 3, maxAgeDays: 30, now: () => now });
      history.record(callEvent({ type: 'ringing', pbxCallId: 'old', ...at('2025-01-01T00:00:00Z') }), '201');
      for (const [id, day] of [['a', '20'], ['b', '21'], ['c', '22'], ['d', '23']] as const) {
        history.record(callEvent({ type: 'ringing', pbxCallId: id, ...at(`2025-02-${day}T00:00:00Z`) }), '201');
      }
      history.setCrmState('tenant-1:pbx-1:d:201', 'logged');
      // No close or flush: a second reader sees what the first wrote, as a restart after a crash would.
      const reloaded = new CallHistory({ rows: sqliteHistoryRows(file), maxEntries: 3, now: () => now });
      expect(reloaded.list().map((r) => r.pbxCallId)).toEqual(['d', 'c', 'b']);
      expect(reloaded.get('tenant-1:pbx-1:d:201')!.crm.state).toBe('logged');
      expect(reloaded.lastCallWith('+61298765432', 'tenant-1:pbx-1:d:201')).toBe(Date.parse('2025-02-22T00:00:00Z'));
      history.close();
      reloaded.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('drops stored rows it cannot read instead of failing to start', () => {
    const rows = memoryHistoryRows();
    rows.put('broken', { callKey: 'broken', outcome: 'exploded' });
    const history = new CallHistory({ rows });
    expect(history.list()).toEqual([]);
    expect(rows.load()).toEqual([]);
  });
});
