// The bus runs a connector for each PBX whose socket it holds, and none for remote-mode PBXs.
import { afterEach, describe, expect, it } from 'vitest';
import { startPbxSimulator, type PbxSimulator } from '../../../sim/3cx/index.js';
import { createMemoryEventLog } from '../../../../test/support/memory-event-log.js';
import { eventually, fakeTenants } from '../../../../test/support/pbx-fakes.js';
import { createIngestor } from '../normalise.js';
import { startConnectors, type ConnectorManager } from './manager.js';
import { readConfig } from './remote.js';

const sims: PbxSimulator[] = [];
let manager: ConnectorManager | undefined;
afterEach(async () => {
  await manager?.stop();
  for (const s of sims.splice(0)) await s.close();
});

describe('startConnectors', () => {
  it('connects to bus-mode PBXs with an API client and feeds their calls into their tenants\' logs', async () => {
    const [a, b, remote] = await Promise.all([startPbxSimulator(), startPbxSimulator(), startPbxSimulator()]);
    sims.push(a!, b!, remote!);
    const tenants = fakeTenants();
    tenants.put({ pbx: { id: 'pbx_a', tenantId: 't_a', baseUrl: a!.baseUrl } });
    tenants.put({ pbx: { id: 'pbx_b', tenantId: 't_b', baseUrl: b!.baseUrl } });
    tenants.put({ pbx: { id: 'pbx_r', tenantId: 't_a', baseUrl: remote!.baseUrl, connectorMode: 'remote' } });
    tenants.put({ pbx: { id: 'pbx_n', tenantId: 't_a', baseUrl: remote!.baseUrl, apiClientId: null } });
    const log = createMemoryEventLog();
    manager = await startConnectors({ tenants, ingestor: createIngestor({ log, tenants }), recordingPoll: false });
    expect([...manager.connectors.keys()].sort()).toEqual(['pbx_a', 'pbx_b']);
    await eventually(() => expect(a!.openSockets() + b!.openSockets()).toBe(2));
    expect(remote!.openSockets()).toBe(0);

    await b!.placeCall({ kind: 'inbound', from: '+4930123456', to: '102', answer: false });
    await eventually(async () => expect((await log.read('t_b', { since: 0, limit: 10 })).events.map((e) => e.event.type)).toEqual(['ringing', 'missed']));
    expect((await log.read('t_a', { since: 0, limit: 10 })).events).toEqual([]);
  });
});

describe('remote connector configuration', () => {
  const env = { RINGBRIDGE_PBX_CLIENT_SECRET: 'api-key', RINGBRIDGE_CONNECTOR_TOKEN: 'ctok_' + 'x'.repeat(30) };
  it('takes places from flags and secrets only from the environment', () => {
    const config = readConfig(['--pbx-url', 'https://pbx.local:5001', '--client-id', '900', '--bus-url', 'https://bus.example.com', '--pbx-id', 'pbx_1'], env);
    expect(config).toEqual({ pbxUrl: 'https://pbx.local:5001', clientId: '900', clientSecret: 'api-key', busUrl: 'https://bus.example.com', pbxId: 'pbx_1', connectorToken: env.RINGBRIDGE_CONNECTOR_TOKEN, queueFile: 'ringbridge-connector-queue.db' });
    expect(() => readConfig(['--pbx-url', 'https://pbx.local', '--client-id', '900', '--bus-url', 'https://bus.example.com', '--pbx-id', 'pbx_1'], {})).toThrow();
    expect(() => readConfig(['--client-secret', 'leaked'], env)).toThrow();
  });
});
