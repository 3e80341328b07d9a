import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { makeCallEvent } from '../../../../test/support/make-call-event.js';
import { openSqliteEventLog } from './index.js';

const child = fileURLToPath(new URL('../../../../test/support/append-until-killed.ts', import.meta.url));
const dataDirs: string[] = [];
afterEach(() => {
  for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

it('keeps every acknowledged append, once, when the process is SIGKILLed mid-stream', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rb-sigkill-'));
  dataDirs.push(dataDir);
  const proc = spawn(process.execPath, ['--import', 'tsx', child, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked = new Map<number, number>(); // offset -> n
  const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
  for await (const line of createInterface({ input: proc.stdout })) {
    const [offset, n] = line.split(' ').map(Number);
    acked.set(offset!, n!);
    if (acked.size === 500) proc.kill('SIGKILL');
  }
  expect(await exited).toBe('SIGKILL');
  expect(acked.size).toBeGreaterThanOrEqual(500);

  const log = openSqliteEventLog({ dataDir });
  try {
    const { events, position, firstRetained } = await log.read('t_kill', { since: 0, limit: 1_000_000 });
    expect(firstRetained).toBe(1);
    expect(events.map((e) => e.offset)).toEqual(Array.from({ length: position.offset }, (_, i) => i + 1));
    const ids = events.map((e) => e.event.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [offset, n] of acked) expect(events[offset - 1]!.event.id).toBe(`evt_kill_${n}`);
    // Idempotency keys survived too: a PBX retry of an acknowledged event is recognised.
    const [someOffset, someN] = acked.entries().next().value!;
    const retry = await log.append('t_kill', makeCallEvent({ id: `evt_kill_${someN}`, tenantId: 't_kill' }), `key_${someN}`);
    expect(retry).toMatchObject({ offset: someOffset, duplicate: true, epoch: position.epoch });
  } finally {
    await log.close();
  }
});
