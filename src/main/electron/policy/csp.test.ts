import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from './csp.js';

function directives(csp: string): Map<string, string> {
  return new Map(csp.split(';').map((d) => {
    const [name, ...values] = d.trim().split(/\s+/);
    return [name ?? '', values.join(' ')];
  }));
}

describe('content security policy', () => {
  for (const dev of [false, true]) {
    for (const forMeta of [false, true]) {
      it(`never allows eval, plugins or foreign scripts (dev=${dev}, meta=${forMeta})`, () => {
        const csp = contentSecurityPolicy({ dev, forMeta });
        expect(csp).not.toContain('unsafe-eval');
        const d = directives(csp);
        for (const value of d.values()) expect(value.split(' ')).not.toContain('*');
        expect(d.get('default-src')).toBe("'self'");
        expect(d.get('object-src')).toBe("'none'");
        expect(d.get('base-uri')).toBe("'none'");
        expect(d.get('script-src')?.split(' ')).toContain("'self'");
        expect(d.get('script-src')).not.toMatch(/https?:|\*|data:/);
      });
    }
  }

  it('production: no inline script and no network from the renderer', () => {
    const d = directives(contentSecurityPolicy({ dev: false, forMeta: false }));
    expect(d.get('script-src')).toBe("'self'");
    expect(d.get('connect-src')).toBe("'none'");
    expect(d.get('frame-ancestors')).toBe("'none'");
  });

  it('dev: connect-src only reaches the local dev server', () => {
    const d = directives(contentSecurityPolicy({ dev: true, forMeta: true }));
    for (const source of d.get('connect-src')!.split(' ')) {
      expect(source).toMatch(/^('self'|ws:\/\/(localhost|127\.0\.0\.1):\*)$/);
    }
  });

  it('leaves frame-ancestors out of the meta variant, where browsers ignore it', () => {
    expect(contentSecurityPolicy({ dev: false, forMeta: true })).not.toContain('frame-ancestors');
  });
});
