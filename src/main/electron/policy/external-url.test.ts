import { describe, expect, it } from 'vitest';
import { crmProviders } from '../../crm/registry.js';
import { checkExternalUrl } from './external-url.js';

const policy = { extraOrigins: ['https://bus.example.net'] };

describe('openExternal gate policy', () => {
  it.each([
    'https://app.hubspot.com/contacts/123/record/0-1/456',
    'https://app-eu1.hubspot.com/contacts/1/contact/2',
    'https://acme.lightning.force.com/lightning/r/Contact/003xx/view',
    'https://acme.my.salesforce.com/003xx',
    'https://crm.zoho.com/crm/org1/tab/Contacts/42',
    'https://crm.zoho.eu/crm/tab/Leads/1',
    'https://app.gohighlevel.com/v2/location/abc/contacts/detail/xyz',
    'https://app.leadconnectorhq.com/contacts/detail/1',
    'https://bus.example.net/v1/recordings/abc',
  ])('opens the CRM record %s', (url) => {
    expect(checkExternalUrl(url, policy)).toEqual({ ok: true, url: new URL(url).href });
  });

  it.each([
    'https://app.hubspot.com/oauth/authorize?client_id=c&redirect_uri=http%3A%2F%2Flocalhost%3A53123%2Fcallback&scope=oauth&state=s',
    'https://login.salesforce.com/services/oauth2/authorize?response_type=code&client_id=c&code_challenge=x&code_challenge_method=S256',
    'https://test.salesforce.com/services/oauth2/authorize?response_type=code',
    'https://acme.my.salesforce.com/services/oauth2/authorize?response_type=code',
    'https://accounts.zoho.com/oauth/v2/auth?scope=ZohoCRM.modules.contacts.READ&redirect_uri=ringbridge%3A%2F%2Foauth%2Fcallback',
    'https://accounts.zoho.eu/oauth/v2/auth?client_id=c',
    'https://accounts.zoho.com.au/oauth/v2/auth?client_id=c',
    'https://accounts.zoho.com.cn/oauth/v2/auth?client_id=c',
    'https://accounts.zoho.sa/oauth/v2/auth?client_id=c',
    'https://accounts.zoho.uk/oauth/v2/auth?client_id=c',
    'https://accounts.zohocloud.ca/oauth/v2/auth?client_id=c',
    'https://marketplace.gohighlevel.com/oauth/chooselocation?response_type=code&client_id=c',
    'https://marketplace.leadconnectorhq.com/oauth/chooselocation?response_type=code&client_id=c',
  ])('opens the CRM sign-in page %s', (url) => {
    expect(checkExternalUrl(url, policy)).toEqual({ ok: true, url: new URL(url).href });
  });

  it.each(Object.values(crmProviders).map((p) => [p.displayName, p.oauth().authorizeUrl]))(
    "opens %s's sign-in page as its provider builds it",
    (_name, authorizeUrl) => {
      const url = new URL(authorizeUrl);
      url.searchParams.set('redirect_uri', 'http://127.0.0.1:53123/callback');
      url.searchParams.set('state', 'abc');
      expect(checkExternalUrl(url.href, { extraOrigins: [] })).toEqual({ ok: true, url: url.href });
    },
  );

  it('opens the re-serialised URL, not the caller string', () => {
    const verdict = checkExternalUrl('HTTPS://APP.HUBSPOT.COM/contacts/%7e1?q=a b#x'.replace(' ', '%20'), policy);
    expect(verdict).toEqual({ ok: true, url: 'https://app.hubspot.com/contacts/%7e1?q=a%20b#x' });
  });

  const hostile = [
    'file:///etc/passwd',
    'file://server/share/evil.exe',
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox(1)',
    'ms-msdt:/id PCWDiagnostic /skip force',
    'search-ms:query=evil&crumb=location:\\\\attacker\\share',
    'ms-appinstaller:?source=https://evil.example/x.appx',
    'ms-officecmd:{"id":1}',
    'ms-settings:',
    'smb://attacker/share',
    'ssh://attacker',
    'tel:+61298765432',
    'callto:+61298765432',
    'mailto:someone@hubspot.com',
    'http://app.hubspot.com/contacts/1',
    'ftp://app.hubspot.com/x',
    'https://evil.example/hubspot.com',
    'https://hubspot.com.evil.example/',
    'https://evilhubspot.com/',
    'https://app.hubspot.com.evil.example/',
    'https://evil.example?https://app.hubspot.com',
    'https://user:pass@app.hubspot.com/',
    'https://app.hubspot.com@evil.example/',
    'https://app.hubspot.com:8443/',
    'https://app.hubspot.com\\@evil.example/',
    'https://app.hub\nspot.com/',
    'https://app.hubspot.com/\u0000',
    ' https://app.hubspot.com/',
    'https://app.hubspot.com/\u2028',
    'https://xn--hubspt-e0a.com/',
    'https://accounts.zoho.com.evil.example/oauth/v2/auth',
    'https://accounts-zoho.com/oauth/v2/auth',
    'https://marketplace.gohighlevel.com.evil.example/oauth/chooselocation',
    'http://login.salesforce.com/services/oauth2/authorize',
    'https://bus.example.net.evil.example/',
    'http://bus.example.net/',
    'https://127.0.0.1/',
    '//app.hubspot.com/contacts',
    '/contacts/1',
    '',
    'not a url',
    `https://app.hubspot.com/${'a'.repeat(5000)}`,
  ];
  it.each(hostile)('refuses %j', (url) => {
    expect(checkExternalUrl(url, policy).ok).toBe(false);
  });

  it('refuses values that are not strings', () => {
    for (const value of [undefined, null, 42, { href: 'https://app.hubspot.com/' }, ['https://app.hubspot.com/']]) {
      expect(checkExternalUrl(value, policy).ok).toBe(false);
    }
  });

  it('does not let an http or malformed extra origin widen the gate', () => {
    const loose = { extraOrigins: ['http://bus.example.net', 'not a url'] };
    expect(checkExternalUrl('http://bus.example.net/', loose).ok).toBe(false);
    expect(checkExternalUrl('https://bus.example.net/', loose).ok).toBe(false);
  });
});
