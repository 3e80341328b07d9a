// Which XAPI profile is Do Not Disturb, and how it is switched: the gateway's rule against fake XAPI answers.
import { describe, expect, it } from 'vitest';
import { presenceOn } from './gateway.js';
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
