// How the connector gets back onto the Call Control socket after the PBX refused its token (a PBX
// restart, an expired token): at once when a new token fixes it, with backoff when it does not.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startPbxSimulator, type PbxSimulator } from '../../../sim/3cx/index.js';
import { pbxApiFor } from '../../pbx/api.js';
import { eventually } from '../../../../test/support/pbx-fakes.js';
import { CallControlConnector } from './connector.js';

let sim: PbxSimulator | undefined;
let connector: CallControlConnector | undefined;
afterEach(async () => {
  await connector?.stop();
  await sim?.close();
  vi.restoreAllMocks();
  connector = undefined;
  sim = undefined;
});

/** A connector whose every backoff step is five minutes, far longer than any wait in these tests. */
async function slowBackoffConnector() {
  sim = await startPbxSimulator();
  const api = pbxApiFor({ baseUrl: sim.baseUrl, clientId: '900', clientSecret: 'sim-api-key' }, { pbxId: 'pbx_1', tenantId: 't_1' });
  // Jitter pinned to the middle of the range, so a backoff step is never near zero by chance.
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
  connector = new CallControlConnector({ api, sink: async () => undefined, backoff: { baseMs: 600_000, capMs: 600_000 }, recordingPoll: false });
  const retries: number[] = [];
  connector.on('disconnected', (info?: { retryInMs: number }) => retries.push(info?.retryInMs ?? -1));
  return { sim, api, connector, retries };
}

describe('Call Control reconnect after a 401', () => {
  it('a 401 fixed by a token refresh reconnects without a backoff sleep', async () => {
    const { sim, api, connector, retries } = await slowBackoffConnector();
    await api.callControl.bearer();
    sim.faults.expireTokens(); // the PBX restarted: the token the connector holds is refused
    let ready = false;
    connector.once('ready', () => (ready = true));
    connector.start();
    await eventually(() => expect(ready).toBe(true));
    expect(retries).toEqual([0]);
    expect(sim.tokensIssued('900')).toBe(2);
    await eventually(() => expect(sim.openSockets()).toBe(1));
  });

  it('a 401 that persists after a refresh is retried at once only once, then backs off', async () => {
    const { sim, connector, retries } = await slowBackoffConnector();
    sim.faults.refuseWebSocketAuth = true;
    connector.start();
    await eventually(() => expect(retries).toHaveLength(2));
    expect(retries[0]).toBe(0);
    expect(retries[1]).toBeGreaterThan(0);
    expect(sim.openSockets()).toBe(0);
  });
});
