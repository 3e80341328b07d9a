// The via-connector adapter on its own: who gets a command, what times out, how a relayed recording
// is capped and stopped. The HTTP routes and the connector's side are in call-control/remote.test.ts.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PbxApiError } from './errors.js';
import { createConnectorRelay } from './relay.js';

const open = () => new AbortController().signal;

async function readAll(body: NodeJS.ReadableStream): Promise<number> {
  let total = 0;
  for await (const chunk of body) total += (chunk as Buffer).length;
  return total;
}

/** A recording request the connector has collected, and its upload begun with `contentLength`. */
async function relayedRecording(maxRecordingBytes: number, contentLength: number | null) {
  const relay = createConnectorRelay({ maxRecordingBytes });
  const opened = relay.openRecording('pbx_1', '7');
  const [command] = await relay.collect('pbx_1', 1000, open());
  expect(command).toMatchObject({ kind: 'recording', recordingId: '7', maxBytes: maxRecordingBytes });
  const upstream = new PassThrough();
  const uploaded = relay.upload('pbx_1', command!.id, { body: upstream, contentType: 'audio/x-wav', contentLength });
  return { relay, opened, upstream, uploaded };
}

describe('connector relay', () => {
  it('gives a command to exactly one waiting poll; the other ends empty after its wait', async () => {
    const relay = createConnectorRelay();
    const polls = [relay.collect('pbx_1', 200, open()), relay.collect('pbx_1', 200, open()), relay.collect('pbx_2', 200, open())];
    const dialled = relay.makeCall('pbx_1', '101', '+4930123456');
    const [first, second, otherPbx] = await Promise.all(polls);
    expect(first).toEqual([{ id: expect.any(String), kind: 'makecall', extension: '101', destination: '+4930123456' }]);
    expect([second, otherPbx]).toEqual([[], []]);
    expect(relay.answer('pbx_2', first![0]!.id, { kind: 'makecall', ok: true, pbxCallId: '1', reason: null })).toBe('unknown');
    expect(relay.answer('pbx_1', first![0]!.id, { kind: 'makecall', ok: false, pbxCallId: null, reason: 'Busy' })).toBe('accepted');
    expect(await dialled).toEqual({ ok: false, pbxCallId: null, reason: 'Busy' });
  });

  it('fails a command nobody collects, and one collected but never answered, as the PBX being unavailable', async () => {
    const relay = createConnectorRelay({ pickupTimeoutMs: 50, answerTimeoutMs: 50 });
    await expect(relay.makeCall('pbx_1', '101', '+4930123456')).rejects.toMatchObject({ name: 'PbxApiError', status: null, message: expect.stringMatching(/collected/) });
    const dialled = relay.makeCall('pbx_1', '101', '+4930123456');
    await relay.collect('pbx_1', 1000, open());
    await expect(dialled).rejects.toMatchObject({ status: null, message: expect.stringMatching(/did not answer/) });
  });

  it('refuses a request the connector could not read before it is queued', async () => {
    const relay = createConnectorRelay();
    await expect(relay.openRecording('pbx_1', '9'.repeat(100))).rejects.toBeInstanceOf(PbxApiError);
    expect(await relay.collect('pbx_1', 0, open())).toEqual([]);
  });

  it('cuts off a recording of undeclared length at the size cap', async () => {
    const { opened, upstream, uploaded } = await relayedRecording(1000, null);
    const recording = await opened;
    upstream.write(Buffer.alloc(600));
    upstream.end(Buffer.alloc(600));
    await expect(readAll(recording.body)).rejects.toThrow(/larger than the 1000 bytes/);
    expect(await uploaded).toBe('too-large');
  });

  it('refuses a recording declared larger than the cap before a byte is relayed', async () => {
    const { opened, uploaded } = await relayedRecording(1000, 5000);
    expect(await uploaded).toBe('too-large');
    await expect(opened).rejects.toMatchObject({ status: 413 });
  });

  it('streams a recording on as it arrives, and stops the upload when the agent stops reading', async () => {
    const { opened, upstream, uploaded } = await relayedRecording(1_000_000, null);
    upstream.write(Buffer.alloc(1000, 1));
    const recording = await opened;
    const reader = recording.body[Symbol.asyncIterator]();
    expect(((await reader.next()).value as Buffer).length).toBe(1000);
    recording.body.destroy();
    expect(await uploaded).toBe('aborted');
    expect(upstream.destroyed).toBe(true);
  });
});
