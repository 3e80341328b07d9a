// The bus's 3CX client against the simulator on loopback: tokens, makecall, recordings.
import { afterEach, describe, expect, it } from 'vitest';
import { startPbxSimulator, type PbxSimulator, type PbxSimulatorOptions } from '../../sim/3cx/index.js';
import { createPbxApiRegistry, pbxApiFor } from './api.js';
import { PbxApiError } from './errors.js';
import { createPbxGateway } from './gateway.js';
import { fakeTenants } from '../../../test/support/pbx-fakes.js';
import { TokenRegistry, TokenSource } from './tokens.js';

let sim: PbxSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function setup(opts: PbxSimulatorOptions = {}) {
  sim = await startPbxSimulator(opts);
  const tenants = fakeTenants();
  tenants.put({ pbx: { id: 'pbx_1', tenantId: 't_1', baseUrl: sim.baseUrl } });
  const registry = createPbxApiRegistry({ tenants });
  return { sim, tenants, registry, gateway: createPbxGateway({ tenants, registry }) };
}

describe('3CX tokens', () => {
  it('shares one token between concurrent callers and reuses it until shortly before expiry', async () => {
    sim = await startPbxSimulator({ tokenTtlSec: 600 });
    let clock = 1_000_000;
    const source = new TokenSource({ baseUrl: sim.baseUrl, clientId: '900', clientSecret: 'sim-api-key', now: () => clock });
    const [a, b, c] = await Promise.all([source.get(), source.get(), source.get()]);
    expect(new Set([a, b, c]).size).toBe(1);
    expect(sim.tokensIssued('900')).toBe(1);
    clock += 500_000; // 100 s before expiry: still fine (refreshes 60 s ahead)
    expect(await source.get()).toBe(a);
    clock += 45_000; // 55 s before expiry: refreshed ahead of time
    expect(await source.get()).not.toBe(a);
    expect(sim.tokensIssued('900')).toBe(2);
  });

  it('expires_in 120 seconds is refreshed before it expires', async () => {
    let clock = 1_000_000;
    sim = await startPbxSimulator({ tokenTtlSec: 120, now: () => clock });
    const api = pbxApiFor({ baseUrl: sim.baseUrl, clientId: '900', clientSecret: 'sim-api-key' }, { pbxId: 'p', tenantId: 't' }, new TokenRegistry({ now: () => clock }));
    await api.callControl.fullState();
    for (let i = 0; i < 5; i++) {
      clock += 100_000; // past the refresh point, not yet past expiry
      await api.callControl.fullState();
      expect(sim.expiredTokensPresented()).toBe(0);
    }
    expect(sim.tokensIssued('900')).toBe(6);
  });

  it('expires_in in minutes (3CX before 20.0.9) is refreshed before it expires too, one token owner', async () => {
    let clock = 0;
    sim = await startPbxSimulator({ tokenTtlSec: 2 * 60, expiresInUnit: 'minutes', now: () => clock });
    const source = new TokenSource({ baseUrl: sim.baseUrl, clientId: '900', clientSecret: 'sim-api-key', now: () => clock });
    const first = await source.get();
    // "2" may be 2 minutes or 2 seconds: read as the shorter, it is replaced early, never late.
    clock += 2_000;
    const second = await source.get();
    expect(second).not.toBe(first);
    clock += 1_000;
    expect(await source.get()).toBe(second);
    expect(sim.tokensIssued('900')).toBe(2);
  });

  it('a JWT access token with iat/exp settles the unit: a minutes-reporting PBX keeps its 60-minute token for most of an hour', async () => {
    let clock = 0;
    sim = await startPbxSimulator({ tokenTtlSec: 60 * 60, expiresInUnit: 'minutes', jwtTokens: true, now: () => clock });
    const source = new TokenSource({ baseUrl: sim.baseUrl, clientId: '900', clientSecret: 'sim-api-key', now: () => clock });
    const first = await source.get();
    clock += 50 * 60_000; // "60" read as seconds would have replaced it 48 s in
    expect(await source.get()).toBe(first);
    clock += 9 * 60_000 + 30_000; // 30 s before expiry: replaced ahead of it
    expect(await source.get()).not.toBe(first);
    expect(sim.tokensIssued('900')).toBe(2);
    expect(sim.expiredTokensPresented()).toBe(0);
  });

  it('fetches a fresh token once and retries when the PBX answers 401', async () => {
    const { registry } = await setup();
    const api = await registry.forPbx('pbx_1');
    await api.callControl.fullState();
    sim!.faults.expireTokens();
    expect((await api.callControl.fullState()).map((d) => d.dn)).toContain('101');
    expect(sim!.tokensIssued('900')).toBe(2);
  });

  it('keeps one token owner per client id, so two users of one PBX do not knock each other out', async () => {
    const { registry } = await setup();
    const [gatewaySide, connectorSide] = await Promise.all([registry.forPbx('pbx_1'), registry.forPbx('pbx_1')]);
    await gatewaySide.callControl.fullState();
    await connectorSide.callControl.fullState();
    await gatewaySide.callControl.fullState();
    expect(sim!.tokensIssued('900')).toBe(1);
    const registry2 = new TokenRegistry();
    const creds = { baseUrl: sim!.baseUrl, clientId: '900', clientSecret: 'sim-api-key' };
    expect(registry2.sourceFor(creds)).toBe(registry2.sourceFor(creds));
  });

  it('reports the OAuth error of a wrong secret', async () => {
    sim = await startPbxSimulator();
    const api = pbxApiFor({ baseUrl: sim.baseUrl, clientId: '900', clientSecret: 'wrong' }, { pbxId: 'p', tenantId: 't' });
    await expect(api.callControl.fullState()).rejects.toThrow(/invalid_client/);
  });
});

