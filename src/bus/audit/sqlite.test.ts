import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlite } from '../tenants/sqlite/open.js';
import type { AuditEntry } from './port.js';
import { createSqliteAuditLog, type SqliteAuditLog } from './sqlite.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const opened: SqliteAuditLog[] = [];
afterEach(async () => {
  for (const log of opened.splice(0)) await log.close();
});

function auditAt(clock: { t: number }, opts: Parameters<typeof createSqliteAuditLog>[1] = {}, db = openSqlite(':memory:')) {
  const log = createSqliteAuditLog({ db }, { now: () => new Date(clock.t), ...opts });
  opened.push(log);
  return { log, db };
}

const denied = (agentId: string, detail: string, target = '+61298765432'): Omit<AuditEntry, 'at'> => ({ tenantId: 't1', agentId, action: 'dial', target, result: 'denied', detail });

describe('SQLite audit log', () => {
  it('lists a tenant\'s entries newest first, never another tenant\'s', async () => {
    const clock = { t: Date.UTC(2026, 4, 1) };
    const audit = createSqliteAuditLog({ path: ':memory:' }, { now: () => new Date(clock.t) });
    opened.push(audit);
    await audit.record({ tenantId: 't1', agentId: 'a1', action: 'dial', target: '+61298765432', result: 'ok', detail: null });
    clock.t += 1_000;
    await audit.record({ tenantId: 't2', agentId: 'a9', action: 'dial', target: '+61298765433', result: 'ok', detail: null });
    clock.t += 1_000;
    await audit.record({ tenantId: 't1', agentId: 'a1', action: 'recording', target: 'ev_1', result: 'denied', detail: 'not your call' });
    const entries = await audit.list('t1');
    expect(entries.map((e) => [e.action, e.result])).toEqual([['recording', 'denied'], ['dial', 'ok']]);
    expect(entries[0]).toMatchObject({ at: '2026-05-01T00:00:02.000Z', agentId: 'a1', target: 'ev_1', detail: 'not your call', count: 1 });
    expect(await audit.list('t1', { limit: 1 })).toHaveLength(1);
  });

  it('keeps one row with a count for identical refusals within the window, a new row after it', async () => {
    const clock = { t: Date.UTC(2026, 4, 1) };
    const { log } = auditAt(clock, { aggregateMs: 60_000 });
    for (let i = 0; i < 3_400; i++) {
      await log.record(denied('a1', 'rate_limited: At most 10 calls a minute', `+6129876${String(i).padStart(4, '0')}`));
      clock.t += 10;
    }
    await log.record(denied('a1', 'dial_policy: GB not allowed'));
    await log.record(denied('a2', 'rate_limited: At most 10 calls a minute'));
    await log.record({ ...denied('a1', 'link expired'), action: 'recording', target: 'ev_1' });
    await log.record({ ...denied('a1', null as unknown as string), result: 'ok', detail: null });
    await log.record({ ...denied('a1', null as unknown as string), result: 'ok', detail: null });
    clock.t += 60_000;
    await log.record(denied('a1', 'rate_limited: At most 10 calls a minute'));
    const rows = await log.list('t1');
    expect(rows.map((r) => [r.agentId, r.action, r.result, r.detail, r.count])).toEqual([
      ['a1', 'dial', 'denied', 'rate_limited: At most 10 calls a minute', 1],
      ['a1', 'dial', 'ok', null, 1],
      ['a1', 'dial', 'ok', null, 1],
      ['a1', 'recording', 'denied', 'link expired', 1],
      ['a2', 'dial', 'denied', 'rate_limited: At most 10 calls a minute', 1],
      ['a1', 'dial', 'denied', 'dial_policy: GB not allowed', 1],
      ['a1', 'dial', 'denied', 'rate_limited: At most 10 calls a minute', 3_400],
    ]);
    expect(rows.at(-1)).toMatchObject({ target: '+61298760000', at: '2026-05-01T00:00:00.000Z', lastAt: '2026-05-01T00:00:33.990Z' });
  });

  it('writes pending counts on close, so another reader of the file sees them', async () => {
    const clock = { t: Date.UTC(2026, 4, 1) };
    const { log, db } = auditAt(clock);
    for (let i = 0; i < 5; i++) await log.record(denied('a1', 'invalid_number'));
    await log.close();
    expect((await createSqliteAuditLog({ db }, { now: () => new Date(clock.t) }).list('t1')).map((r) => r.count)).toEqual([5]);
  });

  it('deletes rows past the retention (default 90 days) on open and while writing', async () => {
    const clock = { t: Date.UTC(2026, 0, 1) };
    const db = openSqlite(':memory:');
    const first = auditAt(clock, {}, db).log;
    await first.record({ ...denied('a1', 'old'), result: 'ok' });
    clock.t += 30 * DAY_MS;
    await first.record({ ...denied('a1', 'newer'), result: 'ok' });
    clock.t += 61 * DAY_MS;
    // Opened 91 days after the first row: it is gone, the 61-day-old one stays.
    const reopened = auditAt(clock, {}, db).log;
    expect((await reopened.list('t1')).map((r) => r.detail)).toEqual(['newer']);
    // A shorter retention, applied by the hourly prune as rows are written.
    const short = auditAt(clock, { retentionDays: 7 }, db).log;
    expect((await short.list('t1')).map((r) => r.detail)).toEqual([]);
    await short.record({ ...denied('a1', 'today'), result: 'ok' });
    clock.t += 8 * DAY_MS;
    await short.record({ ...denied('a1', 'a week later'), result: 'ok' });
    expect((await short.list('t1')).map((r) => r.detail)).toEqual(['a week later']);
  });

  it('filters by agent, action and time, and pages with a before cursor', async () => {
    const clock = { t: Date.UTC(2026, 4, 1) };
    const { log } = auditAt(clock);
    for (let i = 0; i < 10; i++) {
      await log.record({ tenantId: 't1', agentId: i % 2 ? 'a1' : 'a2', action: i % 3 ? 'dial' : 'recording', target: `x${i}`, result: 'ok', detail: null });
      clock.t += 60_000;
    }
    const targets = (rows: Array<{ target: string }>) => rows.map((r) => r.target);
    expect(targets(await log.list('t1', { agentId: 'a1' }))).toEqual(['x9', 'x7', 'x5', 'x3', 'x1']);
    expect(targets(await log.list('t1', { action: 'recording' }))).toEqual(['x9', 'x6', 'x3', 'x0']);
    expect(targets(await log.list('t1', { since: new Date(Date.UTC(2026, 4, 1, 0, 7)).toISOString() }))).toEqual(['x9', 'x8', 'x7']);
    const page1 = await log.list('t1', { limit: 4 });
    const page2 = await log.list('t1', { limit: 4, before: page1.at(-1)!.seq });
    const page3 = await log.list('t1', { limit: 4, before: page2.at(-1)!.seq });
    expect([targets(page1), targets(page2), targets(page3)]).toEqual([['x9', 'x8', 'x7', 'x6'], ['x5', 'x4', 'x3', 'x2'], ['x1', 'x0']]);
    expect(targets(await log.list('t1', { agentId: 'a2', action: 'dial', before: page1.at(-1)!.seq }))).toEqual(['x4', 'x2']);
  });

  it('adds the count columns to an audit table created before them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-audit-old-'));
    const file = join(dir, 'tenants.sqlite');
    try {
      // A file from before the count columns (and before schema versions: user_version 0).
      const old = new Database(file);
      old.exec(`CREATE TABLE audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, tenant_id TEXT NOT NULL, agent_id TEXT NOT NULL,
        action TEXT NOT NULL, target TEXT NOT NULL, result TEXT NOT NULL, detail TEXT)`);
      old.prepare("INSERT INTO audit (at, tenant_id, agent_id, action, target, result, detail) VALUES (?, 't1', 'a1', 'dial', '+1', 'ok', NULL)").run(new Date().toISOString());
      old.close();
      const db = openSqlite(file);
      const log = createSqliteAuditLog({ db });
      expect(await log.list('t1')).toEqual([expect.objectContaining({ target: '+1', count: 1 })]);
      await log.close();
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
