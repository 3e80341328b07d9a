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