describe('PbxGateway.makeCall', () => {
  it('dials from the extension\'s registered device', async () => {
    const { gateway } = await setup();
    const result = await gateway.makeCall('pbx_1', '101', '+4930123456');
    expect(result).toEqual({ ok: true, pbxCallId: expect.stringMatching(/^\d+$/), reason: null });
    expect(sim!.makeCallRequests).toEqual([{ dn: '101', deviceId: expect.stringContaining('sip:101@'), destination: '+4930123456' }]);
  });

  it('falls back to the DN makecall when no device is registered', async () => {
    const { gateway } = await setup({ extensions: [{ dn: '101', devices: 0 }] });
    expect((await gateway.makeCall('pbx_1', '101', '+4930123456')).ok).toBe(true);
    expect(sim!.makeCallRequests).toEqual([{ dn: '101', deviceId: null, destination: '+4930123456' }]);
  });

  it('surfaces a refusal with the PBX\'s reason, and reads finalstatus given as a string', async () => {
    const { gateway } = await setup({ finalStatusAsString: true });
    sim!.faults.refuseMakeCall('Outbound rule denies this destination');
    expect(await gateway.makeCall('pbx_1', '101', '+4930123456')).toEqual({ ok: false, pbxCallId: null, reason: 'Outbound rule denies this destination' });
    expect((await gateway.makeCall('pbx_1', '101', '+4930123456')).ok).toBe(true);
  });

  it('throws PbxApiError with the status when the PBX fails', async () => {
    const { gateway } = await setup();
    await gateway.makeCall('pbx_1', '101', '+4930123456'); // token in hand
    sim!.faults.failNextRest(1, 502);
    await expect(gateway.makeCall('pbx_1', '101', '+4930123456')).rejects.toMatchObject({ name: 'PbxApiError', status: 502 });
    await expect(gateway.makeCall('pbx_1', '999', '+4930123456')).rejects.toBeInstanceOf(PbxApiError);
  });
});

describe('PbxGateway.openRecording', () => {
  it('streams the recording with its content type and length', async () => {
    const { gateway } = await setup({ recordingBytes: 2_000_000 });
    const { recordingIds } = await sim!.placeCall({ kind: 'inbound', from: '+4930123456', to: '101' });
    const rec = await gateway.openRecording('pbx_1', String(recordingIds[0]));
    expect(rec.contentType).toBe('audio/x-wav');
    expect(rec.contentLength).toBe(2_000_000);
    let total = 0;
    let largestChunk = 0;
    for await (const chunk of rec.body) {
      total += (chunk as Buffer).length;
      largestChunk = Math.max(largestChunk, (chunk as Buffer).length);
    }
    expect(total).toBe(2_000_000);
    expect(largestChunk).toBeLessThan(2_000_000);
  });

  it('refuses an unknown recording', async () => {
    const { gateway } = await setup();
    await expect(gateway.openRecording('pbx_1', '4242')).rejects.toMatchObject({ status: 404 });
    await expect(gateway.openRecording('pbx_1', 'not-a-number')).rejects.toMatchObject({ status: 404 });
  });
});
