import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeEventLogContract } from '../../../../test/support/log-contract.js';
import { makeCallEvent } from '../../../../test/support/make-call-event.js';
import { openSqliteEventLog, SQLITE_LOG_FILE } from './index.js';

describeEventLogContract('sqlite', { persistent: true }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rb-sqlite-log-'));
  return {
    open: async () => openSqliteEventLog({ dataDir }),
    wipe: async () => rmSync(dataDir, { recursive: true, force: true }),
    dispose: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
});

it('fills the agent index once for a log written before the index existed, so resume still finds old events', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rb-sqlite-backfill-'));
  try {
    let log = openSqliteEventLog({ dataDir });
    await log.append('t_a', makeCallEvent({ tenantId: 't_a', agents: ['101', '101'] }), 'k1');
    await log.append('t_a', makeCallEvent({ tenantId: 't_a', agents: ['102'] }), 'k2');
    await log.close();
    // What a log file from before the agent index looks like: no index table, user_version 0.
    const db = new Database(join(dataDir, SQLITE_LOG_FILE));
    db.exec('DROP TABLE event_agents');
    db.pragma('user_version = 0');
    db.close();

    log = openSqliteEventLog({ dataDir });
    await log.append('t_a', makeCallEvent({ tenantId: 't_a', agents: ['101'] }), 'k3');
    const page = await log.readForAgent('t_a', { pbxId: 'pbx_test', extension: '101', since: 0, limit: 10 });
    expect(page.events.map((e) => e.offset)).toEqual([1, 3]);
    await log.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

it('rolls a failed group commit back whole: its appends are refused, and the next append takes the offset after the last stored', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rb-sqlite-rollback-'));
  const log = openSqliteEventLog({ dataDir });
  try {
    const seen: number[] = [];
    log.subscribe((_tenant, logged) => seen.push(logged.offset));
    await log.append('t_a', makeCallEvent({ tenantId: 't_a' }), 'k1');
    // Appends of one tick share a transaction; the second cannot be written (here: it cannot be
    // serialised), so the whole transaction fails after the first was inserted.
    const unwritable = { ...makeCallEvent({ tenantId: 't_a' }), toJSON: () => { throw new Error('cannot write'); } };
    const batch = [log.append('t_a', makeCallEvent({ tenantId: 't_a' }), 'k2'), log.append('t_a', unwritable, 'k3'), log.append('t_b', makeCallEvent({ tenantId: 't_b' }), 'k4')];
    for (const outcome of await Promise.allSettled(batch)) expect(outcome.status).toBe('rejected');

    expect((await log.append('t_a', makeCallEvent({ tenantId: 't_a' }), 'k2')).offset).toBe(2);
    expect((await log.append('t_b', makeCallEvent({ tenantId: 't_b' }), 'k4')).offset).toBe(1);
    expect((await log.read('t_a', { since: 0, limit: 10 })).events.map((e) => e.offset)).toEqual([1, 2]);
    expect(seen).toEqual([1, 2, 1]);
  } finally {
    await log.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

it('finds events by id in a log written before event ids that equal their key were stored as such', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rb-sqlite-event-ids-'));
  try {
    const keyed = makeCallEvent({ tenantId: 't_a' });
    const other = makeCallEvent({ tenantId: 't_a' });
    let log = openSqliteEventLog({ dataDir });
    await log.append('t_a', keyed, keyed.id);
    await log.append('t_a', other, 'k2');
    await log.close();
    // What a log file at schema version 4 holds: every event id spelt out, one index over all of them.
    const db = new Database(join(dataDir, SQLITE_LOG_FILE));
    db.exec(`UPDATE events SET event_id = json_extract(body, '$.id');
      DROP INDEX events_other_id; CREATE INDEX events_event_id ON events (tenant_id, event_id);`);
    db.pragma('user_version = 4');
    db.close();

    log = openSqliteEventLog({ dataDir });
    expect((await log.findById('t_a', keyed.id))?.offset).toBe(1);
    expect((await log.findById('t_a', other.id))?.offset).toBe(2);
    expect((await log.append('t_a', keyed, keyed.id)).duplicate).toBe(true);
    await log.close();
    const after = new Database(join(dataDir, SQLITE_LOG_FILE), { readonly: true });
    expect(after.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name").pluck().all()).toEqual(['events_idempotency', 'events_other_id']);
    after.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
