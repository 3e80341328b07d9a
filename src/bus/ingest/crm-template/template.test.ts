import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildIngestHarness, type IngestHarness } from '../../../../test/support/ingest-harness.js';
import { renderTemplate } from './template.js';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['Parameter', 'Scenario', 'Value', 'Output', 'Variable'].includes(name) });

interface Parsed {
  Crm: {
    Name: string;
    Number: { Prefix: string };
    Parameters: { Parameter: Array<{ Name: string; Default: string }> };
    Scenarios: { Scenario: Array<{ Id: string; Request: { Url: string; RequestType: string; Headers: { Value: Array<{ Key: string; '#text': string }> }; PostValues?: { Value: Array<{ Key: string; '#text': string }> } } }> };
  };
}

function parse(xml: string): Parsed {
  expect(XMLValidator.validate(xml)).toBe(true);
  return parser.parse(xml) as Parsed;
}
const param = (p: Parsed, name: string) => p.Crm.Parameters.Parameter.find((x) => x.Name === name)?.Default;

describe('CRM template XML', () => {
  it('is well-formed and carries this PBX\'s URL and key as defaults', () => {
    const doc = parse(renderTemplate({ pbxId: 'pbx_abc', publicUrl: 'https://bus.example.com/', templateKey: 'rbt_key' }));
    expect(doc.Crm.Name).toBe('Ringbridge');
    expect(param(doc, 'BaseUrl')).toBe('https://bus.example.com/v1/pbx/pbx_abc');
    expect(param(doc, 'ApiKey')).toBe('rbt_key');
    const [lookup, report] = doc.Crm.Scenarios.Scenario;
    expect(lookup!.Id).toBe('');
    expect(lookup!.Request.Url).toBe('[BaseUrl]/3cx/lookup?number=[Number]&direction=[CallDirection]&agent=[Agent]');
    expect(lookup!.Request.Headers.Value[0]).toMatchObject({ Key: 'X-Api-Key', '#text': '[ApiKey]' });
    expect(report!.Id).toBe('ReportCall');
    expect(report!.Request.RequestType).toBe('Post');
    expect(report!.Request.PostValues!.Value.map((v) => v.Key)).toEqual([
      'callType', 'direction', 'number', 'name', 'agent', 'agentEmail', 'duration', 'dateTime', 'startUtc', 'endUtc', 'queue', 'entityId', 'recordingUrl',
    ]);
  });

  it('escapes values so a URL or key cannot break the XML', () => {
    const doc = parse(renderTemplate({ pbxId: 'p', publicUrl: 'https://bus.example.com/a?x=1&y="2"<', templateKey: `k'&"<>` }));
    expect(param(doc, 'ApiKey')).toBe(`k'&"<>`);
    expect(param(doc, 'BaseUrl')).toBe('https://bus.example.com/a?x=1&y="2"</v1/pbx/p');
  });
});

describe('the template driven as 3CX would', () => {
  let h: IngestHarness;
  beforeEach(async () => {
    h = await buildIngestHarness();
    await h.tenants.importContacts(h.tenantId, [{ id: 'c_1', firstName: 'Jane', lastName: 'Citizen', company: 'Acme', url: 'https://crm.test/c_1', e164: '+61298765432' }]);
  });
  afterEach(() => h.close());

  /** Substitutes [Var]s the way 3CX does; unknown ones stay as literal text, as 3CX leaves them. */
  const fill = (text: string, vars: Record<string, string>) => text.replace(/\[(\w+)\]/g, (whole, name: string) => vars[name] ?? whole);

  it('lookup and journal requests built from the template reach the bus and are accepted', async () => {
    const doc = parse(renderTemplate({ pbxId: h.pbx.id, publicUrl: 'http://bus.local', templateKey: h.secrets.templateKeys[0]! }));
    const vars = {
      BaseUrl: param(doc, 'BaseUrl')!, ApiKey: param(doc, 'ApiKey')!, Number: '0061298765432', CallDirection: 'Inbound',
      CallType: 'Inbound', Name: 'Jane Citizen', Agent: '101', Duration: '00:00:42', DateTime: '1/5/2026 20:00',
    };
    const [lookup, report] = doc.Crm.Scenarios.Scenario;
    const headers = { 'x-api-key': fill(lookup!.Request.Headers.Value[0]!['#text'], vars) };
    // In the lookup, [Agent] is not documented as filled: leave it literal, as 3CX would.
    const { Agent: _agent, ...lookupVars } = vars;
    const lookupUrl = new URL(fill(lookup!.Request.Url, lookupVars));
    const found = await h.app.inject({ method: 'GET', url: `${lookupUrl.pathname}${lookupUrl.search}`, headers });
    expect(found.statusCode).toBe(200);
    expect(found.json()).toMatchObject({ contact: { id: 'c_1', phone: '+61298765432' } });

    const body = Object.fromEntries(report!.Request.PostValues!.Value.map((v) => [v.Key, fill(v['#text'], vars)]));
    const journalUrl = new URL(fill(report!.Request.Url, vars));
    const logged = await h.app.inject({ method: 'POST', url: journalUrl.pathname, payload: body, headers });
    expect(logged.statusCode).toBe(200);
    expect((await h.logged()).map((l) => [l.event.type, l.event.durationSec])).toEqual([['ringing', null], ['ended', 42]]);
  });
});
