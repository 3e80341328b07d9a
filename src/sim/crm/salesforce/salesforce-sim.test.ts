// The Salesforce simulator checks the wire against Salesforce's documented fields (schemas.ts), not
// against the adapter: it accepts what Salesforce accepts and refuses what Salesforce refuses.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSalesforceSim, type SalesforceSim } from './index.js';

let sim: SalesforceSim;
let token: string;
const api = (method: string, path: string, body?: unknown) =>
  fetch(`${sim.url}/services/data/v62.0${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

beforeEach(async () => {
  sim = await startSalesforceSim();
  token = sim.oauth.issueTokens().accessToken;
});
afterEach(() => sim.close());

describe('Salesforce simulator wire', () => {
  it('salesforce sim checks Task and ContentVersion bodies against Salesforce’s field reference, not the adapter', async () => {
    // Valid for Salesforce though no adapter sends it: a bare call Task (every field optional, defaults applied).
    const created = await api('POST', '/sobjects/Task', { Subject: 'Call', TaskSubtype: 'Call', CallType: 'Inbound' });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect(sim.records.Task.get(id)).toMatchObject({ Status: 'Not Started', Priority: 'Normal', CallType: 'Inbound' });
    expect(sim.specViolations).toEqual([]);

    const refused: Array<[string, string, unknown]> = [
      ['POST', '/sobjects/Task', { Subject: 'x', CallType: 'inbound' }], // picklist values are Inbound, Internal, Outbound
      ['POST', '/sobjects/Task', { Subject: 'x', CallStart__c: '2026-01-01' }], // no such field on Task
      ['POST', '/sobjects/Task', { Subject: 'x', WhoId: '001000000000000AAA' }], // an Account is not a Who
      ['PATCH', `/sobjects/Task/${id}`, { TaskSubtype: 'Task' }], // TaskSubtype is create-only
      ['POST', '/sobjects/ContentVersion', { Title: 'a.wav', VersionData: 'UklGRg==' }], // PathOnClient required
    ];
    for (const [method, path, body] of refused) {
      const res = await api(method, path, body);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(await res.json()).toEqual([expect.objectContaining({ errorCode: expect.any(String), message: expect.any(String) })]);
    }
    expect(sim.specViolations).toHaveLength(refused.length);
  });

  it('salesforce sim refuses a Task owner that is not a User Id as Salesforce does (MALFORMED_ID, INVALID_CROSS_REFERENCE_KEY)', async () => {
    const jane = sim.addUser({ Username: 'jane@acme.com', Email: 'jane@acme.com', LastName: 'Doe' });
    const cases: Array<[string, string]> = [
      ['jane@acme.com', 'MALFORMED_ID'],
      ['005SIM000000999AAA', 'INVALID_CROSS_REFERENCE_KEY'], // well-formed, no such user
      ['003SIM000000999AAA', 'INVALID_CROSS_REFERENCE_KEY'], // a Contact cannot own a Task
    ];
    for (const [OwnerId, errorCode] of cases) {
      const res = await api('POST', '/sobjects/Task', { Subject: 'Call', TaskSubtype: 'Call', OwnerId });
      expect(res.status, OwnerId).toBe(400);
      expect(await res.json()).toEqual([expect.objectContaining({ errorCode, fields: ['OwnerId'] })]);
    }
    expect(sim.records.Task.size).toBe(0);
    expect((await api('POST', '/sobjects/Task', { Subject: 'Call', TaskSubtype: 'Call', OwnerId: jane })).status).toBe(201);
    const users = await api('GET', `/query?q=${encodeURIComponent("SELECT Id, Username FROM User WHERE Email = 'JANE@acme.com' AND IsActive = true LIMIT 10")}`);
    expect(((await users.json()) as { records: Array<{ Id: string }> }).records.map((u) => u.Id)).toEqual([jane]);
  });

  it('salesforce, zoho and highlevel sims import nothing from the adapters they test', () => {
    const crmSims = join(import.meta.dirname, '..');
    const offenders = ['salesforce', 'zoho', 'highlevel'].flatMap((vendor) =>
      readdirSync(join(crmSims, vendor))
        .filter((f) => f.endsWith('.ts'))
        .filter((f) => /from '(\.\.\/)+main\/crm\//.test(readFileSync(join(crmSims, vendor, f), 'utf8')))
        .map((f) => `${vendor}/${f}`),
    );
    expect(offenders).toEqual([]);
  });
});

describe('Salesforce simulator limits', () => {
  it('salesforce sim reports API usage and answers REQUEST_LIMIT_EXCEEDED past the org’s daily allocation', async () => {
    await sim.close();
    let clock = Date.UTC(2026, 0, 1);
    sim = await startSalesforceSim({ apiRequestsUsed: 14_998, now: () => clock }); // Developer Edition: 15,000 a day
    token = sim.oauth.issueTokens().accessToken;
    const query = `/query?q=${encodeURIComponent('SELECT Id FROM Contact')}`;

    const ok = await api('GET', query);
    expect([ok.status, ok.headers.get('sforce-limit-info')]).toEqual([200, 'api-usage=14999/15000']);
    expect((await api('GET', query)).headers.get('sforce-limit-info')).toBe('api-usage=15000/15000');
    const refused = await api('GET', query);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    clock += 24 * 60 * 60 * 1000 + 1;
    expect((await api('GET', query)).status).toBe(200);
  });

  it('answers a resource it does not simulate as Salesforce does (404 NOT_FOUND)', async () => {
    const res = await api('GET', '/sobjects/Account/001000000000000AAA');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual([{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]);
  });
});
