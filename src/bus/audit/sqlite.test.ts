import { describe, expect, it } from 'vitest';
import { createSqliteAuditLog } from './sqlite.js';

describe('SQLite audit log', () => {
  it('lists a tenant\'s entries newest first, never another tenant\'s', async () => {
    let t = 0;
    const audit = createSqliteAuditLog({ path: ':memory:' }, () => new Date(Date.UTC(2026, 4, 1, 0, 0, t++)));
    await audit.record({ tenantId: 't1', agentId: 'a1', action: 'dial', target: '+61298765432', result: 'ok', detail: null });
    await audit.record({ tenantId: 't2', agentId: 'a9', action: 'dial', target: '+61298765433', result: 'ok', detail: null });
    await audit.record({ tenantId: 't1', agentId: 'a1', action: 'recording', target: 'ev_1', result: 'denied', detail: 'not your call' });
    const entries = await audit.list('t1');
    expect(entries.map((e) => [e.action, e.result])).toEqual([['recording', 'denied'], ['dial', 'ok']]);
    expect(entries[0]).toMatchObject({ at: '2026-05-01T00:00:02.000Z', agentId: 'a1', target: 'ev_1', detail: 'not your call' });
    expect(await audit.list('t1', { limit: 1 })).toHaveLength(1);
  });
});
