import { expect, it } from 'vitest';
import { createMemoryEventLog } from './memory/index.js';
import { startRetention } from './retention.js';
import { makeCallEvent } from './testing.js';

it('trims events older than the retention window as soon as it starts, keeping newer ones', async () => {
  const log = createMemoryEventLog();
  const old = new Date(Date.now() - 8 * 86_400_000).toISOString();
  await log.append('t_a', makeCallEvent({ tenantId: 't_a', receivedAt: old }), 'k1');
  await log.append('t_a', makeCallEvent({ tenantId: 't_a' }), 'k2');
  const trimmed: number[] = [];
  const stop = startRetention(log, { onTrimmed: (n) => trimmed.push(n) });
  await stop();
  expect(trimmed).toEqual([1]);
  const { events, firstRetained } = await log.read('t_a', { since: 0, limit: 10 });
  expect(events.map((e) => e.offset)).toEqual([2]);
  expect(firstRetained).toBe(2);
});
