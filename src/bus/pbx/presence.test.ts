// Which XAPI profile is Do Not Disturb, and how it is switched: the gateway's rule against fake XAPI answers.
import { describe, expect, it } from 'vitest';
import { createPbxGateway, DIRECTORY_TTL_MS, presenceOn } from './gateway.js';
import type { PbxApi, PbxApiRegistry } from './api.js';
import type { XapiClient } from './xapi.js';

function xapi(current: string, names: string[]) {
  const patches: Array<[number, string]> = [];
  const client = {
    userByNumber: async () => ({ Id: 7, Number: '101', CurrentProfileName: current, QueueStatus: 'LoggedIn' as const, ForwardingProfiles: names.map((Name) => ({ Name })) }),
    queues: async () => [{ number: '800', name: 'Sales' }],
    setProfile: async (id: number, name: string) => void patches.push([id, name]),
  } as unknown as XapiClient;
  return { api: { xapi: client }, patches };
}

describe('presence: the Do Not Disturb profile', () => {
  it('switches to the profile V20 names "Do Not Disturb", or to "Out of office" where that is its name', async () => {
    for (const dndName of ['Do Not Disturb', 'Out of office']) {
      const { api, patches } = xapi('Available', ['Available', 'Away', dndName, 'Lunch']);
      expect(await presenceOn(api, '101', true)).toMatchObject({ profile: dndName, dnd: true, queues: [{ number: '800', name: 'Sales' }] });
      expect(patches).toEqual([[7, dndName]]);
    }
  });

  it('turns it off to Available, and changes nothing when the status already is what was asked', async () => {
    const off = xapi('Out of office', ['Available', 'Away', 'Out of office']);
    expect(await presenceOn(off.api, '101', false)).toMatchObject({ profile: 'Available', dnd: false });
    expect(off.patches).toEqual([[7, 'Available']]);
    const same = xapi('Away', ['Available', 'Away', 'Out of office']);
    expect(await presenceOn(same.api, '101', false)).toMatchObject({ profile: 'Away', dnd: false });
    expect(same.patches).toEqual([]);
  });

  it('refuses, changing nothing, when the user has no DND profile', async () => {
    const { api, patches } = xapi('Available', ['Available', 'Away']);
    await expect(presenceOn(api, '101', true)).rejects.toThrow(/no Do Not Disturb status profile/);
    expect(patches).toEqual([]);
  });
});

describe('presence: load on the PBX', () => {
  it("reads a PBX's queues once for every agent's status within the TTL, per PBX, and again after it; a failed read is not kept", async () => {
    const reads: string[] = [];
    let failQueues = false;
    const apiOf = (pbxId: string) =>
      ({
        xapi: {
          userByNumber: async (n: string) => (reads.push(`${pbxId} user ${n}`), { Id: 7, Number: n, CurrentProfileName: 'Available', QueueStatus: 'LoggedIn' as const, ForwardingProfiles: [] }),
          queues: async () => {
            reads.push(`${pbxId} queues`);
            if (failQueues) throw new Error('XAPI down');
            return [{ number: '800', name: 'Sales' }];
          },
        },
      }) as unknown as PbxApi;
    const registry: PbxApiRegistry = { forPbx: async (pbxId) => apiOf(pbxId) } as PbxApiRegistry;
    let now = 0;
    const tenants = { getPbx: async (id: string) => ({ id, connectorMode: 'bus' }), pbxSecrets: async () => null } as unknown as Parameters<typeof createPbxGateway>[0]['tenants'];
    const gateway = createPbxGateway({ tenants, registry, now: () => now });
    for (const ext of ['101', '102', '103']) expect((await gateway.presence('pbx_1', ext)).queues).toEqual([{ number: '800', name: 'Sales' }]);
    await gateway.presence('pbx_2', '101');
    expect(reads.filter((r) => r.endsWith('queues'))).toEqual(['pbx_1 queues', 'pbx_2 queues']);
    now += DIRECTORY_TTL_MS;
    failQueues = true;
    await expect(gateway.presence('pbx_1', '101')).rejects.toThrow('XAPI down');
    failQueues = false;
    await gateway.presence('pbx_1', '102');
    await gateway.presence('pbx_1', '103');
    expect(reads.filter((r) => r.endsWith('queues'))).toEqual(['pbx_1 queues', 'pbx_2 queues', 'pbx_1 queues', 'pbx_1 queues']);
  });

  it('remembers which short numbers are extensions or queues per PBX, so repeated transfers cost no look-up', async () => {
    const reads: string[] = [];
    const registry = {
      forPbx: async (pbxId: string) =>
        ({
          xapi: {
            userByNumber: async (n: string) => (reads.push(`${pbxId} user ${n}`), pbxId === 'pbx_1' && n === '102' ? { Id: 8, Number: n } : null),
            queues: async () => (reads.push(`${pbxId} queues`), [{ number: '800', name: 'Sales' }]),
          },
        }) as unknown as PbxApi,
    } as PbxApiRegistry;
    const tenants = { getPbx: async (id: string) => ({ id, connectorMode: 'bus' }), pbxSecrets: async () => null } as unknown as Parameters<typeof createPbxGateway>[0]['tenants'];
    let now = 0;
    const gateway = createPbxGateway({ tenants, registry, now: () => now });
    const asks = [['pbx_1', '102'], ['pbx_1', '800'], ['pbx_1', '112'], ['pbx_2', '102'], ['pbx_1', '102'], ['pbx_1', '112']] as const;
    const answers = [];
    for (const [pbx, n] of asks) answers.push(await gateway.isInternalNumber(pbx, n));
    expect(answers).toEqual([true, true, false, false, true, false]);
    expect(reads).toEqual(['pbx_1 queues', 'pbx_1 user 102', 'pbx_1 user 800', 'pbx_1 user 112', 'pbx_2 queues', 'pbx_2 user 102']);
    // An extension an admin adds is found once the answer has aged out.
    now += DIRECTORY_TTL_MS;
    await gateway.isInternalNumber('pbx_1', '112');
    expect(reads.slice(6)).toEqual(['pbx_1 queues', 'pbx_1 user 112']);
  });
});
