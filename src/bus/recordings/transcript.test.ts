// Issue 11 item 5 on the bus: 3CX's own transcript and summary (V20 XAPI Recordings `Transcription`,
// `Summary`) read from the recording's row through the gateway, against the 3CX simulator (its
// answers validated against the official swagger), and handed to the agent with the recording link.
import { afterEach, describe, expect, it } from 'vitest';
import { startPbxSimulator, type PbxSimulator } from '../../sim/3cx/index.js';
import { createPbxApiRegistry } from '../pbx/api.js';
import { createPbxGateway } from '../pbx/gateway.js';
import { createMemoryEventLog } from '../../../test/support/memory-event-log.js';
import { makeCallEvent } from '../../../test/support/make-call-event.js';
import { agent, fakeTenants, memoryAudit } from '../../../test/support/pbx-fakes.js';
import { createRecordingService } from './service.js';
import { MAX_FRAME_BYTES, parseFrame, ServerFrameSchema } from '../../shared/agent-protocol.js';

let sim: PbxSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function gatewayOnSim() {
  sim = await startPbxSimulator();
  const tenants = fakeTenants();
  tenants.put({ pbx: { id: 'pbx_1', tenantId: 't_1', baseUrl: sim.baseUrl } });
  return createPbxGateway({ tenants, registry: createPbxApiRegistry({ tenants }) });
}

describe('3CX transcript and summary of a recording', () => {
  it('are read from the recording row once 3CX made them, and absent before', async () => {
    const gateway = await gatewayOnSim();
    const { recordingIds } = await sim!.placeCall({ kind: 'inbound', from: '+4930123456', to: '101' });
    const id = recordingIds[0]!;
    expect(await gateway.recordingText!('pbx_1', String(id))).toBeNull();

    sim!.transcribe(id, { transcription: 'Agent: Hello. Caller: I need a quote.', summary: 'Caller asked for a quote.' });
    expect(await gateway.recordingText!('pbx_1', String(id))).toEqual({ transcription: 'Agent: Hello. Caller: I need a quote.', summary: 'Caller asked for a quote.' });
    sim!.transcribe(id, { transcription: null, summary: 'Only a summary.' });
    expect(await gateway.recordingText!('pbx_1', String(id))).toEqual({ transcription: null, summary: 'Only a summary.' });
    // Not a 3CX recording id, or no such row: nothing, never an error the recording would fail on.
    expect(await gateway.recordingText!('pbx_1', 'rec-x')).toBeNull();
    expect(await gateway.recordingText!('pbx_1', '4242')).toBeNull();
    expect(sim!.specViolations()).toEqual([]);
  });
});

describe('a recording grant', () => {
  it("carries the transcript and summary with the link; a PBX that cannot say them still hands out the recording", async () => {
    const gateway = await gatewayOnSim();
    const { recordingIds } = await sim!.placeCall({ kind: 'inbound', from: '+4930123456', to: '101' });
    sim!.transcribe(recordingIds[0]!, { transcription: 'Caller: the invoice is wrong.', summary: 'Billing complaint.' });
    const log = createMemoryEventLog();
    const event = makeCallEvent({ tenantId: 't_1', pbxId: 'pbx_1', type: 'recording_ready', agents: ['101'], extensions: ['101'], recording: { pbxRecordingId: String(recordingIds[0]), contentType: null } });
    await log.append(event.tenantId, event, event.id);
    const alice = agent({ tenantId: 't_1', pbxId: 'pbx_1', extension: '101' });
    const options = { log, audit: memoryAudit(), agents: { getAgent: async () => alice }, secret: 'k'.repeat(32), publicUrl: 'http://bus.test' };

    const granted = await createRecordingService({ ...options, text: gateway }).grant(alice, event.id);
    expect(granted).toMatchObject({ ok: true, text: { transcription: 'Caller: the invoice is wrong.', summary: 'Billing complaint.' } });

    const failing = { recordingText: async () => Promise.reject(new Error('PBX down')) };
    const withoutText = await createRecordingService({ ...options, text: failing }).grant(alice, event.id);
    expect(withoutText).toMatchObject({ ok: true, url: expect.any(String) });
    expect(withoutText).not.toHaveProperty('text');
  });

  it('shortens a transcript too big for one frame (an hour-long call in Cyrillic), so the link reaches the agent whole', async () => {
    const gateway = await gatewayOnSim();
    const { recordingIds } = await sim!.placeCall({ kind: 'inbound', from: '+4930123456', to: '101' });
    // ~9,000 words, 2 bytes a letter: about 130 KB, twice what the agent's socket takes.
    const transcription = 'Абонент: счёт неверный, пожалуйста проверьте.\n'.repeat(1_400);
    const summary = 'Жалоба на счёт. '.repeat(1_000);
    sim!.transcribe(recordingIds[0]!, { transcription, summary });
    const log = createMemoryEventLog();
    const event = makeCallEvent({ tenantId: 't_1', pbxId: 'pbx_1', type: 'recording_ready', agents: ['101'], extensions: ['101'], recording: { pbxRecordingId: String(recordingIds[0]), contentType: null } });
    await log.append(event.tenantId, event, event.id);
    const alice = agent({ tenantId: 't_1', pbxId: 'pbx_1', extension: '101' });
    const service = createRecordingService({ log, audit: memoryAudit(), agents: { getAgent: async () => alice }, secret: 'k'.repeat(32), publicUrl: 'http://bus.test', text: gateway });

    const granted = await service.grant(alice, event.id);
    if (!granted.ok || !granted.text) throw new Error(`expected a link with text, got ${JSON.stringify(granted)}`);
    // The frame as the bus sends it: it parses on the agent and fits the agent's socket.
    const raw = JSON.stringify({ t: 'recording_url', reqId: 'r1', url: granted.url, expiresAt: granted.expiresAt, ...granted.text });
    expect(parseFrame(ServerFrameSchema, raw)).toMatchObject({ ok: true });
    expect(Buffer.byteLength(raw)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    // The start of each, whole characters, marked as shortened.
    expect(granted.text.transcription).toMatch(/ … \(shortened\)$/);
    expect(transcription.startsWith(granted.text.transcription!.replace(/ … \(shortened\)$/, ''))).toBe(true);
    expect(summary.startsWith(granted.text.summary!.replace(/ … \(shortened\)$/, ''))).toBe(true);
    expect(granted.text.transcription!.length).toBeGreaterThan(15_000);
  });
});
