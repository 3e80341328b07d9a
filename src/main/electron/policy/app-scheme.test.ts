import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_ENTRY_URL, resolveAppAsset, serveAppAsset } from './app-scheme.js';

// A real folder: out/renderer beside a secret the traversal attempts aim at.
const top = mkdtempSync(join(tmpdir(), 'app-scheme-'));
const root = join(top, 'renderer');
mkdirSync(join(root, 'assets'), { recursive: true });
writeFileSync(join(root, 'index.html'), '<!doctype html><title>Ringbridge</title>');
writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log(1)');
writeFileSync(join(root, 'assets', 'index-abc.css'), 'body{}');
writeFileSync(join(root, 'assets', 'notes.txt'), 'not served');
writeFileSync(join(top, 'secret.json'), '{"token":"x"}');
writeFileSync(join(top, 'renderer-evil.js'), 'evil'); // a sibling whose name starts like root

const read = (path: string) => readFile(path);
const CSP = "default-src 'self'";

describe('ringbridge-app:// file serving', () => {
  it('serves the entry page and the built assets with their types, the CSP and nosniff', async () => {
    const page = await serveAppAsset(root, APP_ENTRY_URL, read, CSP);
    expect(page.status).toBe(200);
    expect(page.headers).toEqual({ 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff' });
    expect(Buffer.from(page.body!).toString()).toContain('<title>Ringbridge</title>');
    const script = await serveAppAsset(root, 'ringbridge-app://ui/assets/index-abc.js?v=1#x', read, CSP);
    expect([script.status, script.headers['Content-Type']]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect((await serveAppAsset(root, 'ringbridge-app://ui/', read, CSP)).status).toBe(200); // the root is index.html
  });

  it.each([
    ['a dot-dot path', 'ringbridge-app://ui/../secret.json'],
    ['an encoded dot-dot', 'ringbridge-app://ui/%2e%2e/secret.json'],
    ['a double-encoded dot-dot', 'ringbridge-app://ui/%252e%252e/secret.json'],
    ['an encoded slash', 'ringbridge-app://ui/..%2fsecret.json'],
    ['an encoded backslash', 'ringbridge-app://ui/..%5csecret.json'],
    ['a backslash', 'ringbridge-app://ui/assets\\..\\..\\secret.json'],
    ['a NUL byte', 'ringbridge-app://ui/index.html%00.js'],
    ['a sibling folder with the same prefix', 'ringbridge-app://ui/../renderer-evil.js'],
    ['an absolute path in the path', 'ringbridge-app://ui//etc/passwd'],
    ['another host', 'ringbridge-app://evil/index.html'],
    ['another scheme', 'file:///etc/passwd'],
    ['bad percent-encoding', 'ringbridge-app://ui/%E0%A4%A'],
    ['a file type the app does not serve', 'ringbridge-app://ui/assets/notes.txt'],
    ['a folder', 'ringbridge-app://ui/assets.js'],
    ['a missing file', 'ringbridge-app://ui/assets/nope.js'],
  ])('refuses %s without reading outside the app', async (_label, url) => {
    const touched: string[] = [];
    const answer = await serveAppAsset(root, url, async (path) => {
      touched.push(path);
      return readFile(path);
    }, CSP);
    expect(answer.status === 400 || answer.status === 404).toBe(true);
    expect(answer.body).toBeNull();
    for (const path of touched) expect(path.startsWith(root + '/')).toBe(true);
  });

  it('says why a lookup was refused', () => {
    expect(resolveAppAsset(root, 'not a url')).toEqual({ ok: false, status: 400, reason: 'not a URL' });
    expect(resolveAppAsset(root, 'ringbridge-app://ui/..%2f..%2fsecret.json')).toMatchObject({ ok: false, reason: 'bad path' });
  });
});
