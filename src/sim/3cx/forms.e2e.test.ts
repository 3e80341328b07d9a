// The simulator's three forms against the bus's real adapters: the CRM-template and webhook routes
// and the Call Control connector feed one normaliser, and one call comes out as one event per
// transition (per agent), whichever forms carried it.
import { once } from 'node:events';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { CallControlConnector } from '../../bus/ingest/call-control/connector.js';
import { ingestorSink } from '../../bus/ingest/call-control/manager.js';
import { createIngestor } from '../../bus/ingest/normalise.js';
import { ingestRoutes } from '../../bus/ingest/routes.js';
import { createMemoryEventLog } from '../../../test/support/memory-event-log.js';
import { pbxApiFor } from '../../bus/pbx/api.js';
import { eventually, fakeTenants } from '../../../test/support/pbx-fakes.js';
import { startPbxSimulator, type PbxSimulator } from './simulator.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

const WEBHOOK_SECRET = 'whsec_' + Buffer.alloc(32, 9).toString('base64');
const TEMPLATE_KEY = 'tk_' + 'z'.repeat(40);

async function busWithAllForms() {
  const tenants = fakeTenants();
  const log = createMemoryEventLog();
  const ingestor = createIngestor({ log, tenants });
  const app = Fastify();
  await app.register(ingestRoutes, { ingestor, tenants, contacts: { findContact: async () => null } });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  cleanup.push(() => app.close());
  const sim: PbxSimulator = await startPbxSimulator({ bus: { url, pbxId: 'pbx_1', templateKey: TEMPLATE_KEY, webhookSecret: WEBHOOK_SECRET } });
  cleanup.push(() => sim.close());
  tenants.put({ pbx: { id: 'pbx_1', tenantId: 't_1', baseUrl: sim.baseUrl }, secrets: { webhookSecrets: [WEBHOOK_SECRET], templateKeys: [TEMPLATE_KEY] } });
  const api = pbxApiFor({ baseUrl: sim.baseUrl, clientId: '900', clientSecret: 'sim-api-key' }, { pbxId: 'pbx_1', tenantId: 't_1' });
  const connector = new CallControlConnector({ api, sink: ingestorSink(ingestor), recordingPoll: { attempts: 20, intervalMs: 5 } });
  cleanup.push(() => connector.stop());
  const ready = once(connector, 'ready');
  connector.start();
  await ready;
  const events = async () => (await log.read('t_1', { since: 0, limit: 1000 })).events.map((e) => e.event);
  /** Stops the connector once its pending work (recording polls) is done, so late duplicates would show. */
  const settle = () => connector.stop();
  return { sim, events, settle };
}

describe('one call, three forms, one event per transition', () => {
  it('answered inbound call', async () => {
    const { sim, events, settle } = await busWithAllForms();
    const call = await sim.placeCall({ kind: 'inbound', from: '+4930123456', fromName: 'Ada', to: '101', talkSec: 42 });
    // The webhook's recording_ready and the connector's XAPI poll name the same recording.
    await eventually(async () => expect((await events()).map((e) => e.type)).toEqual(['ringing', 'answered', 'ended', 'recording_ready']));
    await settle();
    expect(sim.deliveries.every((d) => d.status !== null && d.status < 300)).toBe(true);
    const logged = await events();
    expect(logged).toHaveLength(4);
    expect(new Set(logged.map((e) => e.pbxCallId))).toEqual(new Set([String(call.callid)]));
    expect(logged.every((e) => e.agents.join() === '101')).toBe(true);
  });

  it('missed inbound call', async () => {
    const { sim, events, settle } = await busWithAllForms();
    await sim.placeCall({ kind: 'inbound', from: '+4930123456', to: '102', answer: false });
    await eventually(async () => expect((await events()).map((e) => `${e.type}:${e.agents.join()}`)).toEqual(['ringing:102', 'missed:102']));
    await settle();
    expect(await events()).toHaveLength(2);
  });

  it('queue call: each agent offered it sees one ringing and the one answer naming the winner; the winner one end and recording; nobody a missed', async () => {
    const { sim, events, settle } = await busWithAllForms();
    await sim.placeCall({ kind: 'queue', from: '+4930123456', queue: '800', agents: ['101', '102', '103'], answeredBy: '102' });
    await eventually(async () => expect((await events()).some((e) => e.type === 'recording_ready')).toBe(true));
    await settle();
    const logged = await events();
    // Which form is logged first varies (the webhook groups the agents, Call Control does not); the count per agent does not.
    const count = (type: string, agent: string) => logged.filter((e) => e.type === type && e.agents.includes(agent)).length;
    for (const agent of ['101', '102', '103']) expect(count('ringing', agent)).toBe(1);
    for (const agent of ['101', '102', '103']) expect(count('answered', agent)).toBe(1);
    expect(logged.filter((e) => e.type === 'answered').map((e) => e.answeredBy)).toEqual(['102']);
    expect([count('ended', '102'), count('recording_ready', '102')]).toEqual([1, 1]);
    for (const agent of ['101', '102', '103']) expect(count('missed', agent)).toBe(0);
    expect(logged.every((e) => e.queue === '800')).toBe(true);
  });

  it('queue call nobody answers: one missed naming every agent it rang, whichever form came first', async () => {
    const { sim, events, settle } = await busWithAllForms();
    await sim.placeCall({ kind: 'queue', from: '+4930123456', queue: '800', agents: ['101', '102'], answeredBy: null });
    await eventually(async () => expect((await events()).filter((e) => e.type === 'missed')).toHaveLength(1));
    await settle();
    const missed = (await events()).filter((e) => e.type === 'missed' || e.type === 'ended');
    expect(missed.map((e) => `${e.type}:${e.agents.join()}`)).toEqual(['missed:101,102']);
  });
});
