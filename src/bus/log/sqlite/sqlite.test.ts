import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEventLogContract } from '../contract.js';
import { openSqliteEventLog } from './index.js';

describeEventLogContract('sqlite', { persistent: true }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rb-sqlite-log-'));
  return {
    open: async () => openSqliteEventLog({ dataDir }),
    wipe: async () => rmSync(dataDir, { recursive: true, force: true }),
    dispose: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
});
