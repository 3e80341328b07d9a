// The agents' CRM side. Until the CRM link (sign-in, contact sync, call logging) is wired, the
// agent's contact index is filled with the same contacts the simulated HubSpot holds.
import { AGENTS, KNOWN_CALLERS, fullName } from './cast.js';
import type { TerminalAgent } from './terminal-agent.js';

export function seedContactIndex(agent: TerminalAgent): void {
  const owner = AGENTS[0]!.crmUser;
  for (const [id, c] of Object.entries(KNOWN_CALLERS)) {
    agent.core.contacts.upsert({
      id, kind: 'contact', name: fullName(c), company: c.company, phones: [c.phone], ownerId: owner,
      lastActivityAt: new Date(Date.now() - c.lastActivityDaysAgo * 86_400_000).toISOString(), url: '', updatedAt: null,
    });
  }
}
