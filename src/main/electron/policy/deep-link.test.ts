import { describe, expect, it } from 'vitest';
import { classifyDeepLink, linkFromArgv } from './deep-link.js';

describe('deep links', () => {
  it('takes the link from the last argv entry on second-instance', () => {
    const argv = ['/opt/Ringbridge/ringbridge', '--no-sandbox', '--allow-file-access-from-files', 'tel:+61%202%209876%205432'];
    expect(linkFromArgv(argv)).toEqual({ kind: 'dial', raw: 'tel:+61%202%209876%205432' });
  });

  it('ignores a link that is not last (an argument, not what the OS opened)', () => {
    expect(linkFromArgv(['/opt/rb', 'tel:+1555', '--hidden'])).toBeNull();
    expect(linkFromArgv(['/opt/rb'])).toBeNull();
    expect(linkFromArgv([])).toBeNull();
  });

  it('accepts tel: and callto: in any case and hands them on raw', () => {
    expect(classifyDeepLink('TEL:0298765432')).toEqual({ kind: 'dial', raw: 'TEL:0298765432' });
    expect(classifyDeepLink('callto://+442071234567')).toEqual({ kind: 'dial', raw: 'callto://+442071234567' });
  });

  it('parses ringbridge: app links', () => {
    const link = classifyDeepLink('ringbridge://open/calls');
    expect(link?.kind).toBe('app');
  });

  it.each([
    'https://evil.example/tel:+1555',
    'file:///etc/passwd',
    'javascript:tel:1',
    'telx:+1555',
    ' tel:+1555',
    'sip:+1555@pbx',
    'ringbridge-evil:x',
    '',
    `tel:${'1'.repeat(3000)}`,
  ])('refuses %j', (raw) => {
    expect(classifyDeepLink(raw)).toBeNull();
  });
});
