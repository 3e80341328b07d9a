import { describe, expect, it } from 'vitest';
import { formatCallDuration, isZohoAccountsServer, phoneSearchVariants, resolveApiBase, webBaseFor } from './mapping.js';

describe('Zoho data centre resolution', () => {
  it('uses api_domain, else maps the redirect location to its DC', () => {
    expect(resolveApiBase({ api_domain: 'https://www.zohoapis.in' })).toBe('https://www.zohoapis.in');
    expect(resolveApiBase({ location: 'EU' })).toBe('https://www.zohoapis.eu');
    expect(resolveApiBase({})).toBe('https://www.zohoapis.com');
  });

  it('never sends a token to a host that is not a Zoho API domain', () => {
    expect(() => resolveApiBase({ api_domain: 'https://zohoapis.eu.attacker.example' })).toThrow(/not a Zoho API host/);
    expect(() => resolveApiBase({ api_domain: 'http://www.zohoapis.com' })).toThrow(/not a Zoho API host/);
  });

  it('lets the code and refresh token go only to a Zoho accounts server over https', () => {
    for (const host of ['accounts.zoho.com', 'accounts.zoho.eu', 'accounts.zoho.com.au', 'accounts.zoho.com.cn', 'accounts.zoho.uk']) {
      expect(isZohoAccountsServer(new URL(`https://${host}`))).toBe(true);
    }
    for (const server of ['http://accounts.zoho.eu', 'https://accounts.zoho.eu:8443', 'https://accounts.zoho.eu.attacker.example', 'https://attacker.example', 'https://accounts.zoho.de']) {
      expect(isZohoAccountsServer(new URL(server))).toBe(false);
    }
    // Simulators: any port on the simulator's host, nothing else.
    expect(isZohoAccountsServer(new URL('http://127.0.0.1:4711'), 'http://127.0.0.1:4000')).toBe(true);
    expect(isZohoAccountsServer(new URL('http://localhost:4711'), 'http://127.0.0.1:4000')).toBe(false);
  });

  it('derives the browser host of the same DC', () => {
    expect(webBaseFor('https://www.zohoapis.com.au')).toBe('https://crm.zoho.com.au');
    expect(webBaseFor('https://www.zohoapis.ca')).toBe('https://crm.zohocloud.ca');
  });
});

describe('Zoho value formats', () => {
  it('writes durations as mm:ss with unbounded minutes', () => {
    expect(formatCallDuration(0)).toBe('00:00');
    expect(formatCallDuration(95)).toBe('01:35');
    expect(formatCallDuration(4530)).toBe('75:30');
  });

  it('searches E.164, then national digits, then the national dialled form', () => {
    expect(phoneSearchVariants('+442079460018')).toEqual(['+442079460018', '2079460018', '02079460018']);
    expect(phoneSearchVariants('+14155550132')).toEqual(['+14155550132', '4155550132']);
  });
});
