// Small helpers the CRM adapter tests share (src/main/crm/*/*.test.ts). No test-runner imports, so
// they work from any harness.
import { CrmError, type CrmAdapter } from '../../src/main/crm/port.js';
import type { CrmSimulator } from '../../src/sim/crm/common/index.js';

/** The end of every adapter test: no wire violations, and the simulator closed even when there were. */
export async function closeCheckedSim(sim: CrmSimulator): Promise<void> {
  try {
    sim.assertNoSpecViolations();
  } finally {
    await sim.close();
  }
}

/** Awaits `p` and returns the CrmError it rejects with; fails if it resolves or rejects with anything else. */
export async function crmRejection(p: Promise<unknown>): Promise<CrmError> {
  const outcome = await p.then(
    (value) => ({ resolved: true as const, value }),
    (error: unknown) => ({ resolved: false as const, error }),
  );
  if (outcome.resolved) throw new Error(`expected a CrmError, got a result: ${JSON.stringify(outcome.value)}`);
  if (!(outcome.error instanceof CrmError)) throw new Error(`expected a CrmError, got: ${String(outcome.error)}`, { cause: outcome.error });
  return outcome.error;
}

/** Pages `syncContacts` from `cursor` until `hasMore` is false (at most `maxPages` pages). */
export async function syncAllContacts(
  adapter: Pick<CrmAdapter, 'syncContacts'>,
  cursor: string | null = null,
  maxPages = 10,
): Promise<{ ids: string[]; pages: number; cursor: string | null }> {
  const ids: string[] = [];
  let pages = 0;
  for (;;) {
    const page = await adapter.syncContacts(cursor);
    ids.push(...page.contacts.map((c) => c.id));
    cursor = page.cursor;
    pages++;
    if (!page.hasMore || pages >= maxPages) return { ids, pages, cursor };
  }
}
