// The Zoho simulator answers as Zoho does where an adapter gets the contract wrong: a missing
// required parameter, a URL Zoho does not have, its rate limits.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startZohoSimulator, type ZohoSimulator } from './index.js';

let sim: ZohoSimulator;
let token: string;
const get = (path: string) => fetch(`${sim.url}${path}`, { headers: { authorization: `Zoho-oauthtoken ${token}` } });

beforeEach(async () => {
  sim = await startZohoSimulator();
  token = sim.oauth.issueTokens().accessToken;
});
afterEach(() => sim.close());

describe('Zoho simulator', () => {
  it('refuses an attachment listing without the spec’s required fields the way Zoho does, and fails the test', async () => {
    const res = await get('/crm/v8/Calls/4000000000000/Attachments?per_page=200');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: 'REQUIRED_PARAM_MISSING', details: { param_name: 'fields' }, message: 'One of the expected parameter is missing', status: 'error' });
    expect(() => sim.assertNoSpecViolations()).toThrow(/query parameter fields is required/);
  });
});
