import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MASTER_KEY_FILE, SecretBox, canonicalPairingCode, loadMasterKey, matchesAnySecret, newPairingCode } from './secrets.js';

describe('secrets', () => {
  it('seals and opens; tampering is detected', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal('whsec_abc');
    expect(sealed).not.toContain('whsec_abc');
    expect(box.open(sealed)).toBe('whsec_abc');
    const parts = sealed.split('.');
    parts[3] = Buffer.from('whsec_abd').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
  });

  it('pairing codes are human-typable groups of four and canonicalise back', () => {
    const codes = new Set(Array.from({ length: 200 }, newPairingCode));
    expect(codes.size).toBe(200);
    for (const code of codes) {
      expect(code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
      expect(code).not.toMatch(/[01OIL5S2Z]/);
    }
    expect(canonicalPairingCode('abcd efgh-jkmn')).toBe('ABCDEFGHJKMN');
  });

  it('matches any current secret and nothing else', () => {
    expect(matchesAnySecret('b', ['a', 'b'])).toBe(true);
    expect(matchesAnySecret('c', ['a', 'b'])).toBe(false);
    expect(matchesAnySecret('', [])).toBe(false);
  });

  it('creates master.key once with mode 0600 and reuses it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rb-key-'));
    try {
      const first = loadMasterKey({ configured: null, dataDir: dir });
      expect(first).toHaveLength(32);
      expect(statSync(join(dir, MASTER_KEY_FILE)).mode & 0o777).toBe(0o600);
      expect(loadMasterKey({ configured: null, dataDir: dir })).toEqual(first);
      const configured = randomBytes(32);
      expect(loadMasterKey({ configured, dataDir: dir })).toEqual(configured);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
