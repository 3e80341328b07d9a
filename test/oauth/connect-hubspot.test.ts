// Sign-in to the HubSpot simulator through the bus broker with the real provider and adapter,
// then a call log with the session's token; a revoked grant then gives one sign-in prompt.
import Fastify from 'fastify';
import { afterEach, expect, it } from 'vitest';
import { hubspotProvider } from '../../src/main/crm/hubspot/index.js';
import { AuthStatus } from '../../src/main/oauth/auth-status.js';
import { connectCrm } from '../../src/main/oauth/connect.js';
import { TokenVault } from '../../src/main/oauth/token-vault.js';
import { MemorySecretStore } from '../../src/main/storage/secret-store.js';
import { oauthBrokerRoutes } from '../../src/bus/oauth-broker/index.js';
import { HUBSPOT_SIM_CLIENT, startHubSpotSim } from '../../src/sim/crm/hubspot/index.js';
import { scriptedBrowser } from '../support/oauth-harness.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

it('signs in via the broker, logs calls through expiry, and turns a revoked grant into one prompt', async () => {
  const sim = await startHubSpotSim({ accessTtlSec: 60 });
  cleanups.push(() => sim.close());
  const bus = Fastify();
  await bus.register(oauthBrokerRoutes, {
    clients: { hubspot: { ...HUBSPOT_SIM_CLIENT, tokenUrl: `${sim.url}/oauth/v1/token` } },
    authenticate: async (token) => (token === 'device-token-0123456789' ? { id: 'a1', tenantId: 't1', extension: '101', pbxId: 'p1', name: 'Ann', crmUser: null, revokedAt: null } : null),
  });
  const busUrl = await bus.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => bus.close());
  const status = new AuthStatus();
  const prompts: string[] = [];
  status.signInRequired.on(({ crm }) => prompts.push(crm));
  const connection = await connectCrm({
    provider: hubspotProvider,
    clientId: HUBSPOT_SIM_CLIENT.clientId,
    busUrl,
    deviceToken: () => 'device-token-0123456789',
    vault: new TokenVault(new MemorySecretStore()),
    status,
    origin: sim.url,
  });
  cleanups.push(() => connection.close());

  const { context } = await connection.signIn(scriptedBrowser().openBrowser);
  expect(context.hub_id).toBe('62515');
  const input = {
    callKey: 't1:pbx1:c1:101', direction: 'inbound' as const, from: '+61298765432', to: '101',
    startedAt: '2026-03-02T09:00:00Z', answeredAt: '2026-03-02T09:00:05Z', durationSec: 60, outcome: 'answered' as const,
    subject: 'Inbound call', notes: 'n', contact: null, ownerId: null,
  };
  const record = await connection.adapter.logCall(input);
  expect(sim.calls.has(record.id)).toBe(true);
  // A 60 s token is refreshed at half-life, not on every request.
  expect(sim.oauth.tokenCalls.refresh_token).toBe(0);

  sim.faults.expireTokens(); // the CRM says 401: one refresh through the broker, then the write
  await connection.adapter.logCall({ ...input, callKey: 't1:pbx1:c2:101' });
  expect(sim.oauth.tokenCalls.refresh_token).toBe(1);

  sim.faults.expireTokens();
  sim.faults.revokeGrant();
  await expect(connection.adapter.logCall({ ...input, callKey: 't1:pbx1:c3:101' })).rejects.toMatchObject({ kind: 'auth' });
  await expect(connection.adapter.logCall({ ...input, callKey: 't1:pbx1:c4:101' })).rejects.toMatchObject({ kind: 'auth' });
  expect(prompts).toEqual(['hubspot']);
  expect(sim.calls.size).toBe(2);
});
