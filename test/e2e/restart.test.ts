// The bus as a real process on a real data directory: killed with SIGKILL mid-stream it loses
// nothing it acknowledged and duplicates nothing; stopped with SIGTERM it tells agents to come
// back, and they resume where they were.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TENANTS_DB_FILE } from '../../src/bus/compose.js';
import { signedHeaders, webhookPayload } from '../support/ingest-harness.js';
import { SQLITE_LOG_FILE } from '../../src/bus/log/sqlite/index.js';
import { loadMasterKey } from '../../src/bus/tenants/secrets.js';
import { createSqliteTenantStore } from '../../src/bus/tenants/sqlite/store.js';
import { CloseCode } from '../../src/shared/agent-protocol.js';
import { BusProcess } from '../support/bus-process.js';
import { Agent, pair, postWebhook, Resources, type Site } from '../support/e2e.js';

const res = new Resources();
afterEach(() => res.cleanup());

/** What the admin CLI does before the bus first starts: tenant, PBX, one agent (code to pair with). */
async function provisionOffline(dataDir: string): Promise<{ site: Pick<Site, 'pbx' | 'secrets' | 'tenantId'>; pairingCode: string }> {
  const store = createSqliteTenantStore({ path: join(dataDir, TENANTS_DB_FILE), masterKey: loadMasterKey({ configured: null, dataDir }) });
  try {
    const tenant = await store.createTenant({ name: 'Acme' });
    const { pbx, secrets } = await store.addPbx({ tenantId: tenant.id, name: 'Main', baseUrl: 'https://pbx.acme.test', defaultCountry: 'AU', apiClientId: null, connectorMode: 'bus' });
    const { pairingCode } = await store.addAgent({ tenantId: tenant.id, pbxId: pbx.id, extension: '101', name: 'Alice' });
    return { site: { tenantId: tenant.id, pbx, secrets }, pairingCode };
  } finally {
    await store.close();
  }
}

const callId = (i: number) => `call-${String(i).padStart(4, '0')}`;
const delivery = (i: number) => {
  const body = JSON.stringify(webhookPayload({ callId: callId(i), from: { number: `029876${String(i).padStart(4, '0')}`, name: null } }));
  return { body, id: `msg_${i}` };
};

async function startBusProcess(dataDir: string): Promise<BusProcess> {
  return res.add(await BusProcess.start(dataDir), (b) => b.stop());
}

describe('bus process restarts', () => {
  it('SIGKILL mid-stream: every acknowledged delivery is there exactly once after restart, and retried ones land once', async () => {
    const N = 160;
    const dataDir = res.tempDir();
    const { site, pairingCode } = await provisionOffline(dataDir);
    let bus = await startBusProcess(dataDir);
    const { deviceToken } = await pair(bus.url, pairingCode);
    const epoch = (await Agent.connect(res, bus.wsUrl, deviceToken)).welcome.position.epoch;

    // Several senders at once, like a PBX with retries in flight; kill once a third is acknowledged.
    const acknowledged = new Set<number>();
    const secret = site.secrets.webhookSecrets[0]!;
    let next = 0;
    let killed: Promise<unknown> | null = null;
    const sender = async () => {
      while (next < N && !killed) {
        const i = next++;
        const { body, id } = delivery(i);
        const answer = await postWebhook(bus.url, site, body, signedHeaders(secret, body, { id })).catch(() => null);
        if (answer && answer.status >= 200 && answer.status < 300) acknowledged.add(i);
        if (acknowledged.size >= N / 3) killed ??= bus.kill('SIGKILL');
      }
    };
    await Promise.all(Array.from({ length: 6 }, sender));
    expect((await killed)).toMatchObject({ signal: 'SIGKILL' });
    expect(acknowledged.size).toBeGreaterThanOrEqual(N / 3);
    expect(acknowledged.size).toBeLessThan(N);

    bus = await startBusProcess(dataDir);
    // The PBX retries what it never saw acknowledged (same webhook-id, fresh timestamp and signature).
    for (let i = 0; i < N; i++) {
      if (acknowledged.has(i)) continue;
      const { body, id } = delivery(i);
      const answer = await postWebhook(bus.url, site, body, signedHeaders(secret, body, { id }));
      expect(answer.status, `retry of delivery ${i}`).toBe(200);
    }

    const agent = await Agent.connect(res, bus.wsUrl, deviceToken, { offset: 0, epoch });
    expect(agent.welcome.recovered).toBe(true);
    expect(agent.welcome.position.offset).toBe(N);
    const frames = await agent.take(N);
    expect(frames.map((f) => f.offset)).toEqual(Array.from({ length: N }, (_, k) => k + 1));
    expect(frames.map((f) => f.event.pbxCallId).sort()).toEqual(Array.from({ length: N }, (_, i) => callId(i)));
    // Nothing after them: the next event is a new delivery.
    const { body } = delivery(N);
    expect((await postWebhook(bus.url, site, body)).status).toBe(200);
    expect((await agent.nextEvent()).event.pbxCallId).toBe(callId(N));
  });

  it('SIGTERM: agents are told to reconnect (shutdown code), the log is checkpointed, and they resume with recovered:true', async () => {
    const dataDir = res.tempDir();
    const { site, pairingCode } = await provisionOffline(dataDir);
    let bus = await startBusProcess(dataDir);
    const { deviceToken } = await pair(bus.url, pairingCode);
    let agent = await Agent.connect(res, bus.wsUrl, deviceToken);
    for (const i of [1, 2]) expect((await postWebhook(bus.url, site, delivery(i).body)).status).toBe(200);
    await agent.take(2);
    agent.socket.send({ t: 'ack', offset: agent.last.offset });
    const position = agent.last;

    const exit = bus.kill('SIGTERM');
    expect(await agent.socket.closed).toBe(CloseCode.shutdown);
    expect(await exit).toEqual({ code: 0, signal: null });
    // A clean stop leaves no write-ahead log behind: everything is in the database file.
    expect(existsSync(join(dataDir, `${SQLITE_LOG_FILE}-wal`))).toBe(false);

    bus = await startBusProcess(dataDir);
    for (const i of [3, 4]) expect((await postWebhook(bus.url, site, delivery(i).body)).status).toBe(200);
    agent = await Agent.connect(res, bus.wsUrl, deviceToken, position);
    expect(agent.welcome.recovered).toBe(true);
    const missed = await agent.take(2);
    expect(missed.map((f) => [f.offset, f.event.pbxCallId, f.replay])).toEqual([
      [3, callId(3), true],
      [4, callId(4), true],
    ]);
  });
});
